"""The same story from several sources, end to end: the real bot over the loopback Discord,
a real SQLite database, real feeds on 127.0.0.1; told once in a live digest, whatever day
each source dates it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

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
