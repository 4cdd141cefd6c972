"""Storing a feed's unseen entries, the same on every backend: which event each entry
joins (the same story) or makes, and what that adds. The backends give the reads and
writes (their SQL) in the poll's transaction; the order and the decisions are here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from storage.models import EventBrief, FeedItem, StoredEntries

# Which existing event an item is the same story as, if any: given the event one of whose
# sources is the item's link, and the events of its day with nearly its headline.
SameStory = Callable[[FeedItem, int | None, Sequence[EventBrief]], int | None]


class EntrySQL(Protocol):
    """What placing entries needs of a backend, for one feed, in one transaction."""

    async def same_link(self, link: str | None) -> int | None:
        """The event one of whose sources is this link."""
        ...

    async def same_day(self, item: FeedItem, mine: set[int]) -> Sequence[EventBrief]:
        """Events of the item's day with nearly its headline, told by someone else (not
        in ``mine``), most similar first."""
        ...

    async def add_source(self, event_id: int, link: str) -> int:
        """The link as one more source of the event, credited to the feed; how many
        sources were added."""
        ...

    async def is_feed_event(self, event_id: int) -> bool: ...

    async def create_event(self, item: FeedItem) -> int: ...


@dataclass(slots=True)
class Placed:
    """Where a poll's unseen entries went, and what is left to write of it."""

    stored: StoredEntries = field(default_factory=StoredEntries)
    entries: list[tuple[str, int]] = field(default_factory=list)  # (identity, event), new
    links: list[tuple[int, str]] = field(default_factory=list)  # (event, entity name)
    mine: set[int] = field(default_factory=set)  # events the feed made or joined


async def place_entries(
    items: Sequence[FeedItem],
    seen: set[str],
    same_story: SameStory | None,
    sql: EntrySQL,
) -> Placed:
    """Each item not ``seen`` (identities the feed carried before; the set is added to)
    joins the event of its story, or makes one; ``same_story`` None makes every item a new
    event."""
    placed = Placed()
    stored = placed.stored
    for item in items:
        if item.identity in seen:
            stored.already_seen += 1
            continue
        seen.add(item.identity)
        event_id: int | None = None
        if same_story is not None:
            same_link = await sql.same_link(item.link)
            same_day = await sql.same_day(item, placed.mine)
            event_id = same_story(item, same_link, same_day)
            if event_id is not None and event_id != same_link:
                if event_id not in {event.id for event in same_day}:
                    raise ValueError(f"event {event_id} was not a candidate for {item.key}")
                if item.link:  # joined by its headline: its link is one more source
                    stored.sources_added += await sql.add_source(event_id, item.link)
        if event_id is not None:
            placed.mine.add(event_id)
            stored.merged.append(event_id)
            if await sql.is_feed_event(event_id):
                # The same story told by another feed may name more entities; archive
                # events keep the archive's own (curated) list.
                placed.links.extend((event_id, name) for name in item.entities)
        else:
            event_id = await sql.create_event(item)
            placed.mine.add(event_id)
            stored.created.append(event_id)
            if item.announce:
                stored.announced.append(event_id)
            placed.links.extend((event_id, name) for name in item.entities)
        placed.entries.append((item.identity, event_id))
    return placed
