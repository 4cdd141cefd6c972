"""Feeds end to end: a real HTTP server on 127.0.0.1 serving the captured feeds, a real
SQLite file, the service that polls, and the `chronicle feeds` commands."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime
from html import escape
from pathlib import Path

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.cli import main
from bot.errors import InvalidInput, NotFound
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.categories import section_labels
from bot.services.feeds.reports import FeedOutcome, PollReport
from bot.services.feeds.rules import FeedRules
from bot.services.feeds.service import FeedService, run_poll_loop
from storage import Storage
from storage.keys import make_key
from storage.models import Feed, PageRecord, SearchFilter
from storage.textindex import CJK_RUN
from tests.support.feed_server import FeedServer

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO / "tests" / "data" / "feeds"
FILES = sorted(p.name for p in DATA_DIR.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
# What bot/ingest/feeds refuses as not a feed (see tests/bot/ingest/feeds/test_parse.py).
NOT_FEEDS = {
    "fp_illformed_unclosed_rss.xml",
    "frs_reuters_truncated_rss2.xml",
    "kagi_malformed_rss_namespaced.xml",
    "nb_empty_file_zero_bytes.xml",
    "rsa_egoist_fragment_not_feed.xml",
    "rssp_document_moved_html_fragment.xml",
    "rsa_maodoupi_account_suspended.html",
    "rsa_v2ex_jsonfeed_syntax_error.json",
}
LOCAL = FetchPolicy(allow_private_addresses=True, timeout_s=5.0)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Clock:
    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def entry(
    guid: str,
    title: str,
    *,
    link: str | None = None,
    date: dt.datetime | None = None,
    text: str = "",
    categories: tuple[str, ...] = (),
) -> str:
    parts = [f"<title>{escape(title)}</title>", f"<guid isPermaLink='false'>{guid}</guid>"]
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if date:
        parts.append(f"<pubDate>{format_datetime(date)}</pubDate>")
    if text:
        parts.append(f"<description>{escape(text)}</description>")
    parts += [f"<category>{escape(c)}</category>" for c in categories]
    return "<item>" + "".join(parts) + "</item>"


def rss(*items: str, title: str = "Test Wire") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://wire.example/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def stories(prefix: str, count: int, *, start: dt.datetime = NOW) -> list[str]:
    """Distinct stories, newest first, an hour apart."""
    words = ["harbour", "senate", "glacier", "railway", "orchestra", "vaccine", "border"]
    return [
        entry(
            f"{prefix}-{i}",
            f"{prefix.title()} story {i}: {words[i % len(words)]} report number {i} published",
            link=f"https://wire.example/{prefix}/{i}",
            date=start - dt.timedelta(hours=i),
        )
        for i in range(count)
    ]


async def announce_flags(storage: Storage, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = await storage.db.fetchall(
        f"SELECT announce FROM events WHERE id IN ({','.join('?' * len(ids))})", ids
    )
    return [row[0] for row in rows]


async def findable(storage: Storage, event_id: int, headline: str) -> bool:
    """Whether a search for the headline's words finds the event.

    Each word, and each CJK run, is its own term: storage.search currently misses a
    phrase in which a CJK run is followed by anything else ("建国35周年", "纪念，华表"),
    because the query leaves out the trailing unigram the index puts after every run.
    That is a search bug of its own (reported), not a feed one.
    """
    terms: list[str] = []
    for word in re.findall(r"[^\W_]+", headline):
        terms += [t for t in re.split(f"({CJK_RUN.pattern})", word) if t]
    words = sorted(set(terms), key=lambda w: (-len(w), w))[:8]
    hits = await storage.search.search(SearchFilter(text=" ".join(words)), limit=50)
    return event_id in {h.event.id for h in hits}


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer(DATA_DIR) as srv:
        yield srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LOCAL) as sess:
        yield sess


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(storage: Storage, session: aiohttp.ClientSession, clock: Clock) -> FeedService:
    return FeedService(storage, session, LOCAL, poll_minutes=10, clock=clock)


async def add_unfetched(storage: Storage, url: str, name: str = "Feed") -> Feed:
    """A feed row without the add-time fetch, to poll it as the scheduler would."""
    return await storage.feeds.add(url, name, now=NOW)


async def current(storage: Storage, feed: Feed) -> Feed:
    fresh = await storage.feeds.get(feed.id)
    assert fresh is not None
    return fresh


# --- every captured file --------------------------------------------------------------------


async def test_every_captured_file_is_ingested_or_refused(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    feeds = {name: await add_unfetched(storage, server.url(name), name) for name in FILES}
    started = time.monotonic()
    first = await service.poll_all(NOW, concurrency=8)
    assert time.monotonic() - started < 30
    outcomes = {o.url: o for o in first.outcomes}
    assert len(outcomes) == len(FILES)

    refused: set[str] = set()
    for name, feed in feeds.items():
        outcome = outcomes[feed.url]
        row = await current(storage, feed)
        if not outcome.ok:
            refused.add(name)
            assert outcome.error_kind == "not_a_feed" and outcome.error, name
            assert (row.last_error_kind, row.last_error) == (outcome.error_kind, outcome.error)
            assert row.next_poll_at == NOW + dt.timedelta(minutes=5)
            continue
        # Ingested: every entry is stored and is (or joined) an event one can find.
        assert row.entries_seen == outcome.entries == outcome.unseen, name
        assert len(outcome.created) + outcome.merged == outcome.entries, name
        assert outcome.announced == []  # a first fetch is history
        for event_id in outcome.created[:1] + outcome.created[-1:]:
            event = await storage.events.get(event_id)
            assert event is not None and event.complete
            assert await findable(storage, event_id, event.headline), (name, event.headline)
    assert refused == NOT_FEEDS
    stats = await storage.stats()
    assert stats.events > 700 and await storage.feeds.counts() == {
        "feeds": len(FILES),
        "feeds_failing": 8,
    }

    # A second poll adds nothing: conditional GETs answer 304...
    later = NOW + dt.timedelta(minutes=10)
    second = await service.poll_all(later, concurrency=8)
    assert {
        o.status for o in second.outcomes if o.url not in {feeds[n].url for n in NOT_FEEDS}
    } == {"not_modified"}
    assert second.created_ids == [] and (await storage.stats()).events == stats.events
    # ... and without validators (servers that ignore them), and with the last body's
    # hash forgotten so that every document is parsed again, the identities are all seen.
    for name in FILES:
        server.route(name, conditional=False)
    async with storage.db.transaction() as conn:
        await conn.execute("UPDATE feeds SET body_sha256 = NULL")
    third = await service.poll_all(later + dt.timedelta(minutes=10), concurrency=8)
    parsed = [o for o in third.outcomes if o.ok]
    assert len(parsed) == len(FILES) - len(NOT_FEEDS)
    assert all(o.status == "ok" and o.unseen == 0 for o in parsed)
    assert sum(o.entries for o in parsed) > 700
    assert third.created_ids == [] and (await storage.stats()).events == stats.events


async def test_not_modified_keeps_validators_and_reschedules(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    result = await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
    feed = result.feed
    assert feed.etag and feed.last_modified and feed.next_poll_at == NOW + 10 * MINUTE
    outcome = await service.poll_feed(feed, NOW + 10 * MINUTE)
    assert outcome.status == "not_modified" and outcome.ok
    assert server.last_headers("kde_zeit_de_rss091_iso88591.xml")["If-None-Match"] == feed.etag
    after = await current(storage, feed)
    assert (after.etag, after.last_modified) == (feed.etag, feed.last_modified)
    assert after.last_success_at == NOW + 10 * MINUTE
    assert after.next_poll_at == NOW + 20 * MINUTE
    assert await storage.feeds.due(NOW + 15 * MINUTE) == []


async def test_same_bytes_without_validators_are_not_parsed_again(
    storage: Storage,
    server: FeedServer,
    service: FeedService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "kde_zeit_de_rss091_iso88591.xml"
    server.route(name, conditional=False)
    feed = (await service.add_feed(server.url(name))).feed
    assert feed.etag is None and feed.body_sha256

    async def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the same bytes were parsed again")

    monkeypatch.setattr("bot.services.feeds.service.parse_feed", no_parsing)
    outcome = await service.poll_feed(feed, NOW + 10 * MINUTE)
    assert outcome.status == "not_modified" and server.request_count(name) == 2
    assert (await current(storage, feed)).last_success_at == NOW + 10 * MINUTE


async def test_feed_that_rewrites_every_date_and_text_adds_nothing(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    original = (DATA_DIR / "chfr_ctvnews_ca_rss2.xml").read_bytes()
    server.set_file("ctv.xml", original)
    added = await service.add_feed(server.url("ctv.xml"))
    assert len(added.outcome.created) == 10
    events_before = (await storage.stats()).events

    rewritten = re.sub(
        rb"<pubDate>[^<]*</pubDate>", b"<pubDate>Wed, 01 May 2024 11:00:00 GMT</pubDate>", original
    )
    rewritten = rewritten.replace(b"<description>", b"<description>Updated: ")
    rewritten = re.sub(rb"<title>", b"<title>UPDATE ", rewritten)
    assert rewritten.count(b"2024") >= 10 and rewritten != original
    server.set_file("ctv.xml", rewritten)
    outcome = await service.poll_feed(added.feed, NOW + 10 * MINUTE)
    assert outcome.status == "ok" and outcome.entries == 10 and outcome.unseen == 0
    assert outcome.created == [] and (await storage.stats()).events == events_before
    event = await storage.events.get(added.outcome.created[0])
    assert event is not None and not event.headline.startswith("UPDATE")


# --- the same story from two feeds ----------------------------------------------------------


async def test_same_story_from_two_feeds_is_one_event(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    story = "Russian airstrike may have killed Islamic State leader Abu Bakr al-Baghdadi"
    when = NOW - dt.timedelta(hours=2)
    server.set_file(
        "a.xml",
        rss(
            entry("a-1", story, link="https://agency-a.example/baghdadi", date=when),
            entry(
                "a-2",
                "Glacier collapse blocks a valley road in the Alps",
                link="https://agency-a.example/alps",
                date=when,
            ),
            title="Agency A",
        ),
    )
    await service.add_feed(server.url("a.xml"))
    # Feed B: the same link under another GUID and title, and the Baghdadi story with
    # its own link and a nearly identical headline.
    server.set_file(
        "b.xml",
        rss(
            entry(
                "b-1", "Alpine valley road blocked", link="https://agency-a.example/alps", date=when
            ),
            entry(
                "b-2",
                story + " says ministry",
                link="https://paper-b.example/world/1",
                date=when - dt.timedelta(hours=1),
            ),
            title="Paper B",
        ),
    )
    result = await service.add_feed(server.url("b.xml"))
    assert result.outcome.created == [] and result.outcome.merged == 2

    hits = await storage.search.search(SearchFilter(text="Baghdadi"))
    assert len(hits) == 1
    event = await storage.events.get(hits[0].event.id)
    assert event is not None
    assert [(s.name, s.url) for s in event.sources] == [
        ("Agency A", "https://agency-a.example/baghdadi"),
        ("Paper B", "https://paper-b.example/world/1"),
    ]
    alps = await storage.search.search(SearchFilter(text="Alps"))
    alps_event = await storage.events.get(alps[0].event.id)
    assert alps_event is not None and len(alps_event.sources) == 1  # one URL, one source
    assert len(await storage.feeds.event_feeds(alps_event.id)) == 2
    assert (await storage.stats()).events == 2


# --- failures -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:  # free a moment ago: nobody listens there now
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAILURES = {
    "timeout": "timed out after 0.5 s",
    "http_status": "HTTP 503 Service Unavailable",
    "too_large": "body exceeds 5 MB limit",
    "not_a_feed": "HTML page",
    "refused_address": "127.0.0.1 is a loopback address",
    "invalid_url": "redirect from",
    "too_many_redirects": "more than 5 redirects",
    "network": "could not connect",
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_each_failure_kind_is_recorded_and_backed_off(
    kind: str, storage: Storage, server: FeedServer
) -> None:
    url = server.url(f"{kind}.xml")
    allow_private = kind != "refused_address"
    policy = FetchPolicy(allow_private_addresses=allow_private, timeout_s=0.5)
    if kind == "timeout":
        server.route(f"{kind}.xml", delay_s=5)
    elif kind == "http_status":
        server.set_status(f"{kind}.xml", 503, b"down for maintenance")
    elif kind == "too_large":
        server.route(f"{kind}.xml", stream_bytes=6 * 1024 * 1024)  # no Content-Length
    elif kind == "not_a_feed":
        url = server.url("rsa_maodoupi_account_suspended.html")
    elif kind == "invalid_url":
        server.redirect(f"{kind}.xml", "ftp://files.example/feed.xml")
    elif kind == "too_many_redirects":
        server.redirect_chain(f"{kind}.xml", hops=6, target="kde_zeit_de_rss091_iso88591.xml")
    elif kind == "network":
        url = f"http://127.0.0.1:{free_port()}/feed.xml"
    feed = await add_unfetched(storage, url)
    async with make_session(policy) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        started = time.monotonic()
        outcome = await service.poll_feed(feed, NOW)
        assert time.monotonic() - started < 3
    assert outcome.status == "failed" and outcome.error_kind == kind
    assert outcome.error and FAILURES[kind] in outcome.error
    row = await current(storage, feed)
    assert (row.last_error_kind, row.last_error, row.last_error_at) == (kind, outcome.error, NOW)
    assert row.consecutive_failures == 1 and row.last_success_at is None
    assert row.next_poll_at == NOW + dt.timedelta(minutes=5)
    assert row.first_parse_failure_at == (NOW if kind == "not_a_feed" else None)
    if kind == "too_large":
        await asyncio.sleep(0.1)  # let the server notice the hang-up
        assert not server.stream_stats(f"{kind}.xml").completed
    if kind == "refused_address":
        assert server.request_count(f"{kind}.xml") == 0


async def test_backoff_doubles_caps_at_a_day_and_11_failures_disable(
    storage: Storage, server: FeedServer, service: FeedService, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_status("down.xml", 503)
    feed = await add_unfetched(storage, server.url("down.xml"))
    now = NOW
    waits = []
    for attempt in range(1, 11):
        outcome = await service.poll_feed(feed, now)
        assert outcome.status == "failed" and outcome.consecutive_failures == attempt
        row = await current(storage, feed)
        waits.append((row.next_poll_at - now) / MINUTE)
        assert await storage.feeds.due(row.next_poll_at - dt.timedelta(seconds=1)) == []
        now = row.next_poll_at
    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440]

    with caplog.at_level(logging.WARNING, logger="bot.services.feeds"):
        outcome = await service.poll_feed(feed, now)
    assert outcome.status == "disabled" and not outcome.ok
    row = await current(storage, feed)
    assert not row.active and row.consecutive_failures == 11
    assert row.disabled_reason is not None
    assert row.disabled_reason.startswith("11 consecutive failures; the last: HTTP 503")
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and feed.url in warning[0].getMessage()
    assert "disabled" in warning[0].getMessage() and "HTTP 503" in warning[0].getMessage()
    # Disabled feeds are not polled again and count as failing.
    assert await storage.feeds.due(now + dt.timedelta(days=30)) == []
    report = await service.poll_due(now + dt.timedelta(days=30))
    assert report.outcomes == []
    assert await storage.feeds.counts() == {"feeds": 1, "feeds_failing": 1}
    assert FeedRules().backoff(40) == dt.timedelta(days=1)


async def test_a_day_of_parse_failures_disables_and_success_resets(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("page.xml", b"<html><head><title>Maintenance</title></head></html>")
    feed = await add_unfetched(storage, server.url("page.xml"))
    assert (await service.poll_feed(feed, NOW)).status == "failed"
    # A server error in between does not end the run of "not a feed" answers.
    server.set_status("page.xml", 502)
    assert (await service.poll_feed(feed, NOW + 5 * MINUTE)).error_kind == "http_status"
    server.set_file("page.xml", b"<html><head><title>Maintenance</title></head></html>")
    server.route("page.xml", status=200)
    assert (await service.poll_feed(feed, NOW + dt.timedelta(hours=23))).status == "failed"
    row = await current(storage, feed)
    assert row.first_parse_failure_at == NOW and row.consecutive_failures == 3

    # Recovery resets the run.
    server.set_file("page.xml", rss(*stories("calm", 2)))
    assert (await service.poll_feed(feed, NOW + dt.timedelta(hours=23, minutes=30))).ok
    row = await current(storage, feed)
    assert row.first_parse_failure_at is None and row.consecutive_failures == 0
    assert row.last_error_kind == "not_a_feed"  # kept for the record

    server.set_file("page.xml", b"<html><head><title>Gone</title></head></html>")
    start = NOW + dt.timedelta(days=2)
    assert (await service.poll_feed(feed, start)).status == "failed"
    outcome = await service.poll_feed(feed, start + dt.timedelta(days=1, minutes=1))
    assert outcome.status == "disabled"
    row = await current(storage, feed)
    assert not row.active and row.consecutive_failures == 2
    assert row.disabled_reason is not None and row.disabled_reason.startswith("not a feed since")
    assert "HTML page ('Gone')" in row.disabled_reason


async def test_loopback_refused_when_private_addresses_are_not_allowed(
    storage: Storage, server: FeedServer
) -> None:
    strict = FetchPolicy()
    async with make_session(strict) as session:
        service = FeedService(storage, session, strict, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
        assert "127.0.0.1 is a loopback address" in info.value.message
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(f"http://localhost:{server.port}/feed.xml")
        assert "localhost resolves to" in info.value.message
        assert info.value.message.endswith(
            "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
        )
    assert await storage.feeds.list() == [] and sum(server.requests.values()) == 0


async def test_add_refuses_what_cannot_be_a_feed(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.route("huge.xml", stream_bytes=6 * 1024 * 1024)
    server.set_status("gone.xml", 410)
    cases = {
        "ftp://example.org/feed.xml": "http:// or https://",
        "not a url": "http:// or https://",
        server.url("huge.xml"): "body exceeds 5 MB limit",
        server.url("rsa_egoist_fragment_not_feed.xml"): "HTML page",
        server.url("gone.xml"): "HTTP 410 Gone",
    }
    for url, phrase in cases.items():
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url)
        assert phrase in info.value.message, url
    assert await storage.feeds.list() == []
    await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
    with pytest.raises(InvalidInput, match="already feed 1"):
        await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"))
    with pytest.raises(InvalidInput):
        await service.add_feed(server.url("kde_zeit_de_rss091_iso88591.xml"), backfill=-1)


# --- history and news -----------------------------------------------------------------------


async def test_add_announces_nothing_unless_backfill(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("plain.xml", rss(*stories("plain", 5)))
    plain = await service.add_feed(server.url("plain.xml"))
    assert len(plain.outcome.created) == 5 and plain.outcome.announced == []
    assert await announce_flags(storage, plain.outcome.created) == [0] * 5
    assert plain.feed.events_added == 5 and plain.feed.name == "Test Wire"

    # Listed oldest first, so "newest" must come from the dates, not the order.
    server.set_file("back.xml", rss(*reversed(stories("back", 5))))
    back = await service.add_feed(server.url("back.xml"), name="Backfilled", backfill=2)
    assert len(back.outcome.created) == 5 and len(back.outcome.announced) == 2
    newest = await storage.events.briefs(back.outcome.announced)
    headlines = sorted(b.headline for b in newest.values())
    assert headlines == [
        "Back story 0: harbour report number 0 published",
        "Back story 1: senate report number 1 published",
    ]
    assert back.feed.name == "Backfilled"
    event = await storage.events.get(back.outcome.announced[0])
    assert event is not None and event.sources[0].name == "Backfilled"


async def test_news_floods_and_comebacks(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    items = stories("base", 3)
    server.set_file("wire.xml", rss(*items))
    feed = (await service.add_feed(server.url("wire.xml"))).feed  # history at NOW

    # Three new stories: news.
    fresh = stories("fresh", 3, start=NOW + 9 * MINUTE)
    items = fresh + items
    server.set_file("wire.xml", rss(*items))
    outcome = await service.poll_feed(feed, NOW + 10 * MINUTE)
    assert len(outcome.announced) == 3 and outcome.history_reason is None

    # One story dated two days before the last success surfaces late: history.
    late = entry(
        "late-1",
        "Late story about the harbour authority budget vote",
        link="https://wire.example/late",
        date=NOW - dt.timedelta(days=2),
    )
    on_time = stories("ontime", 1, start=NOW + 15 * MINUTE)
    items = [*on_time, late, *items]
    server.set_file("wire.xml", rss(*items))
    outcome = await service.poll_feed(feed, NOW + 20 * MINUTE)
    assert len(outcome.created) == 2 and len(outcome.announced) == 1
    assert outcome.history_reason is not None and "1 entry dated before" in outcome.history_reason

    # More than 20 unseen at once (a feed that renumbered its GUIDs): all history.
    items = stories("dump", 21, start=NOW + 25 * MINUTE) + items
    server.set_file("wire.xml", rss(*items))
    outcome = await service.poll_feed(feed, NOW + 30 * MINUTE)
    assert len(outcome.created) == 21 and outcome.announced == []
    assert outcome.history_reason == "21 unseen entries at once (more than 20)"

    # A blip (two failed attempts) loses nothing...
    server.set_status("wire.xml", 503)
    now = NOW + 40 * MINUTE
    for _ in range(2):
        await service.poll_feed(feed, now)
        now += 10 * MINUTE
    server.route("wire.xml", status=200)
    items = stories("blip", 2, start=now) + items
    server.set_file("wire.xml", rss(*items))
    outcome = await service.poll_feed(feed, now)
    assert len(outcome.announced) == 2

    # ... but a feed back after three or more is not replayed.
    server.set_status("wire.xml", 503)
    for _ in range(3):
        now += dt.timedelta(hours=1)
        await service.poll_feed(feed, now)
    server.route("wire.xml", status=200)
    items = stories("back", 4, start=now) + items
    server.set_file("wire.xml", rss(*items))
    outcome = await service.poll_feed(feed, now + MINUTE)
    assert len(outcome.created) == 4 and outcome.announced == []
    assert outcome.history_reason == "back after 3 failed attempts"
    total = (await current(storage, feed)).events_added
    assert total == 3 + 3 + 2 + 21 + 2 + 4


class NoSuchHost(AbstractResolver):
    """DNS that knows no name (literal addresses never reach a resolver)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


