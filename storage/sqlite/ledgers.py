"""SQLite: the ledgers' rows of what is gone, and of what nothing reads any more
(storage.ledgers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from storage.ledgers import (
    ALERTS_PRUNED_THROUGH,
    CORRECTIONS_TABLE,
    DELIVERIES_TABLE,
    FORGET_BATCH,
    PRUNE_BATCH,
    RUNS_TABLE,
    UNFINISHED_RUNS,
    DigestMark,
    LedgerSizes,
    PruneStep,
    doomed_deliveries,
    newest_id_before,
)
from storage.sqlite.db import Database, placeholders
from storage.times import to_timestamp

_DELETE_BATCH = (
    "DELETE FROM deliveries WHERE target = ? AND event_id IN"
    " (SELECT event_id FROM deliveries WHERE target = ? LIMIT ?)"
)

# ALERTS_PRUNED_THROUGH (0 before the first prune), read in SQL: an alert's claim, its
# retry and the corrected links' sweep reach no event at or below it. Read in a write
# transaction (the file's one writer), it cannot change before that transaction ends: a
# prune step deletes rows and raises the mark in one transaction of its own.
PRUNED_THROUGH = (
    "COALESCE((SELECT CAST(value AS INTEGER) FROM bot_state"
    f" WHERE name = '{ALERTS_PRUNED_THROUGH}'), 0)"
)


async def forget_target(db: Database, target: str) -> int:
    """Delete a removed digest's deliveries (its id is never used again), a batch to a
    transaction; how many. Not a member's: storage.ledgers says why."""
    removed = 0
    while True:
        async with db.transaction() as conn:
            cursor = await conn.execute(_DELETE_BATCH, (target, target, FORGET_BATCH))
        removed += cursor.rowcount
        if cursor.rowcount < FORGET_BATCH:
            return removed


class LedgerRepository:
    """The ledgers pruned (storage.api.LedgerRepository): each step reads a window of rows
    on the reader, and deletes those of them nothing reads any more in one short write
    transaction, so that the bot's own writes wait for no more than one step."""

    def __init__(self, db: Database):
        self.db = db

    async def prune(
        self, *, before: dt.datetime, batch: int = PRUNE_BATCH
    ) -> AsyncIterator[PruneStep]:
        stamp = to_timestamp(before)
        async for step in self._prune_runs(stamp, batch):
            yield step
        async for step in self._prune_deliveries(stamp, batch):
            yield step
        async for step in self._prune_corrected_links(stamp, batch):
            yield step

    async def _prune_runs(self, stamp: str, batch: int) -> AsyncIterator[PruneStep]:
        """Finished runs last changed before ``stamp``, walking the runs in key order."""
        candidates = await self._count("SELECT count(*) FROM digest_runs")
        examined = removed = 0
        after: tuple[int, str] = (-1, "")
        while True:
            rows = await self.db.fetchall(
                "SELECT digest_id, slot,"
                f" status NOT IN ({placeholders(len(UNFINISHED_RUNS))}) AND updated_at < ?"
                " FROM digest_runs WHERE (digest_id, slot) > (?, ?)"
                " ORDER BY digest_id, slot LIMIT ?",
                (*UNFINISHED_RUNS, stamp, *after, batch),
            )
            if not rows:
                return
            doomed = [(r[0], r[1], *UNFINISHED_RUNS, stamp) for r in rows if r[2]]
            if doomed:
                async with self.db.transaction() as conn:
                    cursor = await conn.executemany(
                        "DELETE FROM digest_runs WHERE digest_id = ? AND slot = ?"
                        f" AND status NOT IN ({placeholders(len(UNFINISHED_RUNS))})"
                        " AND updated_at < ?",
                        doomed,
                    )
                removed += cursor.rowcount
            examined += len(rows)
            after = (rows[-1][0], rows[-1][1])
            yield PruneStep(RUNS_TABLE, examined, candidates, removed)

    async def _prune_deliveries(self, stamp: str, batch: int) -> AsyncIterator[PruneStep]:
        """Settled deliveries made before ``stamp`` that nothing reads (storage.ledgers.
        still_read), walking the rows of the events that arrived before it, in event order
        (deliveries_by_event): the rows of newer events are newer still, and not looked at."""
        through = await self._newest_event_before(stamp)
        candidates = await self._count(
            "SELECT count(*) FROM deliveries WHERE event_id <= ?", (through,)
        )
        digests = {
            r[0]: DigestMark(r[1], r[2])
            for r in await self.db.fetchall("SELECT id, kind, last_event_id FROM digests")
        }
        examined = removed = 0
        after = 0  # the rows of events after this one are still to look at
        while after < through:
            # The window: the next `batch` rows, and the rest of its last event's.
            last = await self.db.fetchone(
                "SELECT event_id FROM deliveries WHERE event_id > ? AND event_id <= ?"
                " ORDER BY event_id LIMIT 1 OFFSET ?",
                (after, through, batch - 1),
            )
            upto = last[0] if last is not None else through
            rows = await self.db.fetchall(
                "SELECT target, event_id, state <> 'claimed' AND delivered_at < ?"
                " FROM deliveries WHERE event_id > ? AND event_id <= ?",
                (stamp, after, upto),
            )
            doomed, alerts_through = doomed_deliveries(rows, digests)
            if doomed:
                async with self.db.transaction() as conn:
                    cursor = await conn.executemany(
                        "DELETE FROM deliveries WHERE target = ? AND event_id = ?"
                        " AND state <> 'claimed' AND delivered_at < ?",
                        [(t, e, stamp) for t, e in doomed],
                    )
                    if alerts_through:
                        await conn.execute(
                            "INSERT INTO bot_state(name, value) VALUES (?, ?)"
                            " ON CONFLICT(name) DO UPDATE SET"
                            " value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                            (ALERTS_PRUNED_THROUGH, str(alerts_through)),
                        )
                removed += cursor.rowcount
            examined += len(rows)
            after = upto
            yield PruneStep(DELIVERIES_TABLE, examined, candidates, removed)

    async def _prune_corrected_links(self, stamp: str, batch: int) -> AsyncIterator[PruneStep]:
        """Corrected links made before ``stamp``, oldest first (ids follow linked_at)."""
        candidates = await self._count(
            "SELECT count(*) FROM corrected_links WHERE linked_at < ?", (stamp,)
        )
        removed = 0
        while removed < candidates:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "DELETE FROM corrected_links WHERE id IN (SELECT id FROM corrected_links"
                    " WHERE linked_at < ? ORDER BY id LIMIT ?)",
                    (stamp, batch),
                )
            if not cursor.rowcount:
                return
            removed += cursor.rowcount
            yield PruneStep(CORRECTIONS_TABLE, removed, candidates, removed)

    async def _newest_event_before(self, stamp: str) -> int:
        async def added_before(event_id: int) -> bool | None:
            row = await self.db.fetchone(
                "SELECT added_at < ? FROM events WHERE id >= ? ORDER BY id LIMIT 1",
                (stamp, event_id),
            )
            return None if row is None else bool(row[0])

        newest = await self._count("SELECT COALESCE(MAX(id), 0) FROM events")
        return await newest_id_before(newest, added_before)

    async def sizes(self) -> LedgerSizes:
        return LedgerSizes(
            runs=await self._count("SELECT count(*) FROM digest_runs"),
            deliveries=await self._count("SELECT count(*) FROM deliveries"),
        )

    async def _count(self, sql: str, params: tuple[object, ...] = ()) -> int:
        row = await self.db.fetchone(sql, params)
        return int(row[0]) if row is not None else 0
