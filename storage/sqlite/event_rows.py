"""Statements on events and what hangs off them (keys, entity links, sources, the full-text
indexes), run inside a caller's transaction. Every repository that writes events (imports,
feeds, the portal, entity merges) uses these, so none of them holds another."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal

import aiosqlite
import numpy as np

from storage.models import EventBrief
from storage.postings import KEY_DTYPE
from storage.sqlite.db import chunked, placeholders
from storage.textindex import fold


def as_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


EDITIONS = ("en", "zh")  # events.lang


def edition(language: str | None) -> str | None:
    """The events.lang a lookup keeps for a language: 'en' or 'zh', or None for 'all' (and
    None): no filter."""
    if language is None or language == "all":
        return None
    if language not in EDITIONS:
        raise ValueError(f"language must be en, zh or all, not {language!r}")
    return language


BRIEF_COLUMNS = (
    "e.id, e.key, e.date, e.headline, e.complete,"
    " (SELECT url FROM sources s WHERE s.event_id = e.id AND s.is_image = 0"
    "  ORDER BY position LIMIT 1) AS url"
)


def brief(row: aiosqlite.Row) -> EventBrief:
    return EventBrief(
        id=row["id"],
        key=row["key"],
        date=as_date(row["date"]),
        headline=row["headline"],
        complete=bool(row["complete"]),
        url=row["url"],
    )


# How events rows fill the full-text indexes in bulk: (index and columns, what a row gives).
# event_rows.index_events uses them after each batch; benchmarks.importing, for its fastest load.
FULL_TEXT_FILLS = (
    (
        "event_search(rowid, headline, summary, period, entities)",
        "id, segment(headline), segment(summary), period(date), search_entities",
    ),
    ("headline_pairs(rowid, pairs)", "id, word_pairs(headline)"),
)


EVENTS_SEQUENCE = "SELECT seq FROM sqlite_sequence WHERE name = 'events'"


# related(): an entity's event as one integer, (YYYYMMDD << 32) | id, so that ordering the
# integers orders events by date, then id (migration 0005 stores them packed).
POSTING_KEY = "((CAST(replace(date, '-', '') AS INTEGER) << 32) | event_id)"


def posting_keys(rows: Sequence[aiosqlite.Row]) -> np.ndarray:
    """Rows of one column, POSTING_KEY, as an array of keys."""
    return np.fromiter((row[0] for row in rows), dtype=KEY_DTYPE, count=len(rows))


async def add_aliases(conn: aiosqlite.Connection, aliases: Sequence[tuple[str, int]]) -> None:
    """Older keys (key, event id) that go on finding their event."""
    await conn.executemany(
        "INSERT OR REPLACE INTO event_keys(key, event_id) VALUES (?, ?)", aliases
    )


async def refresh_weights(conn: aiosqlite.Connection, event_ids: Iterable[int]) -> None:
    """Recount how much the archive says of events (what 'on this day' prefers)."""
    for chunk in chunked(sorted(set(event_ids))):
        await conn.execute(
            "UPDATE events SET weight ="
            " (SELECT COUNT(*) FROM sources s WHERE s.event_id = events.id AND s.is_image = 0)"
            " + COALESCE((SELECT items FROM archive_related r WHERE r.event_id = events.id), 0)"
            " + (SELECT COUNT(*) FROM event_entities ee WHERE ee.event_id = events.id)"
            " + 2 * complete"
            f" WHERE id IN ({placeholders(len(chunk))})",
            chunk,
        )


async def index_events(conn: aiosqlite.Connection, event_ids: Sequence[int]) -> None:
    """Add events written with searchable = 0 to the full-text index, in bulk."""
    for chunk in chunked(list(event_ids)):
        marks = placeholders(len(chunk))
        await conn.execute(
            "UPDATE events SET search_entities = coalesce((SELECT group_concat("
            "'e' || entity_id, ' ') FROM event_entities WHERE event_id = events.id), '')"
            f" WHERE id IN ({marks}) AND searchable = 0",
            chunk,
        )
        for index, values in FULL_TEXT_FILLS:
            await conn.execute(
                f"INSERT INTO {index} SELECT {values}"
                f" FROM events WHERE id IN ({marks}) AND searchable = 0",
                chunk,
            )
        await conn.execute(
            f"UPDATE events SET searchable = 1 WHERE id IN ({marks}) AND searchable = 0", chunk
        )


async def insert_events(
    conn: aiosqlite.Connection, sql: str, rows: Sequence[tuple[Any, ...]]
) -> list[int]:
    """Insert events (sql: an INSERT INTO events of one row); their ids, in order.

    events is AUTOINCREMENT and this connection the only writer, so rows inserted one
    after another take the ids after the sequence's last; the sequence moving by exactly
    the rows inserted proves it, and spares looking each key up again."""
    before = list(await conn.execute_fetchall(EVENTS_SEQUENCE))
    await conn.executemany(sql, rows)
    after = list(await conn.execute_fetchall(EVENTS_SEQUENCE))
    first, last = (before[0][0] if before else 0), (after[0][0] if after else 0)
    if last - first != len(rows):
        raise RuntimeError(f"events ids moved by {last - first} for {len(rows)} rows")
    return list(range(first + 1, last + 1))


async def free_key(conn: aiosqlite.Connection, key: str) -> str:
    """``key``, or ``key-2``, ``key-3``, ... if another event (or an older key) holds it:
    different stories can share a day and the first 140 characters of a headline."""
    candidate, suffix = key, 1
    while await event_ids(conn, [candidate]):
        suffix += 1
        candidate = f"{key}-{suffix}"
    return candidate


async def event_ids(conn: aiosqlite.Connection, keys: Iterable[str]) -> dict[str, int]:
    """Event ids by key, older keys included, from the keys' indexes alone."""
    keys = list(keys)
    found: dict[str, int] = {}
    for chunk in chunked(keys):
        rows = await conn.execute_fetchall(
            f"SELECT key, id FROM events WHERE key IN ({placeholders(len(chunk))})", chunk
        )
        found.update((row[0], row[1]) for row in rows)
    missing = [k for k in keys if k not in found]
    for chunk in chunked(missing):
        rows = await conn.execute_fetchall(
            f"SELECT key, event_id FROM event_keys WHERE key IN ({placeholders(len(chunk))})",
            chunk,
        )
        found.update((row[0], row[1]) for row in rows)
    return found


