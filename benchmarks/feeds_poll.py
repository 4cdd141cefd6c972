"""How fast are feeds polled? N distinct RSS feeds served on 127.0.0.1, a fresh SQLite file.

    python -m benchmarks.feeds_poll                 # 500 feeds
    python -m benchmarks.feeds_poll --feeds 50 --entries 30 --concurrency 32

Three rounds through the real service (fetch, parse, match entities, store), each timed:

1. first poll: every feed answers 200 with all its entries (stored as history);
2. all 304: every feed answers "not modified" to its conditional GET;
3. one new entry each: every feed answers 200 with one unseen entry among the old ones.

The archive is seeded with ``--entities`` known entity names so that tagging does real
work, and neighbouring feeds share a story (same link) so that merging does too. Feeds
are spread over ``--servers`` local servers (ports): the fetcher allows 4 connections per
host, as it should for real sites, so one server would measure that limit, not Chronicle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.reports import PollReport
from bot.services.feeds.service import FeedService
from storage import open_storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.support.feed_server import FeedServer

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_SYLLABLES = ["ka", "lo", "mer", "sta", "vin", "dor", "pel", "ru", "zan", "tic", "or", "bel"]


def _vocabulary(size: int, seed: int = 3) -> list[str]:
    """Made-up words: news headlines draw on a large vocabulary, and a handful of words
    repeated in every headline would make "the same story?" checks unrealistically busy."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


_WORDS = _vocabulary(5000)
_VERBS = [
    "approves",
    "rejects",
    "delays",
    "opens",
    "closes",
    "expands",
    "suspends",
    "probes",
    "backs",
    "warns",
]


@dataclass(frozen=True, slots=True)
class RoundResult:
    name: str
    feeds: int
    seconds: float
    ok: int
    failed: int
    new_events: int

    @property
    def feeds_per_second(self) -> float:
        return self.feeds / self.seconds if self.seconds else float("inf")


def _headline(rng: random.Random, names: Sequence[str], feed: int, item: int) -> str:
    words = rng.sample(_WORDS, 4)
    name = rng.choice(names) if names and rng.random() < 0.5 else words[0].title()
    verb = rng.choice(_VERBS)
    # The feed and item numbers keep every headline distinct (no accidental merges).
    return f"{name} {verb} {words[1]} {words[2]} plan after {words[3]} report {feed}-{item}"


def _item(guid: str, title: str, link: str, when: dt.datetime) -> str:
    return (
        f"<item><title>{title}</title><guid isPermaLink='false'>{guid}</guid>"
        f"<link>{link}</link><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{title}. More on this story as it develops.</description></item>"
    )


def _feed_document(items: Sequence[str], feed: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench wire {feed}</title><link>https://bench{feed}.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def build_feeds(
    count: int, entries: int, names: Sequence[str], seed: int = 7
) -> tuple[list[list[str]], list[str]]:
    """Per feed its item XML (newest first), and one extra unseen item per feed."""
    rng = random.Random(seed)
    documents: list[list[str]] = []
    extra: list[str] = []
    for feed in range(count):
        items = []
        for i in range(entries):
            when = NOW - dt.timedelta(hours=1 + i)
            title = _headline(rng, names, feed, i)
            items.append(_item(f"f{feed}-{i}", title, f"https://bench{feed}.example/{i}", when))
        if feed and entries:
            # The neighbour's newest story, under this feed's own GUID: same link, one event.
            items.append(
                _item(
                    f"f{feed}-shared",
                    "Shared story",
                    f"https://bench{feed - 1}.example/0",
                    NOW - dt.timedelta(hours=1),
                )
            )
        documents.append(items)
        extra.append(
            _item(
                f"f{feed}-new",
                _headline(rng, names, feed, entries + 1),
                f"https://bench{feed}.example/new",
                NOW,
            )
        )
    return documents, extra


