"""Entities: finding one by a typed name, suggesting near names, and its profile."""

from __future__ import annotations

import datetime as dt
import difflib

from storage.db import Database, placeholders
from storage.models import EntityProfile, EventBrief
from storage.search import any_word_match, build_match
from storage.textindex import fold


class EntityRepository:
    def __init__(self, db: Database):
        self.db = db

    async def find(self, name: str) -> tuple[int, str] | None:
        """(id, display name) of the entity with this name, ignoring case and accents."""
        row = await self.db.fetchone(
            "SELECT id, name FROM entities WHERE folded = ?", (fold(name),)
        )
        return (row[0], row[1]) if row else None

    async def names(self, ids: list[int]) -> dict[int, str]:
        rows = await self.db.fetchall(
            f"SELECT id, name FROM entities WHERE id IN ({placeholders(len(ids))})", ids
        )
        return {row[0]: row[1] for row in rows}

    async def suggest(self, text: str, *, limit: int = 25) -> list[tuple[str, int]]:
        """(name, event count) of entities for what is typed: prefix matches first, most
        events first; empty input lists the entities with the most events."""
        folded = fold(text)
        if not folded:
            rows = await self.db.fetchall(
                "SELECT name, event_count FROM entities ORDER BY event_count DESC LIMIT ?", (limit,)
            )
            return [(r[0], r[1]) for r in rows]
        rows = await self.db.fetchall(
            "SELECT name, event_count FROM entities WHERE folded >= ? AND folded < ?"
            " ORDER BY event_count DESC LIMIT ?",
            (folded, folded + "\U0010ffff", limit),
        )
        found = [(r[0], r[1]) for r in rows]
        if len(found) < limit and (match := build_match(text, prefix_last=True)):
            rows = await self.db.fetchall(
                "SELECT e.name, e.event_count FROM entity_search s"
                " JOIN entities e ON e.id = s.rowid WHERE entity_search MATCH ?"
                " ORDER BY e.event_count DESC LIMIT ?",
                (match, limit * 2),
            )
            have = {name for name, _ in found}
            found.extend((r[0], r[1]) for r in rows if r[0] not in have)
        return found[:limit]

    async def closest(self, text: str, *, limit: int = 5) -> list[str]:
        """Known names nearest to a name that matched nothing (typos included)."""
        candidates = {name for name, _ in await self.suggest(text, limit=50)}
        if match := any_word_match(text):
            rows = await self.db.fetchall(
                "SELECT e.name FROM entity_search s JOIN entities e ON e.id = s.rowid"
                " WHERE entity_search MATCH ? ORDER BY e.event_count DESC LIMIT 200",
                (match,),
            )
            candidates.update(r[0] for r in rows)
        folded = fold(text)
        ranked = sorted(
            candidates,
            key=lambda name: -difflib.SequenceMatcher(None, folded, fold(name)).ratio(),
        )
        return ranked[:limit]

    async def profile(
        self, entity_id: int, *, recent: int = 10, co_entities: int = 10
    ) -> EntityProfile:
        head = await self.db.fetchone(
            "SELECT name, event_count,"
            " (SELECT MIN(date) FROM event_entities WHERE entity_id = e.id) AS first,"
            " (SELECT MAX(date) FROM event_entities WHERE entity_id = e.id) AS last"
            " FROM entities e WHERE id = ?",
            (entity_id,),
        )
        if head is None:
            raise KeyError(entity_id)
        rows = await self.db.fetchall(
            "SELECT ev.id, ev.key, ev.date, ev.headline, ev.complete,"
            " (SELECT url FROM sources s WHERE s.event_id = ev.id AND s.is_image = 0"
            "  ORDER BY position LIMIT 1) AS url"
            " FROM event_entities ee JOIN events ev ON ev.id = ee.event_id"
            " WHERE ee.entity_id = ? ORDER BY ee.date DESC, ee.event_id DESC LIMIT ?",
            (entity_id, recent),
        )
        briefs = tuple(
            EventBrief(
                r["id"],
                r["key"],
                dt.date.fromisoformat(r["date"]),
                r["headline"],
                bool(r["complete"]),
                r["url"],
            )
            for r in rows
        )
        co_rows = await self.db.fetchall(
            "SELECT en.name, COUNT(*) AS together FROM event_entities mine"
            " JOIN event_entities other ON other.event_id = mine.event_id"
            "  AND other.entity_id != mine.entity_id"
            " JOIN entities en ON en.id = other.entity_id"
            " WHERE mine.entity_id = ? GROUP BY other.entity_id"
            " ORDER BY together DESC, en.folded LIMIT ?",
            (entity_id, co_entities),
        )
        return EntityProfile(
            name=head["name"],
            event_count=head["event_count"],
            first_date=dt.date.fromisoformat(head["first"]) if head["first"] else None,
            last_date=dt.date.fromisoformat(head["last"]) if head["last"] else None,
            recent=briefs,
            co_entities=tuple((r[0], r[1]) for r in co_rows),
        )
