"""What the bot, the CLI and the benchmarks may ask of storage: one typed Protocol per
repository (storage.api_archive, storage.api_sources, storage.api_delivery), and Storage,
which bundles them. A backend implements these (storage.sqlite, storage.postgres); the domain
types they take and return are in storage.models.

Nothing here knows SQL. Each Protocol holds what callers rely on, and the contract suite
(tests/storage) checks each backend against it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from storage.api_archive import ArticleRepository, EntityRepository, EventRepository, SearchProvider
from storage.api_delivery import (
    DigestRepository,
    GuildSettingsRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from storage.api_sources import FeedRepository, PortalRepository
from storage.ledgers import Compaction
from storage.models import ArchiveStats
from storage.problems import Problem


class Storage(Protocol):
    """One archive: its repositories, and what spans them."""

    @property
    def location(self) -> str:
        """Where the archive is, for people (a file path; a database URL without password)."""
        ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def search(self) -> SearchProvider: ...

    @property
    def entities(self) -> EntityRepository: ...

    @property
    def articles(self) -> ArticleRepository: ...

    @property
    def feeds(self) -> FeedRepository: ...

    @property
    def portal(self) -> PortalRepository: ...

    @property
    def digests(self) -> DigestRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def settings(self) -> GuildSettingsRepository: ...

    @property
    def ledgers(self) -> LedgerRepository: ...

    async def stats(self) -> ArchiveStats: ...

    def bulk_writes(self) -> AbstractAsyncContextManager[None]:
        """Many large write transactions to come (an import): tune for throughput."""
        ...

    async def optimize_search(self) -> None:
        """Compact the full-text index after a large import, in short transactions."""
        ...

    async def compact(self) -> Compaction | None:
        """Give the space of deleted rows back to the operating system: SQLite rewrites
        its file (VACUUM; the bot must not be using it, and it needs about the file's size
        free on disk meanwhile) and says how big it was and is. None where the backend
        keeps that space for new rows itself (PostgreSQL: VACUUM, not VACUUM FULL, which
        would lock the tables)."""
        ...

    def explain(self, exc: BaseException) -> Problem | None:
        """What went wrong, when ``exc`` is a failure of this backend's database (a full
        disk, a read-only file, a lock, a server gone); None otherwise."""
        ...

    async def lead(self, name: str) -> bool:
        """Whether this process holds the lead for ``name`` (work that one process of many
        sharing the archive does, such as polling feeds) now; takes it when it is free.
        The lead is held until the process ends (or its hold on the database drops), then
        another process takes it at its next ask. A backend for one process always says
        True."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Storage: ...

    async def __aexit__(self, *exc: object) -> None: ...
