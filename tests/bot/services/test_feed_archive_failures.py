"""A poll the archive cannot store (its disk full): not the feed's failure. Nothing of it is
stored or counted against the feed, the round says so once with what to do, and a round
after the poll interval fetches the same entries again, losing none. A real feed server on
127.0.0.1, a real SQLite file capped as a full disk is."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.service import ARCHIVE_FAILED, FeedService
from bot.services.imports import import_archive
from storage import Storage
from storage.sqlite import SQLiteStorage
from tests.conftest import SAMPLE_NEWS
from tests.support.feed_server import FeedServer, wire_rss
from tests.support.full_disk import fill_disk, room_again

LOCAL = FetchPolicy(allow_private_addresses=True, timeout_s=5.0)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ITEMS = [(f"wire-{n}", f"Earthquake shakes the coast of Atlantis, report {n}") for n in range(5)]


@pytest.fixture
async def archive(storage: Storage) -> SQLiteStorage:
    """The test's SQLite archive (tests/conftest.py), with the bundled sample."""
    assert isinstance(storage, SQLiteStorage)
    await import_archive(storage, [SAMPLE_NEWS])
    return storage


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LOCAL) as sess:
        yield sess


async def test_a_poll_the_full_disk_refuses_is_fetched_again_and_stored_once_there_is_room(
    archive: SQLiteStorage, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with FeedServer() as server:
        server.set_file("wire.xml", wire_rss(ITEMS, now=NOW))
        feed = await archive.feeds.add(server.url("wire.xml"), "Wire", now=NOW)
        now = NOW
        service = FeedService(archive, session, LOCAL, poll_minutes=10, clock=lambda: now)
        await fill_disk(archive, guild_id=1000)

        with caplog.at_level(logging.INFO, logger="bot.services.feeds"):
            report = await service.poll_many([feed])
        (outcome,) = report.outcomes
        assert outcome.status == "failed" and outcome.error_kind == ARCHIVE_FAILED
        assert "database or disk is full" in (outcome.error or "")
        lines = [
            r for r in caplog.records if r.name.startswith("bot.") and r.levelno >= logging.INFO
        ]
        (line,) = lines  # one line for the round, no traceback
        assert line.levelno == logging.ERROR and not line.exc_info
        assert line.getMessage().startswith(
            "the polls of 1 of 1 feeds were not stored: cannot write"
        )
        assert line.getMessage().endswith("they are fetched again in 10 minutes")
        stored = await archive.feeds.get(feed.id)
        assert stored is not None
        assert stored.consecutive_failures == 0 and stored.last_error is None  # not the feed's
        assert stored.etag is None  # so the next poll is not answered "not modified"

        await room_again(archive)
        # Not at the next check (a minute on): every feed would be fetched again for nothing.
        now += dt.timedelta(minutes=1)
        assert (await service.poll_due()).outcomes == []
        now += dt.timedelta(minutes=9)
        report = await service.poll_due()  # still due: the failed round recorded nothing
        (outcome,) = report.outcomes
        assert outcome.status == "ok" and len(outcome.created) == len(ITEMS)
        assert server.request_count("wire.xml") == 2
