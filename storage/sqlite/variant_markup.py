"""SQLite's migration 0025 in Python, after its SQL and in its transaction
(storage.sqlite.db): what an import of the Chinese edition from before stored with MediaWiki's
variant markup (-{zh-cn:特朗普;zh-tw:川普;}-) is written as an import writes it now
(storage.variant_markup). The full-text indexes follow by their triggers; a name that,
cleaned, is another entity's joins that entity as a merge does (move_entity)."""

from __future__ import annotations

import aiosqlite

from storage.sqlite.db import chunked, placeholders
from storage.sqlite.entities import move_entity
from storage.textindex import fold
from storage.variant_markup import (
    MARKUP_START,
    cleaned_related,
    joining,
    without_variant_markup,
)


async def clean_variant_markup(conn: aiosqlite.Connection) -> None:
    """Rows holding the markup are found by a scan of each text column for it; only they
    are written."""
    marked = [
        (int(r[0]), str(r[1]), r[2])
        for r in await conn.execute_fetchall(
            "SELECT id, name, canonical_id FROM entities WHERE instr(name, ?) > 0 ORDER BY id",
            (MARKUP_START,),
        )
    ]
    await _clean_events(conn)
    await _clean_sources(conn)
    # A Related list's shared names are entities of both events: the lists with markup are
    # those of the events linked to a name with markup (or to its entity, for an alias's).
    named = {entity_id for entity_id, _, _ in marked} | {c for _, _, c in marked if c}
    await _clean_related(conn, named)
    for entity_id, name, canonical_id in marked:
        await _clean_entity(conn, entity_id, name, canonical_id)
    if marked:
        # Names merged away were canonical or aliases: counted again rather than followed.
        await conn.execute(
            "UPDATE counters SET value = (SELECT COUNT(*) FROM entities"
            " WHERE canonical_id IS NULL) WHERE name = 'entities'"
        )


async def _clean_events(conn: aiosqlite.Connection) -> None:
    rows = await conn.execute_fetchall(
        "SELECT id, headline, summary, story FROM events WHERE origin = 'archive'"
        " AND (instr(headline, ?1) > 0 OR instr(summary, ?1) > 0 OR instr(story, ?1) > 0)",
        (MARKUP_START,),
    )
    await conn.executemany(
        "UPDATE events SET headline = ?, summary = ?, story = ? WHERE id = ?",
        [
            (
                without_variant_markup(headline),
                without_variant_markup(summary),
                None if story is None else without_variant_markup(story),
                event_id,
            )
            for event_id, headline, summary, story in rows
        ],
    )


async def _clean_sources(conn: aiosqlite.Connection) -> None:
    """The publishers' names the archive gave (a feed's or the portal's are as they gave them)."""
    rows = await conn.execute_fetchall(
        "SELECT s.event_id, s.position, s.name FROM sources s JOIN events e ON e.id = s.event_id"
        " WHERE instr(s.name, ?) > 0 AND s.from_feed = 0 AND s.from_portal = 0"
        " AND e.origin = 'archive'",
        (MARKUP_START,),
    )
    await conn.executemany(
        "UPDATE sources SET name = ? WHERE event_id = ? AND position = ?",
        [(without_variant_markup(name), event_id, position) for event_id, position, name in rows],
    )


async def _clean_related(conn: aiosqlite.Connection, entity_ids: set[int]) -> None:
    for batch in chunked(sorted(entity_ids)):
        rows = await conn.execute_fetchall(
            "SELECT r.event_id, r.links FROM archive_related r WHERE r.event_id IN"
            " (SELECT event_id FROM event_entities"
            f"  WHERE entity_id IN ({placeholders(len(batch))}))",
            tuple(batch),
        )
        changed = [
            (links, event_id) for event_id, packed in rows if (links := cleaned_related(packed))
        ]
        await conn.executemany("UPDATE archive_related SET links = ? WHERE event_id = ?", changed)


async def _clean_entity(
    conn: aiosqlite.Connection, entity_id: int, name: str, canonical_id: int | None
) -> None:
    clean = without_variant_markup(name)
    folded = fold(clean)
    if clean == name or not folded:
        return  # nothing to clean, or nothing a name could be: kept as it is
    cursor = await conn.execute(
        "SELECT id, canonical_id FROM entities WHERE folded = ? AND id != ?", (folded, entity_id)
    )
    other = await cursor.fetchone()
    if other is None:
        await conn.execute(
            "UPDATE entities SET name = ?, folded = ? WHERE id = ?", (clean, folded, entity_id)
        )
        return
    join = joining(entity_id, canonical_id, other[0], other[1])
    if join.promoted:
        await conn.execute("UPDATE entities SET canonical_id = NULL WHERE id = ?", (join.target,))
    if join.source is not None:
        await move_entity(conn, join.source, join.target)
        await conn.execute(
            "UPDATE entities SET canonical_id = ? WHERE id = ? OR canonical_id = ?",
            (join.target, join.source, join.source),
        )
    # A feed's correction that linked the name is read through its entity: the one it joins.
    await conn.execute(
        "UPDATE corrected_links SET entity_id = ? WHERE entity_id = ?", (join.target, entity_id)
    )
    await conn.execute("DELETE FROM entities WHERE id = ?", (entity_id,))
