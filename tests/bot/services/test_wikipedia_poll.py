"""The portal service's live poll against a real HTTP stand-in of the MediaWiki API and
real SQLite: history first, then news; failures backed off, the archive's not counted."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.mediawiki import MediaWikiClient
from bot.ingest.portal import ENGLISH
from bot.services.imports import import_archive
from bot.services.wikipedia import WikipediaService
from storage import Storage
from storage.sqlite import SQLiteStorage
from tests.bot.services.wikipedia_support import (
    JANUARY_8,
    MARCH_15,
    TODAY,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    on,
    portal,
    publish,
    wiki_fixture,  # noqa: F401 -- a fixture, found by pytest as `wiki`
    wikitext,
)
from tests.conftest import SAMPLE_NEWS
from tests.support.full_disk import fill_disk, room_again
from tests.support.mediawiki_server import MediaWikiStandIn


async def test_the_live_poll_is_history_first_then_news_once(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))
    async with portal(storage, wiki, clock) as service:
        first = await service.poll_due()  # yesterday's page and today's
        assert first is not None and first.new == 4 + 7 and first.announced == []
        assert await service.poll_due() is None  # not due for ten minutes
        clock.advance(minutes=10)
        added = wikitext(MARCH_15).replace(
            "'''Sports'''\n",
            "'''Business and economy'''\n*[[Samsung Electronics]] forecasts a 35% fall in"
            " quarterly profit. [https://www.reuters.com/samsung (Reuters)]\n'''Sports'''\n",
        )
        publish(wiki, TODAY, on(TODAY, added))
        second = await service.poll_due()
        assert second is not None and second.new == 1 and len(second.announced) == 1
        clock.advance(minutes=10)
        third = await service.poll_due()
    assert third is not None and third.new == 0 and third.announced == []
    state = await storage.portal.poll_state("en")
    assert state.baseline_done and state.consecutive_failures == 0
    assert state.next_poll_at == clock.now + dt.timedelta(minutes=10)


async def test_a_poll_that_fails_backs_off_and_says_so_once_a_step(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    async with portal(storage, wiki, clock) as service:
        wiki.fail_next(500, times=3)
        caplog.set_level(logging.WARNING)
        start = clock.now
        waits = []
        for _ in range(3):
            report = await service.poll_due()
            assert report is not None and report.request_failed
            state = await storage.portal.poll_state("en")
            assert state.next_poll_at is not None
            waits.append(state.next_poll_at - clock.now)
            assert await service.poll_due() is None  # backing off: not due
            clock.now = state.next_poll_at
        assert waits == [
            dt.timedelta(minutes=5),
            dt.timedelta(minutes=10),
            dt.timedelta(minutes=20),
        ]
        polls = [r.getMessage() for r in caplog.records]  # one line a failed attempt
        assert len(polls) == 3 and all("Wikipedia: poll failed" in line for line in polls)
        assert "HTTP 500" in polls[0]
        assert "(1 in a row)" in polls[0] and "(3 in a row)" in polls[2]
        state = await storage.portal.poll_state("en")
        assert state.consecutive_failures == 3 and not state.baseline_done
        assert state.last_error and "HTTP 500" in state.last_error
        # Back: the first successful poll is still history.
        publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))
        back = await service.poll_due()
    assert back is not None and back.ok and back.new == 7 and back.announced == []
    state = await storage.portal.poll_state("en")
    assert state.consecutive_failures == 0 and state.last_success_at == clock.now
    assert clock.now > start


async def test_an_unreachable_wiki_is_a_recorded_failure(
    storage: Storage, clock: Clock, tmp_path: Path
) -> None:
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=2)
    async with make_session(policy) as session:
        # Nothing listens on port 9 of the loopback.
        client = MediaWikiClient(session, policy, "http://127.0.0.1:9/w/api.php", min_interval_s=0)
        service = WikipediaService(storage, client, ENGLISH, clock=clock)
        report = await service.poll()
    assert report.request_failed and "could not connect to 127.0.0.1:9" in report.failures[0].reason
    state = await storage.portal.poll_state("en")
    assert state.consecutive_failures == 1 and state.last_error


async def test_a_poll_that_breaks_unexpectedly_is_backed_off_too(
    storage: Storage,
    wiki: MediaWikiStandIn,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))

    async def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(storage.portal, "apply_day", broken)
    async with portal(storage, wiki, clock) as service:
        report = await service.poll_due()
        assert report is not None and report.request_failed
        assert "internal error: KeyError: 'a bug'" in report.failures[0].reason
        assert await service.poll_due() is None  # backed off, not every minute
    state = await storage.portal.poll_state("en")
    assert state.consecutive_failures == 1
    assert state.next_poll_at == clock.now + dt.timedelta(minutes=5)
    assert [r.levelname for r in caplog.records if "unexpectedly" in r.getMessage()] == ["ERROR"]


async def test_a_poll_the_full_disk_refuses_is_not_the_wiki_s_failure(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing is recorded against the wiki, the same pages are not read again at every
    check, and the poll after the interval stores them."""
    assert isinstance(storage, SQLiteStorage)
    await import_archive(storage, [SAMPLE_NEWS])  # the entity fill_disk follows
    publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))
    await fill_disk(storage, guild_id=1000)
    async with portal(storage, wiki, clock) as service:
        with caplog.at_level(logging.INFO, logger="bot.services.wikipedia"):
            report = await service.poll_due()
        assert report is not None and report.new == 0 and not report.failures
        (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not line.exc_info
        assert line.getMessage().startswith(
            "Wikipedia: the poll could not be stored: cannot write to the database"
        )
        assert line.getMessage().endswith("; it is tried again in 10 minutes")
        state = await storage.portal.poll_state("en")
        assert state.consecutive_failures == 0 and state.last_error is None
        requests = len(wiki.page_requests())

        await room_again(storage)
        clock.advance(minutes=1)
        assert await service.poll_due() is None  # the next check: not yet
        assert len(wiki.page_requests()) == requests
        clock.advance(minutes=9)
        report = await service.poll_due()
        assert report is not None and report.new > 0 and report.ok