async def removed_ids(conn: aiosqlite.Connection, ids: Sequence[int]) -> set[int]:
    """Those of these events taken off their portal page."""
    removed: set[int] = set()
    for chunk in chunked(ids):
        rows = await conn.execute_fetchall(
            "SELECT id FROM events INDEXED BY events_removed"
            f" WHERE removed_at IS NOT NULL AND id IN ({placeholders(len(chunk))})",
            chunk,
        )
        removed.update(row[0] for row in rows)
    return removed


async def link_entities(
    conn: aiosqlite.Connection,
    links: Sequence[tuple[int, str]],
    *,
    dates: Mapping[int, str] | None = None,
    fresh: Collection[int] = (),
) -> set[int]:
    """Link events to entities by name (event id, name); returns the events that gained
    a link. dates: events' dates the caller knows already; fresh: events it has just
    created, which hold no links."""
    if not links:
        return set()
    names: dict[str, str] = {}
    for _, name in links:
        names.setdefault(fold(name), name)
    await conn.executemany(
        "INSERT OR IGNORE INTO entities(name, folded) VALUES (?, ?)",
        [(name, folded) for folded, name in names.items()],
    )
    entity_ids = await canonical_ids(conn, list(names))
    pairs = {(event_id, entity_ids[fold(name)]) for event_id, name in links}
    for chunk in chunked(sorted({event_id for event_id, _ in pairs}.difference(fresh))):
        for row in await conn.execute_fetchall(
            "SELECT event_id, entity_id FROM event_entities"
            f" WHERE event_id IN ({placeholders(len(chunk))})",
            chunk,
        ):
            pairs.discard((row[0], row[1]))
    gaining = {event_id for event_id, _ in pairs}
    # An event taken off its portal page is counted by none of its entities.
    removed = await removed_ids(conn, sorted(gaining.difference(fresh)))
    # Dates only of events still gaining a link: most events a Related list names have
    # every shared entity already.
    dates = dict(dates or {})
    for chunk in chunked(sorted(gaining.difference(dates))):
        for row in await conn.execute_fetchall(
            f"SELECT id, date FROM events WHERE id IN ({placeholders(len(chunk))})", chunk
        ):
            dates[row[0]] = row[1]
    await conn.executemany(
        "INSERT INTO event_entities(event_id, entity_id, date) VALUES (?, ?, ?)",
        sorted((event_id, entity_id, dates[event_id]) for event_id, entity_id in pairs),
    )
    await conn.executemany(
        "UPDATE entities SET event_count = event_count + ? WHERE id = ?",
        [
            (count, entity_id)
            for entity_id, count in Counter(e for ev, e in pairs if ev not in removed).items()
        ],
    )
    return gaining


