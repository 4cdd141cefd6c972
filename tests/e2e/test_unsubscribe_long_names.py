"""/unsubscribe by what its autocomplete offers: names longer than a choice holds, and
Chinese names typed in the other script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import SAMPLE_NEWS, TEST_DATA
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, running_bot, sample
from tests.e2e.standin.server import DiscordStandIn

# 117 characters: a story name as the portal may nest it (a choice holds 100).
LONG = (
    "Russian military intervention in the Syrian Civil War and the related negotiations "
    "over the future of the country"
)
# The same first 100 characters, another ending.
LONG_TOO = (
    "Russian military intervention in the Syrian Civil War and the related negotiations "
    "over the future of its air bases"
)


standin = make_standin_fixture(channels=["general"], users=[ANNA])


async def command(standin: DiscordStandIn, name: str, **options: Any) -> dict[str, Any]:
    handle = await standin.send_slash_command(name, options, user=ANNA)
    data: dict[str, Any] = (await handle.callback()).json["data"]
    return data


async def offered(standin: DiscordStandIn, typed: str) -> list[dict[str, str]]:
    handle = await standin.send_autocomplete(
        "unsubscribe", {"entity": typed}, focused="entity", user=ANNA
    )
    choices: list[dict[str, str]] = (await handle.callback()).json["data"]["choices"]
    return choices


async def test_every_choice_offered_for_a_long_name_unsubscribes_from_it(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.storage.entities.alias("Russia", LONG)  # Russia's new canonical name
        for name in (LONG, "Iraq"):
            assert "now follow" in (await command(standin, "subscribe", entity=name))["content"]

        # The one choice offered, within a choice's limits, leaves the story.
        (choice,) = await offered(standin, "Russian military")
        assert len(choice["name"]) <= 100 and len(choice["value"]) <= 100
        assert choice["name"].startswith("Russian military intervention in the Syrian")
        reply = await command(standin, "unsubscribe", entity=choice["value"])
        assert reply["content"] == f"You no longer follow **{LONG}**."
        listing = (await command(standin, "subscriptions"))["embeds"][0]["description"]
        assert listing == "• **Iraq** by DM"

        # Once it is gone, the value it was offered as finds nothing to leave.
        reply = await command(standin, "unsubscribe", entity=choice["value"])
        assert reply["content"].startswith("You do not follow “Russian military")

        # A name that fits is offered as itself, as before.
        (iraq,) = await offered(standin, "Iraq")
        assert iraq == {"name": "Iraq", "value": "Iraq"}
        reply = await command(standin, "unsubscribe", entity=iraq["value"])
        assert reply["content"] == "You no longer follow **Iraq**."


async def test_two_long_names_alike_for_a_hundred_characters_are_told_apart(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        # Two stories (Russia's and Syria's new names) whose first 100 characters are alike.
        await bot.storage.entities.alias("Russia", LONG)
        await bot.storage.entities.alias("Syria", LONG_TOO)
        for name in (LONG, LONG_TOO):
            assert "now follow" in (await command(standin, "subscribe", entity=name))["content"]

        # Both are offered, each by its beginning and its end.
        choices = await offered(standin, "Russian military")
        assert len(choices) == 2
        for choice in choices:
            assert len(choice["name"]) <= 100 and len(choice["value"]) <= 100
            assert choice["name"].startswith("Russian military intervention in the Syrian")
        (country,) = [c for c in choices if c["name"].endswith("future of the country")]
        (bases,) = [c for c in choices if c["name"].endswith("future of its air bases")]

        # Each choice leaves the story it shows, and only that one.
        reply = await command(standin, "unsubscribe", entity=bases["value"])
        assert reply["content"] == f"You no longer follow **{LONG_TOO}**."
        listing = (await command(standin, "subscriptions"))["embeds"][0]["description"]
        assert listing == f"• **{LONG}** by DM"
        assert await offered(standin, "Russian military") == [country]
        reply = await command(standin, "unsubscribe", entity=country["value"])
        assert reply["content"] == f"You no longer follow **{LONG}**."
        listing = (await command(standin, "subscriptions"))["embeds"][0]["description"]
        assert listing == "You follow nothing here yet. /subscribe to follow an entity."


async def with_chinese(storage: Storage) -> None:
    await import_archive(storage, [SAMPLE_NEWS, TEST_DATA / "news-zh"])


@pytest.mark.parametrize("typed", ["唐纳德", "唐納德", "特朗普"])
async def test_a_chinese_name_is_offered_typed_in_either_script(
    standin: DiscordStandIn, tmp_path: Path, typed: str
) -> None:
    """Followed as 唐纳德·特朗普 (simplified), the entity is named 唐納德·特朗普: the member's
    subscription is offered however they type it, as /subscribe finds it."""
    async with running_bot(standin, tmp_path / "c.db", prepare=with_chinese):
        reply = await command(standin, "subscribe", entity="唐纳德·特朗普")
        assert "You now follow **唐納德·特朗普**" in reply["content"]
        assert [c["name"] for c in await offered(standin, typed)] == ["唐納德·特朗普"]
