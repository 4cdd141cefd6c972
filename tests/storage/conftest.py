"""The contract suite: every test in tests/storage that takes ``storage`` (or
``sample_storage``, built on it) runs once per backend in BACKENDS, through the
storage.api interface. A backend that passes it can stand behind the bot.

Tests of one backend's internals (query plans, SQL, its files) live in a folder of
their own, tests/storage/<backend>/, with that backend's fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage import Storage, open_storage
from storage.sqlite import SQLiteStorage

# Opens the archive called `name` of a test's folder (a file, a database), made on first open.
Opener = Callable[[Path, str], Awaitable[Storage]]
# Runs one statement of plain SQL (`?` for parameters) on a backend's tables, and returns
# the rows it reads: for the few contract tests that look at a ledger the interface does
# not show, or set one up.
Runner = Callable[[Storage, str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]
# What tests take: open_archive(name), and raw_sql(statement, *params).
OpenArchive = Callable[[str], Awaitable[Storage]]
RawSQL = Callable[..., Awaitable[list[tuple[Any, ...]]]]


async def _open_sqlite(folder: Path, name: str) -> Storage:
    return await open_storage(folder / f"{name}.db")


async def _sqlite_sql(storage: Storage, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    assert isinstance(storage, SQLiteStorage)
    async with storage.db.transaction() as conn:
        return [tuple(row) for row in await conn.execute_fetchall(sql, params)]


BACKENDS: dict[str, tuple[Opener, Runner]] = {"sqlite": (_open_sqlite, _sqlite_sql)}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_archive(backend: str, tmp_path: Path) -> OpenArchive:
    """Opens an archive of this test by name: a fresh one, or (the same name again, as
    after a restart) the one opened before."""
    opener = BACKENDS[backend][0]
    return lambda name: opener(tmp_path, name)


@pytest.fixture
def raw_sql(backend: str, storage: Storage) -> RawSQL:
    """raw_sql(statement, *params) on the test's archive: the rows it reads, if any."""
    run = BACKENDS[backend][1]
    return lambda sql, *params: run(storage, sql, params)


@pytest.fixture
async def storage(open_archive: OpenArchive) -> AsyncIterator[Storage]:
    store = await open_archive("chronicle")
    try:
        yield store
    finally:
        await store.close()