async def unlink_entities(
    conn: aiosqlite.Connection,
    event_id: int,
    names: Iterable[str],
    *,
    keep: Iterable[str] = (),
) -> bool:
    """Remove the event's links to these entities, but for those that one of ``keep``
    also names (an alias names its canonical entity); whether any link went."""
    gone = await canonical_ids(conn, sorted({fold(n) for n in names}))
    if not gone:
        return False
    kept = await canonical_ids(conn, sorted({fold(n) for n in keep}))
    ids = set(gone.values()) - set(kept.values())
    if not ids:
        return False
    cursor = await conn.execute(
        f"DELETE FROM event_entities WHERE event_id = ? AND entity_id IN ({placeholders(len(ids))})",
        (event_id, *sorted(ids)),
    )
    if cursor.rowcount <= 0:
        return False
    await refresh_entity_words(conn, [event_id])
    return True


async def refresh_entity_words(conn: aiosqlite.Connection, event_ids: Iterable[int]) -> None:
    """Write indexed events' entity words (e12 e40) from their links again, after links were
    removed or moved to another entity: the index holds an event's links and no more, since
    a word counts in the length search ranks by, on every backend. Links added are indexed
    by a trigger (event_entities_search)."""
    for chunk in chunked(sorted(set(event_ids))):
        marks = placeholders(len(chunk))
        indexed = f" FROM events WHERE id IN ({marks}) AND searchable = 1"
        await conn.execute(
            "INSERT INTO event_search(event_search, rowid, headline, summary, period, entities)"
            " SELECT 'delete', id, segment(headline), segment(summary), period(date),"
            " search_entities" + indexed,
            chunk,
        )
        await conn.execute(
            "UPDATE events SET search_entities = coalesce((SELECT group_concat("
            f"'e' || entity_id, ' ') FROM event_entities WHERE event_id = events.id), '')"
            f" WHERE id IN ({marks}) AND searchable = 1",
            chunk,
        )
        await conn.execute(
            "INSERT INTO event_search(rowid, headline, summary, period, entities)"
            " SELECT id, segment(headline), segment(summary), period(date), search_entities"
            + indexed,
            chunk,
        )


async def append_sources(
    conn: aiosqlite.Connection,
    event_id: int,
    sources: Sequence[tuple[str, str]],
    *,
    added_by: Literal["feed", "portal"],
) -> int:
    """Append (name, URL) sources a feed or the portal gives an event, after its own,
    each URL once; how many were appended."""
    cursor = await conn.execute(
        "SELECT COALESCE(MAX(position), -1), json_group_array(url) FROM sources WHERE event_id = ?",
        (event_id,),
    )
    row = await cursor.fetchone()
    assert row is not None  # an aggregate always has its row
    last, present = row[0], set(json.loads(row[1]))
    new: list[tuple[str, str]] = []
    for name, url in sources:
        if url not in present:
            present.add(url)
            new.append((name, url))
    await conn.executemany(
        "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
        " VALUES (?, ?, ?, ?, 0, ?, ?)",
        [
            (
                event_id,
                last + 1 + i,
                name,
                url,
                int(added_by == "feed"),
                int(added_by == "portal"),
            )
            for i, (name, url) in enumerate(new)
        ],
    )
    return len(new)


