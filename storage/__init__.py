"""Everything SQL; nothing Discord. The bot and the CLI reach the archive through Storage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from storage.articles import ArticleRepository
from storage.db import Database, StorageError
from storage.digests import DigestRepository
from storage.entities import EntityRepository
from storage.events import EventRepository
from storage.feeds import FeedRepository
from storage.models import ArchiveStats
from storage.portal import PortalRepository
from storage.settings import GuildSettingsRepository
from storage.subscriptions import SubscriptionRepository

__all__ = ["Storage", "StorageError"]


class Storage:
    """The archive in one SQLite file, with its repositories."""

    def __init__(self, db: Database):
        self.db = db
        self.events = EventRepository(db)
        self.entities = EntityRepository(db, self.events)
        self.articles = ArticleRepository(db)
        self.digests = DigestRepository(db)
        self.settings = GuildSettingsRepository(db)
        self.subscriptions = SubscriptionRepository(db)
        self.feeds = FeedRepository(db, self.events)
        self.portal = PortalRepository(db, self.events)

    @classmethod
    async def open(cls, path: str | Path, *, create: bool = True) -> Storage:
        """The archive at path; a new one only if ``create`` (see Database.open)."""
        return cls(await Database.open(path, create=create))

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

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
