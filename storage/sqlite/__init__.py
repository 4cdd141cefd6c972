"""The SQLite backend: one file, one writer connection and one reader (storage.sqlite.db)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from storage.ledgers import Compaction
from storage.models import ArchiveStats
from storage.problems import Problem
from storage.sqlite.articles import ArticleRepository
from storage.sqlite.db import Database, connect_plain, database_problem
from storage.sqlite.digests import DigestRepository
from storage.sqlite.entities import EntityRepository
from storage.sqlite.events import EventRepository
from storage.sqlite.feeds import FeedRepository
from storage.sqlite.ledgers import LedgerRepository
from storage.sqlite.portal import PortalRepository
from storage.sqlite.search import SQLiteSearch
from storage.sqlite.settings import GuildSettingsRepository
from storage.sqlite.subscriptions import SubscriptionRepository


class SQLiteStorage:
    """The archive in one SQLite file, with its repositories (storage.api.Storage)."""

    def __init__(self, db: Database):
        self.db = db
        self.events = EventRepository(db)
        self.search = SQLiteSearch(db)
        self.entities = EntityRepository(db)
        self.articles = ArticleRepository(db)
        self.digests = DigestRepository(db)
        self.settings = GuildSettingsRepository(db)
        self.subscriptions = SubscriptionRepository(db)
        self.feeds = FeedRepository(db)
        self.portal = PortalRepository(db)
        self.ledgers = LedgerRepository(db)

    @classmethod
    async def open(cls, path: str | Path, *, create: bool = True) -> SQLiteStorage:
        """The archive at path; a new one only if ``create`` (see Database.open)."""
        return cls(await Database.open(path, create=create))

    @property
    def location(self) -> str:
        return str(self.db.path)

    def explain(self, exc: BaseException) -> Problem | None:
        if isinstance(exc, sqlite3.Error):
            return database_problem(self.db.path, exc)
        return None

    async def lead(self, name: str) -> bool:
        # One SQLite file serves one process (the bot refuses shards on SQLite): it leads.
        return True

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> SQLiteStorage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def bulk_writes(self) -> AbstractAsyncContextManager[None]:
        return self.db.bulk_writes()

    async def optimize_search(self) -> None:
        await self.db.merge_full_text()

    async def compact(self) -> Compaction:
        path = self.db.path
        before = _bytes_on_disk(path)
        await asyncio.to_thread(_vacuum, path)
        return Compaction(bytes_before=before, bytes_after=_bytes_on_disk(path))

    async def stats(self) -> ArchiveStats:
        counters = {r[0]: r[1] for r in await self.db.fetchall("SELECT name, value FROM counters")}
        first = await self.db.fetchone("SELECT MIN(date) FROM events")
        last = await self.db.fetchone("SELECT MAX(date) FROM events")
        return ArchiveStats(
            events=counters.get("events", 0),
            incomplete=counters.get("incomplete", 0),
            entities=counters.get("entities", 0),
            sources=counters.get("sources", 0),
            articles=counters.get("articles", 0),
            first_date=dt.date.fromisoformat(first[0]) if first and first[0] else None,
            last_date=dt.date.fromisoformat(last[0]) if last and last[0] else None,
            extra={**await self.feeds.counts(), **await self.portal.counts()},
            portal_read_at=await self.portal.last_read(),
        )


def _vacuum(path: Path) -> None:
    """VACUUM on a connection of its own (the writer's keeps its temporary tables in
    memory: a copy of the whole file would be made there), then the write-ahead log, which
    the copy went through, emptied."""
    db = connect_plain(path)
    try:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA temp_store=FILE")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _bytes_on_disk(path: Path) -> int:
    """The database file and its write-ahead log."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
