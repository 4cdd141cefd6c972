"""The same story, end to end (a real feed server on 127.0.0.1, a real SQLite archive, the
polling service): a feed that re-emits its entries under new identities every fetch adds
nothing and announces nothing; a link shared by entries with different headlines does not
swallow the news; tracking parameters do not hide the same link."""

from __future__ import annotations

import datetime as dt
from html import escape

from bot.services.feeds.links import without_tracking
from bot.services.feeds.service import FeedService
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SourceRecord
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer

HEADLINES = [
    "Parliament passes sweeping budget reform after long night session",
    "Glacier collapse blocks a valley road in the Alps",
    "Central bank holds interest rates steady for a third month",
]


def guidless(title: str, link: str, date: dt.datetime) -> str:
    """An RSS item without a GUID: its identity is its link."""
    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<pubDate>{date:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
    )


async def events(storage: Storage) -> list[tuple[str, bool]]:
    """(headline, announced: in digests of new events and alerts) of every event, by id."""
    rows = await storage.db.fetchall("SELECT headline, announce FROM events ORDER BY id")
    return [(row[0], bool(row[1])) for row in rows]


async def test_rotating_guids_and_links_add_nothing_and_announce_nothing(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    def fetch(n: int) -> bytes:
        return rss(
            *(
                entry(
                    f"urn:x:{n}:{i}",
                    headline,
                    link=f"https://wire.example/a/{i}?sid={n}",
                    date=NOW - dt.timedelta(hours=i),
                )
                for i, headline in enumerate(HEADLINES)
            )
        )

    server.set_file("rot.xml", fetch(0))
    added = await service.add_feed(server.url("rot.xml"))
    assert len(added.outcome.created) == 3
    for n in range(1, 4):
        server.set_file("rot.xml", fetch(n))
        clock.now = NOW + n * 10 * MINUTE
        outcome = await service.poll_feed(added.feed)
        assert outcome.status == "ok" and outcome.unseen == 3
        assert outcome.created == [] and outcome.announced == [] and outcome.merged == 3
    assert await events(storage) == [(h, False) for h in HEADLINES]


async def test_guidless_links_with_a_per_fetch_tracking_parameter(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    def fetch(n: int) -> bytes:
        return rss(
            *(
                guidless(
                    headline,
                    f"https://wire.example/story/{i}?utm_source=rss&utm_campaign=c{n}&ts={n}",
                    NOW - dt.timedelta(hours=i),
                )
                for i, headline in enumerate(HEADLINES)
            )
        )

    server.set_file("rotlink.xml", fetch(0))
    added = await service.add_feed(server.url("rotlink.xml"), backfill=3)
    assert len(added.outcome.announced) == 3
    for n in (1, 2):
        server.set_file("rotlink.xml", fetch(n))
        clock.now = NOW + n * 10 * MINUTE
        outcome = await service.poll_feed(added.feed)
        assert outcome.unseen == 3 and outcome.created == [] and outcome.announced == []
    assert await events(storage) == [(h, True) for h in HEADLINES]
    # The archive cites the links without their tracking parameters.
    event = await storage.events.get(added.outcome.created[0])
    assert event is not None
    assert [s.url for s in event.sources] == ["https://wire.example/story/0?ts=0"]


async def test_an_entry_the_feed_still_carries_is_not_swallowed(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """Two quakes with one templated headline on one day are two stories: the feed carries
    the first while it brings the second."""
    quake = "M 4.5 - 10 km SW of Ridgecrest, CA"
    first = entry("q1", quake, link="https://quakes.example/q1", date=NOW - 60 * MINUTE)
    server.set_file("quakes.xml", rss(first))
    added = await service.add_feed(server.url("quakes.xml"))
    second = entry("q2", quake, link="https://quakes.example/q2", date=NOW + 5 * MINUTE)
    server.set_file("quakes.xml", rss(second, first))
    clock.now = NOW + 10 * MINUTE
    outcome = await service.poll_feed(added.feed)
    assert len(outcome.created) == 1 and len(outcome.announced) == 1
    assert await events(storage) == [(quake, False), (quake, True)]


async def test_a_generic_headline_is_news_again_on_another_day(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """ "Morning briefing" every day under a new GUID: one event a day, each announced; the
    same day's briefing re-emitted under another GUID is not news again."""
    server.set_file("brief.xml", rss(entry("mb-1", "Morning briefing", date=NOW)))
    added = await service.add_feed(server.url("brief.xml"))
    server.set_file("brief.xml", rss(entry("mb-1b", "Morning briefing", date=NOW)))
    clock.now = NOW + 10 * MINUTE
    same_day = await service.poll_feed(added.feed)
    assert same_day.created == [] and same_day.merged == 1
    tomorrow = NOW + dt.timedelta(days=1)
    server.set_file("brief.xml", rss(entry("mb-2", "Morning briefing", date=tomorrow)))
    clock.now = tomorrow + 10 * MINUTE
    next_day = await service.poll_feed(added.feed)
    assert len(next_day.created) == 1 and next_day.announced == next_day.created
    assert await events(storage) == [("Morning briefing", False), ("Morning briefing", True)]


async def test_entries_that_all_link_to_one_page_are_each_news(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A status feed whose every item links to /history (one item per document)."""
    incidents = [
        "Incident one: database outage in the eu-west region",
        "Incident two: network maintenance on the us-east edge routers",
        "Incident three: elevated error rates for image uploads",
    ]
    history = "https://status.example/history"
    server.set_file("status.xml", rss(entry("inc-1", incidents[0], link=history, date=NOW)))
    added = await service.add_feed(server.url("status.xml"))
    for n, headline in enumerate(incidents[1:], start=2):
        clock.now = NOW + n * 10 * MINUTE
        server.set_file(
            "status.xml", rss(entry(f"inc-{n}", headline, link=history, date=clock.now))
        )
        outcome = await service.poll_feed(added.feed)
        assert len(outcome.created) == 1 and outcome.announced == outcome.created
        assert outcome.merged == 0
    assert await events(storage) == [
        (incidents[0], False),
        (incidents[1], True),
        (incidents[2], True),
    ]


async def test_the_same_link_from_another_feed_is_one_event_with_two_feeds(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """The README's promise stays: another feed's entry with the same article (here with
    tracking parameters) and its own headline joins the event, unannounced."""
    server.set_file(
        "a.xml",
        rss(entry("a-1", HEADLINES[0], link="https://paper.example/budget-reform", date=NOW)),
    )
    a = await service.add_feed(server.url("a.xml"))
    server.set_file(
        "b.xml", rss(entry("b-1", HEADLINES[1], link="https://b.example/other", date=NOW))
    )
    b = await service.add_feed(server.url("b.xml"))
    server.set_file(
        "b.xml",
        rss(
            entry(
                "b-2",
                "Lawmakers approve spending plan overnight",
                link="https://paper.example/budget-reform?utm_source=agg&fbclid=XYZ&oc=5",
                date=NOW + 30 * MINUTE,
            ),
            entry("b-1", HEADLINES[1], link="https://b.example/other", date=NOW),
        ),
    )
    clock.now = NOW + 40 * MINUTE
    outcome = await service.poll_feed(b.feed)
    assert outcome.created == [] and outcome.merged == 1
    assert outcome.announced == []
    (event_id,) = a.outcome.created
    assert [f for f, _ in await storage.feeds.event_feeds(event_id)] == [a.feed.id, b.feed.id]
    assert len(await events(storage)) == 2


async def test_a_page_an_old_event_cited_does_not_swallow_news(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """An archive event of last year cites a section page; a feed item linking to that page
    today is its own event, and news."""
    old_day = dt.date(2023, 3, 4)
    await storage.events.import_batch(
        [
            PageRecord(
                key=make_key(old_day, "old-story"),
                date=old_day,
                headline="Old story that cited the world section page",
                sources=(SourceRecord("Wire", "https://wire.example/world"),),
            )
        ]
    )
    server.set_file("w.xml", rss(entry("w-1", HEADLINES[1], link="https://wire.example/w1")))
    added = await service.add_feed(server.url("w.xml"))
    server.set_file(
        "w.xml",
        rss(
            entry("w-2", HEADLINES[2], link="https://wire.example/world", date=NOW),
            entry("w-1", HEADLINES[1], link="https://wire.example/w1"),
        ),
    )
    clock.now = NOW + 10 * MINUTE
    outcome = await service.poll_feed(added.feed)
    assert len(outcome.created) == 1 and outcome.announced == outcome.created
    assert (HEADLINES[2], True) in await events(storage)


def test_tracking_parameters_are_removed_and_nothing_else() -> None:
    assert without_tracking("https://a.example/x?utm_source=rss&UTM_Medium=feed") == (
        "https://a.example/x"
    )
    assert without_tracking("https://a.example/x?id=7&fbclid=abc&gclid=1&oc=5#top") == (
        "https://a.example/x?id=7#top"
    )
    kept = "https://a.example/article.pl?sid=05/12/01&ref=rss&q=a%20b"
    assert without_tracking(kept) is kept
    assert without_tracking("https://a.example/x") == "https://a.example/x"
