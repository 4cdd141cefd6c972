"""Feeds: the operator's feeds, their health and schedule, and their entries as events.

Feed entries become ordinary events (``origin = 'feed'``) in the same tables as the archive
(events, sources, entities), so lookups, search, related events and digests see them
without knowing where they came from. What this module adds:

* ``feeds``: one row per feed, with its validators (ETag, Last-Modified), its health
  (last success, last error and its kind, consecutive failures) and its schedule
  (``next_poll_at``). The policy (backoff, when to disable) is the caller's; this module
  stores what it is told.
* ``feed_entries``: every identity each feed has ever carried, and the event it became or
  joined. An identity seen once is never new again, whatever the feed later does to the
  entry's date or text.
* Same story, one event: whether an unseen entry is the same story as an event already
  stored is the caller's decision (``same_story``, given to :meth:`record_success`). This
  module finds its candidates (the event that already has the entry's link as a source;
  the events of the entry's day whose headlines are like its own) and applies the answer
  in the transaction that stores the entry: the entry joins that event, its link added
  as one more source, or becomes a new event. Deciding inside the transaction is what
  makes two feeds polled at once carrying one story make one event.

Finding "a headline like this one on that day" must stay cheap when hundreds of feeds
bring thousands of events a day, so each day's headlines are kept in memory as token sets
with an inverted index (storage.headline_index.DayIndex, which every backend shares),
filled from the ``events_by_date`` index on first use, caught up by id (ids only grow)
once per transaction, and checked against the row before an event is offered as a
candidate. The cache is only a shortcut: it is touched inside write transactions only
(which are serialised) and dropped when one rolls back.
"""

from __future__ import annotations

import builtins
import datetime as dt
import sqlite3
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
    retold,
)
from storage.headline_index import CACHED_DAYS, DayIndex
from storage.headline_index import MIN_HEADLINE_TOKENS as MIN_HEADLINE_TOKENS
from storage.models import (
    EntryText,
    EventBrief,
    Feed,
    FeedExistsError,
    FeedItem,
    StoredEntries,
)
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.feed_corrections import correct_event
from storage.textindex import headline_tokens
from storage.times import from_timestamp, to_timestamp

# --- records and views ----------------------------------------------------------------------


