"""PostgreSQL: what a digest would post: the new events after its watermark, a batch at a
time, and the best of a day in earlier years, with their filters (storage.postgres.digests
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
from storage.postgres import event_rows
from storage.postgres.db import Database
from storage.textindex import fold, fold_text

# Text compared and ordered as SQLite does: code points (COLLATE "C"); a category case aside
# as NOCASE, ASCII letters only (lower() in "C"; migration 0007 indexes it).
_CATEGORY_IS = 'lower(e.category COLLATE "C") = lower(${} COLLATE "C")'


class DigestContentQueries(NewEventsReading):
    """The reading half of the digests' repository (storage.postgres.digests)."""

    db: Database

    async def _announced_rows(
        self, digest: Digest, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[tuple[int, bool]]:
        rows = await self.db.fetch(
            f"SELECT e.id, {WAITING_SQL.format('$4')} FROM events e"
            " WHERE e.announce AND e.id > $1 AND e.removed_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.target = $2 AND d.event_id = e.id)"
            " ORDER BY e.id LIMIT $3",
            after,
            f"digest:{digest.id}",
            batch,
            waiting_since or NOTHING_WAITS,
        )
        return [(r[0], r[1]) for r in rows]

    async def _recent_ids(
        self, since: dt.datetime, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[int]:
        rows = await self.db.fetch(
            "SELECT e.id FROM events e WHERE e.announce AND e.added_at >= $1 AND e.id > $2"
            f" AND e.removed_at IS NULL AND NOT {WAITING_SQL.format('$4')}"
            " ORDER BY e.id LIMIT $3",
            since,
            after,
            batch,
            waiting_since or NOTHING_WAITS,
        )
        return [r[0] for r in rows]

    async def _meeting(
        self, ids: Sequence[int], filters: DigestFilters, language: str, *, texts: bool
    ) -> list[EventText]:
        where, params = _conditions(filters, language, first=2)
        columns = "e.headline, e.summary" if texts else "NULL, NULL"
        rows = await self.db.fetch(
            f"SELECT e.id, {columns} FROM events e"
            f" WHERE e.id = ANY($1::bigint[]) AND {where or 'true'}",
            list(ids),
            *params,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def _read_events(self, ids: Sequence[int]) -> list[NewEvent]:
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS}, e.story,"
            " (SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
            '  WHERE ee.event_id = e.id ORDER BY en.event_count DESC, en.folded COLLATE "C"'
            "  LIMIT 1) AS top_entity"
            " FROM events e WHERE e.id = ANY($1::bigint[])",
            ids,
        )
        return [NewEvent(event_rows.brief(r), r["story"], r["top_entity"]) for r in rows]

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
        on_days, days = event_rows.on_month_days(month_days(month, day, before_year), 1)
        where, params = _conditions(filters, language, first=4)
        # Words are matched in Python: read enough of the day's best for them to choose from.
        pool = limit * WORDS_POOL_FACTOR if filters.words else limit
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS}, e.summary FROM events e"
            f" WHERE {on_days} AND e.date < $2 AND e.removed_at IS NULL"
            f" AND {where or 'true'} ORDER BY e.weight DESC, e.date DESC, e.id LIMIT $3",
            days,
            dt.date(before_year, 1, 1),
            pool,
            *params,
        )
        if filters.words:
            holds = text_matcher(filters.words)
            rows = [r for r in rows if holds(f"{r['headline']}\n{r['summary'] or ''}")]
        return [event_rows.brief(r) for r in rows[:limit]]

    async def has_category(self, name: str) -> bool:
        """Whether an event has exactly this category (case aside)."""
        found = await self.db.fetchval(
            f"SELECT 1 FROM events e WHERE {_CATEGORY_IS.format(1)}"
            " AND e.category IS NOT NULL LIMIT 1",
            name,
        )
        return found is not None

    async def categories(self, text: str, *, limit: int = 25) -> list[str]:
        """The portal's categories starting with (else holding) the text, for autocomplete."""
        rows = await self.db.fetch(
            "SELECT category FROM events WHERE category IS NOT NULL GROUP BY category"
            ' ORDER BY count(*) DESC, category COLLATE "C"'
        )
        typed = fold_text(text)
        names = [r[0] for r in rows]
        starting = [n for n in names if fold_text(n).startswith(typed)]
        holding = [n for n in names if typed in fold_text(n) and n not in starting]
        return (starting + holding)[:limit]


def _conditions(filters: DigestFilters, language: str, *, first: int) -> tuple[str, list[object]]:
    """The filters but words as SQL over events e (words need the search syntax's matcher),
    their parameters numbered from ``first``."""
    conditions: list[str] = []
    params: list[object] = []

    def param(value: object) -> int:
        params.append(value)
        return first + len(params) - 1

    if filters.entity_ids:
        conditions.append(
            "EXISTS (SELECT 1 FROM event_entities f WHERE f.event_id = e.id"
            f" AND f.entity_id = ANY(${param(list(filters.entity_ids))}::bigint[]))"
        )
    if filters.category:
        # A feed's categories are its items' entities; the portal's is the event's category.
        conditions.append(
            f"({_CATEGORY_IS.format(param(filters.category))} OR EXISTS (SELECT 1 FROM"
            " event_entities f WHERE f.event_id = e.id AND f.entity_id IN"
            " (SELECT COALESCE(canonical_id, id) FROM entities"
            f" WHERE folded = ${param(fold(filters.category))})))"
        )
    if language != "all":
        conditions.append(f"e.lang = ${param(language)}")
    return " AND ".join(conditions), params
