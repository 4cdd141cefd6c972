"""The PostgreSQL backend: one database shared by every bot process (storage.postgres.db)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg

from storage.models import ArchiveStats
from storage.postgres.articles import ArticleRepository
from storage.postgres.db import (
    Database,
    ServerUnreachable,
    _connect,
    _pool_options,
    database_problem,
    redacted,
)
from storage.postgres.digests import DigestRepository
from storage.postgres.entities import EntityRepository
from storage.postgres.events import EventRepository
from storage.postgres.feeds import FeedRepository
from storage.postgres.ledgers import LedgerRepository
from storage.postgres.portal import PortalRepository
from storage.postgres.search import PostgresSearch
from storage.postgres.settings import GuildSettingsRepository
from storage.postgres.subscriptions import SubscriptionRepository
from storage.problems import Problem


class PostgresStorage:
    """The archive in one PostgreSQL database, with its repositories (storage.api.Storage)."""

    def __init__(self, db: Database):
        self.db = db
        self.events = EventRepository(db)
        self.search = PostgresSearch(db)
        self.entities = EntityRepository(db)
        self.articles = ArticleRepository(db)
        self.digests = DigestRepository(db)
        self.settings = GuildSettingsRepository(db)
        self.subscriptions = SubscriptionRepository(db)
        self.feeds = FeedRepository(db)
        self.portal = PortalRepository(db)
        self.ledgers = LedgerRepository(db)
        # lead(): the connection holding this process's leads, kept apart from the pool so
        # that its open transaction, and the advisory locks in it, live as long as it does.
        self._lead_conn: asyncpg.Connection | None = None
        self._leads: set[str] = set()
        self._lead_turn = asyncio.Lock()

    @classmethod
    async def open(cls, url: str, *, create: bool = True) -> PostgresStorage:
        return cls(await Database.open(url, create=create))

    @property
    def location(self) -> str:
        return redacted(self.db.url)

    def explain(self, exc: BaseException) -> Problem | None:
        if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | ServerUnreachable):
            return database_problem(self.db.url, exc)
        return None

    async def lead(self, name: str) -> bool:
        """A transaction-level advisory lock, in a transaction kept open for the process's
        life on a connection of its own. A pooler in transaction mode (pgbouncer) keeps one
        server connection for an open transaction, as a direct connection is one; a
        session-level lock would be held by whichever client the pooler's server connection
        served. When the process dies its connection drops, the transaction ends, the lock
        frees, and another process's next ask takes it. The key is the name within this
        schema."""
        async with self._lead_turn:
            conn = self._lead_conn
            if conn is not None:
                try:
                    if name in self._leads:
                        await conn.fetchval("SELECT 1")
                        return True
                    return await self._try_lead(conn, name)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    # The connection (or its transaction) is gone and its locks with it:
                    # ask again afresh.
                    await self._drop_leads()
            dsn, options = _pool_options(self.db.url)
            self._lead_conn = await _connect(dsn, **options)
            return await self._try_lead(self._lead_conn, name)

    async def _try_lead(self, conn: asyncpg.Connection, name: str) -> bool:
        """Ask for a lead; a transaction holding none is ended, so that behind a pooler only
        a leader keeps a server connection."""
        if not conn.is_in_transaction():
            await conn.execute("BEGIN")
        held = await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended("
            "'chronicle.lead:' || current_schema() || ':' || $1::text, 0))",
            name,
        )
        if held:
            self._leads.add(name)
        elif not self._leads:
            await conn.execute("COMMIT")
        return bool(held)

    async def _drop_leads(self) -> None:
        conn, self._lead_conn = self._lead_conn, None
        self._leads.clear()
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        await self._drop_leads()
        await self.db.close()

    async def __aenter__(self) -> PostgresStorage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def bulk_writes(self) -> AbstractAsyncContextManager[None]:
        return _nothing_to_tune()

    async def optimize_search(self) -> None:
        # GIN indexes take new rows through their pending list; VACUUM merges it and
        # ANALYZE gives the planner the new sizes. VACUUM cannot run in a transaction.
        async with self.db.pool.acquire() as conn:
            await conn.execute("VACUUM (ANALYZE) events")

    async def compact(self) -> None:
        # The space of deleted rows is reused for new ones once VACUUM has seen it (as
        # autovacuum does anyway); VACUUM FULL would give it back to the system, but locks
        # the tables while it rewrites them.
        async with self.db.pool.acquire() as conn:
            await conn.execute("VACUUM (ANALYZE) deliveries, digest_runs")

    async def stats(self) -> ArchiveStats:
        counters = {r[0]: r[1] for r in await self.db.fetch("SELECT name, value FROM counters")}
        span = await self.db.fetchrow("SELECT min(date), max(date) FROM events")
        return ArchiveStats(
            events=counters.get("events", 0),
            incomplete=counters.get("incomplete", 0),
            entities=counters.get("entities", 0),
            sources=counters.get("sources", 0),
            articles=counters.get("articles", 0),
            first_date=span[0] if span else None,
            last_date=span[1] if span else None,
            extra={**await self.feeds.counts(), **await self.portal.counts()},
            portal_read_at=await self.portal.last_read(),
        )


@asynccontextmanager
async def _nothing_to_tune() -> AsyncIterator[None]:
    # PostgreSQL needs no setting changed for an import's many large transactions.
    yield


