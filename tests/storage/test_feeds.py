"""FeedRepository against a real SQLite file: feeds, seen entries, same-story merging."""

from __future__ import annotations

import asyncio
import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from bot.services.feeds.stories import is_near_duplicate, same_story
from storage import Storage
from storage.keys import make_key
from storage.models import (
    EntryText,
    FeedExistsError,
    FeedItem,
    PageRecord,
    SearchFilter,
    SourceRecord,
    StoredEntries,
)
from storage.textindex import at_least_as_similar, headline_tokens
from tests.storage.conftest import BACKENDS, OpenArchive, RawSQL

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2024, 5, 1)
HEADLINE = "Russian airstrike may have killed Islamic State leader Abu Bakr al-Baghdadi"


def item(
    identity: str,
    headline: str = HEADLINE,
    *,
    link: str | None = None,
    date: dt.date = DAY,
    announce: bool = True,
    entities: tuple[str, ...] = (),
    key: str | None = None,
    link_identifies: bool = True,
) -> FeedItem:
    return FeedItem(
        identity=identity,
        key=key or make_key(date, headline.lower().replace(" ", "-")[:60]),
        date=date,
        headline=headline,
        summary=f"Summary of {headline}",
        lang="en",
        link=link,
        entities=entities,
        announce=announce,
        link_identifies=link_identifies,
    )


async def store(storage: Storage, feed_id: int, *items: FeedItem) -> StoredEntries:
    """Store items as the feed service does: with its same-story decision."""
    stored = await storage.feeds.record_success(
        feed_id,
        at=T0,
        next_poll_at=T0 + dt.timedelta(minutes=10),
        etag='"v1"',
        last_modified=None,
        items=items,
        same_story=same_story,
    )
    assert stored is not None
    return stored


async def sources(storage: Storage, event_id: int) -> list[tuple[str, str]]:
    event = await storage.events.get(event_id)
    assert event is not None
    return [(s.name, s.url) for s in event.sources]


# --- feeds ----------------------------------------------------------------------------------


