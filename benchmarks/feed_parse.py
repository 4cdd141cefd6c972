"""Parsing feeds in child processes: what a real feed costs, and what a hostile one does.

    python -m benchmarks.feed_parse [--rounds 2] [--bomb 40000]

Every captured real feed (tests/data/feeds, and ../shared/data/feeds when present) goes
through parse_feed one at a time, then sixteen at once; then one item with ``--bomb``
attributes (feedparser's time grows with their square) is parsed with the poll's time
limit, and a healthy feed right after it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.parse import parse_feed

FEEDS = [Path("tests/data/feeds"), Path("../shared/data/feeds")]
URL = "https://example.com/feed"
HEALTHY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><guid>a</guid><title>Fine</title></item></channel></rss>"
)


async def timed(body: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        await parse_feed(body, url=URL)
        outcome = "ok"
    except FeedError as error:
        outcome = error.kind
    return time.perf_counter() - started, outcome


async def main(rounds: int, bomb: int) -> None:
    bodies = [
        path.read_bytes()
        for folder in FEEDS
        if folder.is_dir()
        for path in sorted(folder.iterdir())
        if path.suffix in (".xml", ".json", ".rss", ".atom")
    ]
    await timed(bodies[0])  # starts the fork server
    started = time.perf_counter()
    times = [(await timed(body))[0] for _ in range(rounds) for body in bodies]
    serial = time.perf_counter() - started
    gate = asyncio.Semaphore(16)

    async def gated(body: bytes) -> tuple[float, str]:
        async with gate:
            return await timed(body)

    started = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(gated(body) for body in bodies))
    together = time.perf_counter() - started
    megabytes = sum(map(len, bodies)) / 1e6
    print(
        f"{len(bodies)} real feeds ({megabytes:.1f} MB) x {rounds}: one at a time {serial:.2f} s,"
        f" median {statistics.median(times) * 1000:.1f} ms a parse,"
        f" max {max(times) * 1000:.0f} ms; 16 at once {together:.2f} s"
    )
    attributes = " ".join(f"a{i}='1'" for i in range(bomb))
    hostile = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item {attributes}>'
        "<guid>b</guid><title>x</title></item></channel></rss>"
    ).encode()
    spent, outcome = await timed(hostile)
    after, healthy = await timed(HEALTHY)
    print(
        f"one item with {bomb:,} attributes ({len(hostile) / 1e3:.0f} kB): {outcome} after"
        f" {spent:.1f} s; a healthy feed right after: {healthy} in {after * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bomb", type=int, default=40_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.bomb))
