"""History or news: a feed added announces nothing unless asked to backfill, and a poll
announces what is new but not a flood, a late entry or a feed's comeback."""

from __future__ import annotations

import datetime as dt

from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
    stories,
)
from tests.support.feed_server import FeedServer


async def announce_flags(storage: Storage, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = await storage.db.fetchall(
        f"SELECT announce FROM events WHERE id IN ({','.join('?' * len(ids))})", ids
    )
    return [row[0] for row in rows]


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


async def test_a_placeholder_date_is_no_date_and_the_entry_is_news(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """Unix time 0 (or year 1) is a feed's way of saying it has no date: the entry is
    dated when it was read, and announced, not kept as history of 1970."""
    server.set_file("wire.xml", rss(*stories("calm", 1)))
    feed = (await service.add_feed(server.url("wire.xml"))).feed
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    fresh = entry("zero", "Flood warning issued for the river valley", date=epoch)
    server.set_file("wire.xml", rss(fresh, *stories("calm", 1)))
    outcome = await service.poll_feed(feed, NOW + 11 * MINUTE)
    (created,) = outcome.created
    assert outcome.announced == [created]
    event = await storage.events.get(created)
    assert event is not None and event.date == (NOW + 11 * MINUTE).date()
