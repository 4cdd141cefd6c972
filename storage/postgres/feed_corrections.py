"""PostgreSQL: a feed's correction of an event it alone told (storage.feed_steps), and the
alerts it owes (storage.subscription_rules), as SQLite's storage.sqlite.feed_corrections.
Corrections are written under the announcing lock (storage.postgres.event_rows), so
corrected links commit in id order, and the alert sweep's watermark passes over none."""

from __future__ import annotations

import datetime as dt

from storage import rows as domain_rows
from storage.feed_steps import ToldEvent
from storage.ledgers import SUBSCRIPTION_TARGET_SQL
from storage.models import EntryText, Match
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database
from storage.postgres.ledgers import PRUNED_THROUGH
from storage.subscription_rules import CORRECTION_NEWS
from storage.textindex import fold


async def correct_event(
    conn: Connection, event: ToldEvent, text: EntryText, now: dt.datetime
) -> None:
    """The event's headline, summary, language and links as the entry has them now,
    searched so; the caller refreshes its weight."""
    await conn.execute(
        "UPDATE events SET headline = $1, summary = $2, lang = $3, updated_at = $4 WHERE id = $5",
        text.headline,
        text.summary,
        text.lang,
        now,
        event.id,
    )
    await event_rows.index_events(conn, [event.id])  # searched by what it says now
    before = {
        row[0]
        for row in await conn.fetch(
            "SELECT entity_id FROM event_entities WHERE event_id = $1", event.id
        )
    }
    await event_rows.link_entities(conn, [(event.id, name) for name in text.entities])
    named = await event_rows.canonical_ids(conn, sorted({fold(n) for n in text.entities}))
    now_linked = set(named.values())
    gone = sorted(before - now_linked)
    if gone:
        # Counted down by a trigger.
        await conn.execute(
            "DELETE FROM event_entities WHERE event_id = $1 AND entity_id = ANY($2::bigint[])",
            event.id,
            gone,
        )
    gained = sorted(now_linked - before)
    if gained:
        await conn.execute(
            "INSERT INTO corrected_links(event_id, entity_id, linked_at)"
            " SELECT e.id, g.entity_id, $2 FROM events e,"
            " unnest($3::bigint[]) WITH ORDINALITY AS g(entity_id, n)"
            " WHERE e.id = $1 AND e.announce AND e.removed_at IS NULL AND e.added_at >= $4"
            " ORDER BY g.n",
            event.id,
            now,
            gained,
            now - CORRECTION_NEWS,
        )


async def newest_corrected_link(db: Database) -> int:
    return int(await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM corrected_links"))


async def corrected_matches(db: Database, after: int, *, limit: int) -> tuple[list[Match], int]:
    """The active subscriptions to the entities of the next ``limit`` corrected links after
    ``after``, each with the link's event, while the event is live and still linked to the
    entity, and not yet delivered to the subscription's target; and the last link read
    (``after`` if none). Not an event at or below ALERTS_PRUNED_THROUGH: its deliveries may
    have been pruned, and without them someone told of it would be told again."""
    through = await db.fetchval(
        "SELECT MAX(id) FROM (SELECT id FROM corrected_links WHERE id > $1 ORDER BY id LIMIT $2) c",
        after,
        limit,
    )
    if through is None:
        return [], after
    rows = await db.fetch(
        "SELECT s.id AS sub_id, s.guild_id, s.user_id, s.entity_id, en.name AS entity,"
        f" s.delivery, s.channel_id, s.paused_reason, {event_rows.BRIEF_COLUMNS}"
        " FROM (SELECT DISTINCT c.event_id, COALESCE(n.canonical_id, n.id) AS entity_id"
        "  FROM corrected_links c JOIN entities n ON n.id = c.entity_id"
        "  WHERE c.id > $1 AND c.id <= $2) c"
        " JOIN event_entities ee ON ee.event_id = c.event_id AND ee.entity_id = c.entity_id"
        " JOIN subscriptions s ON s.entity_id = c.entity_id AND s.paused_reason IS NULL"
        " JOIN entities en ON en.id = s.entity_id"
        " JOIN events e ON e.id = c.event_id"
        f" WHERE e.announce AND e.removed_at IS NULL AND e.id > {PRUNED_THROUGH}"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id"
        f"  AND d.target = {SUBSCRIPTION_TARGET_SQL})"
        " ORDER BY e.id, s.entity_id, s.id",
        after,
        through,
    )
    return [
        Match(domain_rows.subscription(r, id_column="sub_id"), event_rows.brief(r)) for r in rows
    ], int(through)
