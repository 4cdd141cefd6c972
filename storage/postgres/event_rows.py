"""Statements on events and what hangs off them (keys, entity links, sources, the full-text
vector), run inside a caller's transaction: the PostgreSQL counterpart of
storage.sqlite.event_rows. Every repository that writes events (imports, feeds, the portal,
entity merges) uses these, so none of them holds another.

Full text: ``events.search`` is written here and nowhere else. insert_events (rows as
NewEvent) writes it with each new row; after any UPDATE of an event's headline, summary or date, call index_events on
it, which builds it again from the row as stored.

Several processes may write at once (PostgreSQL has no single writer): rows that others may
insert too are inserted with ON CONFLICT, and rows are locked in id order where a statement
touches many, so that two writers wait for each other rather than deadlock."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import numpy as np

from storage.models import EventBrief
from storage.postgres.db import Connection, Database
from storage.postgres.textsearch import event_vector
from storage.postings import KEY_DTYPE
from storage.textindex import fold

EDITIONS = ("en", "zh")  # events.lang


# Transactions that write announced events (feeds, the portal, imports with --announce) and
# those that could make one story or one entity twice (every import batch, aliases) take turns
# under this advisory lock: announced events then commit in id order, which digests' and
# alerts' watermarks rely on, and each transaction sees the events and names the one before
# made.
ANNOUNCING_LOCK = 0x6368726F6E66  # "chronf"


async def lock_announcing(conn: Connection) -> None:
    """Wait for the transactions writing announced events in any process to end."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ANNOUNCING_LOCK)


def edition(language: str | None) -> str | None:
    """The events.lang a lookup keeps for a language: 'en' or 'zh', or None for 'all' (and
    None): no filter."""
    if language is None or language == "all":
        return None
    if language not in EDITIONS:
        raise ValueError(f"language must be en, zh or all, not {language!r}")
    return language


def on_month_days(days: Sequence[str], number: int) -> tuple[str, str | list[str]]:
    """The condition that events e fall on these month-days (storage.onthisday_rules) as
    parameter $number, and that parameter's value. One day is compared with = so that the
    month_day indexes give their order: PostgreSQL sorts all that = ANY finds."""
    if len(days) == 1:
        return f"e.month_day = ${number}", days[0]
    return f"e.month_day = ANY(${number}::text[])", list(days)


BRIEF_COLUMNS = (
    "e.id, e.key, e.date, e.headline, e.complete,"
    " (SELECT url FROM sources s WHERE s.event_id = e.id AND NOT s.is_image"
    "  ORDER BY position LIMIT 1) AS url"
)


def brief(row: asyncpg.Record) -> EventBrief:
    """A row of BRIEF_COLUMNS as an EventBrief."""
    return EventBrief(
        id=row["id"],
        key=row["key"],
        date=row["date"],
        headline=row["headline"],
        complete=bool(row["complete"]),
        url=row["url"],
    )


# related(): an entity's event as one integer, (YYYYMMDD << 32) | id (storage.postings), over
# event_entities' columns date and event_id.
POSTING_KEY = "((to_char(date, 'YYYYMMDD')::bigint << 32) | event_id)"


def posting_keys(rows: Sequence[asyncpg.Record]) -> np.ndarray:
    """Rows of one column, POSTING_KEY, as an array of keys."""
    return np.fromiter((row[0] for row in rows), dtype=KEY_DTYPE, count=len(rows))


def _count(status: str) -> int:
    """The row count of a command's status ('DELETE 3', 'UPDATE 0', 'INSERT 0 2')."""
    return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0


async def add_aliases(conn: Connection, aliases: Sequence[tuple[str, int]]) -> None:
    """Older keys (key, event id) that go on finding their event."""
    if not aliases:
        return
    # The last word for a key wins, as INSERT OR REPLACE row by row does on SQLite.
    final = dict(aliases)
    await conn.execute(
        "INSERT INTO event_keys(key, event_id)"
        " SELECT * FROM unnest($1::text[], $2::bigint[])"
        " ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id",
        list(final),
        list(final.values()),
    )


