"""Everything SQL; nothing Discord. The bot and the CLI reach the archive through the
Storage interface (storage.api), opened with open_storage."""

from __future__ import annotations

from pathlib import Path

from storage.api import Storage
from storage.models import StorageError

__all__ = ["Storage", "StorageError", "open_storage"]


POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def postgresql_url(location: str | Path) -> str | None:
    """The location as a PostgreSQL URL, when it is one."""
    if isinstance(location, str) and location.lower().startswith(POSTGRESQL_SCHEMES):
        return location
    return None


async def open_storage(location: str | Path, *, create: bool = True) -> Storage:
    """The archive at ``location`` (a SQLite file path, or a postgresql:// URL), migrated to
    this Chronicle's schema; a new one only if ``create``."""
    # A backend is imported only when chosen: asyncpg need not load for a SQLite archive.
    if (url := postgresql_url(location)) is not None:
        from storage.postgres import PostgresStorage

        return await PostgresStorage.open(url, create=create)
    from storage.sqlite import SQLiteStorage

    return await SQLiteStorage.open(location, create=create)
