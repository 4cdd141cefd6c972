"""PostgreSQL: the delivery ledger's rows of targets that are gone (storage.ledgers)."""

from __future__ import annotations

from collections.abc import Iterable

from storage.ledgers import FORGET_BATCH, SUBSCRIPTION_TARGET_SQL
from storage.postgres.db import Database


def _deleted(status: str) -> int:
    """The rows a DELETE's status ("DELETE 3") says it removed."""
    return int(status.rsplit(" ", 1)[-1])


_DELETE_BATCH = (
    "DELETE FROM deliveries WHERE target = $1 AND event_id IN"
    " (SELECT event_id FROM deliveries WHERE target = $1 LIMIT $2)"
)


async def forget_target(db: Database, target: str) -> int:
    """Delete a target's deliveries (a removed digest's: its id is never used again), a
    batch to a transaction; how many."""
    removed = 0
    while True:
        async with db.transaction() as conn:
            deleted = _deleted(await conn.execute(_DELETE_BATCH, target, FORGET_BATCH))
        removed += deleted
        if deleted < FORGET_BATCH:
            return removed


async def forget_alert_targets(db: Database, targets: Iterable[tuple[str, int]]) -> int:
    """Delete the deliveries of these alert targets, (target, user id), that no
    subscription is delivered to any more, a batch to a transaction; how many. Each batch
    looks again, in the statement that deletes: a member who subscribes again meanwhile
    keeps their ledger."""
    removed = 0
    for target, user_id in sorted(set(targets)):
        while True:
            async with db.transaction() as conn:
                deleted = _deleted(
                    await conn.execute(
                        f"{_DELETE_BATCH} AND NOT EXISTS (SELECT 1 FROM subscriptions s"
                        f" WHERE s.user_id = $3 AND {SUBSCRIPTION_TARGET_SQL} = $1)",
                        target,
                        FORGET_BATCH,
                        user_id,
                    )
                )
            removed += deleted
            if deleted < FORGET_BATCH:
                break
    return removed
