"""What moves when one entity becomes a name of another (EntityRepository.alias and merge):
its events' links, members' subscriptions (a member who followed both keeps one, and is
told: storage.subscription_rules) and digests' filters, run inside the caller's
transaction. The PostgreSQL counterpart of storage.sqlite.entities' move_entity and
storage.sqlite.digests' refresh_filter_keys."""

from __future__ import annotations

from storage import rows as domain_rows
from storage.models import DigestFilters
from storage.postgres import event_rows
from storage.postgres.db import Connection
from storage.subscription_rules import folded
from storage.times import utc_now


def _count(status: str) -> int:
    """The row count of a command's status ('INSERT 0 2', 'DELETE 3')."""
    return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0


async def move_entity(conn: Connection, source_id: int, target_id: int) -> int:
    """Re-point what links to one entity at another; the links moved (an event naming both
    keeps its one link to the target)."""
    # An event naming both loses a link: what the archive says of it is counted again.
    named_both = [
        row[0]
        for row in await conn.fetch(
            "SELECT event_id FROM event_entities WHERE entity_id = $1 AND event_id IN"
            " (SELECT event_id FROM event_entities WHERE entity_id = $2)",
            source_id,
            target_id,
        )
    ]
    moved = _count(
        await conn.execute(
            "INSERT INTO event_entities(event_id, entity_id, date)"
            " SELECT event_id, $1, date FROM event_entities WHERE entity_id = $2"
            " ORDER BY event_id ON CONFLICT DO NOTHING",
            target_id,
            source_id,
        )
    )
    await conn.execute("DELETE FROM event_entities WHERE entity_id = $1", source_id)
    await event_rows.recount_entities(conn, [target_id, source_id])
    await event_rows.refresh_weights(conn, named_both)
    await _move_subscriptions(conn, source_id, target_id)
    await conn.execute(
        "UPDATE digest_entities d SET entity_id = $1 WHERE d.entity_id = $2 AND NOT EXISTS"
        " (SELECT 1 FROM digest_entities o WHERE o.digest_id = d.digest_id AND o.entity_id = $1)",
        target_id,
        source_id,
    )
    await conn.execute("DELETE FROM digest_entities WHERE entity_id = $1", source_id)
    await refresh_filter_keys(conn, target_id)
    return moved


async def _move_subscriptions(conn: Connection, source_id: int, target_id: int) -> None:
    """Members' subscriptions to one entity become subscriptions to the other; a member who
    followed both keeps one and is told (storage.subscription_rules)."""
    rows = await conn.fetch(
        f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.entity_id IN ($1, $2)"
        " AND (s.guild_id, s.user_id) IN (SELECT guild_id, user_id FROM subscriptions"
        "  WHERE entity_id IN ($1, $2) GROUP BY guild_id, user_id HAVING COUNT(*) = 2)",
        source_id,
        target_id,
    )
    pairs = folded([domain_rows.subscription(r) for r in rows], source_id, target_id)
    if pairs:
        await conn.execute(
            "DELETE FROM subscriptions WHERE id = ANY($1::bigint[])",
            [pair.dropped.id for pair in pairs],
        )
    await conn.execute(
        "UPDATE subscriptions SET entity_id = $1 WHERE entity_id = $2", target_id, source_id
    )
    if pairs:
        now = utc_now()
        await conn.executemany(
            "INSERT INTO pending_notices(user_id, text, created_at) VALUES ($1, $2, $3)",
            [(pair.kept.user_id, pair.notice, now) for pair in pairs],
        )


async def refresh_filter_keys(conn: Connection, entity_id: int) -> None:
    """After a merge moved digests' entities to this one, their keys name it: set again as
    it reads, such a digest is found, not made twice. (One that would then repeat another
    digest of its channel keeps its old key.)"""
    rows = await conn.fetch(
        "SELECT d.id, d.category, d.words, d.language,"
        " ARRAY(SELECT entity_id FROM digest_entities WHERE digest_id = d.id) AS entity_ids"
        " FROM digests d WHERE d.id IN (SELECT digest_id FROM digest_entities WHERE entity_id = $1)"
        " ORDER BY d.id",
        entity_id,
    )
    for row in rows:
        filters = DigestFilters(
            tuple(row["entity_ids"]), row["category"], row["words"], row["language"]
        )
        await conn.execute(
            "UPDATE digests d SET filter_key = $1 WHERE d.id = $2 AND NOT EXISTS"
            " (SELECT 1 FROM digests o WHERE o.channel_id = d.channel_id AND o.kind = d.kind"
            "  AND o.filter_key = $1 AND o.id <> d.id)",
            filters.key,
            row["id"],
        )