async def refresh_weights(conn: Connection, event_ids: Iterable[int]) -> None:
    """Recount how much the archive says of events (what 'on this day' prefers)."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    # Rows whose weight stays are left alone (no new row version for nothing).
    await conn.execute(
        "UPDATE events SET weight = w.weight FROM ("
        " SELECT e.id,"
        "  (SELECT COUNT(*) FROM sources s WHERE s.event_id = e.id AND NOT s.is_image)"
        "  + COALESCE((SELECT items FROM archive_related r WHERE r.event_id = e.id), 0)"
        "  + (SELECT COUNT(*) FROM event_entities ee WHERE ee.event_id = e.id)"
        "  + CASE WHEN e.complete THEN 2 ELSE 0 END AS weight"
        " FROM events e WHERE e.id = ANY($1::bigint[])) w"
        " WHERE events.id = w.id AND events.weight <> w.weight",
        ids,
    )


async def index_events(conn: Connection, event_ids: Sequence[int]) -> None:
    """Write the full-text vector of events again from their headline, summary and date as
    stored: after any UPDATE of one of those."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    rows = await conn.fetch(
        "SELECT id, headline, summary, date FROM events WHERE id = ANY($1::bigint[])", ids
    )
    await conn.execute(
        "UPDATE events SET search = v.search::tsvector"
        " FROM unnest($1::bigint[], $2::text[]) AS v(id, search) WHERE events.id = v.id",
        [r["id"] for r in rows],
        [event_vector(r["headline"], r["summary"], r["date"]) for r in rows],
    )


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An events row to insert (insert_events); what it leaves out takes the schema's
    defaults."""

    key: str
    date: dt.date
    headline: str
    summary: str = ""
    story: str | None = None
    category: str | None = None
    lang: str = "en"
    complete: bool = False
    origin: str = "archive"
    announce: bool = False
    content_hash: str | None = None
    page_version: str | None = None


async def insert_events(
    conn: Connection, events: Sequence[NewEvent], *, now: dt.datetime
) -> list[int]:
    """Insert events, added and updated ``now``; their ids, in order (ascending, as on
    SQLite).

    The ids are taken from the events sequence first, so that each row's is known without
    looking its key up again; the full-text vector is written with the row."""
    if not events:
        return []
    ids: list[int] = [
        r[0]
        for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('events', 'id'))"
            " FROM generate_series(1, $1) ORDER BY 1",
            len(events),
        )
    ]
    await conn.execute(
        "INSERT INTO events(id, key, date, headline, summary, story, category, lang, complete,"
        " origin, announce, content_hash, page_version, search, added_at, updated_at)"
        " SELECT id, key, date, headline, summary, story, category, lang, complete, origin,"
        " announce, content_hash, page_version, search::tsvector, $15, $15"
        " FROM unnest($1::bigint[], $2::text[], $3::date[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::text[], $9::boolean[], $10::text[], $11::boolean[],"
        " $12::text[], $13::text[], $14::text[]) AS v(id, key, date, headline, summary, story,"
        " category, lang, complete, origin, announce, content_hash, page_version, search)"
        " ORDER BY id",
        ids,
        [e.key for e in events],
        [e.date for e in events],
        [e.headline for e in events],
        [e.summary for e in events],
        [e.story for e in events],
        [e.category for e in events],
        [e.lang for e in events],
        [e.complete for e in events],
        [e.origin for e in events],
        [e.announce for e in events],
        [e.content_hash for e in events],
        [e.page_version for e in events],
        [event_vector(e.headline, e.summary, e.date) for e in events],
        now,
    )
    return ids


async def free_key(conn: Connection, key: str) -> str:
    """``key``, or ``key-2``, ``key-3``, ... if another event (or an older key) holds it:
    different stories can share a day and the first 140 characters of a headline."""
    candidate, suffix = key, 1
    while await event_ids(conn, [candidate]):
        suffix += 1
        candidate = f"{key}-{suffix}"
    return candidate


async def event_ids(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    """Event ids by key, older keys included, from the keys' indexes alone."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    found: dict[str, int] = {
        row[0]: row[1]
        for row in await conn.fetch(
            "SELECT key, id FROM events WHERE key = ANY($1::text[])", keys
        )
    }
    missing = [k for k in keys if k not in found]
    if missing:
        found.update(
            (row[0], row[1])
            for row in await conn.fetch(
                "SELECT key, event_id FROM event_keys WHERE key = ANY($1::text[])", missing
            )
        )
    return found


