"""Vectors written again in Python where a migration changed the tokens they are built from:
the full-text vectors are built by storage.postgres.textsearch, which SQL cannot call, so the
migration runner calls these steps after the migration's SQL, in its transaction
(storage.postgres.db).

Migration 0017: folding keeps Hangul as syllables now (it had split them into letters, jamo,
and only two-syllable words could be found); the events and articles holding Hangul are
indexed again, so that their Korean words are found as new ones are."""

from __future__ import annotations

from storage.postgres import event_rows
from storage.postgres.db import Connection
from storage.postgres.textsearch import article_vector

# Hangul syllables (U+AC00-U+D7A3), written as a character class PostgreSQL's regular
# expressions read alike in every locale.
HANGUL = "[\uac00-\ud7a3]"
BATCH = 1000


async def index_hangul_again(conn: Connection) -> None:
    """Write again the vectors of the events and articles whose text holds Hangul."""
    ids = [
        r[0]
        for r in await conn.fetch(
            "SELECT id FROM events WHERE headline ~ $1 OR summary ~ $1 ORDER BY id", HANGUL
        )
    ]
    for start in range(0, len(ids), BATCH):
        await event_rows.index_events(conn, ids[start : start + BATCH])
    articles = await conn.fetch(
        "SELECT id, title, text FROM articles WHERE title ~ $1 OR text ~ $1 ORDER BY id", HANGUL
    )
    await conn.executemany(
        "UPDATE articles SET search = $2::tsvector WHERE id = $1",
        [(r["id"], article_vector(r["title"], r["text"])) for r in articles],
    )
