"""A document that keeps the parser busy costs its own feed a bounded time and nothing else.

feedparser's time grows with the square of one element's attributes (30,000 of them, a
few hundred kB, keep it busy for several seconds; a 4.9 MB document, half an hour). Parsing
runs in a child process that is killed when the time is up or when the caller gives up, so
the poll reports a timeout, no parse is left running, and the feeds polled alongside or
after it are read as usual.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from email.utils import format_datetime
from multiprocessing import forkserver
from pathlib import Path

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import make_session
from bot.ingest.feeds.parse import parse_feed
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.support.feed_server import FeedServer

POLICY = FetchPolicy(allow_private_addresses=True, timeout_s=2.0)
HEAD = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    "<link>https://a.example/</link>"
)


def attribute_bomb(attributes: int = 30_000) -> bytes:
    """One item with this many attributes: well under the size limit, seconds to parse."""
    attrs = " ".join(f"a{i}='1'" for i in range(attributes))
    return (HEAD + f"<item {attrs}><guid>b</guid><title>x</title></item></channel></rss>").encode()


def healthy(*titles: str) -> bytes:
    date = format_datetime(dt.datetime.now(dt.UTC))
    items = "".join(
        f"<item><guid>g{i}</guid><title>{title}</title><pubDate>{date}</pubDate></item>"
        for i, title in enumerate(titles)
    )
    return (HEAD + items + "</channel></rss>").encode()


def parses_running() -> list[int]:
    """The parsing children alive now (children of multiprocessing's fork server)."""
    server = forkserver._forkserver._forkserver_pid
    if server is None:
        return []
    pids: list[int] = []
    for task in Path(f"/proc/{server}/task").glob("*"):
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


async def no_parse_left_running() -> bool:
    # A killed child is gone at once; allow the kernel a moment to reap it.
    for _ in range(100):
        if not parses_running():
            return True
        await asyncio.sleep(0.05)
    return False


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")


async def test_a_parse_past_its_time_limit_is_stopped_with_the_reason() -> None:
    with pytest.raises(FeedError) as caught:
        await parse_feed(attribute_bomb(), url="https://a.example/feed", time_limit_s=0.5)
    assert caught.value.kind == "timeout"
    assert caught.value.reason == "parsing the feed took longer than 0.5 s; stopped it"
    assert await no_parse_left_running()
    parsed = await parse_feed(healthy("Still fine"), url="https://a.example/feed")
    assert [entry.title for entry in parsed.entries] == ["Still fine"]


async def test_a_caller_that_gives_up_stops_the_parse() -> None:
    await parse_feed(healthy("Warm"), url="https://a.example/feed")  # the zygote is up
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await parse_feed(attribute_bomb(), url="https://a.example/feed")
    assert await no_parse_left_running()


async def test_hostile_feeds_time_out_and_healthy_ones_alongside_and_after_are_read(
    storage: Storage,
) -> None:
    await parse_feed(healthy("Warm"), url="https://a.example/feed")  # the zygote is up
    async with FeedServer() as server, make_session(POLICY) as session:
        service = FeedService(storage, session, POLICY)
        for i in range(6):
            server.set_file(f"bomb{i}.xml", healthy("Ordinary story"))
            await service.add_feed(server.url(f"bomb{i}.xml"), name=f"bomb{i}")
        server.set_file("good.xml", healthy("A normal story"))
        await service.add_feed(server.url("good.xml"), name="good")
        feeds = await service.list_feeds()
        good = next(feed for feed in feeds if feed.name == "good")
        for i in range(6):
            server.set_file(f"bomb{i}.xml", attribute_bomb())
        server.set_file("good.xml", healthy("A normal story", "A second story"))

        first = await service.poll_many(feeds)
        outcomes = {outcome.name: outcome for outcome in first.outcomes}
        for i in range(6):
            bomb = outcomes[f"bomb{i}"]
            assert (bomb.status, bomb.error_kind) == ("failed", "timeout")
            assert bomb.error == (
                f"parsing the feed took longer than 2 s ({server.url(f'bomb{i}.xml')})"
            )
        assert outcomes["good"].status == "ok" and outcomes["good"].entries == 2
        assert await no_parse_left_running()

        server.set_file("good.xml", healthy("A normal story", "A second story", "A third"))
        second = await service.poll_many([good])
        assert [(o.name, o.status, o.entries) for o in second.outcomes] == [("good", "ok", 3)]
