"""What a poll's entries do to events, on PostgreSQL, as on SQLite
(storage/sqlite/feed_entries.py): the entries a feed carried, an unseen entry joining the
event of the same story or becoming one of its own, an entry corrected in place, and the
day index of headlines that finds the same story."""

from __future__ import annotations

import builtins
import datetime as dt
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from storage.feed_steps import (
    LinkedEvent,
    OwnEvent,
    SameStory,
    ToldEvent,
    own_events,
    place_entries,
)
from storage.headline_index import CACHED_DAYS, DayIndex
from storage.models import (
    EntryText,
    EventBrief,
    FeedItem,
    StoredEntries,
)
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database
from storage.postgres.feed_corrections import correct_event
from storage.textindex import headline_tokens

_FEED_COLUMNS = (
    "id, url, name, added_at, status, disabled_reason, disabled_at, baseline_done, backfill,"
    " etag, body_sha256, last_modified, last_success_at, last_attempt_at, last_error,"
    " last_error_kind, last_error_at, consecutive_failures, first_parse_failure_at,"
    " next_poll_at, entries_seen, events_added"
)


class FeedEntries:
    """The feed_entries rows and the events they make, in the poll's transaction; each
    day's headlines kept in memory, dropped when a transaction rolls back."""

    def __init__(self, db: Database):
        self.db = db
        self._days: OrderedDict[dt.date, DayIndex] = OrderedDict()

    def forget(self) -> None:
        """Drop the day index: it may hold events of a rolled-back transaction."""
        self._days.clear()

    async def store(
        self,
        conn: Connection,
        feed_id: int,
        feed_name: str,
        items: Sequence[FeedItem],
        now: dt.datetime,
        same_story: SameStory | None,
        carried: Collection[str] | None = None,
        corrections: Sequence[EntryText] = (),
    ) -> StoredEntries:
        if not items and not corrections:
            return StoredEntries()
        # Authoritative "seen?" check, inside the transaction: the caller's was a read.
        identities = list(dict.fromkeys(item.identity for item in items))
        seen = {
            row[0]
            for row in await conn.fetch(
                "SELECT identity FROM feed_entries"
                " WHERE feed_id = $1 AND identity = ANY($2::text[])",
                feed_id,
                identities,
            )
        }

        synced: set[dt.date] = set()  # days whose cache was caught up in this transaction
        sql = _EntrySQL(self, conn, feed_id, feed_name, now, synced)
        placed = await place_entries(items, seen, same_story, sql, carried, corrections)
        if placed.entries:
            await conn.execute(
                "INSERT INTO feed_entries(feed_id, identity, event_id, first_seen_at)"
                " SELECT $1, i, e, $2 FROM unnest($3::text[], $4::bigint[]) AS t(i, e)",
                feed_id,
                now,
                [identity for identity, _ in placed.entries],
                [event_id for _, event_id in placed.entries],
            )
        await event_rows.link_entities(conn, placed.links)
        await event_rows.refresh_weights(conn, placed.mine)
        await event_rows.pack_postings(conn, self.db.packed_postings_min)
        return placed.stored

    @staticmethod
    async def _same_link(conn: Connection, feed_id: int, link: str | None) -> LinkedEvent | None:
        if not link:
            return None
        row = await conn.fetchrow(
            "SELECT s.event_id, e.date, e.headline, e.origin = 'feed'"
            " AND EXISTS (SELECT 1 FROM feed_entries m WHERE m.event_id = e.id"
            " AND m.feed_id = $1)"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> $1)"
            " FROM sources s JOIN events e ON e.id = s.event_id"
            " WHERE s.url = $2 AND NOT s.is_image AND e.removed_at IS NULL"
            " ORDER BY s.event_id LIMIT 1",
            feed_id,
            link,
        )
        if row is None:
            return None
        return LinkedEvent(row[0], row[1], row[2], bool(row[3]))

    @staticmethod
    async def _own_events(conn: Connection, feed_id: int, date: dt.date) -> builtins.list[OwnEvent]:
        """Complete live events of the day this feed carried before (feed_steps)."""
        rows = await conn.fetch(
            "SELECT e.id, e.headline, fe.identity, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> $1)"
            " FROM events e JOIN feed_entries fe ON fe.event_id = e.id AND fe.feed_id = $1"
            " WHERE e.date = $2 AND e.complete AND e.removed_at IS NULL"
            " ORDER BY e.id, fe.identity",
            feed_id,
            date,
        )
        return own_events(rows)

    @staticmethod
    async def told(
        conn: Connection, feed_id: int, identities: Sequence[str]
    ) -> dict[str, ToldEvent]:
        """The live event each identity of the feed made or joined (feed_steps.retold)."""
        rows = await conn.fetch(
            "SELECT fe.identity, e.id, e.date, e.headline, e.summary, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> fe.feed_id)"
            " AND NOT EXISTS (SELECT 1 FROM portal_items p WHERE p.event_id = e.id)"
            " FROM feed_entries fe JOIN events e ON e.id = fe.event_id"
            " WHERE fe.feed_id = $1 AND fe.identity = ANY($2::text[]) AND e.removed_at IS NULL",
            feed_id,
            list(dict.fromkeys(identities)),
        )
        return {row[0]: ToldEvent(row[1], row[2], row[3], row[4], bool(row[5])) for row in rows}

    async def _correct(
        self, conn: Connection, event: ToldEvent, text: EntryText, now: dt.datetime
    ) -> None:
        await correct_event(conn, event, text, now)
        index = self._days.get(event.date)
        if index is not None and event.id in index.known:
            # Later entries are matched to the event by what it says now.
            index.replace(event.id, headline_tokens(text.headline))

    @staticmethod
    async def _is_feed_event(conn: Connection, event_id: int) -> bool:
        origin = await conn.fetchval("SELECT origin FROM events WHERE id = $1", event_id)
        return bool(origin == "feed")

    async def _day(self, conn: Connection, date: dt.date, synced: set[dt.date]) -> DayIndex:
        index = self._days.get(date)
        if index is None:
            index = self._days[date] = DayIndex()
            while len(self._days) > CACHED_DAYS:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(date)
        if date not in synced:
            if index.known:
                # The day's ids alone (the events_by_date index), then the headlines of
                # those the index has not seen.
                ids = await conn.fetch("SELECT id FROM events WHERE date = $1 AND complete", date)
                new = sorted({row[0] for row in ids} - index.known)
                rows = (
                    await conn.fetch(
                        "SELECT id, headline FROM events WHERE id = ANY($1::bigint[])", new
                    )
                    if new
                    else []
                )
            else:
                rows = await conn.fetch(
                    "SELECT id, headline FROM events WHERE date = $1 AND complete", date
                )
            for row in rows:
                index.add(row[0], headline_tokens(row[1]))
            synced.add(date)
        return index

    async def _alike(
        self,
        conn: Connection,
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
        rows = {
            row[0]: row
            for row in await conn.fetch(
                "SELECT id, key, headline, date, complete AND removed_at IS NULL,"
                " EXISTS (SELECT 1 FROM feed_entries WHERE event_id = e.id AND feed_id = $1)"
                " FROM events e WHERE id = ANY($2::bigint[])",
                feed_id,
                [event_id for event_id, _ in found],
            )
        }
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
                candidates.append(EventBrief(event_id, row[1], date, row[2], complete=True))
        return candidates

    async def _create_event(
        self,
        conn: Connection,
        item: FeedItem,
        feed_name: str,
        now: dt.datetime,
        synced: set[dt.date],
    ) -> int:
        key = await event_rows.free_key(conn, item.key)
        (event_id,) = await event_rows.insert_events(
            conn,
            [
                event_rows.NewEvent(
                    key=key,
                    date=item.date,
                    headline=item.headline,
                    summary=item.summary,
                    lang=item.lang,
                    complete=True,
                    origin="feed",
                    announce=item.announce,
                )
            ],
            now=now,
        )
        if item.link:
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES ($1, 0, $2, $3, false, true)",
                event_id,
                feed_name,
                item.link,
            )
        # Later entries of this same transaction must find this story too.
        (await self._day(conn, item.date, synced)).add(event_id, headline_tokens(item.headline))
        return event_id


@dataclass(slots=True)
class _EntrySQL:
    """feed_steps.EntrySQL, in the poll's transaction."""

    feeds: FeedEntries
    conn: Connection
    feed_id: int
    feed_name: str
    now: dt.datetime
    synced: set[dt.date]

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
