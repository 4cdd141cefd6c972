"""Opening the database: migrations once, WAL, clear errors for files it cannot use."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import Storage, StorageError, open_storage
from storage.sqlite.db import (
    BULK_AUTOMERGE,
    BULK_CHECKPOINT_PAGES,
    BULK_FULL_TEXT_TABLES,
    DEFAULT_AUTOMERGE,
    DEFAULT_CHECKPOINT_PAGES,
    migrations,
)


async def test_migrations_apply_once_and_wal_is_on(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    async with await open_storage(path):
        pass
    async with await open_storage(path) as storage:
        rows = await storage.db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [v for v, _, _ in migrations()]
        mode = await storage.db.fetchone("PRAGMA journal_mode")
        assert mode[0] == "wal"


async def test_database_from_a_newer_chronicle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    async with await open_storage(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x')")
    with pytest.raises(StorageError, match="newer Chronicle"):
        await open_storage(path)


async def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        await open_storage(path)
    assert path.read_text().startswith("these are my notes")  # nothing lost


async def test_empty_archive_stats(tmp_path: Path) -> None:
    async with await open_storage(tmp_path / "a.db") as storage:
        stats = await storage.stats()
        assert (stats.events, stats.first_date, stats.last_date) == (0, None, None)


async def test_bulk_writes_checkpoint_and_merge_less_often_and_then_as_before(
    tmp_path: Path,
) -> None:
    async def settings(storage: Storage) -> tuple[int, ...]:
        merges = [
            (await storage.db.fetchone(f"SELECT v FROM {table}_config WHERE k = 'automerge'"))
            for table in BULK_FULL_TEXT_TABLES
        ]
        pages = (await storage.db.writer.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0]
        return (pages, *(DEFAULT_AUTOMERGE if row is None else row[0] for row in merges))

    before = (DEFAULT_CHECKPOINT_PAGES, DEFAULT_AUTOMERGE, DEFAULT_AUTOMERGE)
    async with await open_storage(tmp_path / "a.db") as storage:
        assert await settings(storage) == before
        async with storage.bulk_writes():
            assert await settings(storage) == (
                BULK_CHECKPOINT_PAGES,
                BULK_AUTOMERGE,
                BULK_AUTOMERGE,
            )
        with pytest.raises(RuntimeError):
            async with storage.bulk_writes():
                raise RuntimeError("an import failed")
        assert await settings(storage) == before


async def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    """A write cancelled (Ctrl-C, a shutdown) while another process holds the write lock:
    its BEGIN goes on in the writer's thread and succeeds once the lock is free. The
    transaction it opened is rolled back, not left for the next writer to trip on ("cannot
    start a transaction within a transaction")."""
    storage = await open_storage(tmp_path / "chronicle.db")
    try:
        importer = sqlite3.connect(tmp_path / "chronicle.db", isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")  # the write lock, as an import's batch holds it
        write = asyncio.create_task(storage.settings.set_timezone(1, "Europe/Berlin"))
        await asyncio.sleep(0.3)  # waiting in BEGIN IMMEDIATE (busy_timeout)
        write.cancel()
        released = asyncio.get_running_loop().call_later(0.2, importer.rollback)
        with pytest.raises(asyncio.CancelledError):
            await write
        released.cancel()
        importer.rollback()
        importer.close()
        await storage.settings.set_timezone(1, "Asia/Tokyo")
        assert (await storage.settings.get(1)).timezone == "Asia/Tokyo"
    finally:
        await storage.close()