def _feed(row: aiosqlite.Row) -> Feed:
    added_at = from_timestamp(row["added_at"])
    next_poll_at = from_timestamp(row["next_poll_at"])
    assert added_at is not None and next_poll_at is not None  # NOT NULL columns
    return Feed(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        added_at=added_at,
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        disabled_at=from_timestamp(row["disabled_at"]),
        baseline_done=bool(row["baseline_done"]),
        backfill=row["backfill"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_sha256=row["body_sha256"],
        last_success_at=from_timestamp(row["last_success_at"]),
        last_attempt_at=from_timestamp(row["last_attempt_at"]),
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        last_error_at=from_timestamp(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        first_parse_failure_at=from_timestamp(row["first_parse_failure_at"]),
        next_poll_at=next_poll_at,
        entries_seen=row["entries_seen"],
        events_added=row["events_added"],
    )


# --- the repository -------------------------------------------------------------------------

_FEED_COLUMNS = (
    "id, url, name, added_at, status, disabled_reason, disabled_at, baseline_done, backfill,"
    " etag, body_sha256,"
    " last_modified, last_success_at, last_attempt_at, last_error, last_error_kind,"
    " last_error_at, consecutive_failures, first_parse_failure_at, next_poll_at,"
    " entries_seen, events_added"
)


class FeedRepository:
    def __init__(self, db: Database):
        self.db = db
        self._days: OrderedDict[str, DayIndex] = OrderedDict()

    # --- feeds --------------------------------------------------------------------------

    async def add(
        self,
        url: str,
        name: str,
        *,
        now: dt.datetime,
        backfill: int = 0,
        next_poll_at: dt.datetime | None = None,
    ) -> Feed:
        """A new active feed, due at ``next_poll_at`` (default: now). Raises
        FeedExistsError (carrying the existing feed) when the URL is already known."""
        if backfill < 0:
            raise ValueError("backfill must be 0 or more")
        try:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO feeds(url, name, added_at, backfill, next_poll_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (url, name, to_timestamp(now), backfill, to_timestamp(next_poll_at or now)),
                )
                feed_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            existing = await self.get_by_url(url)
            if existing is None:  # removed again in between: a real integrity problem
                raise
            raise FeedExistsError(existing) from None
        feed = await self.get(feed_id) if feed_id is not None else None
        assert feed is not None
        return feed

    async def get(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchone(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return _feed(row) if row else None

    async def get_by_url(self, url: str) -> Feed | None:
        row = await self.db.fetchone(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return _feed(row) if row else None

    async def list(self) -> list[Feed]:
        rows = await self.db.fetchall(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY id")
        return [_feed(row) for row in rows]

    async def due(self, now: dt.datetime, *, limit: int | None = None) -> builtins.list[Feed]:
        """Active feeds whose next poll is due, longest waiting first (the feeds_due index)."""
        rows = await self.db.fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active' AND next_poll_at <= ?"
            " ORDER BY next_poll_at, id LIMIT ?",
            (to_timestamp(now), -1 if limit is None else limit),
        )
        return [_feed(row) for row in rows]

    async def active(self) -> builtins.list[Feed]:
        rows = await self.db.fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active' ORDER BY id"
        )
        return [_feed(row) for row in rows]

    async def next_due_at(self) -> dt.datetime | None:
        row = await self.db.fetchone("SELECT MIN(next_poll_at) FROM feeds WHERE status = 'active'")
        return from_timestamp(row[0]) if row else None

    async def remove(self, feed_id: int) -> bool:
        """Forget a feed and the identities it carried; its events stay in the archive."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return cursor.rowcount > 0

    async def reactivate(self, feed_id: int, *, now: dt.datetime, backfill: int = 0) -> Feed | None:
        """A disabled feed, active again with a clean health record, due now. Its next
        successful fetch counts as a first fetch (history, not news, as after an outage);
        the entries it carried before stay seen."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET status = 'active', disabled_reason = NULL, disabled_at = NULL,"
                " consecutive_failures = 0, first_parse_failure_at = NULL,"
                " baseline_done = 0, backfill = ?, next_poll_at = ? WHERE id = ?",
                (backfill, to_timestamp(now), feed_id),
            )
        return await self.get(feed_id)

    async def move(self, feed_id: int, url: str) -> Feed | None:
        """The feed at its new URL (it moved there for good); None if it was removed
        meanwhile. Raises FeedExistsError (carrying that feed) when another feed has it."""
        try:
            async with self.db.transaction() as conn:
                await conn.execute("UPDATE feeds SET url = ? WHERE id = ?", (url, feed_id))
        except sqlite3.IntegrityError:
            existing = await self.get_by_url(url)
            if existing is None:  # removed again in between: a real integrity problem
                raise
            raise FeedExistsError(existing) from None
        return await self.get(feed_id)

    async def disable(self, feed_id: int, *, at: dt.datetime, reason: str) -> Feed | None:
        """The feed disabled for a reason of the caller's (not a failure of its own)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET status = 'disabled', disabled_reason = ?, disabled_at = ?"
                " WHERE id = ?",
                (reason, to_timestamp(at), feed_id),
            )
        return await self.get(feed_id)

    async def counts(self) -> dict[str, int]:
        """feeds, and feeds_failing: those whose last attempt failed, or that are disabled
        (a disabled feed has failed for good until the operator acts)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*),"
            " COALESCE(SUM(status = 'disabled' OR consecutive_failures > 0), 0) FROM feeds"
        )
        assert row is not None
        return {"feeds": row[0], "feeds_failing": row[1]}

    # --- entries ------------------------------------------------------------------------

    async def unseen(self, feed_id: int, identities: Sequence[str]) -> set[str]:
        """The identities this feed has never carried before."""
        seen: set[str] = set()
        unique = list(dict.fromkeys(identities))
        for chunk in chunked(unique):
            rows = await self.db.fetchall(
                "SELECT identity FROM feed_entries WHERE feed_id = ?"
                f" AND identity IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            )
            seen.update(row[0] for row in rows)
        return set(unique) - seen

    async def retold(self, feed_id: int, texts: Sequence[EntryText]) -> set[str]:
        """The identities among these whose text corrects their event (storage.feed_steps)."""
        told = await self._told(self.db.reader, feed_id, [text.identity for text in texts])
        return {text.identity for text in retold(texts, told).values()}

    async def event_feeds(self, event_id: int) -> builtins.list[tuple[int, str]]:
        """(feed id, identity) of every feed entry that became or joined an event."""
        rows = await self.db.fetchall(
            "SELECT feed_id, identity FROM feed_entries WHERE event_id = ? ORDER BY feed_id",
            (event_id,),
        )
        return [(row[0], row[1]) for row in rows]

    # --- poll results -------------------------------------------------------------------

    async def record_success(
        self,
        feed_id: int,
        *,
        at: dt.datetime,
        next_poll_at: dt.datetime,
        etag: str | None,
        last_modified: str | None,
        items: Sequence[FeedItem] = (),
        body_sha256: str | None = None,
        same_story: SameStory | None = None,
        carried: Collection[str] | None = None,
        corrections: Sequence[EntryText] = (),
    ) -> StoredEntries | None:
        """Store a successful poll: its unseen entries and the feed's new state, in one
        transaction (a crash leaves neither half). None if the feed was removed meanwhile.

        ``same_story`` says which existing event each unseen item joins (see the module
        docstring); without it every unseen item is a new event. ``carried`` is every
        identity of the fetched document (storage.feed_steps: a re-emitted entry), and
        ``corrections`` what entries carried before say now (storage.feed_steps: a
        corrected entry)."""
        now = to_timestamp(at)
        try:
            async with self.db.transaction() as conn:
                row = await (
                    await conn.execute("SELECT name FROM feeds WHERE id = ?", (feed_id,))
                ).fetchone()
                if row is None:
                    return None
                stored = await self._store_items(
                    conn, feed_id, row[0], items, now, same_story, carried, corrections
                )
                await conn.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ?,"
                    " body_sha256 = COALESCE(?, body_sha256), last_success_at = ?,"
                    " last_attempt_at = ?, consecutive_failures = 0, baseline_done = 1,"
                    " first_parse_failure_at = NULL, next_poll_at = ?,"
                    " entries_seen = entries_seen + ?, events_added = events_added + ?"
                    " WHERE id = ?",
                    (
                        etag,
                        last_modified,
                        body_sha256,
                        now,
                        now,
                        to_timestamp(next_poll_at),
                        len(items) - stored.already_seen,
                        len(stored.created),
                        feed_id,
                    ),
                )
        except BaseException:
            self._days.clear()  # it may hold events of the rolled-back transaction
            raise
        return stored

    async def record_failure(
        self,
        feed_id: int,
        *,
        at: dt.datetime,
        kind: str,
        reason: str,
        consecutive_failures: int,
        first_parse_failure_at: dt.datetime | None,
        next_poll_at: dt.datetime,
        disabled_reason: str | None = None,
    ) -> Feed | None:
        """Store a failed poll as the caller judged it (backoff, and whether to disable)."""
        now = to_timestamp(at)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET last_attempt_at = ?, last_error = ?, last_error_kind = ?,"
                " last_error_at = ?, consecutive_failures = ?, first_parse_failure_at = ?,"
                " next_poll_at = ?,"
                " status = CASE WHEN ? IS NULL THEN status ELSE 'disabled' END,"
                " disabled_reason = COALESCE(?, disabled_reason),"
                " disabled_at = CASE WHEN ? IS NULL THEN disabled_at ELSE ? END"
                " WHERE id = ?",
                (
                    now,
                    reason,
                    kind,
                    now,
                    consecutive_failures,
                    to_timestamp(first_parse_failure_at) if first_parse_failure_at else None,
                    to_timestamp(next_poll_at),
                    disabled_reason,
                    disabled_reason,
                    disabled_reason,
                    now,
                    feed_id,
                ),
            )
        return await self.get(feed_id)

    # --- storing entries ----------------------------------------------------------------

    async def _store_items(
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
    async def _told(
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

    async def _same_day(
        self,
        conn: aiosqlite.Connection,
        item: FeedItem,
        feed_id: int,
        mine: set[int],
        synced: set[str],
    ) -> builtins.list[EventBrief]:
        """Complete events of the item's day whose headline the day's index finds nearly
        the same as the item's, most similar first, told by someone else.

        Events this feed itself made or joined are not candidates: two entries of one feed
        (distinct identities) are two items by the feed's own account, even when their
        headlines are templated alike ("M 4.5 - 10 km SW of Ridgecrest, CA").
        """
        date = item.date.isoformat()
        index = await self._day(conn, date, synced)
        found = [i for i in index.best_matches(headline_tokens(item.headline)) if i not in mine]
        rows: dict[int, aiosqlite.Row] = {}
        for chunk in chunked(found):
            for found_row in await conn.execute_fetchall(
                "SELECT id, key, headline, date, complete AND removed_at IS NULL,"
                " EXISTS (SELECT 1 FROM feed_entries WHERE event_id = e.id AND feed_id = ?)"
                f" FROM events e WHERE id IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            ):
                rows[found_row[0]] = found_row
        candidates: builtins.list[EventBrief] = []
        for event_id in found:
            # The cache may be stale (an event merged away, re-dated, taken off or rewritten
            # by an archive import): trust only the row itself, and mend the cache from it.
            row = rows.get(event_id)
            if row is None or row[3] != date or not row[4]:
                index.discard(event_id)
                continue
            tokens = headline_tokens(row[2])
            if tokens != index.tokens.get(event_id):
                index.replace(event_id, tokens)
            if not row[5]:
                candidates.append(EventBrief(event_id, row[1], item.date, row[2], complete=True))
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

    feeds: FeedRepository
    conn: aiosqlite.Connection
    feed_id: int
    feed_name: str
    now: str
    synced: set[str]

    async def same_link(self, link: str | None) -> LinkedEvent | None:
        return await self.feeds._same_link(self.conn, self.feed_id, link)

    async def own_events(self, date: dt.date) -> list[OwnEvent]:
        return await self.feeds._own_events(self.conn, self.feed_id, date)

    async def same_day(self, item: FeedItem, mine: set[int]) -> list[EventBrief]:
        return await self.feeds._same_day(self.conn, item, self.feed_id, mine, self.synced)

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
        return await self.feeds._told(self.conn, self.feed_id, identities)

    async def correct(self, event: ToldEvent, text: EntryText) -> None:
        await self.feeds._correct(self.conn, event, text, self.now)
