"""The contract suite: every test in tests/storage that takes ``storage`` (or
``sample_storage``, built on it) runs once per backend in BACKENDS, through the
storage.api interface. A backend that passes it can stand behind the bot.

Tests of one backend's internals (query plans, SQL, its files) live in a folder of
their own, tests/storage/<backend>/, with that backend's fixture."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.services.imports import import_archive
from storage import Storage, open_storage
from storage.sqlite import SQLiteStorage
from tests.conftest import SAMPLE_NEWS, SEED_PAGES, TEST_DATA
from tests.support import postgres
from tests.support.templates import new_sqlite_archive

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
    await new_sqlite_archive(folder / f"{name}.db")
    return await open_storage(folder / f"{name}.db")


async def _sqlite_sql(storage: Storage, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    assert isinstance(storage, SQLiteStorage)
    async with storage.db.transaction() as conn:
        return [tuple(row) for row in await conn.execute_fetchall(sql, params)]


# PostgreSQL: each archive is a schema of the session's database, named after the test's
# folder (unique per test) and the archive's name.
_postgres_url: str | None = None
_schemas: dict[tuple[Path, str], str] = {}
_schema_numbers = itertools.count(1)


async def _open_postgres(folder: Path, name: str) -> Storage:
    assert _postgres_url is not None
    schema = _schemas.setdefault((folder, name), f"t{next(_schema_numbers)}_{name}".lower())
    await postgres.create_schema(_postgres_url, schema)
    return await open_storage(postgres.with_schema(_postgres_url, schema))


async def _postgres_sql(
    storage: Storage, sql: str, params: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    from storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    pieces = sql.split("?")  # the placeholders, numbered as PostgreSQL wants them
    statement = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))
    async with storage.db.transaction() as conn:
        return [tuple(row) for row in await conn.fetch(statement, *params)]


BACKENDS: dict[str, tuple[Opener, Runner]] = {
    "sqlite": (_open_sqlite, _sqlite_sql),
    "postgresql": (_open_postgres, _postgres_sql),
}


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """The session's PostgreSQL database, or None with the reason in NO_POSTGRES."""
    global _postgres_url
    with contextlib.ExitStack() as stack:
        try:
            server = os.environ.get(postgres.URL_SETTING) or stack.enter_context(
                postgres.throwaway_cluster()
            )
            database = asyncio.run(postgres.create_database(server))
        except Exception as exc:  # any reason to have no server is said in the skip
            _no_postgres.append(str(exc) or type(exc).__name__)
            yield None
            return
        _postgres_url = database
        try:
            yield database
        finally:
            _postgres_url = None
            asyncio.run(postgres.drop_database(server, database))


_no_postgres: list[str] = []


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if name == "postgresql" and request.getfixturevalue("postgres_database") is None:
        reason = f"PostgreSQL is not available: {_no_postgres[-1]}"
        if postgres.required():
            pytest.fail(f"{reason} ({postgres.REQUIRE_SETTING} is set)")
        pytest.skip(reason)
    return name


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


@pytest.fixture
async def other(storage: Storage, open_archive: OpenArchive) -> AsyncIterator[Storage]:
    """The test's archive opened a second time, as another process opens it."""
    second = await open_archive("chronicle")
    try:
        yield second
    finally:
        await second.close()


@pytest.fixture
async def editions(storage: Storage) -> Storage:
    """The sample in both editions: English, and Chinese (with 16 June 2017's events)."""
    chinese = [TEST_DATA / "news-zh", TEST_DATA / "news-zh-06-16"]
    report = await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES, *chinese])
    assert report.ok, report.failed
    return storage
