"""SQLite's migration 0024 in Python, after its SQL and in its transaction
(storage.sqlite.db): the links stored from a private feed's items lose the feed's token
(storage.feed_links)."""

from __future__ import annotations

import aiosqlite

from storage.feed_links import StoredSource, cleaned_identities, cleaned_sources
from storage.redaction import secret_values
from storage.sqlite.db import MAX_PARAMS, chunked, placeholders


async def clean_feed_links(conn: aiosqlite.Connection) -> None:
    """The private feeds are read first (few), then their events' sources a batch at a
    time, then their entries' identities a batch at a time."""
    feeds = await conn.execute_fetchall(
        "SELECT id, url FROM feeds WHERE instr(url, '?') > 0 ORDER BY id"
    )
    for feed_id, url in feeds:
        if secrets := secret_values(url):
            await _clean_sources(conn, feed_id, secrets)
            await _clean_identities(conn, feed_id, secrets)


async def _clean_sources(conn: aiosqlite.Connection, feed_id: int, secrets: frozenset[str]) -> None:
    events = await conn.execute_fetchall(
        "SELECT DISTINCT event_id FROM feed_entries"
        " WHERE feed_id = ? AND event_id IS NOT NULL ORDER BY event_id",
        (feed_id,),
    )
    for batch in chunked([row[0] for row in events]):
        rows = await conn.execute_fetchall(
            "SELECT event_id, position, url, from_feed FROM sources"
            f" WHERE event_id IN ({placeholders(len(batch))}) ORDER BY event_id, position",
            tuple(batch),
        )
        cleaned = cleaned_sources((StoredSource(a, b, c, bool(d)) for a, b, c, d in rows), secrets)
        await conn.executemany(
            "DELETE FROM sources WHERE event_id = ? AND position = ?", cleaned.removed
        )
        await conn.executemany(
            "UPDATE sources SET url = ? WHERE event_id = ? AND position = ?",
            [(url, event_id, position) for event_id, position, url in cleaned.changed],
        )


async def _clean_identities(
    conn: aiosqlite.Connection, feed_id: int, secrets: frozenset[str]
) -> None:
    after = ""
    while True:
        identities = [
            str(row[0])
            for row in await conn.execute_fetchall(
                "SELECT identity FROM feed_entries WHERE feed_id = ? AND identity > ?"
                " AND instr(identity, '?') > 0 ORDER BY identity LIMIT ?",
                (feed_id, after, MAX_PARAMS),
            )
        ]
        if not identities:
            return
        after = identities[-1]
        # An identity the feed has already (the same item stored since without the token)
        # stays as it was: it is never shown, and the entry is not the same twice.
        await conn.executemany(
            "UPDATE OR IGNORE feed_entries SET identity = ? WHERE feed_id = ? AND identity = ?",
            [(new, feed_id, old) for old, new in cleaned_identities(identities, secrets)],
        )
