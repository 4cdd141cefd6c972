"""PostgreSQL: the archive's events: lookups by id, key, day and shared entities. Importing
archive pages is storage.postgres.imports (EventRepository hands it on)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from fractions import Fraction

import asyncpg
import numpy as np

from storage.archive_rules import PENDING_BATCH, STUB_MATCH
from storage.keys import parse_key
from storage.models import (
    Article,
    BatchOutcome,
    DayEntryRecord,
    Event,
    EventBrief,
    PageRecord,
    RelatedEvent,
    Source,
    unpack_related,
)
from storage.onthisday_rules import month_days
from storage.postgres import event_rows
from storage.postgres.db import Database
from storage.postgres.imports import EventImports
from storage.postings import KEY_DTYPE, rank_offered

# The newest date on_this_day() may return when no year bounds it.
_NO_BOUND = dt.date(9999, 12, 31)


class EventRepository:
    def __init__(self, db: Database):
        self.db = db
        self._imports = EventImports(db)

    # --- writing (storage.postgres.imports) ---------------------------------------------

    async def import_batch(
        self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord] = ()
    ) -> BatchOutcome:
        """Apply archive pages and day-index entries in one transaction."""
        return await self._imports.import_batch(pages, days)

    async def index_pending(self, *, batch: int = PENDING_BATCH) -> int:
        """Index every event still waiting: none ever waits here, as every row's vector is
        written with the row."""
        return 0

    async def reconcile_stubs(
        self, stub_ids: Iterable[int], *, threshold: Fraction = STUB_MATCH
    ) -> int:
        """Fold incomplete events into an event of their day with nearly the same headline;
        how many were folded."""
        return await self._imports.reconcile_stubs(stub_ids, threshold=threshold)

    # --- reading ------------------------------------------------------------------------

    async def get(self, event_id: int) -> Event | None:
        row = await self.db.fetchrow("SELECT * FROM events WHERE id = $1", event_id)
        if row is None:
            row = await self.db.fetchrow(
                "SELECT e.* FROM merged_events m JOIN events e ON e.id = m.event_id"
                " WHERE m.old_id = $1",
                event_id,
            )
        return await self._event(row) if row else None

    async def get_by_key(self, text: str) -> Event | None:
        """The event a key, archive link or path names (older slugs included)."""
        key = parse_key(text)
        if key is None:
            return None
        row = await self.db.fetchrow("SELECT * FROM events WHERE key = $1", key)
        if row is None:
            row = await self.db.fetchrow(
                "SELECT e.* FROM event_keys k JOIN events e ON e.id = k.event_id"
                " WHERE k.key = $1",
                key,
            )
        return await self._event(row) if row else None

    async def _event(self, row: asyncpg.Record) -> Event:
        event_id = row["id"]
        sources = await self.db.fetch(
            "SELECT name, url, is_image FROM sources WHERE event_id = $1 ORDER BY position",
            event_id,
        )
        # Text is ordered by code point (COLLATE "C"), as SQLite orders it.
        entities = await self.db.fetch(
            "SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
            ' WHERE ee.event_id = $1 ORDER BY en.event_count DESC, en.folded COLLATE "C"',
            event_id,
        )
        articles = await self.db.fetch(
            "SELECT id, title, text, publisher, published, score FROM articles"
            " WHERE event_id = $1 ORDER BY id",
            event_id,
        )
        return Event(
            id=event_id,
            key=row["key"],
            date=row["date"],
            headline=row["headline"],
            summary=row["summary"],
            story=row["story"],
            lang=row["lang"],
            complete=row["complete"],
            sources=tuple(Source(r["name"], r["url"], r["is_image"]) for r in sources),
            entities=tuple(r["name"] for r in entities),
            articles=tuple(
                Article(
                    id=a["id"],
                    title=a["title"],
                    text=a["text"],
                    publisher=a["publisher"],
                    published=a["published"],
                    score=a["score"],
                )
                for a in articles
            ),
            added_at=row["added_at"],
            category=row["category"],
            removed_at=row["removed_at"],
        )

    async def count_incomplete(self, ids: Collection[int]) -> int:
        """How many of these events are known only from links (complete false)."""
        if not ids:
            return 0
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM events WHERE NOT complete AND id = ANY($1::bigint[])",
            sorted(ids),
        )
        return int(count)

    async def briefs(self, ids: Sequence[int]) -> dict[int, EventBrief]:
        if not ids:
            return {}
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id = ANY($1::bigint[])",
            list(ids),
        )
        return {row["id"]: event_rows.brief(row) for row in rows}

    async def related(
        self, event_id: int, *, limit: int = 10, offset: int = 0
    ) -> list[RelatedEvent]:
        """The rule: other events sharing an entity, most shared first, then newest, then
        the newest id (storage.postings.rank_shared).

        Exact: every event of every entity of this one is counted. A popular entity's
        events come as one packed blob (entity_postings), the others' as rows.
        """
        mine = await self.db.fetch(
            "SELECT ee.entity_id, p.keys FROM event_entities ee"
            " LEFT JOIN entity_postings p ON p.entity_id = ee.entity_id WHERE ee.event_id = $1",
            event_id,
        )
        parts = [np.frombuffer(row[1], dtype=KEY_DTYPE) for row in mine if row[1] is not None]
        # Small entities, and any whose blob is being written again after new links.
        unpacked = [row[0] for row in mine if row[1] is None]
        if unpacked:
            rows = await self.db.fetch(
                f"SELECT {event_rows.POSTING_KEY} FROM event_entities"
                " WHERE entity_id = ANY($1::bigint[])",
                unpacked,
            )
            parts.append(event_rows.posting_keys(rows))
        if not parts:
            return []
        keys = np.concatenate(parts)
        ranked = await rank_offered(
            keys, exclude=event_id, want=offset + limit, removed=self._removed
        )
        return await self._with_shared(event_id, ranked[offset:])

    async def pack_postings(self) -> int:
        """Write the blob of every popular entity that has none: new, or dropped by a
        trigger because its links changed. Run after each ingest; returns how many."""
        async with self.db.transaction() as conn:
            return await event_rows.pack_postings(conn, self.db.packed_postings_min)

    async def _removed(self, ids: Sequence[int]) -> set[int]:
        return await event_rows.removed_ids(self.db, ids)

    async def _with_shared(self, event_id: int, ids: Sequence[int]) -> list[RelatedEvent]:
        if not ids:
            return []
        briefs = await self.briefs(ids)
        rows = await self.db.fetch(
            "SELECT ee.event_id, en.name FROM event_entities ee"
            " JOIN entities en ON en.id = ee.entity_id"
            " JOIN events ev ON ev.id = ee.event_id AND ev.removed_at IS NULL"
            " WHERE ee.event_id = ANY($1::bigint[])"
            " AND ee.entity_id IN (SELECT entity_id FROM event_entities WHERE event_id = $2)"
            ' ORDER BY en.folded COLLATE "C"',
            list(ids),
            event_id,
        )
        shared: dict[int, list[str]] = {}
        for row in rows:
            shared.setdefault(row[0], []).append(row[1])
        # Every related event shares a name: one with none here was taken off the portal.
        return [
            RelatedEvent(briefs[i], tuple(shared[i])) for i in ids if i in briefs and i in shared
        ]

    async def on_this_day(
        self,
        month: int,
        day: int,
        *,
        year: int | None = None,
        before_year: int | None = None,
        limit: int = 50,
        offset: int = 0,
        language: str | None = None,
    ) -> list[EventBrief]:
        """Events on a month and day of a year (a common year's February 28 covers February
        29), newest year first (optionally only before a year, and only in a language: 'en'
        or 'zh'; 'all' or None: both)."""
        on_days, days = event_rows.on_month_days(month_days(month, day, year), 1)
        bound = dt.date(before_year, 1, 1) if before_year else _NO_BOUND
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
            f" WHERE {on_days} AND e.date < $2 AND ($3::text IS NULL OR e.lang = $3)"
            " AND e.removed_at IS NULL"
            " ORDER BY e.date DESC, e.complete DESC, e.id LIMIT $4 OFFSET $5",
            days,
            bound,
            event_rows.edition(language),
            limit,
            offset,
        )
        return [event_rows.brief(row) for row in rows]

    async def archive_related(self, event_id: int) -> list[tuple[str, tuple[str, ...]]]:
        """The event's Related list exactly as the archive gave it: (key, shared names)."""
        links = await self.db.fetchval(
            "SELECT links FROM archive_related WHERE event_id = $1", event_id
        )
        if links is None:
            return []
        return unpack_related(links)
