"""What the portal service's tests share: the captured day pages, a clock moved by hand, the
MediaWiki stand-in, and the service over a real session to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.mediawiki import MediaWikiClient, user_agent
from bot.ingest.portal import ENGLISH
from bot.services.wikipedia import WikipediaService
from storage import Storage
from tests.conftest import TEST_DATA
from tests.support.mediawiki_server import MediaWikiStandIn

PAGES = TEST_DATA / "wikipedia"
MAY_5 = dt.date(2017, 5, 5)
JUNE_16 = dt.date(2017, 6, 16)
MARCH_15 = dt.date(2019, 3, 15)
JANUARY_8 = dt.date(2024, 1, 8)
TODAY = dt.date(2024, 1, 9)


def wikitext(date: dt.date) -> str:
    return (PAGES / f"{date.year}_{date:%B}_{date.day}.wiki").read_text(encoding="utf-8")


def on(date: dt.date, text: str) -> str:
    """A fixture page of the content= layout as another day's page (items differ by day)."""
    return text.replace(
        "|year=2019|month=03|day=15|", f"|year={date.year}|month={date:%m}|day={date.day}|"
    )


def publish(wiki: MediaWikiStandIn, date: dt.date, text: str | None = None) -> int:
    """A new revision of a day page (the fixture's text unless given); its revision id."""
    return wiki.set_page(ENGLISH.title(date), text if text is not None else wikitext(date))


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(name="wiki")
async def wiki_fixture() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        server.set_redirect("Islamic State of Iraq and the Levant", "Islamic State")
        server.set_redirect("Palestinian people", "Palestinians")
        yield server


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


@asynccontextmanager
async def portal(
    storage: Storage,
    wiki: MediaWikiStandIn,
    clock: Callable[[], dt.datetime],
    sleeps: list[float] | None = None,
) -> AsyncIterator[WikipediaService]:
    """The service over a real session to the stand-in; waits are recorded, not slept."""
    policy = FetchPolicy(allow_private_addresses=True, user_agent=user_agent("ops@example.org"))
    waits = sleeps if sleeps is not None else []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with make_session(policy) as session:
        client = MediaWikiClient(session, policy, wiki.api_url, min_interval_s=0, sleep=sleep)
        yield WikipediaService(storage, client, ENGLISH, clock=clock)


async def event_count(storage: Storage) -> int:
    return (await storage.stats()).events
