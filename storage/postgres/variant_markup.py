"""PostgreSQL's migration 0019 in Python, after its SQL and in its transaction
(storage.postgres.db), as SQLite's 0025 (storage.sqlite.variant_markup): what an import of
the Chinese edition from before stored with MediaWiki's variant markup
(-{zh-cn:特朗普;zh-tw:川普;}-) is written as an import writes it now (storage.variant_markup).
The events cleaned are indexed again (event_rows.index_events); a name that, cleaned, is
another entity's joins that entity as a merge does (move_entity)."""

from __future__ import annotations

from storage.postgres import event_rows
from storage.postgres.db import Connection, chunked
from storage.postgres.entity_moves import move_entity
from storage.textindex import fold
from storage.variant_markup import (
    MARKUP_START,
    cleaned_related,
    joining,
    without_variant_markup,
)


async def clean_variant_markup(conn: Connection) -> None:
    """Rows holding the markup are found by a scan of each text column for it; only they
    are written."""
    marked = [
        (int(r[0]), str(r[1]), r[2])
        for r in await conn.fetch(
            "SELECT id, name, canonical_id FROM entities WHERE strpos(name, $1) > 0 ORDER BY id",
            MARKUP_START,
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


async def _clean_events(conn: Connection) -> None:
    rows = await conn.fetch(
        "SELECT id, headline, summary, story FROM events WHERE origin = 'archive'"
        " AND (strpos(headline, $1) > 0 OR strpos(summary, $1) > 0 OR strpos(story, $1) > 0)"
        " ORDER BY id",
        MARKUP_START,
    )
    if not rows:
        return
    await conn.executemany(
        "UPDATE events SET headline = $2, summary = $3, story = $4 WHERE id = $1",
        [
            (
                r["id"],
                without_variant_markup(r["headline"]),
                without_variant_markup(r["summary"]),
                None if r["story"] is None else without_variant_markup(r["story"]),
            )
            for r in rows
        ],
    )
    for batch in chunked([r["id"] for r in rows]):
        await event_rows.index_events(conn, batch)


async def _clean_sources(conn: Connection) -> None:
    """The publishers' names the archive gave (a feed's or the portal's are as they gave them)."""
    rows = await conn.fetch(
        "SELECT s.event_id, s.position, s.name FROM sources s JOIN events e ON e.id = s.event_id"
        " WHERE strpos(s.name, $1) > 0 AND NOT s.from_feed AND NOT s.from_portal"
        " AND e.origin = 'archive'",
        MARKUP_START,
    )
    if rows:
        await conn.executemany(
            "UPDATE sources SET name = $3 WHERE event_id = $1 AND position = $2",
            [(r[0], r[1], without_variant_markup(r[2])) for r in rows],
        )


async def _clean_related(conn: Connection, entity_ids: set[int]) -> None:
    for batch in chunked(sorted(entity_ids)):
        rows = await conn.fetch(
            "SELECT r.event_id, r.links FROM archive_related r WHERE r.event_id IN"
            " (SELECT event_id FROM event_entities WHERE entity_id = ANY($1::bigint[]))",
            list(batch),
        )
        changed = [
            (event_id, links) for event_id, packed in rows if (links := cleaned_related(packed))
        ]
        if changed:
            await conn.executemany(
                "UPDATE archive_related SET links = $2 WHERE event_id = $1", changed
            )


async def _clean_entity(
    conn: Connection, entity_id: int, name: str, canonical_id: int | None
) -> None:
    clean = without_variant_markup(name)
    folded = fold(clean)
    if clean == name or not folded:
        return  # nothing to clean, or nothing a name could be: kept as it is
    other = await conn.fetchrow(
        "SELECT id, canonical_id FROM entities WHERE folded = $1 AND id <> $2", folded, entity_id
    )
    if other is None:
        await conn.execute(
            "UPDATE entities SET name = $2, folded = $3 WHERE id = $1", entity_id, clean, folded
        )
        return
    join = joining(entity_id, canonical_id, other[0], other[1])
    if join.promoted:
        await conn.execute("UPDATE entities SET canonical_id = NULL WHERE id = $1", join.target)
    if join.source is not None:
        await move_entity(conn, join.source, join.target)
        await conn.execute(
            "UPDATE entities SET canonical_id = $1 WHERE id = $2 OR canonical_id = $2",
            join.target,
            join.source,
        )
    # A feed's correction that linked the name is read through its entity: the one it joins.
    await conn.execute(
        "UPDATE corrected_links SET entity_id = $1 WHERE entity_id = $2", join.target, entity_id
    )
    await conn.execute("DELETE FROM entities WHERE id = $1", entity_id)
