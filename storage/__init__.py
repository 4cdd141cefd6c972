"""Everything SQL; nothing Discord. The bot and the CLI reach the archive through the
Storage interface (storage.api), opened with open_storage."""

from __future__ import annotations

from pathlib import Path

from storage.api import Storage
from storage.models import StorageError

__all__ = ["Storage", "StorageError", "open_storage"]


async def open_storage(location: str | Path, *, create: bool = True) -> Storage:
    """The archive at ``location``, a SQLite file path, migrated to this Chronicle's schema;
    a new file only if ``create``."""
    from storage.sqlite import SQLiteStorage  # the backend is loaded only when chosen

    return await SQLiteStorage.open(location, create=create)