TRY_LATER = "check the address, or try again later"


@pytest.mark.parametrize("failure", ["dns", "timeout", "refused", "503", "429", "404"])
async def test_any_failure_at_add_adds_nothing(
    failure: str, storage: Storage, server: FeedServer
) -> None:
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=0.5)
    url = server.url(f"{failure}.xml")
    if failure == "dns":
        url = "http://feeds.example/world.rss"
        expected = f"could not resolve feeds.example: Name or service not known; {TRY_LATER}"
    elif failure == "timeout":
        server.route(f"{failure}.xml", delay_s=5)
        expected = f"timed out after 0.5 s fetching {url}; {TRY_LATER}"
    elif failure == "refused":
        port = free_port()
        url = f"http://127.0.0.1:{port}/feed.xml"
        expected = f"could not connect to 127.0.0.1:{port}: "
    elif failure == "404":
        expected = f"HTTP 404 Not Found from {url}; check the address"
    else:
        server.set_status(f"{failure}.xml", int(failure), b"busy")
        phrase = {"503": "Service Unavailable", "429": "Too Many Requests"}[failure]
        expected = f"HTTP {failure} {phrase} from {url}; try again later"
    async with make_session(policy, resolver=NoSuchHost()) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url, backfill=1)
    assert info.value.message.startswith(f"Not added: {expected}"), info.value.message
    if failure == "refused":
        assert info.value.message.endswith(f"; {TRY_LATER}")
    # The operator tries again later; nothing was stored meanwhile.
    assert await storage.feeds.list() == [] and (await storage.stats()).events == 0


