"""Feeds: the operator's feeds, their health and schedule (here), and their entries as
events (storage/sqlite/feed_entries.py).

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
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager

import aiosqlite

from storage.feed_steps import (
    SameStory,
    retold,
)
from storage.headline_index import MIN_HEADLINE_TOKENS as MIN_HEADLINE_TOKENS
from storage.models import (
    EntryText,
    Feed,
    FeedExistsError,
    FeedItem,
    StoredEntries,
)
from storage.schedule_rules import rebased
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.feed_entries import FeedEntries
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
        self._entries = FeedEntries(db)

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
        async with self._unique_url(url) as conn:
            cursor = await conn.execute(
                "INSERT INTO feeds(url, name, added_at, backfill, next_poll_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (url, name, to_timestamp(now), backfill, to_timestamp(next_poll_at or now)),
            )
            feed_id = cursor.lastrowid
        feed = await self.get(feed_id) if feed_id is not None else None
        assert feed is not None
        return feed

    @asynccontextmanager
    async def _unique_url(self, url: str) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction that gives a feed this URL: FeedExistsError (carrying the feed)
        when another feed has it."""
        try:
            async with self.db.transaction() as conn:
                yield conn
        except sqlite3.IntegrityError:
            existing = await self.get_by_url(url)
            if existing is None:  # removed again in between: a real integrity problem
                raise
            raise FeedExistsError(existing) from None

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
        """Active feeds whose next poll is due, longest waiting first (the feeds_due index).
        Feeds last polled after ``now`` (the clock went back) first have their wait counted
        from now (storage.schedule_rules)."""
        await self._rebase(now)
        rows = await self.db.fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active' AND next_poll_at <= ?"
            " ORDER BY next_poll_at, id LIMIT ?",
            (to_timestamp(now), -1 if limit is None else limit),
        )
        return [_feed(row) for row in rows]

    async def _rebase(self, now: dt.datetime) -> None:
        at = to_timestamp(now)
        rows = await self.db.fetchall(
            "SELECT id, next_poll_at, last_attempt_at FROM feeds"
            " WHERE status = 'active' AND next_poll_at > ? AND last_attempt_at > ?",
            (at, at),
        )
        if not rows:
            return
        async with self.db.transaction() as conn:
            for row in rows:
                next_at = from_timestamp(row["next_poll_at"])
                last_at = from_timestamp(row["last_attempt_at"])
                if next_at is None or (moved := rebased(next_at, last_at, now)) is None:
                    continue
                # The poll is counted as made now, so that the wait is counted once; unless
                # a poll was recorded meanwhile (it counted from now already).
                await conn.execute(
                    "UPDATE feeds SET next_poll_at = ?, last_attempt_at = ?"
                    " WHERE id = ? AND next_poll_at = ?",
                    (to_timestamp(moved), at, row["id"], row["next_poll_at"]),
                )

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
        async with self._unique_url(url) as conn:
            await conn.execute("UPDATE feeds SET url = ? WHERE id = ?", (url, feed_id))
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
        told = await FeedEntries.told(self.db.reader, feed_id, [t.identity for t in texts])
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
                stored = await self._entries.store(
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
            self._entries.forget()
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
