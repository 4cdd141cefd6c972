"""The archive slow to answer: Discord drops an interaction not answered within 3 s.

- Autocomplete cannot wait: the member would see "Loading options failed". The bot answers
  no choices in time instead, logs what was asked, and answers as before once the archive
  is back.
- A command, a page turn or an event card's button can: the bot defers, and edits the answer
  in when the archive gives it.

The archive is made slow for real: on PostgreSQL another session holds the events table
locked, as a long migration or a manual maintenance statement would; on SQLite another
connection holds the write lock, as `chronicle import` does while it writes a batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.choices import AUTOCOMPLETE_SECONDS
from tests.conftest import MOD_KEY
from tests.e2e.harness import EPHEMERAL, button, running_bot
from tests.e2e.harness import sample_with_seeds as sample
from tests.e2e.standin.constants import DEFAULT_USER_ID
from tests.e2e.standin.interactions import InteractionHandle
from tests.e2e.standin.records import RecordedRequest
from tests.e2e.standin.server import DiscordStandIn

DEFERRED_UPDATE_MESSAGE = 6
DEFERRED_CHANNEL_MESSAGE = 5


@contextlib.asynccontextmanager
async def events_locked(url: str, seconds: float, table: str = "events") -> AsyncIterator[None]:
    """The table locked by another session from entering the block for `seconds`."""
    maintenance = await asyncpg.connect(url)
    locked = maintenance.transaction()
    await locked.start()
    await maintenance.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    async def release() -> None:
        await asyncio.sleep(seconds)
        await locked.rollback()

    releasing = asyncio.create_task(release())
    try:
        yield
    finally:
        await releasing
        await maintenance.close()


def content(request: RecordedRequest) -> Any:
    return request.json.get("content") if isinstance(request.json, dict) else None


async def choices(handle: InteractionHandle) -> list[dict[str, Any]]:
    callback = await handle.callback(timeout=AUTOCOMPLETE_SECONDS + 3)
    assert callback.status < 300, callback.response  # before Discord gives up on it
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

        async with events_locked(
            postgres_url, seconds=4.0
        ):  # longer than Discord waits for an answer
            turned = await standin.click(results, button(results, "Next"))
            related = await standin.click(card, f"chronicle:event:related:{event.id}")
            for handle in (turned, related):
                callback = await handle.callback()
                assert callback.status < 300, callback.response  # before Discord gives up on it
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


async def test_search_and_onthisday_defer_while_the_servers_settings_are_locked(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """The server's language and timezone are read after "thinking…" is on its way, as the
    events are: a lock on the settings table no longer drops the command."""
    async with running_bot(standin, postgres_url, prepare=sample):
        async with events_locked(postgres_url, seconds=4.0, table="guild_settings"):
            handles = [
                await standin.send_slash_command("search", {"query": "Russia"}),
                await standin.send_slash_command("onthisday", {"date": "06-16"}),
            ]
            for handle in handles:
                callback = await handle.callback()
                assert callback.status < 300, callback.response  # before Discord gives up on it
                assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
        results, day = [await handle.response(timeout=10) for handle in handles]
        assert results["embeds"][0]["footer"]["text"].startswith("Page 1")
        assert day["embeds"][0]["title"] == "On this day: June 16"


async def test_commands_answer_while_another_process_writes_the_sqlite_archive(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A lookup needs no write and answers at once; a command that writes defers, and a
    notice waiting for the member comes after its answer, not in its place."""
    database = tmp_path / "chronicle.db"
    async with running_bot(standin, database, prepare=sample) as bot:
        notice = "Your alerts by DM are paused: your DMs are closed."
        await bot.storage.subscriptions.add_notice(DEFAULT_USER_ID, notice)
        importer = sqlite3.connect(database, isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")  # the write lock, as an import's batch holds it
        try:
            looked_up = await standin.send_slash_command("event", {"query": MOD_KEY})
            card = await looked_up.response(timeout=AUTOCOMPLETE_SECONDS + 3)
            assert card["embeds"][0]["title"].startswith("The Russian Ministry of Defence")

            handle = await standin.send_slash_command("subscribe", {"entity": "ISIL"})
            callback = await handle.callback()
            assert callback.status < 300, callback.response  # before Discord gives up on it
            assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
            await asyncio.sleep(4)  # longer than Discord waits for an answer
        finally:
            importer.rollback()
            importer.close()

        reply = await handle.response(timeout=10)
        assert reply["flags"] & EPHEMERAL
        assert reply["content"].startswith("You now follow **Islamic State** (also named")
        (subscription,) = await bot.storage.subscriptions.for_member(
            handle.guild_id or 0, handle.user_id
        )
        assert subscription.entity == "Islamic State"
        # The list's Remove button, clicked while another process writes, defers too.
        listed = await (await standin.send_slash_command("subscriptions")).response()
        (remove,) = [c for row in listed["components"] for c in row["components"]]
        importer = sqlite3.connect(database, isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")
        try:
            removed = await standin.click(listed, remove["custom_id"])
            callback = await removed.callback()
            assert callback.status < 300, callback.response
            assert callback.json["type"] == DEFERRED_UPDATE_MESSAGE
            await asyncio.sleep(4)
        finally:
            importer.rollback()
            importer.close()
        (edit,) = await removed.original_edits(timeout=10)
        assert "You follow nothing here yet" in edit.json["embeds"][0]["description"]
        assert not await bot.storage.subscriptions.for_member(handle.guild_id or 0, handle.user_id)

        # The notice is taken by the first command once the lock is gone, and follows its
        # answer: told once, privately, and neither answer overwritten.
        told = await standin.wait_for_request(
            lambda r: r.method == "POST" and content(r) == notice, timeout=10
        )
        assert told.path.startswith("/webhooks/") and told.json["flags"] & EPHEMERAL
        await asyncio.sleep(0.5)  # time enough for a second telling, if there were one
        assert [r for r in standin.requests if content(r) == notice] == [told]
        for command, answer in ((looked_up, card), (handle, reply)):
            assert command.original_message is not None
            assert command.original_message["content"] == answer["content"]
            assert command.original_message["embeds"] == answer["embeds"]


async def test_a_notice_waits_for_the_answer_of_a_deferred_command(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """A command's first followup takes the place of its "thinking…": a notice sent then
    would be overwritten by the answer. It goes out after the answer."""
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        notice = "Your alerts by DM are paused: your DMs are closed."
        await bot.storage.subscriptions.add_notice(DEFAULT_USER_ID, notice)
        async with events_locked(postgres_url, seconds=4.0):
            handle = await standin.send_slash_command("event", {"query": MOD_KEY})
            assert (await handle.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE

        card = await handle.response(timeout=10)
        assert card["embeds"][0]["title"].startswith("The Russian Ministry of Defence")
        (told,) = await handle.followups(count=1, timeout=10)
        assert content(told) == notice and told.json["flags"] & EPHEMERAL
        assert told.index > next(
            r.index for r in handle.requests if r.method == "PATCH"
        )  # after the answer
        assert handle.original_message is not None
        assert handle.original_message["embeds"] == card["embeds"]  # not overwritten
