"""Everything SQL; nothing Discord. The bot and the CLI reach the archive through the
Storage interface (storage.api), opened with open_storage."""

from __future__ import annotations

from pathlib import Path

from storage.api import Storage
from storage.models import StorageError

__all__ = ["Storage", "StorageError", "open_storage"]


POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def is_postgresql(location: str | Path) -> bool:
    return isinstance(location, str) and location.lower().startswith(POSTGRESQL_SCHEMES)


async def open_storage(location: str | Path, *, create: bool = True) -> Storage:
    """The archive at ``location`` (a SQLite file path, or a postgresql:// URL), migrated to
    this Chronicle's schema; a new one only if ``create``."""
    # A backend is imported only when chosen: asyncpg need not load for a SQLite archive.
    if is_postgresql(location):
        from storage.postgres import PostgresStorage

        return await PostgresStorage.open(location, create=create)
    from storage.sqlite import SQLiteStorage

    return await SQLiteStorage.open(location, create=create)
