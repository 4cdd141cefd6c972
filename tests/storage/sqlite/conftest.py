"""Tests of the SQLite backend's own workings (SQL, query plans, migrations of its files,
FTS5): the SQLite archive alone, with its internals at hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.sqlite import SQLiteStorage
from tests.support.templates import new_sqlite_archive


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    await new_sqlite_archive(tmp_path / "chronicle.db")
    store = await SQLiteStorage.open(tmp_path / "chronicle.db")
    try:
        yield store
    finally:
        await store.close()
