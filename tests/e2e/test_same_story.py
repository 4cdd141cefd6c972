"""The same story from several sources, end to end: the real bot over the loopback Discord,
a real SQLite database, real feeds and the portal's stand-in on 127.0.0.1; told once in a
live digest, whatever day each source dates it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bot.ingest.portal import ENGLISH
from tests.conftest import TEST_DATA
from tests.e2e.harness import FakeClock, running_bot, sample
from tests.e2e.news_channels_support import (
    NEWS,
    UTC,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    descriptions,
    digest_set,
    posts,
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer
from tests.support.mediawiki_server import MediaWikiStandIn

QUAKE = "Earthquake of magnitude 7.1 strikes off the coast of northern Chile"
BUDGET = ("old", "Ministers meet in Brussels to discuss the budget")


def dated_rss(site: str, items: Sequence[tuple[str, str, dt.datetime]]) -> bytes:
    """An RSS document of (guid, title, published) items, each linking to its own page."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        f"<link>https://{site}/{guid}</link>"
        f"<pubDate>{format_datetime(published)}</pubDate></item>"
        for guid, title, published in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>'
        f"<link>https://{site}/</link>{body}</channel></rss>"
    ).encode()


def listed(standin: DiscordStandIn, channel_id: int) -> list[str]:
    """The headlines' lines of every digest posted in the channel."""
    text = "\n".join(descriptions(message) for message in posts(standin, channel_id))
    return re.findall(r"^• .*$", text, flags=re.M)


async def test_the_same_story_from_three_feeds_around_midnight_is_listed_once(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """Reuters at 23:58 UTC, AP at 00:02, the BBC at 00:04, word for word: one line in the
    live digest (of the day of whichever was read first)."""
    clock.set(dt.datetime(2026, 6, 16, 23, 30, tzinfo=UTC))
    old = (*BUDGET, clock() - dt.timedelta(hours=1))
    feeds = {"reuters": 23 * 60 + 58, "ap": 24 * 60 + 2, "bbc": 24 * 60 + 4}
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        for name in feeds:
            wire.set_file(f"{name}.xml", dated_rss(f"{name}.example", [old]))
            await bot.feeds.add_feed(wire.url(f"{name}.xml"), name=name)
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        clock.set(dt.datetime(2026, 6, 17, 0, 10, tzinfo=UTC))
        for name, minutes in feeds.items():
            published = dt.datetime(2026, 6, 16, tzinfo=UTC) + dt.timedelta(minutes=minutes)
            story = (f"{name}-1", QUAKE, published)
            wire.set_file(f"{name}.xml", dated_rss(f"{name}.example", [story, old]))
        await bot.poll_feeds()
        await bot.chronicle_scheduler.live.wait()
        (line,) = listed(standin, NEWS)
        assert f" [{QUAKE}](https://" in line
    assert not standin.internal_errors


JAN9 = dt.date(2024, 1, 9)
AP_URL = "https://apnews.com/ecuador-conflict"
PORTAL_ITEM = (
    ";Politics and elections\n"
    "*[[Daniel Noboa]] says [[Ecuador]] is in an &quot;internal armed conflict&quot; and orders"
    f" the army to neutralise 22 gangs. [{AP_URL} (''AP'')]\n"
)


async def test_a_feed_s_story_the_portal_files_a_day_earlier_citing_it_is_listed_once(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """AP's feed tells it at 00:20 UTC on January 10 (19:20 in New York on the 9th); the
    portal's editors put it on January 9's page, citing that AP article: one line."""
    jan9_page = (
        (TEST_DATA / "wikipedia" / "2024_January_8.wiki")
        .read_text("utf-8")
        .replace("|01|8|", "|01|9|")
    )
    clock = FakeClock(dt.datetime(2024, 1, 10, 0, 5, tzinfo=UTC))
    old = (*BUDGET, dt.datetime(2024, 1, 9, 20, 0, tzinfo=UTC))
    async with (
        MediaWikiStandIn() as wiki,
        FeedServer(tmp_path / "feeds") as feeds,
    ):
        wiki.set_page(ENGLISH.title(JAN9), jan9_page)
        feeds.set_file("ap.xml", dated_rss("apnews.com", [old]))
        settings: dict[str, Any] = {
            "wikipedia_api_url": wiki.api_url,
            "wikipedia_contact": "ops@example.org",
            "wikipedia_poll_minutes": 10,
        }
        async with running_bot(
            standin, tmp_path / "c.db", prepare=sample, clock=clock, **settings
        ) as bot:
            bot.wikipedia.client.min_interval_s = 0
            await bot.poll_wikipedia()
            await bot.feeds.add_feed(feeds.url("ap.xml"), name="AP")
            await digest_set(standin, kind="new", channel=NEWS, every="live")
            story = (
                "ecuador-conflict",
                "Ecuador's president declares an internal armed conflict against 22 gangs",
                dt.datetime(2024, 1, 10, 0, 20, tzinfo=UTC),
            )
            feeds.set_file("ap.xml", dated_rss("apnews.com", [story, old]))
            clock.set(clock() + dt.timedelta(minutes=11))
            await bot.poll_feeds()
            wiki.set_page(
                ENGLISH.title(JAN9),
                jan9_page.replace(";Law and crime\n", PORTAL_ITEM + ";Law and crime\n"),
            )
            for _ in range(2):  # a new item is told once a later poll read its page again
                clock.set(clock() + dt.timedelta(minutes=10))
                await bot.poll_wikipedia()
            await bot.chronicle_scheduler.live.wait()
            lines = [line for line in listed(standin, NEWS) if "Ecuador" in line]
    assert len(lines) == 1, lines
    assert not standin.internal_errors