async def test_add_list_due_and_remove(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add(
        "https://b.example/rss", "B", now=T0, next_poll_at=T0 - dt.timedelta(minutes=1)
    )
    assert a.active and a.next_poll_at == T0 and a.added_at == T0 and not a.baseline_done
    assert [f.id for f in await storage.feeds.list()] == [a.id, b.id]
    # Longest waiting first; not yet due feeds are left out.
    assert [f.id for f in await storage.feeds.due(T0)] == [b.id, a.id]
    assert [f.id for f in await storage.feeds.due(T0, limit=1)] == [b.id]
    assert await storage.feeds.due(T0 - dt.timedelta(minutes=2)) == []
    assert (await storage.feeds.get_by_url("https://b.example/rss")) == b

    with pytest.raises(FeedExistsError) as info:
        await storage.feeds.add("https://a.example/feed", "again", now=T0)
    assert info.value.feed.id == a.id

    stored = await store(storage, a.id, item("guid-1", link="https://a.example/1"))
    assert await storage.feeds.remove(a.id)
    assert not await storage.feeds.remove(a.id)
    assert await storage.feeds.get(a.id) is None
    # Its entries are forgotten, its event stays in the archive.
    assert await storage.feeds.event_feeds(stored.created[0]) == []
    assert await storage.events.get(stored.created[0]) is not None


async def test_a_feed_moves_to_a_new_url_or_is_disabled(storage: Storage) -> None:
    """A feed that moved for good takes its new URL (not one another feed has); one
    disabled for a reason of the caller's says so."""
    a = await storage.feeds.add("http://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    moved = await storage.feeds.move(a.id, "https://a.example/feed")
    assert moved is not None and moved.url == "https://a.example/feed"
    assert await storage.feeds.get_by_url("https://a.example/feed") == moved
    assert await storage.feeds.get_by_url("http://a.example/feed") is None
    with pytest.raises(FeedExistsError) as taken:
        await storage.feeds.move(a.id, b.url)
    assert taken.value.feed == b
    assert (await storage.feeds.get(a.id)) == moved  # unchanged

    disabled = await storage.feeds.disable(a.id, at=T0, reason="moved onto feed 2")
    assert disabled is not None and not disabled.active
    assert (disabled.disabled_reason, disabled.disabled_at) == ("moved onto feed 2", T0)
    assert [f.id for f in await storage.feeds.active()] == [b.id]
    await storage.feeds.remove(a.id)
    assert await storage.feeds.move(a.id, "https://c.example/feed") is None
    assert await storage.feeds.disable(a.id, at=T0, reason="gone") is None


async def test_record_success_stores_events_like_archive_events(
    storage: Storage, raw_sql: RawSQL
) -> None:
    feed = await storage.feeds.add("https://a.example/feed", "Agency A", now=T0)
    stored = await store(
        storage,
        feed.id,
        item("g1", link="https://a.example/1", entities=("Islamic State", "Syria")),
        item("g2", "Earthquake of magnitude six strikes off the coast of Chile", announce=False),
    )
    assert len(stored.created) == 2 and stored.announced == stored.created[:1]
    first = await storage.events.get(stored.created[0])
    assert first is not None and first.complete and first.date == DAY
    assert first.sources[0].name == "Agency A" and first.sources[0].url == "https://a.example/1"
    assert set(first.entities) == {"Islamic State", "Syria"}
    rows = await raw_sql("SELECT origin, announce, complete FROM events ORDER BY id")
    assert [(o, bool(a), bool(c)) for o, a, c in rows] == [
        ("feed", True, True),
        ("feed", False, True),
    ]
    # Searchable and related like any other event.
    hits = await storage.search.search(SearchFilter(text="Baghdadi airstrike"))
    assert [h.event.id for h in hits] == stored.created[:1]
    entity = await storage.entities.find("islamic state")
    assert entity is not None

    after = await storage.feeds.get(feed.id)
    assert after is not None
    assert (after.events_added, after.entries_seen, after.consecutive_failures) == (2, 2, 0)
    assert after.baseline_done and after.etag == '"v1"' and after.last_success_at == T0
    assert after.next_poll_at == T0 + dt.timedelta(minutes=10)
    assert await storage.feeds.unseen(feed.id, ["g1", "g2", "g3"]) == {"g3"}

    # The same identities again (the caller's read raced a write): nothing twice.
    again = await store(storage, feed.id, item("g1", "Rewritten headline about something else"))
    assert again.created == [] and again.already_seen == 1
    assert (await storage.stats()).events == 2


async def test_same_link_from_another_feed_joins_the_event(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://news.example/story"))
    second = await store(
        storage,
        b.id,
        item("b-77", "A different headline for it", link="https://news.example/story"),
    )
    assert second.created == [] and second.merged == first.created
    # One URL, one source row; both feeds are recorded as carrying the event.
    assert await sources(storage, first.created[0]) == [("A", "https://news.example/story")]
    assert [f for f, _ in await storage.feeds.event_feeds(first.created[0])] == [a.id, b.id]
    feed_b = await storage.feeds.get(b.id)
    assert feed_b is not None and feed_b.events_added == 0 and feed_b.entries_seen == 1


async def test_link_that_identifies_nothing_is_not_matched(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    await store(storage, a.id, item("a-1", link="https://portal.example/"))
    other = await store(
        storage,
        b.id,
        item(
            "b-1",
            "Parliament passes the budget after a long night",
            link="https://portal.example/",
            link_identifies=False,
        ),
    )
    assert len(other.created) == 1


async def test_near_identical_headline_same_day_from_another_feed(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    c = await storage.feeds.add("https://c.example/feed", "C", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://a.example/1"))
    near = HEADLINE.replace("may have killed", "may have killed the")  # Jaccard 10/11
    assert at_least_as_similar(headline_tokens(HEADLINE), headline_tokens(near), Fraction(4, 5))
    second = await store(storage, b.id, item("b-1", near, link="https://b.example/1"))
    assert second.created == [] and second.merged == first.created
    assert second.sources_added == 1
    assert await sources(storage, first.created[0]) == [
        ("A", "https://a.example/1"),
        ("B", "https://b.example/1"),
    ]
    # The same story on another day, or a different story that day: new events.
    other_day = await store(
        storage,
        c.id,
        item("c-1", link="https://c.example/1", date=DAY + dt.timedelta(days=1)),
        item("c-2", "Russian airstrike kills dozens of civilians near Deir ez-Zor"),
    )
    assert len(other_day.created) == 2


async def test_near_identical_headlines_of_one_feed_stay_apart(storage: Storage) -> None:
    feed = await storage.feeds.add("https://quakes.example/feed", "Quakes", now=T0)
    stored = await store(
        storage,
        feed.id,
        item("q1", "M 4.5 - 10 km SW of Ridgecrest, CA", link="https://quakes.example/1"),
        item("q2", "M 4.5 - 10 km SW of Ridgecrest, CA", link="https://quakes.example/2"),
    )
    assert len(stored.created) == 2
    briefs = await storage.events.briefs(stored.created)
    keys = [briefs[i].key for i in stored.created]
    # Same day, same slug: the second key gets a suffix.
    assert keys == [keys[0], keys[0] + "-2"]


async def test_short_headlines_are_never_merged(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    await store(storage, a.id, item("a", "Live updates", key="2024/05/1/live-a"))
    stored = await store(storage, b.id, item("b", "Live updates", key="2024/05/1/live-b"))
    assert len(stored.created) == 1


async def test_merging_into_an_archive_event_keeps_its_entities(storage: Storage) -> None:
    page = PageRecord(
        key=make_key(DAY, "archive-story"),
        date=DAY,
        headline=HEADLINE,
        sources=(SourceRecord("The Independent", "https://independent.example/a"),),
        entities=("Abu Bakr al-Baghdadi",),
    )
    await storage.events.import_batch([page])
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    stored = await store(
        storage, feed.id, item("a-1", link="https://a.example/1", entities=("World news",))
    )
    assert stored.created == [] and len(stored.merged) == 1
    event = await storage.events.get(stored.merged[0])
    assert event is not None and event.key == page.key
    assert [s.url for s in event.sources] == [
        "https://independent.example/a",
        "https://a.example/1",
    ]
    assert event.entities == ("Abu Bakr al-Baghdadi",)


def archive_page(key_slug: str = "archive-story", *urls: str, **fields: Any) -> PageRecord:
    return PageRecord(
        key=make_key(DAY, key_slug),
        date=DAY,
        headline=HEADLINE,
        sources=tuple(SourceRecord(url.split("/")[2], url) for url in urls),
        **fields,
    )


async def test_a_new_page_version_keeps_the_sources_feeds_added(storage: Storage) -> None:
    await storage.events.import_batch([archive_page("archive-story", "https://ind.example/a")])
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    joined = await store(storage, feed.id, item("a-1", link="https://a.example/1"))
    (event_id,) = joined.merged

    # The page's next version lists its sources anew; the feed's link stays, after them.
    await storage.events.import_batch(
        [
            archive_page(
                "archive-story",
                "https://ind.example/a",
                "https://guardian.example/b",
                summary="Now confirmed.",
            )
        ]
    )
    assert await sources(storage, event_id) == [
        ("ind.example", "https://ind.example/a"),
        ("guardian.example", "https://guardian.example/b"),
        ("A", "https://a.example/1"),
    ]
    # A version that lists the feed's link itself holds it once, as the page's.
    await storage.events.import_batch(
        [archive_page("archive-story", "https://a.example/1", summary="Later.")]
    )
    assert await sources(storage, event_id) == [("a.example", "https://a.example/1")]
    # The same link seen again still finds the event.
    again = await store(storage, feed.id, item("a-2", "Elsewhere", link="https://a.example/1"))
    assert again.merged == [event_id]


async def test_a_merged_event_keeps_the_sources_and_feeds_of_both(storage: Storage) -> None:
    """A Changes list folds one event into another: what feeds said about either stays."""
    await storage.events.import_batch(
        [
            archive_page("first-telling", "https://ind.example/a"),
            archive_page("second-telling", "https://bbc.example/b"),
        ]
    )
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    joined = await store(storage, feed.id, item("a-1", link="https://a.example/1"))
    first = await storage.events.get(joined.merged[0])
    assert first is not None
    other = "second-telling" if first.key.endswith("first-telling") else "first-telling"

    merged = archive_page(
        other, "https://bbc.example/b", replaces=(first.key,), summary="Both tellings."
    )
    await storage.events.import_batch([merged])
    event = await storage.events.get_by_key(merged.key)
    assert event is not None and await storage.events.get_by_key(first.key) == event
    assert [s.url for s in event.sources] == ["https://bbc.example/b", "https://a.example/1"]
    assert await storage.feeds.event_feeds(event.id) == [(feed.id, "a-1")]


async def test_two_feeds_storing_one_story_at_once_make_one_event(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    near = HEADLINE.replace("may have killed", "may have killed the")
    by_link, by_headline = await asyncio.gather(
        store(storage, a.id, item("a-1", link="https://news.example/story")),
        store(storage, b.id, item("b-1", near, link="https://news.example/story")),
    )
    assert len(by_link.created + by_headline.created) == 1
    assert len(by_link.merged + by_headline.merged) == 1


async def test_without_a_decision_every_unseen_item_is_a_new_event(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    await store(storage, a.id, item("a-1", link="https://news.example/story"))
    stored = await storage.feeds.record_success(
        b.id,
        at=T0,
        next_poll_at=T0,
        etag=None,
        last_modified=None,
        items=[item("b-1", link="https://news.example/story")],
    )
    assert stored is not None and len(stored.created) == 1 and stored.merged == []


async def test_a_decision_naming_no_candidate_stores_nothing(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", link="https://a.example/1"))
    other = item("b-1", "Glacier collapse blocks a valley road in the Alps")
    with pytest.raises(ValueError, match="not a candidate"):
        await storage.feeds.record_success(
            b.id,
            at=T0,
            next_poll_at=T0,
            etag=None,
            last_modified=None,
            items=[other],
            same_story=lambda *_: first.created[0],
        )
    assert await storage.feeds.unseen(b.id, ["b-1"]) == {"b-1"}
    # The rolled-back transaction left the cache usable.
    assert (await store(storage, b.id, item("b-2", link="https://b.example/2"))).merged == (
        first.created
    )


# --- corrected entries ----------------------------------------------------------------------

QUAKE = "Earthquake kills 10 in the Atacama region of northern Chile"
CORRECTED = "Earthquake kills 100 in the Atacama region of northern Chile"


def text(
    identity: str,
    headline: str = CORRECTED,
    summary: str = "A hundred people died.",
    *,
    entities: tuple[str, ...] = (),
) -> EntryText:
    return EntryText(identity, headline, summary, "en", entities)


async def correct(storage: Storage, feed_id: int, *texts: EntryText) -> StoredEntries:
    """A poll that brings nothing new, only what entries seen before say now."""
    stored = await storage.feeds.record_success(
        feed_id,
        at=T0 + dt.timedelta(minutes=10),
        next_poll_at=T0 + dt.timedelta(minutes=20),
        etag=None,
        last_modified=None,
        same_story=same_story,
        corrections=texts,
    )
    assert stored is not None
    return stored


async def test_a_corrected_entry_corrects_its_event_in_place(storage: Storage) -> None:
    """A wire corrects an entry it announced: the event says what the entry says now, is
    searched by it (and no longer by what it said), keeps its key, date and sources, and
    later entries are matched to it by its new headline."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    (event_id,) = (
        await store(storage, feed.id, item("q1", QUAKE, link="https://a.example/q"))
    ).created
    before = await storage.events.get(event_id)
    assert before is not None
    corrected = text("q1", entities=("Atacama",))
    assert await storage.feeds.retold(feed.id, [corrected]) == {"q1"}
    stored = await correct(storage, feed.id, corrected)
    assert stored.corrected == [event_id] and stored.created == stored.announced == []

    event = await storage.events.get(event_id)
    assert event is not None
    assert (event.headline, event.summary) == (CORRECTED, "A hundred people died.")
    assert (event.key, event.date, event.sources) == (before.key, before.date, before.sources)
    assert "Atacama" in event.entities
    found = await storage.search.search(SearchFilter(text="hundred"))
    assert [h.event.id for h in found] == [event_id]
    assert await storage.search.search(SearchFilter(text="Summary")) == []
    # Said again, it is no correction; another feed's telling of the corrected headline is
    # the same story.
    assert await storage.feeds.retold(feed.id, [corrected]) == set()
    assert (await correct(storage, feed.id, corrected)).corrected == []
    other = await storage.feeds.add("https://b.example/feed", "Other", now=T0)
    joined = await store(storage, other.id, item("b1", CORRECTED + ".", link="https://b.example/q"))
    assert joined.merged == [event_id]


async def test_only_an_event_the_feed_alone_told_is_corrected(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """An event another feed joined, an archive event the entry joined, one the portal
    lists, one taken off: each keeps its text. So does one the document tells two ways."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    other = await storage.feeds.add("https://b.example/feed", "Other", now=T0)
    await storage.events.import_batch([archive_page("archive-story", "https://ind.example/a")])
    stored = await store(
        storage,
        feed.id,
        item("shared", QUAKE, link="https://a.example/shared"),
        item("archive", link="https://ind.example/a"),
        item("portal", "Floods force four thousand from their homes in Sao Paulo state"),
        item("off", "Glacier collapse closes an Alpine valley road for the summer"),
        item("twice", "Senate passes the budget after an all-night session of debate"),
    )
    shared, portal, off, twice = stored.created
    (archive,) = stored.merged
    joined = await store(storage, other.id, item("b", QUAKE, link="https://a.example/shared"))
    assert joined.merged == [shared]
    await raw_sql(
        "INSERT INTO portal_items(wiki, event_id, date, position, headline, sources,"
        " entities, content_hash) VALUES ('en', ?, ?, 0, 'x', '[]', '[]', 'h')",
        portal,
        DAY,
    )
    await raw_sql("UPDATE events SET removed_at = ? WHERE id = ?", T0, off)
    await store(
        storage,
        feed.id,
        item(
            "twice-again",
            "Senate passes the budget after an all-night session of debate",
            link="https://a.example/t",
        ),
    )
    await raw_sql("UPDATE feed_entries SET event_id = ? WHERE identity = 'twice-again'", twice)
    texts = [
        text(identity, f"{identity} corrected headline")
        for identity in ("shared", "archive", "portal", "off")
    ] + [text("twice", "Senate passes the budget"), text("twice-again", "Senate rejects it")]
    assert await storage.feeds.retold(feed.id, texts) == set()
    assert (await correct(storage, feed.id, *texts)).corrected == []
    for event_id in (shared, archive, portal, off, twice):
        event = await storage.events.get(event_id)
        assert event is not None and "corrected" not in event.headline
        assert not event.headline.startswith("Senate rejects")
    # The document's two entries of one event agreeing: that is the correction.
    agreeing = [text("twice", "Senate passes it"), text("twice-again", "Senate passes it")]
    assert (await correct(storage, feed.id, *agreeing)).corrected == [twice]


async def test_record_failure_and_counts(storage: Storage) -> None:
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    await storage.feeds.add("https://b.example/feed", "B", now=T0)
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 0}
    failed = await storage.feeds.record_failure(
        feed.id,
        at=T0,
        kind="http_status",
        reason="HTTP 503 Service Unavailable from https://a.example/feed",
        consecutive_failures=1,
        first_parse_failure_at=None,
        next_poll_at=T0 + dt.timedelta(minutes=5),
    )
    assert failed is not None and failed.active and failed.consecutive_failures == 1
    assert failed.last_error_kind == "http_status" and failed.last_error_at == T0
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 1}
    disabled = await storage.feeds.record_failure(
        feed.id,
        at=T0,
        kind="not_a_feed",
        reason="an HTML page",
        consecutive_failures=2,
        first_parse_failure_at=T0,
        next_poll_at=T0 + dt.timedelta(minutes=10),
        disabled_reason="not a feed for more than a day",
    )
    assert disabled is not None and not disabled.active
    assert disabled.disabled_reason == "not a feed for more than a day"
    assert disabled.first_parse_failure_at == T0 and disabled.disabled_at == T0
    assert [f.url for f in await storage.feeds.due(T0 + dt.timedelta(days=9))] == [
        "https://b.example/feed"
    ]
    assert await storage.feeds.counts() == {"feeds": 2, "feeds_failing": 1}

    again = await storage.feeds.reactivate(feed.id, now=T0, backfill=3)
    assert again is not None and again.active and again.consecutive_failures == 0
    assert not again.baseline_done and again.backfill == 3
    assert again.last_error == "an HTML page"  # the record stays


# The migration that takes the login out of the links private feeds' items got before.
LINKS_WITHOUT_LOGINS = {"sqlite": 19, "postgresql": 14}


async def test_an_archive_from_before_keeps_no_feed_login_in_its_links(
    open_archive: OpenArchive, backend: str
) -> None:
    """Before, a private feed's relative item links carried the feed's login
    (http://alice:password@host/news/...), shown on every card: an upgrade takes it out,
    and a link the event already has without it is not kept twice."""
    run = BACKENDS[backend][1]
    storage = await open_archive("upgraded")
    feed = await storage.feeds.add("https://alice:pw@a.example/feed", "Private", now=T0)
    stored = await store(
        storage,
        feed.id,
        item("g1", link="https://alice:pw@a.example/news/1"),
        item("g2", "Earthquake strikes off the coast of Chile", link="http://a.example/2"),
    )
    one, two = stored.created
    await run(
        storage,
        "INSERT INTO sources(event_id, position, name, url, from_feed)"
        " VALUES (?, 1, 'Private', ?, ?), (?, 2, 'Elsewhere', ?, ?), (?, 3, 'Private', ?, ?),"
        " (?, 1, 'Private', ?, ?)",
        (
            one,
            "https://alice:p@ss@a.example/news/1?page=1",
            True,
            one,
            "https://bob:x@b.example/kept-as-given",
            False,
            one,
            "HTTPS://alice:pw@a.example/news/3#top",
            True,
            two,
            "http://alice:pw@a.example/2",
            True,
        ),
    )
    await run(
        storage, "DELETE FROM schema_migrations WHERE version = ?", (LINKS_WITHOUT_LOGINS[backend],)
    )
    await storage.close()
    async with await open_archive("upgraded") as storage:  # the migration runs
        assert await sources(storage, one) == [
            ("Private", "https://a.example/news/1"),
            ("Private", "https://a.example/news/1?page=1"),
            ("Elsewhere", "https://bob:x@b.example/kept-as-given"),  # not a feed's
            ("Private", "HTTPS://a.example/news/3#top"),
        ]
        assert await sources(storage, two) == [("Private", "http://a.example/2")]
        # The feed's own URL keeps its login: the fetch needs it.
        assert (await storage.feeds.list())[0].url == "https://alice:pw@a.example/feed"


def test_headline_tokens_fold_and_split_cjk() -> None:
    assert headline_tokens("Erdoğan's U.S. visit") == {"erdogan", "s", "u", "visit"}
    assert headline_tokens("叙利亚政府军 retakes") == {
        "叙利",
        "利亚",
        "亚政",
        "政府",
        "府军",
        "retakes",
    }
    assert headline_tokens("U.S. troops: 2,000 strong_men") == {
        "u",
        "s",
        "troops",
        "2",
        "000",
        "strong",
        "men",
    }
    assert not at_least_as_similar(frozenset(), frozenset(), Fraction(1, 100))
    # 3 shared of 4 in all: exactly 3/4.
    assert at_least_as_similar(frozenset("abc"), frozenset("abcd"), Fraction(3, 4))
    assert not at_least_as_similar(frozenset("abc"), frozenset("abde"), Fraction(3, 4))
    assert not at_least_as_similar(frozenset("ab"), frozenset("abcdefgh"), Fraction(1, 3))
    four = frozenset("abcd")
    assert is_near_duplicate(four, four) and not is_near_duplicate(
        frozenset("abc"), frozenset("abc")
    )
    assert is_near_duplicate(frozenset("abcdefgh"), frozenset("abcdefghi"))  # 8/9
    assert not is_near_duplicate(frozenset("abcdefg"), frozenset("abcdefghi"))  # 7/9