async def removed_ids(conn: Connection | Database, ids: Sequence[int]) -> set[int]:
    """Those of these events taken off their portal page."""
    if not ids:
        return set()
    rows = await conn.fetch(
        "SELECT id FROM events WHERE id = ANY($1::bigint[]) AND removed_at IS NOT NULL",
        list(ids),
    )
    return {row[0] for row in rows}


async def link_entities(
    conn: Connection,
    links: Sequence[tuple[int, str]],
    *,
    dates: Mapping[int, Any] | None = None,
    fresh: Collection[int] = (),
) -> set[int]:
    """Link events to entities by name (event id, name); returns the events that gained
    a link. The links take their events' dates from the events themselves (dates, which
    tells SQLite what it need not read back, is accepted and not needed); fresh: events
    the caller has just created, none of them removed."""
    del dates
    if not links:
        return set()
    names: dict[str, str] = {}
    for _, name in links:
        names.setdefault(fold(name), name)
    entity_ids = await canonical_ids(conn, list(names))
    missing = [folded for folded in names if folded not in entity_ids]
    if missing:
        # Only names not yet known are inserted: a conflict would spend an id for nothing.
        await conn.execute(
            "INSERT INTO entities(name, folded)"
            " SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (folded) DO NOTHING",
            [names[f] for f in missing],
            missing,
        )
        entity_ids.update(await canonical_ids(conn, missing))
    pairs = sorted({(event_id, entity_ids[fold(name)]) for event_id, name in links})
    # Pairs held already (or written meanwhile by another writer) are skipped; only the
    # links this statement wrote are counted.
    added = await conn.fetch(
        "INSERT INTO event_entities(event_id, entity_id, date)"
        " SELECT v.event_id, v.entity_id, e.date"
        " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS v(event_id, entity_id, n)"
        " JOIN events e ON e.id = v.event_id ORDER BY v.n"
        " ON CONFLICT (event_id, entity_id) DO NOTHING RETURNING event_id, entity_id",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    # An event taken off its portal page is counted by none of its entities.
    removed = await removed_ids(conn, sorted({row["event_id"] for row in added}.difference(fresh)))
    counts = sorted(
        Counter(row["entity_id"] for row in added if row["event_id"] not in removed).items()
    )
    if counts:
        await conn.execute(
            "UPDATE entities SET event_count = event_count + v.added"
            " FROM unnest($1::bigint[], $2::int[]) AS v(id, added) WHERE entities.id = v.id",
            [entity_id for entity_id, _ in counts],
            [count for _, count in counts],
        )
    return {row["event_id"] for row in added}


async def unlink_entities(
    conn: Connection,
    event_id: int,
    names: Iterable[str],
    *,
    keep: Iterable[str] = (),
) -> bool:
    """Remove the event's links to these entities, but for those that one of ``keep``
    also names (an alias names its canonical entity); whether any link went. (A trigger
    counts the entities down.)"""
    gone = await canonical_ids(conn, sorted({fold(n) for n in names}))
    if not gone:
        return False
    kept = await canonical_ids(conn, sorted({fold(n) for n in keep}))
    ids = set(gone.values()) - set(kept.values())
    if not ids:
        return False
    status = await conn.execute(
        "DELETE FROM event_entities WHERE event_id = $1 AND entity_id = ANY($2::bigint[])",
        event_id,
        sorted(ids),
    )
    return _count(status) > 0


async def append_sources(
    conn: Connection,
    event_id: int,
    sources: Sequence[tuple[str, str]],
    *,
    added_by: Literal["feed", "portal"],
) -> int:
    """Append (name, URL) sources a feed or the portal gives an event, after its own,
    each URL once; how many were appended."""
    row = await conn.fetchrow(
        "SELECT COALESCE(MAX(position), -1), COALESCE(array_agg(url), '{}'::text[])"
        " FROM sources WHERE event_id = $1",
        event_id,
    )
    assert row is not None  # an aggregate always has its row
    last, present = row[0], set(row[1])
    new: list[tuple[str, str]] = []
    for name, url in sources:
        if url not in present:
            present.add(url)
            new.append((name, url))
    if not new:
        return 0
    await conn.executemany(
        "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
        " VALUES ($1, $2, $3, $4, false, $5, $6)",
        [
            (event_id, last + 1 + i, name, url, added_by == "feed", added_by == "portal")
            for i, (name, url) in enumerate(new)
        ],
    )
    return len(new)


def offered(link: str) -> str:
    """The condition that the event of an event_entities row (alias ``link``) was not taken
    off its portal page: an entity's count, dates and companions are of those alone. The
    removed events are few, in an index of their own (migration 0016)."""
    return (
        "NOT EXISTS (SELECT 1 FROM events r"
        f" WHERE r.id = {link}.event_id AND r.removed_at IS NOT NULL)"
    )


async def recount_entities(conn: Connection, entity_ids: Iterable[int]) -> None:
    """Count entities' events again (those not taken off the portal), after links were
    moved in bulk, or events removed or put back."""
    ids = sorted(set(entity_ids))
    if not ids:
        return
    # Counted in one pass over the entities' links, against the removed events hashed once;
    # a count per entity would look each of a popular entity's many links up apart.
    await conn.execute(
        "UPDATE entities SET event_count = coalesce(c.events, 0)"
        " FROM unnest($1::bigint[]) AS ids(id) LEFT JOIN ("
        "  SELECT ee.entity_id, count(*) AS events FROM event_entities ee"
        f"  WHERE ee.entity_id = ANY($1::bigint[]) AND {offered('ee')} GROUP BY ee.entity_id"
        " ) c ON c.entity_id = ids.id WHERE entities.id = ids.id",
        ids,
    )


async def recount_linked(conn: Connection, event_ids: Sequence[int]) -> None:
    """Count again the entities of events just taken off their portal page or put back."""
    if not event_ids:
        return
    rows = await conn.fetch(
        "SELECT DISTINCT entity_id FROM event_entities WHERE event_id = ANY($1::bigint[])",
        sorted(set(event_ids)),
    )
    await recount_entities(conn, [row[0] for row in rows])


async def canonical_ids(conn: Connection, folded: Sequence[str]) -> dict[str, int]:
    """Canonical entity ids by folded name: an alias links its canonical entity."""
    if not folded:
        return {}
    rows = await conn.fetch(
        "SELECT COALESCE(canonical_id, id) AS id, folded FROM entities"
        " WHERE folded = ANY($1::text[])",
        list(folded),
    )
    return {row["folded"]: row["id"] for row in rows}


async def pack_postings(conn: Connection, minimum: int) -> int:
    """Write the packed keys of every entity with more than ``minimum`` events that has
    none: sorted little-endian int64 posting keys, the bytes SQLite stores."""
    rows = await conn.fetch(
        f"SELECT entity_id, array_agg({POSTING_KEY}) FROM event_entities"
        " WHERE entity_id IN (SELECT id FROM entities en WHERE event_count > $1"
        "  AND NOT EXISTS (SELECT 1 FROM entity_postings p WHERE p.entity_id = en.id))"
        " GROUP BY entity_id ORDER BY entity_id",
        minimum,
    )
    await conn.executemany(
        "INSERT INTO entity_postings(entity_id, keys) VALUES ($1, $2)"
        " ON CONFLICT (entity_id) DO NOTHING",
        [
            (row[0], np.sort(np.array(row[1], dtype=KEY_DTYPE)).tobytes())
            for row in rows
        ],
    )
    return len(rows)
