"""What a poll's entries do to events, on either backend (storage/sqlite/feeds.py says how):
the entries a feed carried, an unseen entry joining the event of the same story or becoming
one of its own, an entry corrected in place, and the day index of headlines that finds the
same story. Each backend's FeedEntries (storage/{sqlite,postgres}/feed_entries.py) says the
statements, and reads its rows into the types here."""

from __future__ import annotations

import builtins
import datetime as dt
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from storage.feed_steps import (
    LinkedEvent,
    OwnEvent,
    Placed,
    SameStory,
    ToldEvent,
    place_entries,
)
from storage.headline_index import CACHED_DAYS, DayIndex
from storage.models import EntryText, EventBrief, FeedItem, StoredEntries
from storage.textindex import headline_tokens

Conn = TypeVar("Conn")  # the backend's connection, in the poll's transaction
Now = TypeVar("Now")  # the time as the backend writes it


@dataclass(frozen=True, slots=True)
class FoundEvent:
    """An event a day index found, as its row says it is now."""

    id: int
    key: str
    headline: str
    date: dt.date
    live: bool  # complete, and not taken off
    this_feeds: bool  # the polled feed made or joined it


class FeedEntries(ABC, Generic[Conn, Now]):
    """The feed_entries rows and the events they make, in the poll's transaction; each
    day's headlines kept in memory (the cache the module docstring of storage/sqlite/feeds.py
    describes), dropped when a transaction rolls back."""

    def __init__(self) -> None:
        self._days: OrderedDict[dt.date, DayIndex] = OrderedDict()

    def forget(self) -> None:
        """Drop the day index: it may hold events of a rolled-back transaction."""
        self._days.clear()

    async def store(
        self,
        conn: Conn,
        feed_id: int,
        feed_name: str,
        items: Sequence[FeedItem],
        now: Now,
        same_story: SameStory | None,
        carried: Collection[str] | None = None,
        corrections: Sequence[EntryText] = (),
    ) -> StoredEntries:
        if not items and not corrections:
            return StoredEntries()
        # Authoritative "seen?" check, inside the transaction: the caller's was a read.
        identities = list(dict.fromkeys(item.identity for item in items))
        seen = await self._seen(conn, feed_id, identities)
        synced: set[dt.date] = set()  # days whose cache was caught up in this transaction
        sql = _EntrySQL(self, conn, feed_id, feed_name, now, synced)
        placed = await place_entries(items, seen, same_story, sql, carried, corrections)
        await self._write(conn, feed_id, placed, now)
        return placed.stored

    # -- the backend's statements ------------------------------------------------------------

    @abstractmethod
    async def _seen(self, conn: Conn, feed_id: int, identities: Sequence[str]) -> set[str]:
        """Which of these identities the feed carried before."""

    @abstractmethod
    async def _write(self, conn: Conn, feed_id: int, placed: Placed, now: Now) -> None:
        """The new entries' rows, the events' links to entities, and what those change."""

    @abstractmethod
    async def _same_link(self, conn: Conn, feed_id: int, link: str | None) -> LinkedEvent | None:
        """The first live event one of whose sources is the link."""

    @abstractmethod
    async def _own_events(self, conn: Conn, feed_id: int, date: dt.date) -> builtins.list[OwnEvent]:
        """Complete live events of the day this feed carried before (feed_steps)."""

    @abstractmethod
    async def told(
        self, conn: Conn, feed_id: int, identities: Sequence[str]
    ) -> dict[str, ToldEvent]:
        """The live event each identity of the feed made or joined (feed_steps.retold)."""

    @abstractmethod
    async def _correct_event(self, conn: Conn, event: ToldEvent, text: EntryText, now: Now) -> None:
        """The event as the entry's text has it now (feed_corrections)."""

    @abstractmethod
    async def _is_feed_event(self, conn: Conn, event_id: int) -> bool: ...

    @abstractmethod
    async def _unread(
        self, conn: Conn, date: dt.date, index: DayIndex
    ) -> Iterable[tuple[int, str]]:
        """(id, headline) of the day's complete events the index has not read."""

    @abstractmethod
    async def _found(
        self, conn: Conn, feed_id: int, event_ids: Sequence[int]
    ) -> dict[int, FoundEvent]:
        """These events, by id, as their rows are now (those still there)."""

    @abstractmethod
    async def _insert_event(self, conn: Conn, item: FeedItem, feed_name: str, now: Now) -> int:
        """A new event of the item, with its link as its source; its id."""

    @abstractmethod
    async def _add_source(self, conn: Conn, event_id: int, feed_name: str, link: str) -> int:
        """The link as one more source of the event, credited to the feed; how many
        sources were added."""

    # -- the day index ---------------------------------------------------------------------

    async def _correct(self, conn: Conn, event: ToldEvent, text: EntryText, now: Now) -> None:
        await self._correct_event(conn, event, text, now)
        index = self._days.get(event.date)
        if index is not None and event.id in index.known:
            # Later entries are matched to the event by what it says now. (One the index
            # has not read yet is read as it is when it is.)
            index.replace(event.id, headline_tokens(text.headline))

    async def _day(self, conn: Conn, date: dt.date, synced: set[dt.date]) -> DayIndex:
        index = self._days.get(date)
        if index is None:
            index = self._days[date] = DayIndex()
            while len(self._days) > CACHED_DAYS:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(date)
        if date not in synced:
            for event_id, headline in await self._unread(conn, date, index):
                index.add(event_id, headline_tokens(headline))
            synced.add(date)
        return index

    async def _alike(
        self,
        conn: Conn,
        item: FeedItem,
        feed_id: int,
        mine: set[int],
        synced: set[dt.date],
    ) -> builtins.list[EventBrief]:
        """Complete events told by someone else whose headline the day indexes find nearly
        the same as the item's: of the item's day, most similar first, then of the day
        before and the day after (the same story dated either side of midnight;
        bot.services.feeds.stories takes those only word for word).

        Events this feed itself made or joined are not candidates: two entries of one feed
        (distinct identities) are two items by the feed's own account, even when their
        headlines are templated alike ("M 4.5 - 10 km SW of Ridgecrest, CA").
        """
        tokens = headline_tokens(item.headline)
        indexes: dict[dt.date, DayIndex] = {}
        found: builtins.list[tuple[int, dt.date]] = []
        for offset in (0, -1, 1):
            date = item.date + dt.timedelta(days=offset)
            index = indexes[date] = await self._day(conn, date, synced)
            found.extend((i, date) for i in index.best_matches(tokens) if i not in mine)
        if not found:
            return []
        rows = await self._found(conn, feed_id, [event_id for event_id, _ in found])
        candidates: builtins.list[EventBrief] = []
        for event_id, date in found:
            index = indexes[date]
            # The cache may be stale (an event merged away, re-dated, taken off or rewritten
            # by an archive import): trust only the row itself, and mend the cache from it.
            row = rows.get(event_id)
            if row is None or row.date != date or not row.live:
                index.discard(event_id)
                continue
            row_tokens = headline_tokens(row.headline)
            if row_tokens != index.tokens.get(event_id):
                index.replace(event_id, row_tokens)
            if not row.this_feeds:
                candidates.append(EventBrief(event_id, row.key, date, row.headline, complete=True))
        return candidates

    async def _create_event(
        self, conn: Conn, item: FeedItem, feed_name: str, now: Now, synced: set[dt.date]
    ) -> int:
        event_id = await self._insert_event(conn, item, feed_name, now)
        # Later entries of this same transaction must find this story too.
        (await self._day(conn, item.date, synced)).add(event_id, headline_tokens(item.headline))
        return event_id


