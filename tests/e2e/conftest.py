"""Fixtures of the end-to-end tests: the loopback Discord, and a PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from tests.e2e.standin.server import DiscordStandIn
from tests.support import postgres


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database on the test server (or a throwaway cluster), dropped afterwards."""
    reason = None
    with contextlib.ExitStack() as stack:
        try:
            server = os.environ.get(postgres.URL_SETTING) or stack.enter_context(
                postgres.throwaway_cluster()
            )
            url = await postgres.create_database(server)
        except Exception as exc:  # any reason to have no server is said in the skip
            reason = f"PostgreSQL is not available: {exc or type(exc).__name__}"
        if reason is not None:
            if postgres.required():
                pytest.fail(f"{reason} ({postgres.REQUIRE_SETTING} is set)")
            pytest.skip(reason)
        try:
            yield url
        finally:
            await postgres.drop_database(server, url)


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    """The loopback Discord, one server; a module with other servers has its own. Like
    Discord, it answers an interaction not answered within 3 s with 404."""
    async with DiscordStandIn() as api:
        yield api
    assert not api.internal_errors
