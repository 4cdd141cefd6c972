"""An entity whose name is longer than an autocomplete choice holds (100 characters) can be
picked for /entity, /search and /subscribe, and "Did you mean" shows its whole name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, running_bot
from tests.e2e.standin.server import DiscordStandIn

DAY = dt.date(2018, 3, 7)
# 172 characters, as the portal may nest a story's name.
LONG_NAME = (
    "International Conference " + "on the Reconstruction of Cities after the War " * 3 + "(2018)"
)
LONG_NAME = LONG_NAME.strip()


standin = make_standin_fixture(channels=["general"], users=[ANNA])


async def prepare(storage: Storage) -> None:
    pages = [
        PageRecord(
            make_key(DAY - dt.timedelta(days=n), f"talks-{n}"),
            DAY - dt.timedelta(days=n),
            f"Reconstruction talks, day {n}",
            entities=(LONG_NAME, "Mosul"),
        )
        for n in range(3)
    ]
    await storage.events.import_batch(pages)


async def reply(standin: DiscordStandIn, command: str, **options: Any) -> dict[str, Any]:
    handle = await standin.send_slash_command(command, options, user=ANNA)
    data: dict[str, Any] = (await handle.callback()).json["data"]
    return data


async def choices(standin: DiscordStandIn, command: str, option: str, typed: str) -> list[Any]:
    handle = await standin.send_autocomplete(command, {option: typed}, focused=option, user=ANNA)
    offered: list[Any] = (await handle.callback()).json["data"]["choices"]
    return offered


async def test_a_long_name_is_offered_and_picked(standin: DiscordStandIn, tmp_path: Path) -> None:
    assert len(LONG_NAME) > 100
    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        (choice,) = await choices(standin, "entity", "name", "International Conference")
        assert choice["name"].startswith("International Conference on the Reconstruction")
        assert len(choice["name"]) <= 100 and len(choice["value"]) <= 100

        profile = (await reply(standin, "entity", name=choice["value"]))["embeds"][0]
        assert profile["title"] == LONG_NAME
        assert profile["description"].startswith("**3** events")

        (picked,) = await choices(standin, "search", "entity", "International Conference")
        found = (await reply(standin, "search", query="talks", entity=picked["value"]))["embeds"]
        assert found[0]["description"].count("Reconstruction talks") == 3

        (followed,) = await choices(standin, "subscribe", "entity", "International Conference")
        subscribed = await reply(standin, "subscribe", entity=followed["value"])
        assert subscribed["content"].startswith(f"You now follow **{LONG_NAME}**")


async def test_did_you_mean_shows_a_long_name_whole(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=prepare):
        refused = await reply(standin, "entity", name="International Conference on Reconstruction")
    assert refused["content"].startswith("No entity is called")
    assert f"• {LONG_NAME}" in refused["content"].splitlines()
