"""What the feeds tests share (test_feeds_polling.py, test_feeds_failures.py,
test_feeds_adding.py, test_feeds_announcing.py, test_feeds_tagging.py, test_feeds_cli.py):
feeds end to end, with a real HTTP server on 127.0.0.1 serving the captured feeds, a real
SQLite file and the service that polls; RSS documents built to order, a fake clock, and web
pages that advertise a feed.

The fixtures are `server`, `session`, `clock` and `service`; a test module imports their
functions (`server_fixture`, `session_fixture`, `clock_fixture`, `service_fixture`) for
pytest to find them by those names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from email.utils import format_datetime
from html import escape
from pathlib import Path

import aiohttp
import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.service import FeedService
from storage import Storage
from storage.models import Feed
from tests.support.feed_server import FeedServer

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO / "tests" / "data" / "feeds"
# A timeout no loaded machine reaches on the local server: tests of timeouts set their own.
LOCAL = FetchPolicy(allow_private_addresses=True, timeout_s=30.0)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Clock:
    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def entry(
    guid: str,
    title: str,
    *,
    link: str | None = None,
    date: dt.datetime | None = None,
    text: str = "",
    categories: tuple[str, ...] = (),
) -> str:
    parts = [f"<title>{escape(title)}</title>", f"<guid isPermaLink='false'>{guid}</guid>"]
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if date:
        parts.append(f"<pubDate>{format_datetime(date)}</pubDate>")
    if text:
        parts.append(f"<description>{escape(text)}</description>")
    parts += [f"<category>{escape(c)}</category>" for c in categories]
    return "<item>" + "".join(parts) + "</item>"


def rss(*items: str, title: str = "Test Wire") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://wire.example/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def stories(prefix: str, count: int, *, start: dt.datetime = NOW) -> list[str]:
    """Distinct stories, newest first, an hour apart."""
    words = ["harbour", "senate", "glacier", "railway", "orchestra", "vaccine", "border"]
    return [
        entry(
            f"{prefix}-{i}",
            f"{prefix.title()} story {i}: {words[i % len(words)]} report number {i} published",
            link=f"https://wire.example/{prefix}/{i}",
            date=start - dt.timedelta(hours=i),
        )
        for i in range(count)
    ]


@pytest.fixture(name="server")
async def server_fixture() -> AsyncIterator[FeedServer]:
    async with FeedServer(DATA_DIR) as srv:
        yield srv


@pytest.fixture(name="session")
async def session_fixture() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LOCAL) as sess:
        yield sess


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="service")
def service_fixture(storage: Storage, session: aiohttp.ClientSession, clock: Clock) -> FeedService:
    return FeedService(storage, session, LOCAL, poll_minutes=10, clock=clock)


async def add_unfetched(storage: Storage, url: str, name: str = "Feed") -> Feed:
    """A feed row without the add-time fetch, to poll it as the scheduler would."""
    return await storage.feeds.add(url, name, now=NOW)


async def current(storage: Storage, feed: Feed) -> Feed:
    fresh = await storage.feeds.get(feed.id)
    assert fresh is not None
    return fresh


def html_page(*links: str, title: str = "Wire home") -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>{''.join(links)}</head>"
        "<body><h1>Today</h1></body></html>"
    ).encode()


def advert(href: str, kind: str = "application/rss+xml") -> str:
    return f'<link rel="alternate" type="{kind}" title="Feed" href="{escape(href)}">'
