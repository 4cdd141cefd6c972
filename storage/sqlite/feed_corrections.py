"""SQLite: a feed's correction of an event it alone told (storage.feed_steps). The event
takes the entry's new text and is linked to the names that text mentions, and to those only
(a feed's event has no links but its entry's)."""

from __future__ import annotations

import aiosqlite

from storage.feed_steps import ToldEvent
from storage.models import EntryText
from storage.sqlite import event_rows
from storage.sqlite.db import placeholders
from storage.textindex import fold


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
    gone = sorted(before - set(named.values()))
    if gone:
        # Counted down by a trigger; its search words written again.
        await conn.execute(
            f"DELETE FROM event_entities WHERE event_id = ? AND entity_id IN"
            f" ({placeholders(len(gone))})",
            (event.id, *gone),
        )
        await event_rows.refresh_entity_words(conn, [event.id])
