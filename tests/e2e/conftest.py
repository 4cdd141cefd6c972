"""Fixtures of the end-to-end tests: the loopback Discord, a news wire, and a PostgreSQL
database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from tests.e2e.fixtures import make_standin_fixture, make_wire_fixture
from tests.e2e.news_channels_support import OLD
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


# The loopback Discord with one server; a module with other servers or members makes its own
# with make_standin_fixture. Like Discord, it answers an interaction not answered within its
# deadline with 404.
standin = make_standin_fixture()

# A news wire on 127.0.0.1 holding one old item, dated now.
wire = make_wire_fixture(OLD)
