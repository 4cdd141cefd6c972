"""PostgreSQL: the operator's feeds, their health and schedule (here), and their entries as
events (storage/postgres/feed_entries.py).

As on SQLite (storage/sqlite/feeds.py says what each table holds): feed entries become
ordinary events (``origin = 'feed'``); whether an unseen entry is the same story as a
stored event is the caller's decision (``same_story``), which this module gives its
candidates and applies inside the transaction that stores the entry.

Every bot process may store entries at once here, so storing takes a transaction-level
advisory lock (event_rows.lock_announcing): the transactions that could make one story twice run one
after another, and each sees what the one before committed. The day's headlines are kept
in memory (storage.headline_index) and caught up at each transaction's first look at a
day by the ids the day holds that the index does not: ids are not committed in the order
they were drawn (an import's long transaction commits after later ids), so "every id above
the last seen" would miss some.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager

import asyncpg

from storage.feed_steps import (
    SameStory,
    retold,
)
from storage.models import (
    EntryText,
    Feed,
    FeedExistsError,
    FeedItem,
    StoredEntries,
)
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database
from storage.postgres.feed_entries import FeedEntries
from storage.schedule_rules import rebased

_FEED_COLUMNS = (
    "id, url, name, added_at, status, disabled_reason, disabled_at, baseline_done, backfill,"
    " etag, body_sha256, last_modified, last_success_at, last_attempt_at, last_error,"
    " last_error_kind, last_error_at, consecutive_failures, first_parse_failure_at,"
    " next_poll_at, entries_seen, events_added"
)


def _feed(row: asyncpg.Record) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        added_at=row["added_at"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        disabled_at=row["disabled_at"],
        baseline_done=row["baseline_done"],
        backfill=row["backfill"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_sha256=row["body_sha256"],
        last_success_at=row["last_success_at"],
        last_attempt_at=row["last_attempt_at"],
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        last_error_at=row["last_error_at"],
        consecutive_failures=row["consecutive_failures"],
        first_parse_failure_at=row["first_parse_failure_at"],
        next_poll_at=row["next_poll_at"],
        entries_seen=row["entries_seen"],
        events_added=row["events_added"],
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
            row = await conn.fetchrow(
                "INSERT INTO feeds(url, name, added_at, backfill, next_poll_at)"
                f" VALUES ($1, $2, $3, $4, $5) RETURNING {_FEED_COLUMNS}",
                url,
                name,
                now,
                backfill,
                next_poll_at or now,
            )
        assert row is not None
        return _feed(row)

    @asynccontextmanager
    async def _unique_url(self, url: str) -> AsyncIterator[Connection]:
        """A transaction that gives a feed this URL: FeedExistsError (carrying the feed)
        when another feed has it."""
        try:
            async with self.db.transaction() as conn:
                yield conn
        except asyncpg.UniqueViolationError:
            existing = await self.get_by_url(url)
            if existing is None:  # removed again in between: a real integrity problem
                raise
            raise FeedExistsError(existing) from None

    async def get(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchrow(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = $1", feed_id)
        return _feed(row) if row else None

    async def get_by_url(self, url: str) -> Feed | None:
        row = await self.db.fetchrow(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = $1", url)
        return _feed(row) if row else None

    async def list(self) -> builtins.list[Feed]:
        rows = await self.db.fetch(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY id")
        return [_feed(row) for row in rows]

    async def due(self, now: dt.datetime, *, limit: int | None = None) -> builtins.list[Feed]:
        """Active feeds whose next poll is due, longest waiting first (the feeds_due index).
        Feeds last polled after ``now`` (the clock went back) first have their wait counted
        from now (storage.schedule_rules)."""
        await self._rebase(now)
        rows = await self.db.fetch(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active' AND next_poll_at <= $1"
            " ORDER BY next_poll_at, id LIMIT $2",
            now,
            limit,  # LIMIT NULL: all of them
        )
        return [_feed(row) for row in rows]

    async def _rebase(self, now: dt.datetime) -> None:
        rows = await self.db.fetch(
            "SELECT id, next_poll_at, last_attempt_at FROM feeds"
            " WHERE status = 'active' AND next_poll_at > $1 AND last_attempt_at > $1",
            now,
        )
        if not rows:
            return
        async with self.db.transaction() as conn:
            for row in rows:
                if (moved := rebased(row["next_poll_at"], row["last_attempt_at"], now)) is None:
                    continue
                # The poll is counted as made now, so that the wait is counted once; unless
                # a poll was recorded meanwhile (it counted from now already).
                await conn.execute(
                    "UPDATE feeds SET next_poll_at = $1, last_attempt_at = $2"
                    " WHERE id = $3 AND next_poll_at = $4",
                    moved,
                    now,
                    row["id"],
                    row["next_poll_at"],
                )

    async def active(self) -> builtins.list[Feed]:
        rows = await self.db.fetch(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active' ORDER BY id"
        )
        return [_feed(row) for row in rows]

    async def next_due_at(self) -> dt.datetime | None:
        moment: dt.datetime | None = await self.db.fetchval(
            "SELECT min(next_poll_at) FROM feeds WHERE status = 'active'"
        )
        return moment

    async def remove(self, feed_id: int) -> bool:
        """Forget a feed and the identities it carried; its events stay in the archive."""
        async with self.db.transaction() as conn:
            status = await conn.execute("DELETE FROM feeds WHERE id = $1", feed_id)
        return status != "DELETE 0"

    async def reactivate(self, feed_id: int, *, now: dt.datetime, backfill: int = 0) -> Feed | None:
        """A disabled feed, active again with a clean health record, due now. Its next
        successful fetch counts as a first fetch (history, not news, as after an outage);
        the entries it carried before stay seen."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET status = 'active', disabled_reason = NULL, disabled_at = NULL,"
                " consecutive_failures = 0, first_parse_failure_at = NULL,"
                " baseline_done = false, backfill = $1, next_poll_at = $2 WHERE id = $3",
                backfill,
                now,
                feed_id,
            )
        return await self.get(feed_id)

    async def move(self, feed_id: int, url: str) -> Feed | None:
        """The feed at its new URL (it moved there for good); None if it was removed
        meanwhile. Raises FeedExistsError (carrying that feed) when another feed has it."""
        async with self._unique_url(url) as conn:
            await conn.execute("UPDATE feeds SET url = $1 WHERE id = $2", url, feed_id)
        return await self.get(feed_id)

    async def disable(self, feed_id: int, *, at: dt.datetime, reason: str) -> Feed | None:
        """The feed disabled for a reason of the caller's (not a failure of its own)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET status = 'disabled', disabled_reason = $1, disabled_at = $2"
                " WHERE id = $3",
                reason,
                at,
                feed_id,
            )
        return await self.get(feed_id)

    async def counts(self) -> dict[str, int]:
        """feeds, and feeds_failing: those whose last attempt failed, or that are disabled
        (a disabled feed has failed for good until the operator acts)."""
        row = await self.db.fetchrow(
            "SELECT count(*),"
            " count(*) FILTER (WHERE status = 'disabled' OR consecutive_failures > 0) FROM feeds"
        )
        assert row is not None
        return {"feeds": row[0], "feeds_failing": row[1]}

    # --- entries ------------------------------------------------------------------------

    async def unseen(self, feed_id: int, identities: Sequence[str]) -> set[str]:
        """The identities this feed has never carried before."""
        unique = list(dict.fromkeys(identities))
        rows = await self.db.fetch(
            "SELECT identity FROM feed_entries WHERE feed_id = $1 AND identity = ANY($2::text[])",
            feed_id,
            unique,
        )
        return set(unique) - {row[0] for row in rows}

    async def retold(self, feed_id: int, texts: Sequence[EntryText]) -> set[str]:
        """The identities among these whose text corrects their event (storage.feed_steps)."""
        async with self.db.pool.acquire() as conn:
            told = await FeedEntries.told(conn, feed_id, [t.identity for t in texts])
        return {text.identity for text in retold(texts, told).values()}

    async def event_feeds(self, event_id: int) -> builtins.list[tuple[int, str]]:
        """(feed id, identity) of every feed entry that became or joined an event."""
        rows = await self.db.fetch(
            "SELECT feed_id, identity FROM feed_entries WHERE event_id = $1"
            " ORDER BY feed_id, identity",
            event_id,
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
        try:
            async with self.db.transaction() as conn:
                if items or corrections:
                    await event_rows.lock_announcing(conn)
                name = await conn.fetchval(
                    "SELECT name FROM feeds WHERE id = $1 FOR UPDATE", feed_id
                )
                if name is None:
                    return None
                stored = await self._entries.store(
                    conn, feed_id, name, items, at, same_story, carried, corrections
                )
                await conn.execute(
                    "UPDATE feeds SET etag = $1, last_modified = $2,"
                    " body_sha256 = coalesce($3, body_sha256), last_success_at = $4,"
                    " last_attempt_at = $4, consecutive_failures = 0, baseline_done = true,"
                    " first_parse_failure_at = NULL, next_poll_at = $5,"
                    " entries_seen = entries_seen + $6, events_added = events_added + $7"
                    " WHERE id = $8",
                    etag,
                    last_modified,
                    body_sha256,
                    at,
                    next_poll_at,
                    len(items) - stored.already_seen,
                    len(stored.created),
                    feed_id,
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
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET last_attempt_at = $1, last_error = $2, last_error_kind = $3,"
                " last_error_at = $1, consecutive_failures = $4, first_parse_failure_at = $5,"
                " next_poll_at = $6,"
                " status = CASE WHEN $7::text IS NULL THEN status ELSE 'disabled' END,"
                " disabled_reason = coalesce($7::text, disabled_reason),"
                " disabled_at = CASE WHEN $7::text IS NULL THEN disabled_at ELSE $1 END"
                " WHERE id = $8",
                at,
                reason,
                kind,
                consecutive_failures,
                first_parse_failure_at,
                next_poll_at,
                disabled_reason,
                feed_id,
            )
        return await self.get(feed_id)

    # --- storing entries ----------------------------------------------------------------
