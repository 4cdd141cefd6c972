"""What a poll's entries do to events, on SQLite (storage/sqlite/feeds.py says how): the
entries a feed carried, an unseen entry joining the event of the same story or becoming one
of its own, an entry corrected in place, and the day index of headlines that finds the
same story."""

from __future__ import annotations

import builtins
import datetime as dt
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.feed_steps import (
    LinkedEvent,
    OwnEvent,
    SameStory,
    ToldEvent,
    own_events,
    place_entries,
)
from storage.headline_index import CACHED_DAYS, DayIndex
from storage.headline_index import MIN_HEADLINE_TOKENS as MIN_HEADLINE_TOKENS
from storage.models import (
    EntryText,
    EventBrief,
    FeedItem,
    StoredEntries,
)
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.feed_corrections import correct_event
from storage.textindex import headline_tokens


class FeedEntries:
    """The feed_entries rows and the events they make, in the poll's transaction; each
    day's headlines kept in memory (the cache the module docstring of storage/sqlite/feeds.py
    describes), dropped when a transaction rolls back."""

    def __init__(self, db: Database):
        self.db = db
        self._days: OrderedDict[str, DayIndex] = OrderedDict()

    def forget(self) -> None:
        """Drop the day index: it may hold events of a rolled-back transaction."""
        self._days.clear()

    async def store(
        self,
        conn: aiosqlite.Connection,
        feed_id: int,
        feed_name: str,
        items: Sequence[FeedItem],
        now: str,
        same_story: SameStory | None,
        carried: Collection[str] | None = None,
        corrections: Sequence[EntryText] = (),
    ) -> StoredEntries:
        if not items and not corrections:
            return StoredEntries()
        # Authoritative "seen?" check, inside the transaction: the caller's was a read.
        seen: set[str] = set()
        identities = list(dict.fromkeys(item.identity for item in items))
        for chunk in chunked(identities):
            rows = await conn.execute_fetchall(
                "SELECT identity FROM feed_entries WHERE feed_id = ?"
                f" AND identity IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            )
            seen.update(row[0] for row in rows)

        synced: set[str] = set()  # days whose cache was caught up in this transaction
        sql = _EntrySQL(self, conn, feed_id, feed_name, now, synced)
        placed = await place_entries(items, seen, same_story, sql, carried, corrections)
        await conn.executemany(
            "INSERT INTO feed_entries(feed_id, identity, event_id, first_seen_at)"
            " VALUES (?, ?, ?, ?)",
            [(feed_id, identity, event_id, now) for identity, event_id in placed.entries],
        )
        await event_rows.link_entities(conn, placed.links)
        await event_rows.refresh_weights(conn, placed.mine)
        await event_rows.pack_postings(conn, self.db.packed_postings_min)
        return placed.stored

    @staticmethod
    async def _same_link(
        conn: aiosqlite.Connection, feed_id: int, link: str | None
    ) -> LinkedEvent | None:
        if not link:
            return None
        cursor = await conn.execute(
            "SELECT s.event_id, e.date, e.headline, e.origin = 'feed'"
            " AND EXISTS (SELECT 1 FROM feed_entries m WHERE m.event_id = e.id"
            " AND m.feed_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id != ?)"
            " FROM sources s JOIN events e ON e.id = s.event_id"
            " WHERE s.url = ? AND s.is_image = 0 AND e.removed_at IS NULL"
            " ORDER BY s.event_id LIMIT 1",
            (feed_id, feed_id, link),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        return LinkedEvent(row[0], dt.date.fromisoformat(row[1]), row[2], bool(row[3]))

    @staticmethod
    async def _own_events(
        conn: aiosqlite.Connection, feed_id: int, date: dt.date
    ) -> builtins.list[OwnEvent]:
        """Complete live events of the day this feed carried before (feed_steps)."""
        rows = await conn.execute_fetchall(
            "SELECT e.id, e.headline, fe.identity, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id != ?)"
            " FROM events e JOIN feed_entries fe ON fe.event_id = e.id AND fe.feed_id = ?"
            " WHERE e.date = ? AND e.complete = 1 AND e.removed_at IS NULL"
            " ORDER BY e.id, fe.identity",
            (feed_id, feed_id, date.isoformat()),
        )
        return own_events(rows)

    @staticmethod
    async def told(
        conn: aiosqlite.Connection, feed_id: int, identities: Sequence[str]
    ) -> dict[str, ToldEvent]:
        """The live event each identity of the feed made or joined (feed_steps.retold)."""
        told: dict[str, ToldEvent] = {}
        for chunk in chunked(list(dict.fromkeys(identities))):
            rows = await conn.execute_fetchall(
                "SELECT fe.identity, e.id, e.date, e.headline, e.summary, e.origin = 'feed'"
                " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
                " AND o.feed_id != fe.feed_id)"
                " AND NOT EXISTS (SELECT 1 FROM portal_items p WHERE p.event_id = e.id)"
                " FROM feed_entries fe JOIN events e ON e.id = fe.event_id"
                f" WHERE fe.feed_id = ? AND fe.identity IN ({placeholders(len(chunk))})"
                " AND e.removed_at IS NULL",
                (feed_id, *chunk),
            )
            for row in rows:
                told[row[0]] = ToldEvent(
                    row[1], dt.date.fromisoformat(row[2]), row[3], row[4], bool(row[5])
                )
        return told

    async def _correct(
        self, conn: aiosqlite.Connection, event: ToldEvent, text: EntryText, now: str
    ) -> None:
        await correct_event(conn, event, text, now)
        index = self._days.get(event.date.isoformat())
        if index is not None and event.id in index.known:
            # Later entries are matched to the event by what it says now. (One the index
            # has not read yet is read as it is when it is.)
            index.replace(event.id, headline_tokens(text.headline))

    @staticmethod
    async def _is_feed_event(conn: aiosqlite.Connection, event_id: int) -> bool:
        cursor = await conn.execute("SELECT origin FROM events WHERE id = ?", (event_id,))
        row = await cursor.fetchone()
        return row is not None and row[0] == "feed"

    async def _day(self, conn: aiosqlite.Connection, date: str, synced: set[str]) -> DayIndex:
        index = self._days.get(date)
        if index is None:
            index = self._days[date] = DayIndex()
            while len(self._days) > CACHED_DAYS:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(date)
        if date not in synced:
            # Ids only grow, so whatever was written since the last look (an import, the
            # other process) is exactly the day's events above max_id.
            rows = await conn.execute_fetchall(
                "SELECT id, headline FROM events WHERE date = ? AND id > ? AND complete = 1",
                (date, index.max_id),
            )
            for row in rows:
                index.add(row[0], headline_tokens(row[1]))
            synced.add(date)
        return index

    async def _alike(
        self,
        conn: aiosqlite.Connection,
        item: FeedItem,
        feed_id: int,
        mine: set[int],
        synced: set[str],
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
        indexes: dict[str, DayIndex] = {}
        found: builtins.list[tuple[int, str]] = []
        for offset in (0, -1, 1):
            date = (item.date + dt.timedelta(days=offset)).isoformat()
            index = indexes[date] = await self._day(conn, date, synced)
            found.extend((i, date) for i in index.best_matches(tokens) if i not in mine)
        rows: dict[int, aiosqlite.Row] = {}
        for chunk in chunked([event_id for event_id, _ in found]):
            for found_row in await conn.execute_fetchall(
                "SELECT id, key, headline, date, complete AND removed_at IS NULL,"
                " EXISTS (SELECT 1 FROM feed_entries WHERE event_id = e.id AND feed_id = ?)"
                f" FROM events e WHERE id IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            ):
                rows[found_row[0]] = found_row
        candidates: builtins.list[EventBrief] = []
        for event_id, date in found:
            index = indexes[date]
            # The cache may be stale (an event merged away, re-dated, taken off or rewritten
            # by an archive import): trust only the row itself, and mend the cache from it.
            row = rows.get(event_id)
            if row is None or row[3] != date or not row[4]:
                index.discard(event_id)
                continue
            row_tokens = headline_tokens(row[2])
            if row_tokens != index.tokens.get(event_id):
                index.replace(event_id, row_tokens)
            if not row[5]:
                candidates.append(
                    EventBrief(event_id, row[1], dt.date.fromisoformat(date), row[2], complete=True)
                )
        return candidates

    async def _create_event(
        self,
        conn: aiosqlite.Connection,
        item: FeedItem,
        feed_name: str,
        now: str,
        synced: set[str],
    ) -> int:
        key = await event_rows.free_key(conn, item.key)
        cursor = await conn.execute(
            "INSERT INTO events(key, date, headline, summary, lang, complete, origin, announce,"
            " added_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 'feed', ?, ?, ?)",
            (
                key,
                item.date.isoformat(),
                item.headline,
                item.summary,
                item.lang,
                int(item.announce),
                now,
                now,
            ),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        if item.link:
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES (?, 0, ?, ?, 0, 1)",
                (event_id, feed_name, item.link),
            )
        # Later entries of this same transaction must find this story too.
        (await self._day(conn, item.date.isoformat(), synced)).add(
            event_id, headline_tokens(item.headline)
        )
        return event_id


@dataclass(slots=True)
class _EntrySQL:
    """feed_steps.EntrySQL, in the poll's transaction."""

    feeds: FeedEntries
    conn: aiosqlite.Connection
    feed_id: int
    feed_name: str
    now: str
    synced: set[str]

    async def same_link(self, link: str | None) -> LinkedEvent | None:
        return await self.feeds._same_link(self.conn, self.feed_id, link)

    async def own_events(self, date: dt.date) -> list[OwnEvent]:
        return await self.feeds._own_events(self.conn, self.feed_id, date)

    async def alike(self, item: FeedItem, mine: set[int]) -> list[EventBrief]:
        return await self.feeds._alike(self.conn, item, self.feed_id, mine, self.synced)

    async def add_source(self, event_id: int, link: str) -> int:
        return await event_rows.append_sources(
            self.conn, event_id, [(self.feed_name, link)], added_by="feed"
        )

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
