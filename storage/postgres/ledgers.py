"""PostgreSQL: the ledgers' rows of what is gone, and of what nothing reads any more
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
from storage.postgres.db import Connection, Database


def _deleted(status: str) -> int:
    """The rows a DELETE's status ("DELETE 3") says it removed."""
    return int(status.rsplit(" ", 1)[-1])


_DELETE_BATCH = (
    "DELETE FROM deliveries WHERE target = $1 AND event_id IN"
    " (SELECT event_id FROM deliveries WHERE target = $1 LIMIT $2)"
)

# ALERTS_PRUNED_THROUGH (0 before the first prune), read in SQL: an alert's claim, its
# retry and the corrected links' sweep reach no event at or below it.
PRUNED_THROUGH = (
    f"COALESCE((SELECT value::bigint FROM bot_state WHERE name = '{ALERTS_PRUNED_THROUGH}'), 0)"
)

# A prune step that deletes alert rows holds this advisory lock (this schema's) exclusively,
# from before it raises the mark to its commit, and a claim holds it shared: a claim waits
# for a step under way and then reads the mark the step committed, and a step waits for the
# claims under way, so no claim inserts the row of an alert a step has just deleted (ON
# CONFLICT would wait for the deleting transaction, then insert). Claims do not wait for
# one another. A lock on the mark's row would not do: before the first prune there is no row
# to lock.
_PRUNING_LOCK = "hashtextextended('chronicle.ledgers:' || current_schema(), 0)"


async def hold_pruned_through(conn: Connection) -> None:
    """Wait for a prune step deleting alert rows (in any process) to commit, and keep the
    next from starting until this transaction ends: PRUNED_THROUGH, read after this in the
    transaction, holds until it commits."""
    await conn.execute(f"SELECT pg_advisory_xact_lock_shared({_PRUNING_LOCK})")


async def forget_target(db: Database, target: str) -> int:
    """Delete a removed digest's deliveries (its id is never used again), a batch to a
    transaction; how many. Not a member's: storage.ledgers says why."""
    removed = 0
    while True:
        async with db.transaction() as conn:
            deleted = _deleted(await conn.execute(_DELETE_BATCH, target, FORGET_BATCH))
        removed += deleted
        if deleted < FORGET_BATCH:
            return removed


