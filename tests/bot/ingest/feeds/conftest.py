"""Fixtures of the feed tests: a real HTTP server on 127.0.0.1 and a session for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.ingest.feeds.fetch import make_session
from tests.bot.ingest.feeds.helpers import (
    DATA_DIR,
    LOCAL,
)
from tests.support.feed_server import FeedServer


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer(DATA_DIR) as srv:
        yield srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LOCAL) as sess:
        yield sess
