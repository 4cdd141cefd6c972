"""PostgreSQL: a feed's correction of an event it alone told (storage.feed_steps), as
SQLite's storage.sqlite.feed_corrections."""

from __future__ import annotations

import datetime as dt

from storage.feed_steps import ToldEvent
from storage.models import EntryText
from storage.postgres import event_rows
from storage.postgres.db import Connection
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
    gone = sorted(before - set(named.values()))
    if gone:
        # Counted down by a trigger.
        await conn.execute(
            "DELETE FROM event_entities WHERE event_id = $1 AND entity_id = ANY($2::bigint[])",
            event.id,
            gone,
        )
