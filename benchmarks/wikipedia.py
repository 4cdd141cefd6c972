"""How fast is Wikipedia's Current events portal read? Parsing, and a backfill over HTTP.

    python -m benchmarks.wikipedia                     # a year parsed, 2,000 days backfilled
    python -m benchmarks.wikipedia --days 200 --interval 0
    python -m benchmarks.wikipedia --write             # also record the figures in RESULTS.md

1. Parse rate: a year of day pages (``pages()``: seeded, shaped like the portal's pages
   of the 2020s: 4-8 headings, story lines nested up to three deep, 20-40 items of 25-45
   words with 5-10 wikilinks, 1-3 sources, refs, templates and comments) through
   ``bot.ingest.portal.parse_day``; best of three rounds.
2. Backfill: ``--days`` day pages served by the MediaWiki stand-in (``tests/support``) on
   127.0.0.1 and pulled into a fresh SQLite file through the real service
   (``chronicle wikipedia pull``): its wall time and the requests it made, with Chronicle's
   spacing between requests (``--interval``, a second as deployed) and, for the work
   Chronicle itself does, without.

Link targets are drawn from 20,000 names, the popular ones far more often, one in ten a
redirect, so a backfill resolves a realistic number of titles.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from benchmarks.sections import replace_section
from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.mediawiki import MediaWikiClient, user_agent
from bot.ingest.portal import ENGLISH, parse_day
from bot.services.wikipedia import WikipediaService
from bot.services.wikipedia_days import PullReport
from storage import open_storage
from tests.support.mediawiki_server import MediaWikiStandIn

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Wikipedia's Current events portal"
HEADINGS = [
    "Armed conflicts and attacks",
    "Arts and culture",
    "Business and economy",
    "Disasters and accidents",
    "Health and environment",
    "International relations",
    "Law and crime",
    "Politics and elections",
    "Science and technology",
    "Sports",
]
PUBLISHERS = ["Reuters", "AP", "BBC", "Al Jazeera", "''The Guardian''", "AFP", "CNN", "NHK"]
_SYLLABLES = ["ka", "lo", "mer", "sta", "vin", "dor", "pel", "ru", "zan", "tic", "or", "bel"]
_WORDS = [
    "the",
    "a",
    "of",
    "in",
    "after",
    "says",
    "announces",
    "killed",
    "government",
    "police",
    "people",
    "new",
    "election",
    "president",
    "court",
    "against",
    "over",
    "least",
    "minister",
    "report",
]


def names(count: int = 20_000, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    found: set[str] = set()
    while len(found) < count:
        words = rng.randint(1, 3)
        found.add(
            " ".join(
                "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
                for _ in range(words)
            )
        )
    return sorted(found)


NAMES = names()
REDIRECTS = {name: NAMES[(i * 7919) % len(NAMES)] for i, name in enumerate(NAMES) if i % 10 == 3}


class Page:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def name(self) -> str:
        # Skewed: the 100 commonest names take a sixth of the links, most names are rare.
        return NAMES[int(len(NAMES) * self.rng.random() ** 3)]

    def link(self) -> str:
        target = self.name()
        if self.rng.random() < 0.4:
            return f"[[{target}|{target.split()[0].lower()}]]"
        return f"[[{target}]]"

    def sentence(self, serial: int) -> str:
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(20, 36))]
        for _ in range(self.rng.randint(5, 10)):
            words.insert(self.rng.randrange(len(words)), self.link())
        text = " ".join(words).capitalize() + f" {serial}."
        if self.rng.random() < 0.1:
            text += "<ref>{{cite news|title=x|work=y}}</ref>"
        if self.rng.random() < 0.05:
            text = text.replace(" of ", " of {{nowrap|about 5}} ", 1)
        sources = " ".join(
            f"[https://news{self.rng.randrange(50)}.example/{serial}/{n}"
            f" ({self.rng.choice(PUBLISHERS)})]"
            for n in range(self.rng.randint(1, 3))
        )
        return f"{text} {sources}"


def page(date: dt.date, seed: int) -> str:
    """One day page in the {{Current events|…|content=}} layout."""
    rng = random.Random(seed)
    writer = Page(rng)
    lines = [
        f"{{{{Current events|year={date.year}|month={date:%m}|day={date.day}|content=",
        "<!-- All news items below this line -->",
    ]
    serial = 0
    for heading in sorted(rng.sample(HEADINGS, rng.randint(4, 8)), key=HEADINGS.index):
        lines.append(f"'''{heading}'''")
        for _ in range(rng.randint(1, 4)):
            depth = rng.choice((0, 1, 1, 2, 2, 3))
            for level in range(1, depth + 1):
                lines.append("*" * level + writer.link())
            for _ in range(rng.randint(1, 3)):
                serial += 1
                lines.append("*" * (depth + 1) + writer.sentence(serial))
        if rng.random() < 0.2:
            lines.append("<!-- Please add the most recent items at the bottom -->")
    lines.append("<!-- All news items above this line -->|}}")
    return "\n".join(lines)


def pages(first: dt.date, count: int) -> Iterator[tuple[dt.date, str]]:
    for n in range(count):
        date = first + dt.timedelta(days=n)
        yield date, page(date, n)


@dataclass
class ParseFigures:
    pages: int
    events: int
    megabytes: float
    seconds: float


def parse_rate(days: int = 365) -> ParseFigures:
    year = list(pages(dt.date(2023, 1, 1), days))
    size = sum(len(text.encode()) for _, text in year) / 1e6
    best = float("inf")
    events = 0
    for _ in range(3):
        started = time.perf_counter()
        events = sum(len(parse_day(date, text).items) for date, text in year)
        best = min(best, time.perf_counter() - started)
    return ParseFigures(len(year), events, size, best)


@dataclass
class BackfillFigures:
    days: int
    interval: float
    seconds: float
    report: PullReport
    page_requests: int
    title_requests: int
    titles_resolved: int
    events: int
    entities: int
    aliases: int


async def backfill(days: int, interval: float) -> BackfillFigures:
    async with MediaWikiStandIn() as wiki:
        for source, target in REDIRECTS.items():
            wiki.set_redirect(source, target)
        first = dt.date(2019, 12, 23)
        for date, text in pages(first, days):
            wiki.set_page(ENGLISH.title(date), text)
        with tempfile.TemporaryDirectory() as folder:
            storage = await open_storage(Path(folder) / "chronicle.db")
            policy = FetchPolicy(allow_private_addresses=True, user_agent=user_agent(None))
            async with make_session(policy) as session:
                client = MediaWikiClient(session, policy, wiki.api_url, min_interval_s=interval)
                service = WikipediaService(storage, client, ENGLISH)
                started = time.perf_counter()
                report = await service.pull(first, first + dt.timedelta(days=days - 1))
                seconds = time.perf_counter() - started
            stats = await storage.stats()
            await storage.close()
            with closing(sqlite3.connect(f"file:{storage.location}?mode=ro", uri=True)) as bare:
                row = bare.execute(
                    "SELECT (SELECT COUNT(*) FROM portal_titles),"
                    " (SELECT COUNT(*) FROM entities WHERE canonical_id IS NOT NULL)"
                ).fetchone()
        assert row is not None
        return BackfillFigures(
            days=days,
            interval=interval,
            seconds=seconds,
            report=report,
            page_requests=len(wiki.page_requests()),
            title_requests=len(wiki.title_requests()),
            titles_resolved=row[0],
            events=stats.events,
            entities=stats.entities,
            aliases=row[1],
        )


def markdown(parsed: ParseFigures, runs: list[BackfillFigures], command: str) -> str:
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
        f"Machine: {platform.processor() or platform.machine()}, Python"
        f" {platform.python_version()}, SQLite {sqlite3.sqlite_version}. Pages are generated"
        " (`benchmarks/wikipedia.py`), shaped like the portal's pages of the 2020s.",
        "",
        "| parsing a year of day pages | value |",
        "| --- | ---: |",
        f"| pages | {parsed.pages:,} ({parsed.megabytes:.1f} MB of wikitext) |",
        f"| events | {parsed.events:,} |",
        f"| time (best of 3) | {parsed.seconds:.2f} s |",
        f"| rate | {parsed.pages / parsed.seconds:,.0f} pages/s,"
        f" {parsed.events / parsed.seconds:,.0f} events/s |",
        "",
        "| backfill over HTTP (`chronicle wikipedia pull`) | "
        + " | ".join(f"{r.days:,} days, {r.interval:g} s apart" for r in runs)
        + " |",
        "| --- |" + " ---: |" * len(runs),
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("wall time", [f"{r.seconds:,.1f} s" for r in runs])
    row("requests: day pages (50 a request)", [f"{r.page_requests:,}" for r in runs])
    row("requests: link targets (50 a request)", [f"{r.title_requests:,}" for r in runs])
    row("titles resolved (each once)", [f"{r.titles_resolved:,}" for r in runs])
    row("events stored", [f"{r.events:,}" for r in runs])
    row("entities (aliases from redirects)", [f"{r.entities:,} ({r.aliases:,})" for r in runs])
    row(
        "time not spent waiting between requests",
        [
            f"{r.seconds - r.interval * (r.page_requests + r.title_requests - 1):,.1f} s"
            for r in runs
        ],
    )
    row("failures", [str(len(r.report.failures)) for r in runs])
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--days", type=int, default=2000, help="days to backfill (2,000)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between requests (1, as deployed)"
    )
    parser.add_argument("--parse-days", type=int, default=365, help="pages parsed (a year)")
    parser.add_argument("--write", action="store_true", help="record the figures in RESULTS.md")
    args = parser.parse_args(argv)
    parsed = parse_rate(args.parse_days)
    print(
        f"parse: {parsed.pages} pages, {parsed.events} events in {parsed.seconds:.2f} s:"
        f" {parsed.pages / parsed.seconds:,.0f} pages/s, {parsed.events / parsed.seconds:,.0f}"
        " events/s",
        flush=True,
    )
    runs = []
    for interval in dict.fromkeys((args.interval, 0.0)):
        figures = asyncio.run(backfill(args.days, interval))
        print(
            f"backfill of {figures.days} days, {interval:g} s apart: {figures.seconds:.1f} s,"
            f" {figures.page_requests} page and {figures.title_requests} title requests,"
            f" {figures.events} events",
            flush=True,
        )
        runs.append(figures)
    options = [
        f"--{name.replace('_', '-')} {getattr(args, name):g}"
        for name in ("days", "interval", "parse_days")
        if getattr(args, name) != parser.get_default(name)
    ]
    command = " ".join(["python -m benchmarks.wikipedia", *options, "--write"])
    section = markdown(parsed, runs, command)
    print(section)
    if args.write:
        replace_section(RESULTS, SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
