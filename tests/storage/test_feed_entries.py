"""FeedRepository against a real database, a poll's entries becoming events: stored like
archive events, the same story from several feeds joined, never duplicated."""

from __future__ import annotations

import asyncio
import datetime as dt
from fractions import Fraction

import pytest

from bot.services.feeds.stories import is_near_duplicate
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter, SourceRecord
from storage.textindex import at_least_as_similar, headline_tokens
from tests.storage.conftest import RawSQL
from tests.storage.feeds_support import DAY, HEADLINE, T0, archive_page, item, sources, store


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
    # The same story two days later (the day after takes it word for word only:
    # test_feed_same_story), or a different story that day: new events.
    other_day = await store(
        storage,
        c.id,
        item("c-1", link="https://c.example/1", date=DAY + dt.timedelta(days=2)),
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
