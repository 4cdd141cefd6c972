"""PostgreSQL's migration 0018 in Python, after its SQL and in its transaction
(storage.postgres.db): the links stored from a private feed's items lose the feed's token
(storage.feed_links)."""

from __future__ import annotations

from storage.feed_links import StoredSource, cleaned_identities, cleaned_sources
from storage.postgres.db import BATCH, Connection, chunked
from storage.redaction import secret_values


async def clean_feed_links(conn: Connection) -> None:
    """The private feeds are read first (few), then their events' sources a batch at a
    time, then their entries' identities a batch at a time."""
    feeds = await conn.fetch("SELECT id, url FROM feeds WHERE strpos(url, '?') > 0 ORDER BY id")
    for feed_id, url in feeds:
        if secrets := secret_values(url):
            await _clean_sources(conn, feed_id, secrets)
            await _clean_identities(conn, feed_id, secrets)


async def _clean_sources(conn: Connection, feed_id: int, secrets: frozenset[str]) -> None:
    events = await conn.fetch(
        "SELECT DISTINCT event_id FROM feed_entries"
        " WHERE feed_id = $1 AND event_id IS NOT NULL ORDER BY event_id",
        feed_id,
    )
    for batch in chunked([row[0] for row in events]):
        rows = await conn.fetch(
            "SELECT event_id, position, url, from_feed FROM sources"
            " WHERE event_id = ANY($1::bigint[]) ORDER BY event_id, position",
            list(batch),
        )
        cleaned = cleaned_sources((StoredSource(*row) for row in rows), secrets)
        if cleaned.removed:
            await conn.executemany(
                "DELETE FROM sources WHERE event_id = $1 AND position = $2", cleaned.removed
            )
        if cleaned.changed:
            await conn.executemany(
                "UPDATE sources SET url = $3 WHERE event_id = $1 AND position = $2",
                cleaned.changed,
            )


async def _clean_identities(conn: Connection, feed_id: int, secrets: frozenset[str]) -> None:
    after = ""
    while True:
        rows = await conn.fetch(
            "SELECT identity FROM feed_entries WHERE feed_id = $1 AND identity > $2"
            " AND strpos(identity, '?') > 0 ORDER BY identity LIMIT $3",
            feed_id,
            after,
            BATCH,
        )
        if not rows:
            return
        after = rows[-1][0]
        renamed = cleaned_identities((row[0] for row in rows), secrets)
        # An identity the feed has already (the same item stored since without the token)
        # stays as it was: it is never shown, and the entry is not the same twice.
        if renamed:
            await conn.executemany(
                "UPDATE feed_entries SET identity = $3 WHERE feed_id = $1 AND identity = $2"
                " AND NOT EXISTS (SELECT 1 FROM feed_entries o"
                "                 WHERE o.feed_id = $1 AND o.identity = $3)",
                [(feed_id, old, new) for old, new in renamed],
            )