class LedgerRepository:
    """The ledgers pruned (storage.api.LedgerRepository): each step reads a window of rows,
    and deletes those of them nothing reads any more in one short transaction."""

    def __init__(self, db: Database):
        self.db = db

    async def prune(
        self, *, before: dt.datetime, batch: int = PRUNE_BATCH
    ) -> AsyncIterator[PruneStep]:
        async for step in self._prune_runs(before, batch):
            yield step
        async for step in self._prune_deliveries(before, batch):
            yield step
        async for step in self._prune_corrected_links(before, batch):
            yield step

    async def _prune_runs(self, before: dt.datetime, batch: int) -> AsyncIterator[PruneStep]:
        """Finished runs last changed before ``before``, walking the runs in key order."""
        candidates: int = await self.db.fetchval("SELECT count(*) FROM digest_runs")
        examined = removed = 0
        after: tuple[int, str] = (-1, "")
        while True:
            rows = await self.db.fetch(
                "SELECT digest_id, slot, NOT (status = ANY($1::text[])) AND updated_at < $2"
                " FROM digest_runs WHERE (digest_id, slot) > ($3, $4)"
                " ORDER BY digest_id, slot LIMIT $5",
                list(UNFINISHED_RUNS),
                before,
                *after,
                batch,
            )
            if not rows:
                return
            doomed = [(r[0], r[1]) for r in rows if r[2]]
            if doomed:
                async with self.db.transaction() as conn:
                    removed += _deleted(
                        await conn.execute(
                            "DELETE FROM digest_runs r"
                            " USING unnest($1::bigint[], $2::text[]) AS k(digest_id, slot)"
                            " WHERE r.digest_id = k.digest_id AND r.slot = k.slot"
                            " AND NOT (r.status = ANY($3::text[])) AND r.updated_at < $4",
                            [d for d, _ in doomed],
                            [s for _, s in doomed],
                            list(UNFINISHED_RUNS),
                            before,
                        )
                    )
            examined += len(rows)
            after = (rows[-1][0], rows[-1][1])
            yield PruneStep(RUNS_TABLE, examined, candidates, removed)

    async def _prune_deliveries(self, before: dt.datetime, batch: int) -> AsyncIterator[PruneStep]:
        """Settled deliveries made before ``before`` that nothing reads (storage.ledgers.
        still_read), walking the rows of the events that arrived before it, in event order
        (deliveries_by_event): the rows of newer events are newer still, and not looked at."""
        through = await self._newest_event_before(before)
        candidates: int = await self.db.fetchval(
            "SELECT count(*) FROM deliveries WHERE event_id <= $1", through
        )
        digests = {
            r[0]: DigestMark(r[1], r[2])
            for r in await self.db.fetch("SELECT id, kind, last_event_id FROM digests")
        }
        examined = removed = 0
        after = 0  # the rows of events after this one are still to look at
        while after < through:
            # The window: the next `batch` rows, and the rest of its last event's.
            last = await self.db.fetchval(
                "SELECT event_id FROM deliveries WHERE event_id > $1 AND event_id <= $2"
                " ORDER BY event_id LIMIT 1 OFFSET $3",
                after,
                through,
                batch - 1,
            )
            upto: int = last if last is not None else through
            rows = await self.db.fetch(
                "SELECT target, event_id, state <> 'claimed' AND delivered_at < $1"
                " FROM deliveries WHERE event_id > $2 AND event_id <= $3",
                before,
                after,
                upto,
            )
            doomed, alerts_through = doomed_deliveries(rows, digests)
            if doomed:
                async with self.db.transaction() as conn:
                    if alerts_through:
                        # The mark first, under the lock claims wait for (_PRUNING_LOCK).
                        await conn.execute(f"SELECT pg_advisory_xact_lock({_PRUNING_LOCK})")
                        await conn.execute(
                            "INSERT INTO bot_state(name, value) VALUES ($1, $2)"
                            " ON CONFLICT (name) DO UPDATE SET"
                            " value = greatest(bot_state.value::bigint, excluded.value::bigint)::text",
                            ALERTS_PRUNED_THROUGH,
                            str(alerts_through),
                        )
                    removed += _deleted(
                        await conn.execute(
                            "DELETE FROM deliveries d"
                            " USING unnest($1::text[], $2::bigint[]) AS k(target, event_id)"
                            " WHERE d.target = k.target AND d.event_id = k.event_id"
                            " AND d.state <> 'claimed' AND d.delivered_at < $3",
                            [t for t, _ in doomed],
                            [e for _, e in doomed],
                            before,
                        )
                    )
            examined += len(rows)
            after = upto
            yield PruneStep(DELIVERIES_TABLE, examined, candidates, removed)

    async def _prune_corrected_links(
        self, before: dt.datetime, batch: int
    ) -> AsyncIterator[PruneStep]:
        """Corrected links made before ``before``, oldest first (ids follow linked_at)."""
        candidates: int = await self.db.fetchval(
            "SELECT count(*) FROM corrected_links WHERE linked_at < $1", before
        )
        removed = 0
        while removed < candidates:
            async with self.db.transaction() as conn:
                deleted = _deleted(
                    await conn.execute(
                        "DELETE FROM corrected_links WHERE id IN (SELECT id FROM corrected_links"
                        " WHERE linked_at < $1 ORDER BY id LIMIT $2)",
                        before,
                        batch,
                    )
                )
            if not deleted:
                return
            removed += deleted
            yield PruneStep(CORRECTIONS_TABLE, removed, candidates, removed)

    async def _newest_event_before(self, before: dt.datetime) -> int:
        async def added_before(event_id: int) -> bool | None:
            older: bool | None = await self.db.fetchval(
                "SELECT added_at < $1 FROM events WHERE id >= $2 ORDER BY id LIMIT 1",
                before,
                event_id,
            )
            return older

        newest: int = await self.db.fetchval("SELECT COALESCE(max(id), 0) FROM events")
        return await newest_id_before(newest, added_before)

    async def sizes(self) -> LedgerSizes:
        runs: int = await self.db.fetchval("SELECT count(*) FROM digest_runs")
        deliveries: int = await self.db.fetchval("SELECT count(*) FROM deliveries")
        return LedgerSizes(runs=runs, deliveries=deliveries)
