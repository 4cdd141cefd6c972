"""What the SQLite backend says when its file fails: the cause (told to members by the bot)
and a line for the operator, for a full disk and for a write lock held too long."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.services.imports import import_archive
from storage.problems import Cause
from storage.sqlite import SQLiteStorage
from tests.conftest import SAMPLE_NEWS
from tests.support.full_disk import fill_disk, room_again

GUILD = 1000


async def follow(storage: SQLiteStorage, user_id: int) -> None:
    found = await storage.entities.find("ISIL")
    assert found is not None
    await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=user_id, entity_id=found[0], delivery="dm", channel_id=None
    )


async def test_a_full_disk_loses_nothing_written_and_is_said_so(storage: SQLiteStorage) -> None:
    await import_archive(storage, [SAMPLE_NEWS])
    written = await fill_disk(storage, guild_id=GUILD)
    with pytest.raises(sqlite3.OperationalError) as failed:
        await follow(storage, 10**9)
    problem = storage.explain(failed.value)
    assert problem is not None and problem.cause is Cause.NO_SPACE and problem.transient
    assert str(problem).startswith(f"cannot write to the database {storage.location}:")
    assert str(problem).endswith("free some disk space")

    # What went in before stays; the failed write left nothing half done.
    rows = await storage.db.fetchall("SELECT user_id FROM subscriptions ORDER BY user_id")
    assert [row[0] for row in rows] == list(range(1, written + 1))
    await room_again(storage)
    await follow(storage, 10**9)
    assert len(await storage.subscriptions.for_member(GUILD, 10**9)) == 1


async def test_a_write_lock_held_longer_than_a_write_waits_is_busy(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    await import_archive(storage, [SAMPLE_NEWS])
    await storage.db.writer.execute("PRAGMA busy_timeout = 200")
    importer = sqlite3.connect(tmp_path / "chronicle.db", isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # the write lock, as an import's batch holds it
    try:
        with pytest.raises(sqlite3.OperationalError) as failed:
            await follow(storage, 1)
    finally:
        importer.rollback()
        importer.close()
    problem = storage.explain(failed.value)
    assert problem is not None and problem.cause is Cause.BUSY and problem.transient
    assert "another Chronicle is writing to it" in str(problem)
    await follow(storage, 1)


async def test_a_bug_is_not_the_archive_s_state(storage: SQLiteStorage) -> None:
    with pytest.raises(sqlite3.OperationalError) as failed:
        await storage.db.fetchall("SELECT no_such_column FROM events")
    problem = storage.explain(failed.value)
    assert problem is not None and problem.cause is Cause.OTHER and not problem.transient
    assert storage.explain(ValueError("not the database's")) is None
