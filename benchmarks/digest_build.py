"""Building digests: every 'onthisday' and 'new' digest of 1,000 channels.

Each channel has both kinds, in one of twenty timezones. The 'new' digests cover a day of
feed entries (announced events tagged with the archive's own entities, drawn by
popularity); channels set their digests up at different times of that day, so each covers
a different share of it. The 'onthisday' digests are built for dates spread over a whole
year, one per channel, so the month-day lookups cannot all hit one cached answer.

What is timed is what the bot does to make a digest's messages, not sending them:
``DigestDelivery.content_for`` (the storage queries and grouping) and
``render.digest_messages`` (embeds within Discord's limits).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.corpus_model import CorpusSpec
from benchmarks.corpus_pages import ANNOUNCED_PER_DAY, feed_pages
from benchmarks.queries import percentile
from bot import render
from bot.digests import day_slot, digest_content, local_today
from storage import Storage

Progress = Callable[[str, int, int], None]

TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Pago_Pago",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Kathmandu",
)
GROUPS = 10  # digests are set up in 10 rounds, a tenth of the day's feed entries between


@dataclass(slots=True)
class DigestResult:
    channels: int
    announced: int
    seconds: float = 0.0  # building every digest of every channel
    times_ms: dict[str, list[float]] = field(default_factory=lambda: {"onthisday": [], "new": []})
    messages: int = 0
    events_listed: int = 0
    empty: int = 0

    @property
    def digests(self) -> int:
        return sum(len(t) for t in self.times_ms.values())

    def p(self, kind: str, pct: float) -> float:
        return percentile(self.times_ms[kind], pct)

    def figures(self) -> dict[str, Any]:
        """What RESULTS.json keeps of a run."""
        return {
            "channels": self.channels,
            "digests": self.digests,
            "announced": self.announced,
            "seconds": self.seconds,
            "onthisday_p50": self.p("onthisday", 50),
            "onthisday_p99": self.p("onthisday", 99),
            "new_p50": self.p("new", 50),
            "new_p99": self.p("new", 99),
            "messages": self.messages,
            "events_listed": self.events_listed,
            "empty": self.empty,
        }


def _names_by_popularity(db: sqlite3.Connection, rng: random.Random, count: int) -> list[str]:
    """Entity names of random events' links: popular entities come up as often as they are."""
    max_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    ids = [rng.randint(1, max_id) for _ in range(min(900, count))] if max_id else []
    names = [
        r[0]
        for r in db.execute(
            "SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
            f" WHERE ee.event_id IN ({','.join('?' * len(ids))})",
            ids,
        )
    ]
    return names or ["Russia"]


async def measure(
    storage: Storage,
    db: sqlite3.Connection,
    spec: CorpusSpec,
    *,
    channels: int,
    now: dt.datetime,
    announced: int = ANNOUNCED_PER_DAY,
    progress: Progress | None = None,
) -> DigestResult:
    rng = random.Random(f"{spec.seed}:digests")
    names = _names_by_popularity(db, rng, 3000)
    day = now.date()
    feed = feed_pages(spec, day, names, announced)
    result = DigestResult(channels, len(feed))
    per_group = -(-channels // GROUPS)
    digests = []
    for group in range(GROUPS):
        for channel in range(group * per_group, min(channels, (group + 1) * per_group)):
            for kind in ("onthisday", "new"):
                digest, _ = await storage.digests.upsert(
                    guild_id=10_000 + channel // 10,
                    channel_id=1_000_000 + channel,
                    kind=kind,
                    time=dt.time(rng.randrange(24), rng.choice((0, 15, 30, 45))),
                    timezone=TIMEZONES[channel % len(TIMEZONES)],
                    created_by=42,
                    now=now,
                )
                digests.append((channel, digest))
        share = feed[group * len(feed) // GROUPS : (group + 1) * len(feed) // GROUPS]
        if share:
            await storage.events.import_batch(share)
    await storage.events.pack_postings()  # as an ingest ends: later lookups read the blobs
    started = time.perf_counter()
    for number, (channel, digest) in enumerate(digests, start=1):
        moment = now + dt.timedelta(days=channel % 366) if digest.kind == "onthisday" else now
        local_date = local_today(digest.timezone, moment)
        began = time.perf_counter()
        content, _ = await digest_content(
            storage, digest, slot=day_slot(local_date), language="all"
        )
        messages: Sequence[Any] = render.digest_messages(content) if not content.empty else ()
        result.times_ms[digest.kind].append((time.perf_counter() - began) * 1000)
        result.messages += len(messages)
        result.events_listed += sum(len(s.items) for s in content.sections)
        result.empty += content.empty
        if progress and (number % 100 == 0 or number == len(digests)):
            progress("digests", number, len(digests))
    result.seconds = time.perf_counter() - started
    return result