def entity_names(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    first = ["Ana", "Boris", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jana"]
    last = ["Petrov", "Okafor", "Lindqvist", "Haddad", "Moreau", "Tanaka", "Novak", "Silva"]
    names = {f"{rng.choice(first)} {rng.choice(last)} {i}" for i in range(count)}
    return sorted(names)[:count]


async def _round(
    name: str, service: FeedService, concurrency: int, now: dt.datetime
) -> tuple[RoundResult, PollReport]:
    started = time.perf_counter()
    report = await service.poll_all(now, concurrency=concurrency)
    seconds = time.perf_counter() - started
    ok = sum(1 for o in report.outcomes if o.ok)
    return (
        RoundResult(
            name,
            len(report.outcomes),
            seconds,
            ok,
            len(report.outcomes) - ok,
            len(report.created_ids),
        ),
        report,
    )


async def run(
    *,
    feeds: int = 500,
    entries: int = 20,
    concurrency: int = 16,
    servers: int = 4,
    entities: int = 10_000,
    db_path: Path | None = None,
) -> list[RoundResult]:
    """Run the three rounds; returns their results (also what the test checks)."""
    names = entity_names(entities)
    documents, extra = build_feeds(feeds, entries, names)
    with contextlib.ExitStack() as stack:
        if db_path is None:
            db_path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "bench.db"
        async with contextlib.AsyncExitStack() as astack:
            hosts = [await astack.enter_async_context(FeedServer()) for _ in range(servers)]
            storage = await astack.enter_async_context(await open_storage(db_path))
            if names:
                seed_day = dt.date(2000, 1, 1)
                await storage.events.import_batch(
                    [
                        PageRecord(
                            key=make_key(seed_day, "known-names"),
                            date=seed_day,
                            headline="Known names",
                            entities=tuple(names),
                        )
                    ]
                )
            for feed, items in enumerate(documents):
                host = hosts[feed % servers]
                host.set_file(f"feed{feed}.xml", _feed_document(items, feed))
                await storage.feeds.add(host.url(f"feed{feed}.xml"), f"Bench {feed}", now=NOW)

            policy = FetchPolicy(allow_private_addresses=True)
            session = await astack.enter_async_context(make_session(policy))
            service = FeedService(storage, session, policy, poll_minutes=10)
            results = []
            first, _ = await _round("first poll", service, concurrency, NOW)
            results.append(first)
            cached, _ = await _round(
                "all 304", service, concurrency, NOW + dt.timedelta(minutes=10)
            )
            results.append(cached)
            for feed, items in enumerate(documents):
                host = hosts[feed % servers]
                host.set_file(f"feed{feed}.xml", _feed_document([extra[feed], *items], feed))
            changed, _ = await _round(
                "one new entry each", service, concurrency, NOW + dt.timedelta(minutes=20)
            )
            results.append(changed)
            return results


def print_results(results: Sequence[RoundResult], *, entries: int, concurrency: int) -> None:
    print(f"{results[0].feeds} feeds x {entries} entries, concurrency {concurrency}")
    for result in results:
        print(
            f"  {result.name:<20} {result.seconds:7.2f} s  {result.feeds_per_second:8.1f} feeds/s"
            f"  ({result.ok} ok, {result.failed} failed, {result.new_events} new events)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.feeds_poll", description=__doc__)
    parser.add_argument("--feeds", type=int, default=500, metavar="N")
    parser.add_argument("--entries", type=int, default=20, metavar="N", help="per feed")
    parser.add_argument("--concurrency", type=int, default=16, metavar="N")
    parser.add_argument("--servers", type=int, default=4, metavar="N", help="local servers")
    parser.add_argument("--entities", type=int, default=10_000, metavar="N", help="known names")
    parser.add_argument("--db", type=Path, help="SQLite file to use (default: a temporary one)")
    args = parser.parse_args(argv)
    if min(args.feeds, args.concurrency, args.servers) < 1 or min(args.entries, args.entities) < 0:
        parser.error("--feeds, --concurrency and --servers must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(
        run(
            feeds=args.feeds,
            entries=args.entries,
            concurrency=args.concurrency,
            servers=args.servers,
            entities=args.entities,
            db_path=args.db,
        )
    )
    print_results(results, entries=args.entries, concurrency=args.concurrency)
    return 0 if all(r.failed == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
