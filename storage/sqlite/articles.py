"""Full article texts attached to the event they report on."""

from __future__ import annotations

import datetime as dt

from storage.models import ArticleCandidate, ArticleRecord
from storage.sqlite.db import Database
from storage.sqlite.fts import EVENT_RANK, any_word_match, in_text
from storage.times import now_timestamp


class ArticleRepository:
    def __init__(self, db: Database):
        self.db = db

    async def attach(self, event_id: int, article: ArticleRecord, *, score: float | None) -> bool:
        """Attach an article; False when this exact text is already attached (anywhere)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO articles(event_id, title, text, publisher, published,"
                " file_name, score, content_hash, attached_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    event_id,
                    article.title,
                    article.text,
                    article.publisher,
                    article.published.isoformat() if article.published else None,
                    article.file_name,
                    score,
                    article.content_hash(),
                    now_timestamp(),
                ),
            )
            return cursor.rowcount > 0

    async def attached_to(self, article: ArticleRecord) -> str | None:
        """Key of the event this exact text is attached to, if any."""
        row = await self.db.fetchone(
            "SELECT e.key FROM articles a JOIN events e ON e.id = a.event_id"
            " WHERE a.content_hash = ?",
            (article.content_hash(),),
        )
        return row[0] if row else None

    async def candidates(
        self, words: str, *, around: dt.date | None, days: int, limit: int = 200
    ) -> list[ArticleCandidate]:
        """Events near a date (when known) and events sharing words with the text."""
        rows = []
        if around is not None:
            start = (around - dt.timedelta(days=days)).isoformat()
            end = (around + dt.timedelta(days=days)).isoformat()
            rows.extend(
                await self.db.fetchall(
                    "SELECT id, key, date, headline, summary FROM events"
                    " WHERE date BETWEEN ? AND ? ORDER BY date DESC LIMIT ?",
                    (start, end, limit),
                )
            )
        if match := any_word_match(words):
            rows.extend(
                await self.db.fetchall(
                    "SELECT e.id, e.key, e.date, e.headline, e.summary FROM event_search s"
                    " JOIN events e ON e.id = s.rowid WHERE event_search MATCH ?"
                    f" ORDER BY {EVENT_RANK} LIMIT ?",
                    (in_text(match), limit),
                )
            )
        unique = {row["id"]: row for row in rows}
        return [
            ArticleCandidate(
                r["id"], r["key"], dt.date.fromisoformat(r["date"]), r["headline"], r["summary"]
            )
            for r in unique.values()
        ]
