"""The same-story steps every backend shares (storage.feed_steps), through record_success:
a feed's own entry re-emitted under a new identity joins its event; a shared link joins
only when it can name the entry's story."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.services.feeds.stories import same_story
from storage import Storage
from storage.keys import make_key
from storage.models import FeedItem, PageRecord, SourceRecord, StoredEntries

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2024, 5, 1)
HEADLINE = "Russian airstrike may have killed Islamic State leader Abu Bakr al-Baghdadi"
OTHER = "Glacier collapse blocks a valley road in the Alps"


def item(
    identity: str, headline: str = HEADLINE, *, link: str | None = None, date: dt.date = DAY
) -> FeedItem:
    return FeedItem(
        identity=identity,
        key=make_key(date, headline.lower().replace(" ", "-")[:60]),
        date=date,
        headline=headline,
        summary="",
        lang="en",
        link=link,
        entities=(),
        announce=True,
    )


async def store(
    storage: Storage, feed_id: int, *items: FeedItem, carried: Sequence[str] | None = None
) -> StoredEntries:
    stored = await storage.feeds.record_success(
        feed_id,
        at=T0,
        next_poll_at=T0 + dt.timedelta(minutes=10),
        etag=None,
        last_modified=None,
        items=items,
        same_story=same_story,
        carried=[i.identity for i in items] if carried is None else carried,
    )
    assert stored is not None
    return stored


async def test_a_re_emitted_entry_joins_the_feeds_own_event(storage: Storage) -> None:
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    first = await store(storage, feed.id, item("g1", "Live updates"), item("g2", OTHER))
    # New identities, same headlines and day, the old identities gone from the document.
    again = await store(storage, feed.id, item("g1b", "live   UPDATES"), item("g2b", OTHER))
    assert again.created == [] and again.announced == []
    assert again.merged == first.created and again.sources_added == 0
    assert await storage.feeds.unseen(feed.id, ["g1b", "g2b"]) == set()
    # Another day's "Live updates" is another story.
    tomorrow = await store(storage, feed.id, item("g1c", "Live updates", date=DAY.replace(day=2)))
    assert len(tomorrow.created) == 1


async def test_an_entry_the_document_still_carries_keeps_its_own_event(storage: Storage) -> None:
    feed = await storage.feeds.add("https://q.example/feed", "Quakes", now=T0)
    quake = "M 4.5 - 10 km SW of Ridgecrest, CA"
    await store(storage, feed.id, item("q1", quake, link="https://q.example/1"))
    second = await store(
        storage, feed.id, item("q2", quake, link="https://q.example/2"), carried=["q2", "q1"]
    )
    assert len(second.created) == 1 and second.merged == []
    # Without the document's identities nothing is taken for a re-emission.
    blind = await storage.feeds.record_success(
        feed.id,
        at=T0,
        next_poll_at=T0,
        etag=None,
        last_modified=None,
        items=[item("q4", quake)],
        same_story=same_story,
    )
    assert blind is not None and len(blind.created) == 1


async def test_a_link_the_feed_alone_used_does_not_swallow_another_headline(
    storage: Storage,
) -> None:
    feed = await storage.feeds.add("https://s.example/feed", "Status", now=T0)
    history = "https://status.example/history"
    first = await store(storage, feed.id, item("inc-1", HEADLINE, link=history))
    second = await store(storage, feed.id, item("inc-2", OTHER, link=history), carried=["inc-2"])
    assert len(second.created) == 1 and second.merged == []
    # The same link with nearly the same headline is the same story (an edited entry).
    edited = await store(
        storage, feed.id, item("inc-1b", HEADLINE + " says ministry", link=history), carried=[]
    )
    assert edited.created == [] and edited.merged == first.created


async def test_a_link_another_teller_cited_joins_within_days(storage: Storage) -> None:
    a = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    b = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    first = await store(storage, a.id, item("a-1", HEADLINE, link="https://news.example/s"))
    later = DAY + dt.timedelta(days=2)
    joined = await store(
        storage, b.id, item("b-1", OTHER, link="https://news.example/s", date=later)
    )
    assert joined.created == [] and joined.merged == first.created
    # A week later, another headline with that link is another story.
    week = DAY + dt.timedelta(days=7)
    c = await storage.feeds.add("https://c.example/feed", "C", now=T0)
    apart = await store(
        storage,
        c.id,
        item("c-1", "Parliament passes the budget", link="https://news.example/s", date=week),
    )
    assert len(apart.created) == 1


async def test_the_same_story_dated_either_side_of_midnight_is_one_event(
    storage: Storage,
) -> None:
    """Feeds date one story either side of midnight: the very same headline the day before
    or after joins the event, adding its source; a like headline that day is news."""
    feeds = [
        await storage.feeds.add(f"https://{name}.example/feed", name, now=T0)
        for name in ("a", "b", "c", "d")
    ]
    toll = "Earthquake death toll rises to 41,000 in Turkey and Syria"
    first = await store(storage, feeds[0].id, item("a-1", toll, link="https://a.example/1"))
    after = DAY + dt.timedelta(days=1)
    before = DAY - dt.timedelta(days=1)
    for feed, date in ((feeds[1], after), (feeds[2], before)):
        joined = await store(
            storage,
            feed.id,
            item(f"{feed.name}-1", toll, link=f"https://{feed.name}.example/1", date=date),
        )
        assert joined.created == [] and joined.merged == first.created
        assert joined.sources_added == 1
    rises = toll.replace("41,000", "44,000")
    news = await store(storage, feeds[3].id, item("d-1", rises, date=after))
    assert len(news.created) == 1 and news.merged == []


async def test_a_re_emitted_entry_joins_the_archive_event_it_joined(storage: Storage) -> None:
    page = PageRecord(
        key=make_key(DAY, "archive-story"),
        date=DAY,
        headline=HEADLINE,
        sources=(SourceRecord("The Independent", "https://independent.example/a"),),
    )
    await storage.events.import_batch([page])
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    near = HEADLINE + " says ministry"
    first = await store(storage, feed.id, item("a-1", near, link="https://a.example/1?s=1"))
    assert first.created == [] and len(first.merged) == 1
    again = await store(storage, feed.id, item("a-1b", near, link="https://a.example/1?s=2"))
    assert again.created == [] and again.merged == first.merged
