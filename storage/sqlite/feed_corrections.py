"""SQLite: a feed's correction of an event it alone told (storage.feed_steps), and the
alerts it owes (storage.subscription_rules). The event takes the entry's new text and is
linked to the names that text mentions, and to those only (a feed's event has no links but
its entry's); each entity it gains is kept as a corrected link for the alert sweep, which
reads them here."""

from __future__ import annotations

import aiosqlite

from storage import rows as domain_rows
from storage.feed_steps import ToldEvent
from storage.ledgers import SUBSCRIPTION_TARGET_SQL
from storage.models import EntryText, Match
from storage.sqlite import event_rows
from storage.sqlite.db import Database, placeholders
from storage.sqlite.ledgers import PRUNED_THROUGH
from storage.subscription_rules import CORRECTION_NEWS
from storage.textindex import fold
from storage.times import from_timestamp, to_timestamp


async def correct_event(
    conn: aiosqlite.Connection, event: ToldEvent, text: EntryText, now: str
) -> None:
    """The event's headline, summary, language and links as the entry has them now (the
    full-text and headline-pair indexes follow by their triggers); the caller refreshes its
    weight."""
    await conn.execute(
        "UPDATE events SET headline = ?, summary = ?, lang = ?, updated_at = ? WHERE id = ?",
        (text.headline, text.summary, text.lang, now, event.id),
    )
    before = {
        row[0]
        for row in await conn.execute_fetchall(
            "SELECT entity_id FROM event_entities WHERE event_id = ?", (event.id,)
        )
    }
    await event_rows.link_entities(conn, [(event.id, name) for name in text.entities])
    named = await event_rows.canonical_ids(conn, sorted({fold(n) for n in text.entities}))
    now_linked = set(named.values())
    gone = sorted(before - now_linked)
    if gone:
        # Counted down by a trigger; its search words written again.
        await conn.execute(
            f"DELETE FROM event_entities WHERE event_id = ? AND entity_id IN"
            f" ({placeholders(len(gone))})",
            (event.id, *gone),
        )
        await event_rows.refresh_entity_words(conn, [event.id])
    moment = from_timestamp(now)
    assert moment is not None
    await conn.executemany(
        "INSERT INTO corrected_links(event_id, entity_id, linked_at)"
        " SELECT id, ?, ? FROM events"
        " WHERE id = ? AND announce = 1 AND removed_at IS NULL AND added_at >= ?",
        [
            (entity_id, now, event.id, to_timestamp(moment - CORRECTION_NEWS))
            for entity_id in sorted(now_linked - before)
        ],
    )


async def newest_corrected_link(db: Database) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(id), 0) FROM corrected_links")
    return int(row[0]) if row else 0


async def corrected_matches(db: Database, after: int, *, limit: int) -> tuple[list[Match], int]:
    """The active subscriptions to the entities of the next ``limit`` corrected links after
    ``after``, each with the link's event, while the event is live and still linked to the
    entity, and not yet delivered to the subscription's target; and the last link read
    (``after`` if none). Not an event at or below ALERTS_PRUNED_THROUGH: its deliveries may
    have been pruned, and without them someone told of it would be told again."""
    last = await db.fetchone(
        "SELECT MAX(id) FROM (SELECT id FROM corrected_links WHERE id > ? ORDER BY id LIMIT ?)",
        (after, limit),
    )
    through = int(last[0]) if last and last[0] is not None else after
    if through == after:
        return [], after
    rows = await db.fetchall(
        "SELECT s.id AS sub_id, s.guild_id, s.user_id, s.entity_id, en.name AS entity,"
        f" s.delivery, s.channel_id, s.paused_reason, {event_rows.BRIEF_COLUMNS}"
        " FROM (SELECT DISTINCT c.event_id, COALESCE(n.canonical_id, n.id) AS entity_id"
        "  FROM corrected_links c JOIN entities n ON n.id = c.entity_id"
        "  WHERE c.id > ? AND c.id <= ?) c"
        " JOIN event_entities ee ON ee.event_id = c.event_id AND ee.entity_id = c.entity_id"
        " JOIN subscriptions s ON s.entity_id = c.entity_id AND s.paused_reason IS NULL"
        " JOIN entities en ON en.id = s.entity_id"
        " JOIN events e ON e.id = c.event_id"
        f" WHERE e.announce = 1 AND e.removed_at IS NULL AND e.id > {PRUNED_THROUGH}"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id"
        f"  AND d.target = {SUBSCRIPTION_TARGET_SQL})"
        " ORDER BY e.id, s.entity_id, s.id",
        (after, through),
    )
    return [
        Match(domain_rows.subscription(r, id_column="sub_id"), event_rows.brief(r)) for r in rows
    ], through
