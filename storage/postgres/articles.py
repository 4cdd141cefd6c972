"""PostgreSQL: full article texts attached to the events they report."""

from __future__ import annotations

import datetime as dt

import asyncpg

from storage.models import ArticleCandidate, ArticleRecord
from storage.postgres.db import Database
from storage.postgres.textsearch import article_vector, index_tokens, lexeme
from storage.times import utc_now
from storage.words import word_starts

# Candidates by words are ranked headline first, as SQLite's EVENT_RANK weighs them
# (headline 4 to summary 1, period words nothing): ts_rank's weights (at most 1), in the
# order D, C, B, A.
_TEXT_WEIGHTS = "{0, 0, 0.25, 1}"


def any_word_query(text: str) -> str | None:
    """A tsquery finding events whose headline or summary holds any word of the text as a
    prefix (storage.words.word_starts), as the SQLite backend's any_word_match does."""
    alternatives: dict[str, None] = {}
    for start in word_starts(text):
        # A start is one token of the index (a Latin word's first letters, a Chinese
        # bigram): its first, should the index cut it further.
        tokens = index_tokens(start)
        if tokens:
            alternatives[f"{lexeme(tokens[0])}:*AB"] = None
    return " | ".join(alternatives) if alternatives else None


class ArticleRepository:
    def __init__(self, db: Database):
        self.db = db

    async def attach(self, event_id: int, article: ArticleRecord, *, score: float | None) -> bool:
        """Attach an article; False when this exact text is already attached (anywhere)."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "INSERT INTO articles(event_id, title, text, publisher, published, file_name,"
                " score, content_hash, search, attached_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::tsvector, $10)"
                " ON CONFLICT (content_hash) DO NOTHING",
                event_id,
                article.title,
                article.text,
                article.publisher,
                article.published,
                article.file_name,
                score,
                article.content_hash(),
                article_vector(article.title, article.text),
                utc_now(),
            )
            return status.endswith(" 1")

    async def attached_to(self, article: ArticleRecord) -> str | None:
        """Key of the event this exact text is attached to, if any."""
        key: str | None = await self.db.fetchval(
            "SELECT e.key FROM articles a JOIN events e ON e.id = a.event_id"
            " WHERE a.content_hash = $1",
            article.content_hash(),
        )
        return key

    async def candidates(
        self, words: str, *, around: dt.date | None, days: int, limit: int = 200
    ) -> list[ArticleCandidate]:
        """Events near a date (when known) and events sharing words with the text."""
        rows: list[asyncpg.Record] = []
        if around is not None:
            rows.extend(
                await self.db.fetch(
                    "SELECT id, key, date, headline, summary FROM events"
                    " WHERE date BETWEEN $1 AND $2 ORDER BY date DESC, id DESC LIMIT $3",
                    around - dt.timedelta(days=days),
                    around + dt.timedelta(days=days),
                    limit,
                )
            )
        if query := any_word_query(words):
            rows.extend(
                await self.db.fetch(
                    "SELECT id, key, date, headline, summary FROM events"
                    " WHERE search @@ $1::tsquery"
                    f" ORDER BY ts_rank('{_TEXT_WEIGHTS}', search, $1::tsquery) DESC,"
                    " date DESC, id DESC LIMIT $2",
                    query,
                    limit,
                )
            )
        unique = {row["id"]: row for row in rows}
        return [
            ArticleCandidate(r["id"], r["key"], r["date"], r["headline"], r["summary"])
            for r in unique.values()
        ]
