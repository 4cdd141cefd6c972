"""Polling feeds: every captured file ingested or refused, conditional requests and
unchanged bodies that add nothing, the same story from two feeds, JSON feeds and a wrong
declared encoding, and polls that run side by side and in a loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.reports import FeedOutcome, PollReport
from bot.services.feeds.service import FeedService, run_poll_loop
from storage import Storage
from storage.models import SearchFilter
from storage.textindex import CJK_RUN
from tests.bot.services.feeds_support import (
    DATA_DIR,
    MINUTE,
    NOW,
    Clock,
    add_unfetched,
    advert,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    entry,
    html_page,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer

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


# --- every captured file --------------------------------------------------------------------


async def test_every_captured_file_is_ingested_or_refused(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    feeds = {name: await add_unfetched(storage, server.url(name), name) for name in FILES}
    first = await service.poll_all(NOW, concurrency=8)
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


async def test_feed_that_rewrites_every_date_and_text_adds_no_event(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """Every entry seen before, its date and text rewritten: no new event, nothing
    announced; the events take the entries' new text (a corrected entry, see
    test_feeds_corrections.py)."""
    original = (DATA_DIR / "chfr_ctvnews_ca_rss2.xml").read_bytes()
    server.set_file("ctv.xml", original)
    added = await service.add_feed(server.url("ctv.xml"))
    assert len(added.outcome.created) == 10
    events_before = (await storage.stats()).events
    before = await storage.events.get(added.outcome.created[0])
    assert before is not None

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
    assert sorted(outcome.corrected) == sorted(added.outcome.created)
    event = await storage.events.get(added.outcome.created[0])
    assert event is not None and event.headline.startswith("UPDATE ")
    assert (event.key, event.date) == (before.key, before.date)  # not re-dated, not re-keyed


async def test_a_feed_that_gives_every_item_one_guid_still_brings_its_new_stories(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A misconfigured CMS puts the same <guid> (the site's address) on every item, each
    item with its own title and link: each is an event, a new one is announced and found,
    and the poll says what was wrong with the feed."""
    words = ["harbour", "senate", "glacier"]
    old = [
        entry(
            "https://site.example/",
            f"Story {i}: {words[i]} report number {i} published today",
            link=f"https://site.example/news/{i}",
            date=NOW - dt.timedelta(hours=i),
        )
        for i in range(3)
    ]
    server.set_file("f.xml", rss(*old))
    added = await service.add_feed(server.url("f.xml"))
    assert added.outcome.entries == 3 and len(added.outcome.created) == 3

    clock.now = NOW + 11 * MINUTE
    new = entry(
        "https://site.example/",
        "Parliament approves the new harbour budget after a long debate",
        link="https://site.example/news/budget",
        date=clock.now,
    )
    server.set_file("f.xml", rss(new, *old))
    polled = await service.poll_feed(await current(storage, added.feed))
    assert (polled.entries, polled.unseen, len(polled.announced)) == (4, 1, 1)
    assert polled.warning == (
        "4 entries that differ share the GUID 'https://site.example/'; told apart by their links"
    )
    hits = await storage.search.search(SearchFilter(text="Parliament approves harbour budget"))
    assert [h.event.id for h in hits] == polled.announced


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


async def test_an_item_is_of_the_day_its_feed_gives_it(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """A New Zealand wire's item of 08:00 +12:00 on April 30 is an event of April 30 (its
    date and key), as /event, `show` and on-this-day show it, not of April 29, the UTC day;
    one of 20:00 -05:00 on April 30 is of April 30, not of May 1."""
    wellington = dt.timezone(dt.timedelta(hours=12))
    new_york = dt.timezone(dt.timedelta(hours=-5))
    server.set_file(
        "days.xml",
        rss(
            entry(
                "nz-1",
                "Wellington harbour ferry resumes sailing",
                link="https://kiwi.example/ferry",
                date=dt.datetime(2024, 4, 30, 8, tzinfo=wellington),
            ),
            entry(
                "ny-1",
                "Late vote passes the city budget",
                link="https://gotham.example/budget",
                date=dt.datetime(2024, 4, 30, 20, tzinfo=new_york),
            ),
        ),
    )
    await service.add_feed(server.url("days.xml"))
    for words in ("Wellington harbour ferry", "city budget"):
        (hit,) = await storage.search.search(SearchFilter(text=words))
        assert hit.event.date == dt.date(2024, 4, 30), (words, hit.event.key)
        assert hit.event.key.startswith("2024/04/30/"), hit.event.key


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


# --- concurrency and the loop ---------------------------------------------------------------


async def test_a_hanging_feed_does_not_delay_the_others(
    storage: Storage, server: FeedServer
) -> None:
    policy = FetchPolicy(allow_private_addresses=True, timeout_s=5)
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
    # The hanging feed held one of the two places until its timeout, not until the server answered;
    # the others went through the other place meanwhile.
    assert all(finished[name] < finished["hang"] for name in fast_names), finished
    assert 4.9 < finished["hang"] < 25
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
