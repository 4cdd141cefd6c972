"""SQLite: the delivery ledger's rows of targets that are gone (storage.ledgers)."""

from __future__ import annotations

from collections.abc import Iterable

from storage.ledgers import FORGET_BATCH, SUBSCRIPTION_TARGET_SQL
from storage.sqlite.db import Database

_DELETE_BATCH = (
    "DELETE FROM deliveries WHERE target = ? AND event_id IN"
    " (SELECT event_id FROM deliveries WHERE target = ? LIMIT ?)"
)


async def forget_target(db: Database, target: str) -> int:
    """Delete a target's deliveries (a removed digest's: its id is never used again), a
    batch to a transaction; how many."""
    removed = 0
    while True:
        async with db.transaction() as conn:
            cursor = await conn.execute(_DELETE_BATCH, (target, target, FORGET_BATCH))
        removed += cursor.rowcount
        if cursor.rowcount < FORGET_BATCH:
            return removed


async def forget_alert_targets(db: Database, targets: Iterable[tuple[str, int]]) -> int:
    """Delete the deliveries of these alert targets, (target, user id), that no
    subscription is delivered to any more, a batch to a transaction; how many. Each batch
    looks again: a member who subscribes again meanwhile keeps their ledger."""
    removed = 0
    for target, user_id in sorted(set(targets)):
        while True:
            async with db.transaction() as conn:
                kept = await (
                    await conn.execute(
                        f"SELECT 1 FROM subscriptions s WHERE s.user_id = ?"
                        f" AND {SUBSCRIPTION_TARGET_SQL} = ? LIMIT 1",
                        (user_id, target),
                    )
                ).fetchone()
                if kept is not None:
                    break
                cursor = await conn.execute(_DELETE_BATCH, (target, target, FORGET_BATCH))
            removed += cursor.rowcount
            if cursor.rowcount < FORGET_BATCH:
                break
    return removed
