"""Events: lookups by id, key, day and shared entities. Importing archive pages is
storage.sqlite.imports (EventRepository hands it on), full-text search
storage.sqlite.search."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from fractions import Fraction

import aiosqlite
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
from storage.postings import KEY_DTYPE, rank_offered
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.imports import EventImports
from storage.times import from_timestamp


class EventRepository:
    def __init__(self, db: Database):
        self.db = db
        self._imports = EventImports(db)

    # --- writing (storage.sqlite.imports) -----------------------------------------------

    async def import_batch(
        self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord] = ()
    ) -> BatchOutcome:
        """Apply archive pages and day-index entries in one transaction."""
        return await self._imports.import_batch(pages, days)

    async def index_pending(self, *, batch: int = PENDING_BATCH) -> int:
        """Index every event still waiting (stubs of an import, an interrupted import)."""
        return await self._imports.index_pending(batch=batch)

    async def reconcile_stubs(
        self, stub_ids: Iterable[int], *, threshold: Fraction = STUB_MATCH
    ) -> int:
        """Fold incomplete events into an event of their day with nearly the same headline;
        how many were folded."""
        return await self._imports.reconcile_stubs(stub_ids, threshold=threshold)

    # --- reading ------------------------------------------------------------------------

    async def get(self, event_id: int) -> Event | None:
        row = await self.db.fetchone("SELECT * FROM events WHERE id = ?", (event_id,))
        if row is None:
            row = await self.db.fetchone(
                "SELECT e.* FROM merged_events m JOIN events e ON e.id = m.event_id"
                " WHERE m.old_id = ?",
                (event_id,),
            )
        return await self._event(row) if row else None

    async def get_by_key(self, text: str) -> Event | None:
        """The event a key, archive link or path names (older slugs included)."""
        key = parse_key(text)
        if key is None:
            return None
        row = await self.db.fetchone("SELECT * FROM events WHERE key = ?", (key,))
        if row is None:
            row = await self.db.fetchone(
                "SELECT e.* FROM event_keys k JOIN events e ON e.id = k.event_id WHERE k.key = ?",
                (key,),
            )
        return await self._event(row) if row else None

    async def _event(self, row: aiosqlite.Row) -> Event:
        event_id = row["id"]
        sources = await self.db.fetchall(
            "SELECT name, url, is_image FROM sources WHERE event_id = ? ORDER BY position",
            (event_id,),
        )
        entities = await self.db.fetchall(
            "SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
            " WHERE ee.event_id = ? ORDER BY en.event_count DESC, en.folded",
            (event_id,),
        )
        articles = await self.db.fetchall(
            "SELECT id, title, text, publisher, published, score FROM articles"
            " WHERE event_id = ? ORDER BY id",
            (event_id,),
        )
        return Event(
            id=event_id,
            key=row["key"],
            date=event_rows.as_date(row["date"]),
            headline=row["headline"],
            summary=row["summary"],
            story=row["story"],
            lang=row["lang"],
            complete=bool(row["complete"]),
            sources=tuple(Source(r["name"], r["url"], bool(r["is_image"])) for r in sources),
            entities=tuple(r["name"] for r in entities),
            articles=tuple(
                Article(
                    id=a["id"],
                    title=a["title"],
                    text=a["text"],
                    publisher=a["publisher"],
                    published=event_rows.as_date(a["published"]) if a["published"] else None,
                    score=a["score"],
                )
                for a in articles
            ),
            added_at=from_timestamp(row["added_at"]),
            category=row["category"],
            removed_at=from_timestamp(row["removed_at"]),
        )

    async def count_incomplete(self, ids: Collection[int]) -> int:
        """How many of these events are known only from links (complete = 0)."""
        count = 0
        for chunk in chunked(sorted(ids)):
            row = await self.db.fetchone(
                f"SELECT COUNT(*) FROM events WHERE complete = 0 AND id IN ({placeholders(len(chunk))})",
                chunk,
            )
            count += row[0] if row else 0
        return count

    async def briefs(self, ids: Sequence[int]) -> dict[int, EventBrief]:
        found: dict[int, EventBrief] = {}
        for chunk in chunked(list(ids)):
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id IN ({placeholders(len(chunk))})",
                chunk,
            )
            found.update({row["id"]: event_rows.brief(row) for row in rows})
        return found

    async def related(
        self, event_id: int, *, limit: int = 10, offset: int = 0
    ) -> list[RelatedEvent]:
        """The rule: other events sharing an entity, most shared first, then newest, then
        the newest id.

        Exact: every event of every entity of this one is counted. A popular entity's
        events come as one packed blob (entity_postings), the others' as rows; an event
        naming the most common entities has hundreds of thousands of them to count, which
        numpy does far faster than Python rows.
        """
        mine = await self.db.fetchall(
            "SELECT ee.entity_id, p.keys FROM event_entities ee"
            " LEFT JOIN entity_postings p ON p.entity_id = ee.entity_id WHERE ee.event_id = ?",
            (event_id,),
        )
        parts = [
            np.frombuffer(row[1], dtype=KEY_DTYPE) for row in mine if row[1] is not None
        ]
        # Small entities, and any whose blob is being written again after new links.
        unpacked = [row[0] for row in mine if row[1] is None]
        for chunk in chunked(unpacked):
            rows = await self.db.fetchall(
                f"SELECT {event_rows.POSTING_KEY} FROM event_entities"
                f" WHERE entity_id IN ({placeholders(len(chunk))})",
                chunk,
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
        trigger because its links changed. Run after each ingest (an alias runs it in its
        own transaction); returns how many."""
        async with self.db.transaction() as conn:
            return await event_rows.pack_postings(conn, self.db.packed_postings_min)

    async def _removed(self, ids: Sequence[int]) -> set[int]:
        return await event_rows.removed_ids(self.db.reader, ids)

    async def _with_shared(self, event_id: int, ids: Sequence[int]) -> list[RelatedEvent]:
        if not ids:
            return []
        briefs = await self.briefs(ids)
        rows = await self.db.fetchall(
            "SELECT ee.event_id, en.name FROM event_entities ee"
            " JOIN entities en ON en.id = ee.entity_id"
            " JOIN events ev ON ev.id = ee.event_id AND ev.removed_at IS NULL"
            f" WHERE ee.event_id IN ({placeholders(len(ids))})"
            " AND ee.entity_id IN (SELECT entity_id FROM event_entities WHERE event_id = ?)"
            " ORDER BY en.folded",
            (*ids, event_id),
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
        days = month_days(month, day, year)
        bound = f"{before_year:04d}-01-01" if before_year else "9999-12-31"
        lang = event_rows.edition(language)
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
            f" WHERE e.month_day IN ({placeholders(len(days))}) AND e.date < ?{in_edition}"
            " AND e.removed_at IS NULL"
            " ORDER BY e.date DESC, e.complete DESC, e.id LIMIT ? OFFSET ?",
            (*days, bound, *edition_params, limit, offset),
        )
        return [event_rows.brief(row) for row in rows]

    async def archive_related(self, event_id: int) -> list[tuple[str, tuple[str, ...]]]:
        """The event's Related list exactly as the archive gave it: (key, shared names)."""
        row = await self.db.fetchone(
            "SELECT links FROM archive_related WHERE event_id = ?", (event_id,)
        )
        if row is None:
            return []
        return unpack_related(row[0])
