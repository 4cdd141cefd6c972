"""Everything SQL; nothing Discord. The bot and the CLI reach the archive through the
Storage interface (storage.api), opened with open_storage."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from storage.api import Storage
from storage.models import StorageError

__all__ = ["Storage", "StorageError", "held_by_one_bot", "open_storage"]


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


def held_by_one_bot(location: str | Path, *, create: bool = True) -> AbstractContextManager[None]:
    """For a bot process's life: its database to itself, when its backend cannot be shared
    by several bots (a SQLite file; StorageError when another bot holds it). PostgreSQL is
    shared by design: its processes share out the work through Storage.lead. Without
    ``create``, a database not made yet is not held."""
    if postgresql_url(location) is not None:
        return nullcontext()
    from storage.sqlite.bot_lock import bot_lock

    return bot_lock(Path(location), create=create)