async def test_re_adding_a_disabled_feed_follows_the_same_rule(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("r.xml", rss(*stories("r", 2)))
    url = server.url("r.xml")
    added = await service.add_feed(url)
    async with storage.db.transaction() as conn:  # as if it had been disabled
        await conn.execute(
            "UPDATE feeds SET status = 'disabled', disabled_reason = 'gone for a week',"
            " consecutive_failures = 11"
        )
    server.set_status("r.xml", 503)
    with pytest.raises(InvalidInput) as info:
        await service.add_feed(url)
    assert info.value.message == (
        f"Not added: HTTP 503 Service Unavailable from {url}; try again later"
    )
    row = await current(storage, added.feed)
    assert not row.active and row.disabled_reason == "gone for a week"
    assert row.consecutive_failures == 11


# --- discovery ------------------------------------------------------------------------------


def html_page(*links: str, title: str = "Wire home") -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>{''.join(links)}</head>"
        "<body><h1>Today</h1></body></html>"
    ).encode()


def advert(href: str, kind: str = "application/rss+xml") -> str:
    return f'<link rel="alternate" type="{kind}" title="Feed" href="{escape(href)}">'


async def test_add_discovers_the_feed_a_page_advertises(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("site/world/feed.xml", rss(*stories("world", 3), title="Wire World"))
    server.set_file(
        "site/index.html",
        html_page(advert("world/feed.xml"), advert("/elsewhere.atom", "application/atom+xml")),
    )
    page_url, feed_url = server.url("site/index.html"), server.url("site/world/feed.xml")
    result = await service.add_feed(page_url, backfill=1)
    assert result.discovered_from == page_url
    assert (result.feed.id, result.feed.url, result.feed.name) == (1, feed_url, "Wire World")
    assert len(result.outcome.created) == 3 and len(result.outcome.announced) == 1
    assert [f.url for f in await storage.feeds.list()] == [feed_url]
    assert server.request_count("elsewhere.atom") == 0  # the first advertised feed only

    # The page again: its feed is already there.
    with pytest.raises(InvalidInput) as info:
        await service.add_feed(page_url)
    assert info.value.message == (
        f"{feed_url} (advertised by {page_url}) is already feed 1 (Wire World)."
    )
    # A feed's own URL is not "discovered".
    server.set_file("plain.xml", rss(*stories("plain", 1)))
    assert (await service.add_feed(server.url("plain.xml"))).discovered_from is None


async def test_discovery_refusals(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    blank = server.url("blank/index.html")
    server.set_file("blank/index.html", html_page(title="Blank"))
    missing = server.url("missing/index.html")
    server.set_file("missing/index.html", html_page(advert("feed.xml")))
    server.set_file("loop/index.html", html_page(advert("../blank/index.html")))
    cases = {
        blank: "Not added: the response is an HTML page ('Blank'), not an RSS, Atom or JSON"
        " feed, and the page advertises no feed",
        missing: f"Not added: {missing} advertises the feed {server.url('missing/feed.xml')},"
        f" which failed: HTTP 404 Not Found from {server.url('missing/feed.xml')};"
        " check the address",
        # One step only: an advertised page is not searched for feeds in turn.
        server.url("loop/index.html"): f"Not added: {server.url('loop/index.html')} advertises"
        f" the feed {blank}, which failed: the response is an HTML page ('Blank')",
    }
    for url, message in cases.items():
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(url)
        assert info.value.message.startswith(message), info.value.message
    assert await storage.feeds.list() == []


async def test_an_advertised_feed_goes_through_the_address_guard(
    storage: Storage, server: FeedServer
) -> None:
    # Only the server's own address is allowed; the page points somewhere else on loopback.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    target = f"http://127.0.0.2:{server.port}/feed.xml"
    page_url = server.url("index.html")
    server.set_file("index.html", html_page(advert(target)))
    async with make_session(policy) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        with pytest.raises(InvalidInput) as info:
            await service.add_feed(page_url)
    assert info.value.message == (
        f"Not added: {page_url} advertises the feed {target}, which failed: refused:"
        f" 127.0.0.2 is a loopback address ({target}); set FEED_ALLOW_PRIVATE_ADDRESSES=true"
        " to allow feeds on private addresses"
    )
    assert await storage.feeds.list() == [] and server.request_count("feed.xml") == 0


# --- formats and encodings ------------------------------------------------------------------

JSON_SAMPLE = "chronicle_jsonfeed_v1_1_world_wire.json"


async def test_a_json_feed_is_added_discovered_and_polled(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.route(JSON_SAMPLE, content_type="application/feed+json")
    server.set_file("index.html", html_page(advert(JSON_SAMPLE, "application/feed+json")))
    result = await service.add_feed(server.url("index.html"))
    assert result.discovered_from == server.url("index.html")
    assert (result.feed.url, result.feed.name) == (
        server.url(JSON_SAMPLE),
        "World Wire — Top Stories",
    )
    assert len(result.outcome.created) == 6 and result.outcome.announced == []
    event = await storage.events.get(result.outcome.created[0])
    assert event is not None
    assert event.headline == "Dock workers strike at the port of Rotterdam"
    assert event.summary.startswith("Thousands of dock workers walked out on Wednesday")
    assert [(s.name, s.url) for s in event.sources] == [
        ("World Wire — Top Stories", "https://wire.example.org/2024/05/01/rotterdam-dock-strike")
    ]
    assert {"Netherlands", "Labour", "Port of Rotterdam"} <= set(event.entities)

    assert (await service.poll_feed(result.feed, NOW + 10 * MINUTE)).status == "not_modified"
    doc = json.loads((DATA_DIR / JSON_SAMPLE).read_bytes())
    doc["items"].insert(
        0,
        {
            "id": "wire-2024-05-01-0450",
            "url": "https://wire.example.org/2024/05/01/ferry-rescue",
            "title": "Coastguard rescues 40 from a stranded ferry off Crete",
            "date_published": (NOW + 15 * MINUTE).isoformat(),
        },
    )
    server.set_file(JSON_SAMPLE, json.dumps(doc).encode())
    outcome = await service.poll_feed(result.feed, NOW + 20 * MINUTE)
    assert outcome.status == "ok" and outcome.unseen == 1 and len(outcome.announced) == 1


async def test_a_feed_whose_declared_encoding_is_wrong_is_added(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    body = rss(entry("ru-1", "Привет, мир — новости дня", link="https://news.example/1", date=NOW))
    server.set_file("ru.xml", body.replace(b'encoding="utf-8"', b'encoding="utf-16"', 1))
    result = await service.add_feed(server.url("ru.xml"))
    assert result.outcome.warning == (
        "the XML declaration says utf-16, but the document is in an ASCII-based encoding;"
        " read it as UTF-8"
    )
    event = await storage.events.get(result.outcome.created[0])
    assert event is not None and event.headline == "Привет, мир — новости дня"


async def test_remove_and_re_add_a_disabled_feed(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("r.xml", rss(*stories("r", 2)))
    added = await service.add_feed(server.url("r.xml"))
    async with storage.db.transaction() as conn:  # as if it had been disabled
        await conn.execute("UPDATE feeds SET status = 'disabled', disabled_reason = 'x'")
    server.set_file("r.xml", rss(*stories("again", 2), *stories("r", 2)))
    again = await service.add_feed(server.url("r.xml"))
    assert again.reactivated and again.feed.id == added.feed.id and again.feed.active
    # Seen entries stay seen; what came meanwhile is history.
    assert again.outcome.unseen == 2 and again.outcome.announced == []

    removed = await service.remove_feed(str(added.feed.id))
    assert removed.id == added.feed.id and await storage.feeds.list() == []
    assert (await storage.stats()).events == 4  # events stay
    with pytest.raises(NotFound):
        await service.remove_feed(server.url("r.xml"))


# --- entities -------------------------------------------------------------------------------


def test_section_labels_are_not_topics() -> None:
    from bot.ingest.feeds.entries import FeedEntry

    entries = [
        FeedEntry(str(i), f"t{i}", "", None, None, ["World news", "Russia" if i < 2 else "Chile"])
        for i in range(5)
    ]
    assert section_labels(entries) == {"world news", "chile"}
    assert section_labels(entries[:3]) == set()


async def test_feed_events_are_tagged_with_categories_and_known_names(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    known = PageRecord(
        key=make_key(dt.date(2017, 6, 16), "seed"),
        date=dt.date(2017, 6, 16),
        headline="Seed event",
        entities=("Iran", "Abu Bakr al-Baghdadi", "叙利亚", "Islamic State"),
    )
    await storage.events.import_batch([known])
    server.set_file(
        "tags.xml",
        rss(
            entry(
                "t1",
                "Iranian drones over the Gulf",
                link="https://t.example/1",
                date=NOW,
                categories=("Middle East", "Uncategorized"),
            ),
            entry(
                "t2",
                "Iran and Abu Bakr al-Baghdadi",
                link="https://t.example/2",
                date=NOW,
                text="Islamic State leader named.",
            ),
            entry("t3", "叙利亚政府军收复代尔祖尔", link="https://t.example/3", date=NOW),
        ),
    )
    result = await service.add_feed(server.url("tags.xml"))
    events = [await storage.events.get(i) for i in result.outcome.created]
    assert [set(e.entities) for e in events if e] == [
        {"Middle East", "Iran"},  # a demonym tags its country (bot.services.tagging)
        {"Iran", "Abu Bakr al-Baghdadi", "Islamic State"},
        {"叙利亚"},
    ]
    zh = events[2]
    assert (
        zh is not None
        and zh.lang == "zh"
        and zh.key == make_key(NOW.date(), "叙利亚政府军收复代尔祖尔")
    )
    seed = await storage.events.get_by_key(known.key)
    assert seed is not None
    # Feed events join the related lists of archive events that share their entities.
    related = await storage.events.related(seed.id)
    assert {r.event.headline for r in related} >= {"Iran and Abu Bakr al-Baghdadi", zh.headline}
    # Names learnt from this poll (categories) are known to the next one.
    server.set_file(
        "tags.xml",
        rss(entry("t4", "Middle East talks resume", link="https://t.example/4", date=NOW)),
    )
    outcome = await service.poll_feed(result.feed, NOW + 10 * MINUTE)
    event = await storage.events.get(outcome.created[0])
    assert event is not None and event.entities == ("Middle East",)


# --- concurrency and the loop ---------------------------------------------------------------


async def test_a_hanging_feed_does_not_delay_the_others(
    storage: Storage, server: FeedServer
) -> None:
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=1.5)
    server.route("hang.xml", delay_s=30)
    hang = await add_unfetched(storage, server.url("hang.xml"), "hang")
    fast_names = [
        "kde_zeit_de_rss091_iso88591.xml",
        "atoma_xkcd_atom.xml",
        "frs_biorxiv_rss1_rdf.xml",
        "kde_tagesschau_rss090_iso88591.xml",
        "fio_duplicate_guid_rss2.xml",
    ]
    for name in fast_names:
        await add_unfetched(storage, server.url(name), name)
    finished: dict[str, float] = {}

    def on_outcome(outcome: FeedOutcome) -> None:
        finished.setdefault(outcome.name, time.monotonic() - started)

    async with make_session(policy) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        started = time.monotonic()
        report = await service.poll_due(NOW, concurrency=2, on_outcome=on_outcome)
    assert hang.id == report.outcomes[0].feed_id  # it was first in line
    assert report.outcomes[0].error_kind == "timeout"
    assert all(finished[name] < 1.2 for name in fast_names), finished
    assert 1.4 < finished["hang"] < 4
    assert all(o.ok for o in report.outcomes[1:])


async def test_poll_loop_polls_due_feeds_until_stopped(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    await add_unfetched(storage, server.url("kde_zeit_de_rss091_iso88591.xml"))
    stop = asyncio.Event()
    reports: list[PollReport] = []

    def on_report(report: PollReport) -> None:
        reports.append(report)
        if len(reports) == 2:
            stop.set()

    await asyncio.wait_for(
        run_poll_loop(service, stop=stop, interval_s=0.01, on_report=on_report), timeout=5
    )
    # The first round polled the due feed; the second found nothing due (next in 10 min).
    assert [len(r.outcomes) for r in reports] == [1, 0]
    assert len(reports[0].created_ids) == 3


# --- the command line -----------------------------------------------------------------------


class ThreadedServer:
    """The feed server in a thread of its own: the CLI runs its own event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = FeedServer(DATA_DIR)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(None, None, None), self.loop).result(
            10
        )
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def cli_server() -> Iterator[FeedServer]:
    with ThreadedServer() as srv:
        yield srv


def test_feeds_commands(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL", "FEED_POLL_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    db = str(tmp_path / "chronicle.db")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--db", db, *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    good = cli_server.url("chfr_ctvnews_ca_rss2.xml")
    code, out, _ = run("feeds", "add", good, "--name", "CTV", "--backfill", "2")
    assert code == 0
    assert out.startswith(f"Added feed 1: CTV <{good}>")
    assert "10 entries: 10 new events, 2 announced as news" in out
    code, out, _ = run("feeds", "add", cli_server.url("kde_zeit_de_rss091_iso88591.xml"), "--json")
    added = json.loads(out)
    assert code == 0 and added["feed"]["id"] == 2 and added["outcome"]["new_events"] == 3
    assert added["outcome"]["announced_ids"] == []

    code, _, err = run("feeds", "add", cli_server.url("rsa_maodoupi_account_suspended.html"))
    assert code == 1 and "Not added: the response is an HTML page ('Account Suspended')" in err
    assert "the page advertises no feed" in err
    # A page's title is quoted in the page's own charset.
    page = "<html><head><meta charset='gbk'><title>新浪首页 — 新闻中心</title></head></html>"
    cli_server.set_file("gbk.html", page.encode("gbk"), content_type="text/html")
    code, _, err = run("feeds", "add", cli_server.url("gbk.html"))
    assert code == 1 and "Not added: the response is an HTML page ('新浪首页 — 新闻中心')" in err
    # A site that cannot be reached right now is not added either: the operator is here.
    down = f"http://127.0.0.1:{free_port()}/feed.xml"
    code, out, err = run("feeds", "add", down)
    assert code == 1 and out == "" and "Not added: could not connect to 127.0.0.1:" in err
    assert err.rstrip().endswith("check the address, or try again later")
    code, _, err = run("feeds", "add", good)
    assert code == 1 and "already feed 1" in err

    # A feed that breaks: poll --once reports it, exits 1, and the list shows it.
    cli_server.set_status("kde_zeit_de_rss091_iso88591.xml", 500)
    code, out, _ = run("feeds", "poll", "--once")
    assert code == 1
    assert f"not modified  CTV <{good}>" in out
    assert "FAILED" in out and "http_status: HTTP 500 Internal Server Error" in out
    assert "Polled 2 feeds: 0 new events (0 announced), 1 failed" in out
    code, out, _ = run("feeds", "poll", "--once", "--json")
    report = json.loads(out)
    assert code == 1 and report["feeds"] == 2 and report["failed"] == 1
    assert report["outcomes"][1]["consecutive_failures"] == 2

    code, out, _ = run("feeds", "list")
    assert code == 0 and "   1  active    CTV <" in out and "10 events added" in out
    assert "(http_status): HTTP 500 Internal Server Error" in out
    assert "2 consecutive failures" in out
    listed = json.loads(run("feeds", "list", "--json")[1])
    assert [f["name"] for f in listed] == ["CTV", "DIE ZEIT: Homepage"]
    assert set(listed[1]) >= {
        "name",
        "url",
        "status",
        "last_success_at",
        "last_error",
        "consecutive_failures",
        "next_poll_at",
        "events_added",
    }
    assert listed[1]["consecutive_failures"] == 2 and listed[1]["last_error_kind"] == "http_status"

    stats = json.loads(run("stats", "--json")[1])
    assert stats["feeds"] == 2 and stats["feeds_failing"] == 1 and stats["events"] == 13
    code, out, _ = run("stats")
    assert "feeds:      2" in out and "feeds_failing: 1" in out

    code, out, _ = run("feeds", "remove", "2")
    assert code == 0 and out.startswith("Removed feed 2:") and "its 3 events stay" in out
    code, _, err = run("feeds", "remove", good + "x")
    assert code == 1 and "No feed has the id or URL" in err
    code, out, _ = run("feeds", "remove", good, "--json")
    assert json.loads(out)["id"] == 1
    assert run("feeds", "list")[1].startswith("No feeds yet")
    assert json.loads(run("stats", "--json")[1])["events"] == 13


def test_feeds_refuses_loopback_without_the_setting(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEED_ALLOW_PRIVATE_ADDRESSES", raising=False)
    code = main(["--db", str(tmp_path / "c.db"), "feeds", "add", cli_server.url("a.xml")])
    _, err = capsys.readouterr()
    assert code == 1 and "is a loopback address" in err
    # The refusal says how to allow it.
    assert err.rstrip().endswith(
        "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
    )
    assert sum(cli_server.requests.values()) == 0


def test_feeds_add_says_which_page_advertised_the_feed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    """Given a web page, the command line says the feed added is the one it advertises."""
    monkeypatch.chdir(tmp_path)
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    cli_server.set_file("site/index.html", html_page(advert("../chfr_ctvnews_ca_rss2.xml")))
    page, feed = cli_server.url("site/index.html"), cli_server.url("chfr_ctvnews_ca_rss2.xml")
    db = str(tmp_path / "chronicle.db")
    assert main(["--db", db, "feeds", "add", page]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Added feed 1: ") and f"<{feed}>" in out.splitlines()[0]
    assert out.splitlines()[1] == f"  the feed {page} advertises (it is a web page, not a feed)"
    assert "10 entries: 10 new events, 0 announced as news" in out
    assert main(["--db", db, "feeds", "remove", "1"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "feeds", "add", page, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["discovered_from"] == page and added["feed"]["url"] == feed
