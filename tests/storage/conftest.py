"""The contract suite: every test in tests/storage that takes ``storage`` (or
``sample_storage``, built on it) runs once per backend in BACKENDS, through the
storage.api interface alone. A backend that passes it can stand behind the bot.

Tests of one backend's internals (query plans, SQL, its files) live in a folder of
their own, tests/storage/<backend>/, with that backend's fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from storage import Storage, open_storage

# How a backend opens the archive of a test's folder (made on first open).
Opener = Callable[[Path], Awaitable[Storage]]


async def _sqlite(folder: Path) -> Storage:
    return await open_storage(folder / "chronicle.db")


BACKENDS: dict[str, Opener] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def reopen(backend: str, tmp_path: Path) -> Callable[[], Awaitable[Storage]]:
    """Opens the test's archive (again, as after a restart: the same file or database)."""
    return lambda: BACKENDS[backend](tmp_path)


@pytest.fixture
async def storage(reopen: Callable[[], Awaitable[Storage]]) -> AsyncIterator[Storage]:
    store = await reopen()
    try:
        yield store
    finally:
        await store.close()
