"""Fixtures of the PostgreSQL backend's own tests: the server of the session (a throwaway
cluster, or CHRONICLE_TEST_DATABASE_URL's; skipped without, failed when CI requires it), and
a fresh database a test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import postgres


@pytest.fixture
def server(postgres_database: str | None) -> str:
    if postgres_database is None:
        reason = f"PostgreSQL is not available ({postgres.URL_SETTING} is not set)"
        if postgres.required():
            pytest.fail(reason)
        pytest.skip(reason)
    return postgres_database


@pytest.fixture
async def target_url(server: str) -> AsyncIterator[str]:
    """A fresh database of its own for the test."""
    url = await postgres.create_database(server)
    try:
        yield url
    finally:
        await postgres.drop_database(server, url)