@dataclass(slots=True)
class _EntrySQL(Generic[Conn, Now]):
    """feed_steps.EntrySQL, in the poll's transaction."""

    feeds: FeedEntries[Conn, Now]
    conn: Conn
    feed_id: int
    feed_name: str
    now: Now
    synced: set[dt.date]

    async def same_link(self, link: str | None) -> LinkedEvent | None:
        return await self.feeds._same_link(self.conn, self.feed_id, link)

    async def own_events(self, date: dt.date) -> list[OwnEvent]:
        return await self.feeds._own_events(self.conn, self.feed_id, date)

    async def alike(self, item: FeedItem, mine: set[int]) -> list[EventBrief]:
        return await self.feeds._alike(self.conn, item, self.feed_id, mine, self.synced)

    async def add_source(self, event_id: int, link: str) -> int:
        return await self.feeds._add_source(self.conn, event_id, self.feed_name, link)

    async def is_feed_event(self, event_id: int) -> bool:
        return await self.feeds._is_feed_event(self.conn, event_id)

    async def create_event(self, item: FeedItem) -> int:
        return await self.feeds._create_event(
            self.conn, item, self.feed_name, self.now, self.synced
        )

    async def told(self, identities: Sequence[str]) -> dict[str, ToldEvent]:
        return await self.feeds.told(self.conn, self.feed_id, identities)

    async def correct(self, event: ToldEvent, text: EntryText) -> None:
        await self.feeds._correct(self.conn, event, text, self.now)
