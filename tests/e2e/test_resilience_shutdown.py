"""Stopping the bot (Ctrl-C, SIGTERM) while a member's command is under way, over the
loopback Discord and a real PostgreSQL whose events table another session holds locked (the
command waits for it). A command that finishes within the shutdown's grace is answered as
usual; one that does not is stopped before the archive closes under it: one calm line in the
log, no traceback (it had been "CommandInvokeError: InterfaceError: pool is closing"), and
the member is asked to try again rather than left "thinking…"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.tree import RESTARTING
from tests.e2e.harness import running_bot, sample
from tests.e2e.standin.server import DiscordStandIn

DEFERRED_CHANNEL_MESSAGE = 5


@contextlib.asynccontextmanager
async def events_locked(url: str, seconds: float) -> AsyncIterator[None]:
    """The events table locked by another session for `seconds` from entering the block."""
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


async def test_a_command_past_the_grace_is_stopped_calmly_and_its_member_told(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        bot.command_grace = 0.5
        async with events_locked(postgres_url, seconds=4.0):
            search = await standin.send_slash_command("search", {"query": "Russia"})
            assert (await search.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE
            await bot.close()
            answer = await search.response(timeout=5)
    assert answer["content"] == RESTARTING
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, caplog.text
    assert "pool is closing" not in caplog.text and "Session is closed" not in caplog.text
    said = [r.getMessage() for r in caplog.records if r.name == "bot.tree"]
    assert len(said) == 1, said
    assert said[0].startswith("/search by user")
    assert said[0].endswith("stopped by the shutdown after 0.5 s; the member is asked to try again")


async def test_a_command_that_finishes_within_the_grace_is_answered_as_usual(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        bot.command_grace = 10.0
        async with events_locked(postgres_url, seconds=1.0):
            search = await standin.send_slash_command("search", {"query": "Russia"})
            assert (await search.callback()).json["type"] == DEFERRED_CHANNEL_MESSAGE
            await bot.close()
        answer = await search.response(timeout=5)
    assert answer["embeds"][0]["footer"]["text"].startswith("Page 1")
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "bot.tree"]
    assert not bad, caplog.text
