"""The portal service against a real HTTP stand-in of the MediaWiki API and real SQLite: a
live poll after an outage reads the days missed (at most CATCH_UP_DAYS, and says which it
left), a lag that the client gives up on fails its batch but not the pull, and day pages
are parsed off the event loop."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

from bot.config import Settings
from bot.ingest.portal import ENGLISH, PortalDay, parse_day
from bot.services.portal_news import WAITING_AT_MOST, portal_waiting_since
from bot.services.wikipedia import FLOOD_CAP
from bot.services.wikipedia_days import CATCH_UP_DAYS, PullFailure, portal_status
from storage import Storage
from tests.bot.services.wikipedia_support import (
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    portal,
    publish,
    wiki_fixture,  # noqa: F401 -- a fixture, found by pytest as `wiki`
)
from tests.support.mediawiki_server import MediaWikiStandIn

_LETTERS = "bcdfghjklmnprstvz"


def _word(n: int) -> str:
    """A made-up word of its own for each n (headlines that share no words but these)."""
    c = _LETTERS
    return c[n % 17] + "a" + c[n // 17 % 17] + "o" + c[n // 289 % 17] + "u"


def headline(date: dt.date, n: int) -> str:
    k = (date.toordinal() % 1000) * 10 + n
    words = [_word(4 * k + j) for j in range(4)]
    return f"{words[0].title()} {words[1]} {words[2]} {words[3]} happens in Peru."


def page(date: dt.date, items: int) -> str:
    """A day page of the content= layout with this many items, each its own story."""
    bullets = "\n".join(
        headline(date, n)
        .replace("Peru", "[[Peru]]")
        .join(("*", f" [https://e.org/{date.isoformat()}/{n} (AP)]"))
        for n in range(items)
    )
    return (
        f"{{{{Current events|year={date.year}|month={date:%m}|day={date.day}|content=\n"
        "<!-- All news items below this line -->\n"
        "'''Disasters and accidents'''\n"
        f"{bullets}\n"
        "<!-- All news items above this line -->}}\n"
    )


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


async def announced(storage: Storage, ids: list[int]) -> list[tuple[dt.date, str]]:
    events = [await storage.events.get(i) for i in ids]
    return sorted((e.date, e.headline) for e in events if e is not None)


def asked_days(wiki: MediaWikiStandIn, skip: int = 0) -> list[list[str]]:
    """The day pages each request for revisions asked for (but the first ``skip``)."""
    return [r.titles for r in wiki.page_requests()[skip:]]


async def test_a_poll_after_an_outage_of_three_days_reads_the_days_missed_as_news(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot polls on 5 January and is down until 8 January: 6 January is read too, and
    its news, which the server missed, is announced with 7 and 8 January's."""
    for date in days(dt.date(2024, 1, 4), dt.date(2024, 1, 8)):
        publish(wiki, date, page(date, 1))
    clock.now = dt.datetime(2024, 1, 5, 12, tzinfo=dt.UTC)
    caplog.set_level(logging.INFO, logger="bot.services.wikipedia")
    async with portal(storage, wiki, clock) as service:
        baseline = await service.poll()
        assert baseline.new == 2 and baseline.announced == []  # the first poll: history
        clock.advance(days=3)
        skip = len(wiki.page_requests())
        back = await service.poll()

    assert back.ok and back.days == 4 and back.new == 3 and back.unchanged_days == 1
    assert asked_days(wiki, skip) == [
        [ENGLISH.title(d) for d in days(dt.date(2024, 1, 5), dt.date(2024, 1, 8))]
    ]
    assert await announced(storage, back.announced) == [
        (date, headline(date, 0)) for date in days(dt.date(2024, 1, 6), dt.date(2024, 1, 8))
    ]
    held = await storage.portal.revisions("en", days(dt.date(2024, 1, 1), dt.date(2024, 1, 9)))
    assert sorted(held) == days(dt.date(2024, 1, 4), dt.date(2024, 1, 8))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    status = await portal_status(storage, Settings(), clock=clock)
    assert status.unread == []


