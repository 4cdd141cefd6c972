"""The archive failing just as the bot comes up: the work it starts once connected (the
first alert sweep, resuming what a stopped process left half posted, the digests missed while
it was down, then the periodic polls and sweeps) meets a lock another session holds, a server
restarting. It is tried again until it succeeds, one line in the log each time; the bot does
not stay connected and answering commands while no digest is ever scheduled and no feed
polled again until someone restarts it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage import Storage, open_storage
from tests.e2e.harness import FakeClock, running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn

UTC = dt.UTC
NEWS = DEFAULT_GUILD_ID + 11
NOW = dt.datetime(2026, 6, 16, 11, 0, tzinfo=UTC)


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(guilds=[make_guild(channels=["general", "news"])]) as api:
        yield api
    assert not api.internal_errors


async def digest_due_while_down(storage: Storage) -> None:
    """The sample archive, and a daily digest due at 09:00 UTC, set the day before: the bot
    starting at 11:00 posts that day's run, missed while it was down."""
    await sample(storage)
    await storage.digests.upsert(
        guild_id=DEFAULT_GUILD_ID,
        channel_id=NEWS,
        kind="onthisday",
        time=dt.time(9, 0),
        timezone="UTC",
        created_by=DEFAULT_USER_ID,
        now=NOW - dt.timedelta(days=1),
    )


async def test_work_the_archive_refuses_at_start_is_tried_again_until_it_is_done(
    standin: DiscordStandIn,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Far longer as shipped: a statement waits for a lock, and the start's work is tried again.
    monkeypatch.setattr("storage.postgres.db.LOCK_WAIT", "300ms", raising=False)
    monkeypatch.setattr("bot.client.WORK_RETRY", 0.5, raising=False)
    clock = FakeClock(NOW)
    other = await asyncpg.connect(postgres_url)
    released = asyncio.Event()

    async def release_later() -> None:
        await asyncio.sleep(3.0)
        await locked.rollback()
        released.set()

    try:
        storage = await open_storage(postgres_url)  # made and filled before the lock
        try:
            await digest_due_while_down(storage)
        finally:
            await storage.close()
        locked = other.transaction()
        await locked.start()
        # Runs a stopped process left half posted cannot be taken back while this holds.
        await other.execute("LOCK TABLE digest_runs IN SHARE MODE")
        releasing = asyncio.create_task(release_later())
        with caplog.at_level(logging.ERROR):
            async with running_bot(standin, postgres_url, clock=clock) as bot:
                assert released.is_set()
                await standin.wait_for_request_to("POST", rf"/channels/{NEWS}/messages", timeout=10)
                jobs = {job.id for job in bot.chronicle_scheduler.apscheduler.get_jobs()}
                assert {"digest:1", "feeds", "alerts"} <= jobs
        await releasing
    finally:
        await other.close()
    posted = [
        r.json["embeds"][0]["title"]
        for r in standin.requests_to("POST", rf"/channels/{NEWS}/messages")
        if r.status < 300
    ]
    assert posted == ["On this day: June 16"]
    lines = [r for r in caplog.records if r.name == "bot.client" and r.levelno >= logging.ERROR]
    assert lines and not any(r.exc_info for r in lines)
    assert all("the archive's doing" in r.getMessage() for r in lines)
    assert lines[0].getMessage().endswith("tried again in 0.5 seconds")
