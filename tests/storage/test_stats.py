"""Storage.stats(), as /stats and `chronicle stats` show it: the archive's counts right after
every kind of change (imports, stubs completed or folded, aliases and merges, articles,
feeds and their events, the portal's days and removals)."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import (
    ArchiveStats,
    ArticleRecord,
    FeedItem,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
    RelatedRecord,
    SourceRecord,
)

NOW = dt.datetime(2024, 1, 8, 18, tzinfo=dt.UTC)
PORTAL_DAY = dt.date(2024, 1, 8)
EMPTY_EXTRA = {"feeds": 0, "feeds_failing": 0, "wikipedia_days": 0, "wikipedia_events": 0}


def page(
    date: dt.date,
    headline: str,
    *entities: str,
    sources: int = 0,
    related: tuple[RelatedRecord, ...] = (),
    summary: str = "",
) -> PageRecord:
    slug = headline.lower().replace(" ", "-")
    return PageRecord(
        key=make_key(date, slug),
        date=date,
        headline=headline,
        summary=summary,
        entities=entities,
        sources=tuple(
            SourceRecord(f"Source {n}", f"https://s{n}.example/{slug}") for n in range(sources)
        ),
        related=related,
    )


def link(target: PageRecord, *shared: str) -> RelatedRecord:
    return RelatedRecord(target.key, target.date, target.headline, shared)


def counts(stats: ArchiveStats) -> tuple[int, int, int, int, int]:
    return (stats.events, stats.incomplete, stats.entities, stats.sources, stats.articles)


async def test_an_empty_archive(storage: Storage) -> None:
    stats = await storage.stats()
    assert counts(stats) == (0, 0, 0, 0, 0)
    assert (stats.first_date, stats.last_date, stats.portal_read_at) == (None, None, None)
    assert stats.extra == EMPTY_EXTRA


async def test_imports_stubs_and_their_completion(storage: Storage) -> None:
    early, late = dt.date(2016, 2, 29), dt.date(2019, 12, 31)
    known_later = page(dt.date(2017, 5, 1), "An event linked before it is imported", "Iraq")
    first = page(
        early, "The first event", "Syria", "Iraq", sources=2, related=(link(known_later, "Iraq"),)
    )
    second = page(late, "The last event", "Syria", "Japan", sources=1)
    await storage.events.import_batch([first, second])

    stats = await storage.stats()
    # The linked event is known only as a stub: an event, incomplete, until its page comes.
    assert counts(stats) == (3, 1, 3, 3, 0)
    assert (stats.first_date, stats.last_date) == (early, late)
    assert stats.extra == EMPTY_EXTRA

    # The same pages again change nothing.
    await storage.events.import_batch([first, second])
    assert counts(await storage.stats()) == (3, 1, 3, 3, 0)

    # The stub's page: complete now, with its sources; no new event.
    await storage.events.import_batch(
        [page(known_later.date, known_later.headline, "Iraq", "Kenya", sources=2)]
    )
    assert counts(await storage.stats()) == (3, 0, 4, 5, 0)

    # A page edited to cite one source fewer.
    await storage.events.import_batch(
        [
            page(
                early,
                "The first event",
                "Syria",
                "Iraq",
                sources=1,
                summary="Edited.",
                related=(link(known_later, "Iraq"),),
            )
        ]
    )
    assert counts(await storage.stats()) == (3, 0, 4, 4, 0)


async def test_a_stub_folded_into_its_event_is_one_event(storage: Storage) -> None:
    day = dt.date(2017, 6, 16)
    event = page(day, "Two injured Russian soldiers are evacuated from Deir ez-Zor", "Russia")
    older_slug = page(day, "Two alleged Russian soldiers are evacuated from Deir ez-Zor")
    linking = page(
        dt.date(2017, 7, 1), "A later event", "Syria", related=(link(older_slug, "Syria"),)
    )
    outcome = await storage.events.import_batch([event, linking])
    assert counts(await storage.stats())[:2] == (3, 1)
    assert await storage.events.reconcile_stubs(outcome.created_incomplete) == 1
    assert counts(await storage.stats())[:2] == (2, 0)


async def test_aliases_and_merges_count_entities_once(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            page(dt.date(2015, 1, 1), "Two spellings", "ISIL", "Islamic State", "Syria"),
            page(dt.date(2015, 1, 2), "Another", "Daesh", "Iraq"),
        ]
    )
    assert (await storage.stats()).entities == 5
    await storage.entities.alias("ISIL", "Islamic State")  # a known name becomes an alias
    assert (await storage.stats()).entities == 4
    await storage.entities.merge("Daesh", "Islamic State")
    assert (await storage.stats()).entities == 3
    await storage.entities.alias("IS", "Islamic State")  # a new name, straight an alias
    assert (await storage.stats()).entities == 3
    await storage.entities.alias("Levant", "Greater Syria")  # both new: one entity
    assert (await storage.stats()).entities == 4
    # Aliases are names, not events: the events are untouched.
    assert (await storage.stats()).events == 2


async def test_articles_are_counted_once_per_text(storage: Storage) -> None:
    await storage.events.import_batch([page(dt.date(2015, 1, 1), "An event", "Syria")])
    event = await storage.events.get_by_key(make_key(dt.date(2015, 1, 1), "an-event"))
    assert event is not None
    article = ArticleRecord("A report", "What happened, at length.")
    assert await storage.articles.attach(event.id, article, score=0.9)
    assert not await storage.articles.attach(event.id, article, score=0.9)
    assert await storage.articles.attach(event.id, ArticleRecord("Another", "More."), score=None)
    assert (await storage.stats()).articles == 2


async def test_feeds_their_failures_and_their_events(storage: Storage) -> None:
    day = dt.date(2024, 5, 1)
    now = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    good = await storage.feeds.add("https://a.example/feed", "A", now=now)
    bad = await storage.feeds.add("https://b.example/feed", "B", now=now)
    items = [
        FeedItem(
            f"g{n}",
            make_key(day, f"feed-news-{n}"),
            day,
            f"Feed news number {n}",
            "",
            "en",
            f"https://a.example/{n}",
            ("Chile",),
            announce=True,
        )
        for n in range(3)
    ]
    await storage.feeds.record_success(
        good.id, at=now, next_poll_at=now, etag=None, last_modified=None, items=items
    )
    await storage.feeds.record_failure(
        bad.id,
        at=now,
        kind="http",
        reason="503",
        consecutive_failures=1,
        first_parse_failure_at=None,
        next_poll_at=now,
    )
    stats = await storage.stats()
    assert counts(stats) == (3, 0, 1, 3, 0)  # each item's link is its source
    assert (stats.first_date, stats.last_date) == (day, day)
    assert stats.extra == {**EMPTY_EXTRA, "feeds": 2, "feeds_failing": 1}

    # A feed's events stay when it goes.
    assert await storage.feeds.remove(bad.id)
    assert await storage.feeds.remove(good.id)
    stats = await storage.stats()
    assert stats.events == 3 and stats.extra == EMPTY_EXTRA


def portal_item(headline: str, position: int, *entities: str) -> PortalItemRecord:
    return PortalItemRecord(
        key=make_key(PORTAL_DAY, headline.lower().replace(" ", "-")),
        date=PORTAL_DAY,
        headline=headline,
        category="Armed conflicts and attacks",
        topics=("Ecuadorian security crisis",),
        entities=entities,
        sources=(SourceRecord("AP", f"https://apnews.example/{position}"),),
        position=position,
    )


def revision(number: int, *items: PortalItemRecord) -> PortalRevision:
    return PortalRevision(
        PORTAL_DAY,
        "Portal:Current events/2024 January 8",
        "https://en.wikipedia.org/wiki/Portal:Current_events/2024_January_8",
        number,
        NOW,
        items,
    )


async def test_portal_days_events_and_removals(storage: Storage) -> None:
    kept = portal_item("Ecuador declares a state of emergency after a prison escape", 0, "Ecuador")
    dropped = portal_item("A curfew is announced in Quito as gangs take hostages", 1, "Quito")
    await storage.portal.apply_day("en", revision(1, kept, dropped), announce=True, now=NOW)
    await storage.portal.record_read("en", [PORTAL_DAY], now=NOW)
    stats = await storage.stats()
    assert counts(stats) == (2, 0, 2, 2, 0)
    assert stats.extra == {**EMPTY_EXTRA, "wikipedia_days": 1, "wikipedia_events": 2}
    assert stats.portal_read_at == NOW

    # Taken off the page: still an event of the archive, no longer one the page lists.
    later = NOW + dt.timedelta(hours=1)
    outcome = await storage.portal.apply_day("en", revision(2, kept), announce=True, now=later)
    assert len(outcome.removed) == 1
    stats = await storage.stats()
    assert stats.events == 2
    assert stats.extra == {**EMPTY_EXTRA, "wikipedia_days": 1, "wikipedia_events": 1}

    # Listed again: restored.
    outcome = await storage.portal.apply_day(
        "en", revision(3, kept, dropped), announce=True, now=later
    )
    assert len(outcome.restored) == 1
    stats = await storage.stats()
    assert (stats.events, stats.extra["wikipedia_events"]) == (2, 2)


async def test_the_sample_archive(sample_storage: Storage) -> None:
    """The counts agree with what the interface shows event by event."""
    stats = await sample_storage.stats()
    assert stats.events > 0 and stats.incomplete < stats.events
    assert stats.first_date is not None and stats.last_date is not None
    assert stats.first_date <= stats.last_date
    names = await sample_storage.entities.names()
    assert stats.entities == len({n.entity_id for n in names})
    linked = await sample_storage.entities.linked_events(limit=stats.events + 1)
    assert len(linked) == stats.events
    assert sum(not e.complete for e in linked) == stats.incomplete
    assert min(e.date for e in linked) == stats.first_date
    assert max(e.date for e in linked) == stats.last_date
    sources = 0
    for e in linked:
        event = await sample_storage.events.get(e.id)
        assert event is not None
        sources += len(event.sources)
    assert stats.sources == sources