async def test_a_long_outage_reads_the_last_days_only_says_which_are_left_and_does_not_flood(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Down from 1 to 21 January: the poll reads the last CATCH_UP_DAYS days; the days
    before are named, in the log and in the status, with the pull that reads them; the
    days before yesterday announce FLOOD_CAP events at most between them."""
    assert (CATCH_UP_DAYS, FLOOD_CAP) == (14, 20)
    for date in days(dt.date(2023, 12, 31), dt.date(2024, 1, 21)):
        publish(wiki, date, page(date, 3))
    clock.now = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
    async with portal(storage, wiki, clock) as service:
        await service.poll()  # the baseline: 31 December and 1 January
        clock.advance(days=20)
        before = await portal_status(storage, Settings(), clock=clock)
        assert before.unread == days(dt.date(2024, 1, 1), dt.date(2024, 1, 7))
        with caplog.at_level(logging.WARNING, logger="bot.services.wikipedia"):
            back = await service.poll()

    assert back.ok and back.days == 14 and back.fetched == 14 and back.new == 14 * 3
    # 8 to 13 January's 18 events are news; 14 January's 3 would pass FLOOD_CAP, and so on:
    # history. Yesterday's and today's pages are announced as in any poll.
    news = [date for date, _ in await announced(storage, back.announced)]
    assert (
        news
        == [d for d in days(dt.date(2024, 1, 8), dt.date(2024, 1, 13)) for _ in range(3)]
        + [dt.date(2024, 1, 20)] * 3
        + [dt.date(2024, 1, 21)] * 3
    )
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == (
        "Wikipedia: the last successful poll was on 2024-01-01 and a poll reads at most 14"
        " days: 2024-01-01 to 2024-01-07 left unread; run"
        " `chronicle wikipedia pull --since 2024-01-01 --until 2024-01-07` to read them"
    )
    held = await storage.portal.revisions("en", days(dt.date(2023, 12, 31), dt.date(2024, 1, 21)))
    assert sorted(held) == [
        dt.date(2023, 12, 31),
        dt.date(2024, 1, 1),
        *days(dt.date(2024, 1, 8), dt.date(2024, 1, 21)),
    ]
    after = await portal_status(storage, Settings(), clock=clock)
    assert after.unread == days(dt.date(2024, 1, 2), dt.date(2024, 1, 7))
    # Not told again at the next poll; the pull named reads them.
    clock.advance(minutes=10)
    async with portal(storage, wiki, clock) as service:
        with caplog.at_level(logging.WARNING, logger="bot.services.wikipedia"):
            caplog.clear()
            assert (await service.poll()).ok
            assert not caplog.records
            pulled = await service.pull(dt.date(2024, 1, 1), dt.date(2024, 1, 7))
    assert pulled.ok and pulled.new == 6 * 3 and pulled.announced == []
    assert (await portal_status(storage, Settings(), clock=clock)).unread == []


async def test_a_short_lag_fails_its_batch_and_the_pull_goes_on(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    """A lagging wiki answers Retry-After: 5 (Wikimedia's usual) four times running: the
    client waits it out until its retries run out; that batch of 50 days fails, and the
    next batch is read (only a wait longer than the client's maximum stops a pull)."""
    since = dt.date(2023, 10, 1)
    for n in range(0, 100, 10):
        date = since + dt.timedelta(days=n)
        publish(wiki, date, page(date, 1))
    wiki.maxlag_next(times=4, retry_after="5")
    sleeps: list[float] = []
    async with portal(storage, wiki, clock, sleeps) as service:
        report = await service.pull(since, since + dt.timedelta(days=99))

    assert [s for s in sleeps if s > 0.05] == [5, 5, 5]
    assert report.fetched == 5 and report.new == 5 and report.retry_after is None
    (failure,) = report.failures
    assert failure == PullFailure(
        "2023-10-01 to 2023-11-19", "the wiki is lagging: " + failure.reason.split(": ", 1)[1]
    )
    assert failure.reason.endswith("; still so after 4 attempts")
    held = await storage.portal.revisions("en", days(since, since + dt.timedelta(days=99)))
    assert min(held) == dt.date(2023, 11, 20) and len(held) == 50  # the second batch
    assert [len(titles) for titles in asked_days(wiki)] == [50] * 4 + [50]


async def test_a_day_page_is_parsed_off_the_event_loop(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page that takes long to parse (a huge vandal page) does not hold the event loop
    up: it is parsed on another thread, while slash commands and the gateway's heartbeat go
    on."""
    date = clock.now.date()
    publish(wiki, date, page(date, 2))
    threads: list[int] = []

    def parse_recorded(day: dt.date, text: str, *, language: str = "en") -> PortalDay:
        threads.append(threading.get_ident())
        return parse_day(day, text, language=language)

    monkeypatch.setattr("bot.services.wikipedia.parse_day", parse_recorded)
    async with portal(storage, wiki, clock) as service:
        report = await service.poll()
    assert report.ok and report.new == 2
    assert threads and threading.get_ident() not in threads


async def test_portal_items_wait_for_the_next_poll_but_not_for_a_wiki_down_for_long(
    storage: Storage,
) -> None:
    """Items found by the last poll that read the portal wait for the next one
    (storage.news_rules); with the portal not read for over an hour beyond its interval,
    nothing waits any more, and nothing does when the bot does not poll."""
    polled = dt.datetime(2024, 1, 9, 12, 0, tzinfo=dt.UTC)
    settings = Settings(wikipedia_poll_minutes=10)
    assert await portal_waiting_since(storage, settings, polled) is None  # never polled
    await storage.portal.record_poll(
        "en", at=polled, next_poll_at=polled + dt.timedelta(minutes=10)
    )
    soon = polled + dt.timedelta(minutes=15)
    assert await portal_waiting_since(storage, settings, soon) == polled
    late = polled + WAITING_AT_MOST + dt.timedelta(minutes=11)
    assert await portal_waiting_since(storage, settings, late) is None
    off = Settings(wikipedia_poll_minutes=0)
    assert await portal_waiting_since(storage, off, soon) is None
