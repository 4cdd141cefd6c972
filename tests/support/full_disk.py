"""A SQLite archive whose disk is full, for real: its file capped at the pages it has."""

from __future__ import annotations

import sqlite3

from storage.sqlite import SQLiteStorage

# SQLite's own ceiling: as good as no cap.
NO_CAP = 4_294_967_294


async def fill_disk(storage: SQLiteStorage, *, guild_id: int, entity: str = "ISIL") -> int:
    """Cap the archive's file at its size (PRAGMA max_page_count: past it SQLite fails with
    SQLITE_FULL, "database or disk is full", as on a full disk), then fill what room is left
    with members 1, 2, … of the guild following the entity, until one fails for want of
    space. Returns how many went in. A write like the last (a member of a higher id
    following it) needs a page there is no room for: it fails too, until room_again()."""
    found = await storage.entities.find(entity)
    assert found is not None, f"{entity} is not in the archive"
    await _cap(storage, None)
    written = 0
    while True:
        try:
            await storage.subscriptions.subscribe(
                guild_id=guild_id,
                user_id=written + 1,
                entity_id=found[0],
                delivery="dm",
                channel_id=None,
            )
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
