"""A SQLite archive whose disk is full, for real: its file capped at the pages it has."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

from storage.sqlite import SQLiteStorage

# SQLite's own ceiling: as good as no cap.
NO_CAP = 4_294_967_294


async def fill_disk(storage: SQLiteStorage, write: Callable[[int], Awaitable[object]]) -> int:
    """Cap the archive's file at its size (PRAGMA max_page_count: past it SQLite fails with
    SQLITE_FULL, "database or disk is full", as on a full disk), then write(1), write(2), …
    until one fails for want of space. Returns how many went in. A write like the last
    needs a page there is no room for: it fails too, until room_again()."""
    await _cap(storage, None)
    written = 0
    while True:
        try:
            await write(written + 1)
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            return written
        written += 1
        assert written < 100_000, "the cap never bit"


async def room_again(storage: SQLiteStorage) -> None:
    """Space freed: the file may grow again."""
    await _cap(storage, NO_CAP)


async def _cap(storage: SQLiteStorage, pages: int | None) -> None:
    writer = storage.db.writer
    if pages is None:
        (pages,) = await (await writer.execute("PRAGMA page_count")).fetchone() or (0,)
    await writer.execute(f"PRAGMA max_page_count = {int(pages)}")
