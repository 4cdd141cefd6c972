"""A feed corrects an entry it published (same GUID, same link, a new headline or summary):
the event it made says what the entry says now, in place and without a second
announcement; an event the archive told keeps the archive's words."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.cli.feeds import outcome_line
from bot.services.feeds.service import FeedService
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter, SourceRecord
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    entry,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
)
from tests.support.feed_server import FeedServer

BASE = entry(
    "base",
    "Ministers meet in Brussels to discuss the budget",
    link="https://wire.example/base",
    date=NOW,
)
LINK = "https://wire.example/chile-quake"


async def test_a_corrected_entry_corrects_its_event(
    storage: Storage,
    server: FeedServer,
    service: FeedService,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wire announces "Earthquake kills 10 in northern Chile", then corrects the same entry
    (same GUID, same link) to 100 dead, naming the city. Members who open the event or
    search see the corrected text, as they do for an edited portal item; the event is
    tagged with the name the correction brings; nothing is announced again."""
    await storage.events.import_batch(
        [
            PageRecord(
                key=make_key(dt.date(2017, 6, 16), "seed"),
                date=dt.date(2017, 6, 16),
                headline="Seed event",
                entities=("Antofagasta",),
            )
        ]
    )
    server.set_file("f.xml", rss(BASE))
    added = await service.add_feed(server.url("f.xml"))
    clock.now = NOW + 11 * MINUTE
    first_text = entry(
        "c1",
        "Earthquake kills 10 in northern Chile",
        link=LINK,
        date=clock.now,
        text="Ten people died when the quake struck.",
    )
    server.set_file("f.xml", rss(first_text, BASE))
    first = await service.poll_feed(added.feed)
    (event_id,) = first.announced
    before = await storage.events.get(event_id)
    assert before is not None

    clock.now = NOW + 22 * MINUTE
    corrected = entry(
        "c1",
        "Earthquake kills 100 in northern Chile",
        link=LINK,
        date=clock.now,
        text="A hundred people died when the quake struck Antofagasta.",
    )
    server.set_file("f.xml", rss(corrected, BASE))
    caplog.set_level(logging.INFO)
    polled = await service.poll_feed(await current(storage, added.feed))

    event = await storage.events.get(event_id)
    assert event is not None
    assert event.headline == "Earthquake kills 100 in northern Chile"
    assert event.summary == "A hundred people died when the quake struck Antofagasta."
    assert (event.key, event.date, event.sources) == (before.key, before.date, before.sources)
    assert "Antofagasta" in event.entities
    hits = await storage.search.search(SearchFilter(text="hundred Antofagasta"), limit=10)
    assert [h.event.id for h in hits] == [event_id]
    assert await storage.search.search(SearchFilter(text="Ten people"), limit=10) == []
    assert polled.created == polled.announced == []  # not news again
    # What `feeds poll` and the log say.
    assert polled.corrected == [event_id]
    assert "ok            Test Wire <" in outcome_line(polled)
    assert outcome_line(polled).endswith("2 entries, 0 unseen; 1 event corrected")
    assert any("1 events corrected" in r.getMessage() for r in caplog.records)
    # The next poll of the same text corrects nothing more.
    clock.now = NOW + 33 * MINUTE
    server.set_file("f.xml", rss(corrected, BASE, title="Test Wire "))  # new bytes
    assert (await service.poll_feed(await current(storage, added.feed))).corrected == []


async def test_an_archive_event_keeps_the_archive_s_words(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """An entry that joined an archive event (it links the archive's source) and then
    changes its text: the archive's headline and summary stay."""
    page = PageRecord(
        key=make_key(NOW.date(), "quake"),
        date=NOW.date(),
        headline="A magnitude 7 earthquake strikes northern Chile",
        summary="The archive's account.",
        sources=(SourceRecord("Wire", LINK),),
    )
    await storage.events.import_batch([page])
    told = entry("c1", "Quake in Chile", link=LINK, date=NOW, text="Ten people died.")
    server.set_file("f.xml", rss(told, BASE))
    added = await service.add_feed(server.url("f.xml"))
    archive_event = await storage.events.get_by_key(page.key)
    assert archive_event is not None and added.outcome.merged == 1  # the entry joined it
    clock.now = NOW + 11 * MINUTE
    changed = entry("c1", "Quake in Chile: 100 dead", link=LINK, date=NOW, text="A hundred.")
    server.set_file("f.xml", rss(changed, BASE))
    polled = await service.poll_feed(await current(storage, added.feed))
    event = await storage.events.get(archive_event.id)
    assert event is not None
    assert (event.headline, event.summary) == (page.headline, page.summary)
    assert polled.corrected == []


async def test_a_name_the_correction_drops_leaves_the_event(
    storage: Storage, server: FeedServer, service: FeedService, clock: Clock
) -> None:
    """A wire places a quake near Antofagasta, then corrects the entry to Iquique: the event
    is Iquique's, and no longer on Antofagasta's page."""
    await storage.events.import_batch(
        [
            PageRecord(
                key=make_key(dt.date(2017, 6, 16), "seed"),
                date=dt.date(2017, 6, 16),
                headline="Seed event",
                entities=("Antofagasta", "Iquique"),
            )
        ]
    )
    server.set_file("f.xml", rss(BASE))
    added = await service.add_feed(server.url("f.xml"))
    clock.now = NOW + 11 * MINUTE
    first = entry("c1", "Earthquake strikes near Antofagasta", link=LINK, date=clock.now)
    server.set_file("f.xml", rss(first, BASE))
    (event_id,) = (await service.poll_feed(added.feed)).announced
    antofagasta = await storage.entities.find("Antofagasta")
    assert antofagasta is not None
    recent = (await storage.entities.profile(antofagasta[0])).recent
    assert event_id in [b.id for b in recent]

    clock.now = NOW + 22 * MINUTE
    corrected = entry("c1", "Earthquake strikes near Iquique", link=LINK, date=clock.now)
    server.set_file("f.xml", rss(corrected, BASE))
    polled = await service.poll_feed(await current(storage, added.feed))
    assert polled.corrected == [event_id]
    event = await storage.events.get(event_id)
    assert event is not None and event.entities == ("Iquique",)
    recent = (await storage.entities.profile(antofagasta[0])).recent
    assert event_id not in [b.id for b in recent]
