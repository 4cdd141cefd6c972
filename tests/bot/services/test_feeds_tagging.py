"""The entities of feed events: section labels are not topics, and events are tagged with
their categories and the names the archive knows."""

from __future__ import annotations

import datetime as dt

from bot.services.feeds.categories import section_labels
from bot.services.feeds.service import FeedService
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer


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
