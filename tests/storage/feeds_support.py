"""What the feed storage tests share: a feed item, a poll storing items as the feed service
stores them, an event's sources, an archive page of the same story."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.services.feeds.stories import same_story
from storage import Storage
from storage.keys import make_key
from storage.models import FeedItem, PageRecord, SourceRecord, StoredEntries

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


def archive_page(key_slug: str = "archive-story", *urls: str, **fields: Any) -> PageRecord:
    return PageRecord(
        key=make_key(DAY, key_slug),
        date=DAY,
        headline=HEADLINE,
        sources=tuple(SourceRecord(url.split("/")[2], url) for url in urls),
        **fields,
    )
