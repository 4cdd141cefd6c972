"""SQLite: what a digest would post: the new events after its watermark, a batch at a
time, and the best of a day in earlier years, with their filters (storage.sqlite.digests
keeps the digests and their runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage.digest_reading import NewEventsReading
from storage.digest_rules import (
    WORDS_POOL_FACTOR,
    EventText,
)
from storage.matching import text_matcher
from storage.models import NO_FILTERS, Digest, DigestFilters, EventBrief, NewEvent
from storage.news_rules import NOTHING_WAITS, WAITING_SQL
from storage.onthisday_rules import month_days
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.textindex import fold, fold_text
from storage.times import to_timestamp


class DigestContentQueries(NewEventsReading):
    """The reading half of the digests' repository (storage.sqlite.digests)."""

    db: Database

    async def _announced_rows(
        self, digest: Digest, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[tuple[int, bool]]:
        rows = await self.db.fetchall(
            f"SELECT e.id, {WAITING_SQL.format('?')} FROM events e"
            " INDEXED BY events_announced"
            " WHERE e.announce = 1 AND e.id > ? AND e.removed_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.target = ? AND d.event_id = e.id)"
            " ORDER BY e.id LIMIT ?",
            (to_timestamp(waiting_since or NOTHING_WAITS), after, f"digest:{digest.id}", batch),
        )
        return [(r[0], bool(r[1])) for r in rows]

    async def _recent_ids(
        self, since: dt.datetime, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT e.id FROM events e WHERE e.announce = 1 AND e.added_at >= ?"
            f" AND e.id > ? AND e.removed_at IS NULL AND NOT {WAITING_SQL.format('?')}"
            " ORDER BY e.id LIMIT ?",
            (to_timestamp(since), after, to_timestamp(waiting_since or NOTHING_WAITS), batch),
        )
        return [r[0] for r in rows]

    async def _meeting(
        self, ids: Sequence[int], filters: DigestFilters, language: str, *, texts: bool
    ) -> list[EventText]:
        where, params = _conditions(filters, language)
        columns = "e.headline, e.summary" if texts else "NULL, NULL"
        met: list[EventText] = []
        for chunk in chunked(ids):
            rows = await self.db.fetchall(
                f"SELECT e.id, {columns} FROM events e"
                f" WHERE e.id IN ({placeholders(len(chunk))}) AND {where or '1'}",
                [*chunk, *params],
            )
            met += [(r[0], r[1], r[2]) for r in rows]
        return met

    async def _read_events(self, ids: Sequence[int]) -> list[NewEvent]:
        events: list[NewEvent] = []
        for chunk in chunked(ids):
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS}, e.story,"
                " (SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
                "  WHERE ee.event_id = e.id ORDER BY en.event_count DESC, en.folded LIMIT 1)"
                " AS top_entity"
                f" FROM events e WHERE e.id IN ({placeholders(len(chunk))})",
                list(chunk),
            )
            events += [NewEvent(event_rows.brief(r), r["story"], r["top_entity"]) for r in rows]
        return events

    async def on_this_day_best(
        self,
        month: int,
        day: int,
        *,
        before_year: int,
        limit: int,
        filters: DigestFilters = NO_FILTERS,
        language: str = "all",
    ) -> list[EventBrief]:
        """The events of a month and day that pass the filters and the archive says most
        about (sources, related links, entities), best first; from the years before
        `before_year`, the day's own year (whose February 28 covers February 29 if it has
        none)."""
        days = month_days(month, day, before_year)
        where, params = _conditions(filters, language)
        # Words are matched in Python: read enough of the day's best for them to choose from.
        pool = limit * WORDS_POOL_FACTOR if filters.words else limit
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS}, e.summary FROM events e"
            " INDEXED BY events_by_month_day_weight"
            f" WHERE e.month_day IN ({placeholders(len(days))}) AND e.date < ?"
            f" AND e.removed_at IS NULL AND {where or '1'}"
            " ORDER BY e.weight DESC, e.date DESC, e.id LIMIT ?",
            (*days, f"{before_year:04d}-01-01", *params, pool),
        )
        if filters.words:
            holds = text_matcher(filters.words)
            rows = [r for r in rows if holds(f"{r['headline']}\n{r['summary'] or ''}")]
        return [event_rows.brief(r) for r in rows[:limit]]

    async def has_category(self, name: str) -> bool:
        """Whether an event has exactly this category (case aside)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM events WHERE category = ? COLLATE NOCASE LIMIT 1", (name,)
        )
        return row is not None

    async def categories(self, text: str, *, limit: int = 25) -> list[str]:
        """The portal's categories starting with (else holding) the text, for autocomplete."""
        rows = await self.db.fetchall(
            "SELECT category FROM events WHERE category IS NOT NULL GROUP BY category"
            " ORDER BY COUNT(*) DESC"
        )
        typed = fold_text(text)
        names = [r[0] for r in rows]
        starting = [n for n in names if fold_text(n).startswith(typed)]
        holding = [n for n in names if typed in fold_text(n) and n not in starting]
        return (starting + holding)[:limit]


def _conditions(filters: DigestFilters, language: str) -> tuple[str, list[object]]:
    """The filters but words as SQL over events e (words need the search syntax's matcher)."""
    conditions: list[str] = []
    params: list[object] = []
    if filters.entity_ids:
        conditions.append(
            "EXISTS (SELECT 1 FROM event_entities f WHERE f.event_id = e.id"
            f" AND f.entity_id IN ({placeholders(len(filters.entity_ids))}))"
        )
        params.extend(filters.entity_ids)
    if filters.category:
        # A feed's categories are its items' entities; the portal's is the event's category.
        conditions.append(
            "(e.category = ? COLLATE NOCASE OR EXISTS (SELECT 1 FROM event_entities f"
            " WHERE f.event_id = e.id AND f.entity_id IN"
            " (SELECT COALESCE(canonical_id, id) FROM entities WHERE folded = ?)))"
        )
        params.extend([filters.category, fold(filters.category)])
    if language != "all":
        conditions.append("e.lang = ?")
        params.append(language)
    return " AND ".join(conditions), params
