"""The archive slow to answer: Discord drops an interaction not answered within 3 s.

- Autocomplete cannot wait: the member would see "Loading options failed". The bot answers
  no choices in time instead, logs what was asked, and answers as before once the archive
  is back.
- A page turn or an event card's button can: the bot defers, as a command does, and edits
  the answer in when the archive gives it.

The archive is made slow for real: another PostgreSQL session holds the events table locked,
as a long migration or a manual maintenance statement would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.choices import AUTOCOMPLETE_SECONDS
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_PAGES
from tests.e2e.harness import running_bot
from tests.e2e.standin.interactions import InteractionHandle
from tests.e2e.standin.server import DiscordStandIn

EPHEMERAL = 64
DEFERRED_UPDATE_MESSAGE = 6
DEFERRED_CHANNEL_MESSAGE = 5


async def sample(storage: Storage) -> None:
    await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES])


@contextlib.asynccontextmanager
async def events_locked(url: str, seconds: float) -> AsyncIterator[None]:
    """The events table locked by another session from entering the block for `seconds`."""
    maintenance = await asyncpg.connect(url)
    locked = maintenance.transaction()
    await locked.start()
    await maintenance.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")

    async def release() -> None:
        await asyncio.sleep(seconds)
        await locked.rollback()

    releasing = asyncio.create_task(release())
    try:
        yield
    finally:
        await releasing
        await maintenance.close()


def button(message: dict[str, Any], label: str) -> str:
    return next(
        c["custom_id"]
        for row in message["components"]
        for c in row["components"]
        if c.get("label") == label
    )


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as api:  # answers later than 3 s get 404 Unknown interaction
        yield api
    assert not api.internal_errors


async def choices(handle: InteractionHandle) -> list[dict[str, Any]]:
    callback = await handle.callback(timeout=AUTOCOMPLETE_SECONDS + 3)
    assert callback.status < 300, callback.response  # within Discord's 3 s
    assert callback.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    result: list[dict[str, Any]] = callback.json["data"]["choices"]
    return result


async def test_autocomplete_answers_no_choices_in_time_while_the_archive_is_locked(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    typed = {"query": "russian ministry of def"}
    async with running_bot(standin, postgres_url, prepare=sample):
        before = await choices(await standin.send_autocomplete("event", typed, focused="query"))
        assert before[0]["name"].startswith("2017-06-16 · The Russian Ministry of Defence")

        maintenance = await asyncpg.connect(postgres_url)
        try:
            locked = maintenance.transaction()
            await locked.start()
            await maintenance.execute("LOCK TABLE events, entities IN ACCESS EXCLUSIVE MODE")
            with caplog.at_level(logging.WARNING, logger="bot.choices"):
                during = await choices(
                    await standin.send_autocomplete("event", typed, focused="query")
                )
                names = await choices(
                    await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
                )
            assert during == [] and names == []
            said = [r.getMessage() for r in caplog.records if r.name == "bot.choices"]
            assert len(said) == 2
            assert said[0].startswith("autocomplete answered no choices after 2.0 s: /event by")
            assert "typed 'russian ministry of def'" in said[0]
            assert said[1].startswith("autocomplete answered no choices after 2.0 s: /entity by")
            await locked.rollback()
        finally:
            await maintenance.close()

        # The waits given up left no connection of the pool behind: answers as before.
        after = await choices(await standin.send_autocomplete("event", typed, focused="query"))
        assert after == before
        names = await choices(
            await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
        )
        assert names and all("abu" in n["name"].casefold() for n in names)


async def test_page_turns_and_card_buttons_defer_while_the_archive_is_locked(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        results = await (await standin.send_slash_command("search", {"query": "Russia"})).response()
        assert results["embeds"][0]["footer"]["text"].startswith("Page 1")
        card = await (await standin.send_slash_command("event", {"query": MOD_KEY})).response()
        event = await bot.storage.events.get_by_key(MOD_KEY)
        assert event is not None

        async with events_locked(postgres_url, seconds=4.0):  # past Discord's 3 s
            turned = await standin.click(results, button(results, "Next"))
            related = await standin.click(card, f"chronicle:event:related:{event.id}")
            for handle in (turned, related):
                callback = await handle.callback()
                assert callback.status < 300, callback.response  # within Discord's 3 s
            assert (await turned.callback()).json["type"] == DEFERRED_UPDATE_MESSAGE
            assert (await related.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE

        (edit,) = await turned.original_edits(timeout=10)
        page_two = edit.json["embeds"][0]
        assert page_two["footer"]["text"].startswith("Page 2")
        assert page_two["description"].startswith("**11.**")
        assert standin.messages[int(results["id"])]["embeds"][0] == edit.response["embeds"][0]

        answer = await related.response(timeout=10)
        assert answer["flags"] & EPHEMERAL
        assert answer["embeds"][0]["description"].count("shared:") == 10