def offered(link: str) -> str:
    """The condition that the event of an event_entities row (alias ``link``) was not taken
    off its portal page: an entity's count, dates and companions are of those alone. Looked
    up in the index of the removed events (migration 0022), which is small, not in events."""
    return (
        "NOT EXISTS (SELECT 1 FROM events r INDEXED BY events_removed"
        f" WHERE r.id = {link}.event_id AND r.removed_at IS NOT NULL)"
    )


async def recount_entities(conn: aiosqlite.Connection, entity_ids: Iterable[int]) -> None:
    """Count entities' events again (those not taken off the portal), after links were
    moved in bulk, or events removed or put back."""
    for chunk in chunked(sorted(set(entity_ids))):
        # Every link, from the entity's index; less those of removed events, read from the
        # removed events (few) rather than from the links of a popular entity (many):
        # CROSS JOIN keeps that order, and the + keeps entity_id from choosing
        # another.
        marks = placeholders(len(chunk))
        removed = {
            row[0]: row[1]
            for row in await conn.execute_fetchall(
                "SELECT ee.entity_id, COUNT(*) FROM events ev INDEXED BY events_removed"
                " CROSS JOIN event_entities ee ON ee.event_id = ev.id"
                f" WHERE ev.removed_at IS NOT NULL AND +ee.entity_id IN ({marks})"
                " GROUP BY ee.entity_id",
                chunk,
            )
        }
        await conn.executemany(
            "UPDATE entities SET event_count ="
            " (SELECT COUNT(*) FROM event_entities WHERE entity_id = ?) - ? WHERE id = ?",
            [(entity_id, removed.get(entity_id, 0), entity_id) for entity_id in chunk],
        )


async def recount_linked(conn: aiosqlite.Connection, event_ids: Sequence[int]) -> None:
    """Count again the entities of events just taken off their portal page or put back."""
    entity_ids: set[int] = set()
    for chunk in chunked(sorted(set(event_ids))):
        rows = await conn.execute_fetchall(
            f"SELECT entity_id FROM event_entities WHERE event_id IN ({placeholders(len(chunk))})",
            chunk,
        )
        entity_ids.update(row[0] for row in rows)
    await recount_entities(conn, entity_ids)


async def canonical_ids(conn: aiosqlite.Connection, folded: Sequence[str]) -> dict[str, int]:
    """Canonical entity ids by folded name: an alias links its canonical entity."""
    found: dict[str, int] = {}
    for chunk in chunked(folded):
        rows = await conn.execute_fetchall(
            "SELECT COALESCE(canonical_id, id) AS id, folded FROM entities"
            f" WHERE folded IN ({placeholders(len(chunk))})",
            chunk,
        )
        found.update({row["folded"]: row["id"] for row in rows})
    return found


async def pack_postings(conn: aiosqlite.Connection, minimum: int) -> int:
    """Write the blob of every entity with more than ``minimum`` events that has none."""
    missing = list(
        await conn.execute_fetchall(
            "SELECT id FROM entities en WHERE event_count > ?"
            " AND NOT EXISTS (SELECT 1 FROM entity_postings p WHERE p.entity_id = en.id)",
            (minimum,),
        )
    )
    for (entity_id,) in missing:
        rows = list(
            await conn.execute_fetchall(
                f"SELECT {POSTING_KEY} FROM event_entities WHERE entity_id = ?", (entity_id,)
            )
        )
        await conn.execute(
            "INSERT INTO entity_postings(entity_id, keys) VALUES (?, ?)",
            (entity_id, np.sort(posting_keys(rows)).tobytes()),
        )
    return len(missing)
