"""The ledgers over weeks, and pruning them: what they take a day, what a prune costs.

    python -m benchmarks.ledgers --days 30 [--db ledgers.db] [--postgres-url URL]

The scale of the soak review: a few hundred servers with 200 digests (20 live, 30 hourly and
50 daily of new events, 100 daily on this day) and alerts to 10 members per event, with
--events-per-poll new events every 10 minutes (10: 1,440 a day). Each day's rows are those
the storage writes for it (a run per digest and slot, with its items; a delivery per
target and event, settled), stamped at that day's times, and written in bulk: what the bot
would write in --days days, without spending them.

Then, as the bot would: a prune of the oldest day alone (the daily job in its steady state),
a prune of everything older than LEDGERS_KEPT (a first prune after an upgrade, or one that
did not run for weeks), each timed with its slowest step (a step is one window read and one
write transaction: the longest the bot's own writes wait), and on SQLite a VACUUM. The
figures are in benchmarks/FINDINGS.md ("The ledgers").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.postgres import DEFAULT_URL, fresh_database
from bot.services.ledgers import LEDGERS_KEPT, prune_ledgers
from storage import Storage, open_storage
from storage.keys import make_key
from storage.ledgers import PruneStep
from storage.models import PageRecord
from storage.sqlite.db import connect_plain
from storage.times import to_timestamp

POLLS_A_DAY = 144  # every 10 minutes
LIVE, HOURLY, DAILY, ON_THIS_DAY = 20, 30, 50, 100  # digests of each kind
HOURLY_ITEMS, DAILY_ITEMS, ON_THIS_DAY_ITEMS = 50, 25, 40
ALERTED, MEMBERS = 10, 2_000  # members alerted per event, of this many followers
GUILD = 1 << 22

Digests = dict[str, list[int]]  # the digests' ids, by what they are
Run = tuple[int, str, str, int, int, int, str, int, object]  # a digest_runs row
Delivery = tuple[str, int, object, str, int, int | None]  # a deliveries row


@dataclass
class Day:
    """One day's ledger rows."""

    runs: list[Run] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class Timed:
    """A prune: how long it took, in how many steps, the slowest of them; what it removed."""

    seconds: float
    steps: int
    slowest_step: float
    runs_removed: int
    deliveries_removed: int


@dataclass
class Figures:
    """What --days days of ledgers took, and what pruning (and VACUUM) did with them."""

    days: int
    events_a_day: int
    rows: dict[str, int]  # by table
    table_bytes: dict[str, int]  # with their indexes
    daily_prune: Timed
    backlog_prune: Timed
    kept: dict[str, int]
    vacuum: dict[str, float] | None = None  # SQLite's

    @property
    def rows_a_day(self) -> dict[str, float]:
        return {table: n / self.days for table, n in self.rows.items()}

    @property
    def bytes_a_day(self) -> dict[str, float]:
        return {table: n / self.days for table, n in self.table_bytes.items()}

    @property
    def bytes_a_row(self) -> dict[str, float]:
        return {table: n / self.rows[table] for table, n in self.table_bytes.items()}

    def as_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "rows_a_day": self.rows_a_day,
            "bytes_a_day": self.bytes_a_day,
            "bytes_a_row": self.bytes_a_row,
        }


def day_rows(
    start: dt.datetime,
    event_ids: Sequence[int],
    digests: Digests,
    rng: random.Random,
    stamp: type[str] | None,
) -> Day:
    """The rows the bot writes on a day beginning at `start` whose new events are
    `event_ids` (in order), stamped as the backend stores times (`stamp` str: SQLite)."""

    def when(moment: dt.datetime) -> object:
        return to_timestamp(moment) if stamp is str else moment

    rows = Day()
    per_poll = len(event_ids) // POLLS_A_DAY
    for poll in range(POLLS_A_DAY):
        moment = start + dt.timedelta(minutes=10 * poll)
        batch = list(event_ids[poll * per_poll : (poll + 1) * per_poll])
        if not batch:
            continue
        for digest_id in digests["live"]:
            rows.runs.append(_run(digest_id, f"live:{moment.isoformat()}", batch, when(moment)))
            rows.deliveries += [
                (f"digest:{digest_id}", e, when(moment), "sent", 1, None) for e in batch
            ]
        for event_id in batch:
            for member in rng.sample(range(MEMBERS), ALERTED):
                rows.deliveries.append(
                    (f"dm:{500_000 + member}", event_id, when(moment), "sent", 1, GUILD)
                )
        if poll % 6 == 5:  # an hourly digest's run, the hour's events
            hour = list(event_ids[(poll - 5) * per_poll : (poll + 1) * per_poll])[:HOURLY_ITEMS]
            for digest_id in digests["hourly"]:
                rows.runs.append(_run(digest_id, f"{moment:%Y-%m-%dT%H}", hour, when(moment)))
                rows.deliveries += [
                    (f"digest:{digest_id}", e, when(moment), "sent", 1, None) for e in hour
                ]
    evening = start + dt.timedelta(hours=20)
    slot = f"{start:%Y-%m-%d}"
    for digest_id in digests["daily"]:
        items = list(event_ids[-DAILY_ITEMS:])
        rows.runs.append(_run(digest_id, slot, items, when(evening)))
        rows.deliveries += [
            (f"digest:{digest_id}", e, when(evening), "sent", 1, None) for e in items
        ]
    history = range(1, max(event_ids[0], 2))
    for digest_id in digests["onthisday"]:
        items = rng.sample(history, min(ON_THIS_DAY_ITEMS, len(history)))
        rows.runs.append(_run(digest_id, slot, items, when(evening)))
        rows.deliveries += [
            (f"digest:{digest_id}", e, when(evening), "sent", 1, None) for e in items
        ]
    return rows


def _run(digest_id: int, slot: str, items: list[int], moment: object) -> Run:
    return (digest_id, slot, "sent", 1, 1, 1, json.dumps(items), max(items), moment)


def pages(day: int, count: int) -> Iterator[PageRecord]:
    date = dt.date(2026, 1, 1) + dt.timedelta(days=day)
    for n in range(count):
        yield PageRecord(
            key=make_key(date, f"ledger-bench-{day}-{n}"),
            date=date,
            headline=f"Ministers meet in Brussels on the budget, report {day}-{n}",
            entities=("Belgium",),
            origin="feed",
            announce=True,
        )


async def build(
    storage: Storage, days: int, per_poll: int, now: dt.datetime
) -> tuple[Digests, list[list[int]]]:
    """The digests, and each day's events; their ids (the events', day by day)."""
    digests: Digests = {"live": [], "hourly": [], "daily": [], "onthisday": []}
    channel = 100_000
    for name, kind, every, count in (
        ("live", "new", "live", LIVE),
        ("hourly", "new", "hourly", HOURLY),
        ("daily", "new", "daily", DAILY),
        ("onthisday", "onthisday", "daily", ON_THIS_DAY),
    ):
        for _ in range(count):
            channel += 1
            made, _ = await storage.digests.upsert(
                guild_id=channel << 22,
                channel_id=channel,
                kind=kind,
                every=every,
                time=dt.time(20),
                timezone="UTC",
                created_by=9,
                now=now,
            )
            digests[name].append(made.id)
    by_day: list[list[int]] = []
    newest = 0
    for day in range(days):
        count = per_poll * POLLS_A_DAY
        await storage.events.import_batch(list(pages(day, count)))
        by_day.append((await storage.subscriptions.announced_after(newest, limit=count)).ready)
        newest = by_day[-1][-1]
    return digests, by_day


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes each table takes with its indexes (dbstat)."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s"
            " LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
        ).fetchall()
        return {name: size for name, size in rows}
    finally:
        db.close()


async def timed_prune(storage: Storage, now: dt.datetime) -> Timed:
    steps: list[float] = []
    last = time.perf_counter()

    def step(_: PruneStep) -> None:
        nonlocal last
        moment = time.perf_counter()
        steps.append(moment - last)
        last = moment

    started = time.perf_counter()
    last = started
    report = await prune_ledgers(storage, now=now, progress=step)
    return Timed(
        seconds=time.perf_counter() - started,
        steps=len(steps),
        slowest_step=max(steps, default=0.0),
        runs_removed=report.runs_removed,
        deliveries_removed=report.deliveries_removed,
    )


async def measure_sqlite(path: Path, days: int, per_poll: int) -> Figures:
    now = dt.datetime.now(dt.UTC)
    first_day = now - dt.timedelta(days=days)
    rng = random.Random(7)
    storage = await open_storage(path)
    try:
        digests, by_day = await build(storage, days, per_poll, now)
    finally:
        await storage.close()
    db = connect_plain(path)
    before = table_bytes(path)
    try:
        for day, ids in enumerate(by_day):
            start = first_day + dt.timedelta(days=day)
            db.execute(
                "UPDATE events SET added_at = ? WHERE id BETWEEN ? AND ?",
                (to_timestamp(start), ids[0], ids[-1]),
            )
            rows = day_rows(start, ids, digests, rng, str)
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO digest_runs(digest_id, slot, status, parts, parts_sent,"
                " attempts, items, covers_to, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                rows.runs,
            )
            db.executemany(
                "INSERT OR IGNORE INTO deliveries(target, event_id, delivered_at, state,"
                " attempts, guild_id) VALUES (?,?,?,?,?,?)",
                rows.deliveries,
            )
            db.execute("COMMIT")
        newest = by_day[-1][-1]
        db.execute("UPDATE digests SET last_event_id = ? WHERE kind = 'new'", (newest,))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("digest_runs", "deliveries")
        }
    finally:
        db.close()
    after = table_bytes(path)
    grown = {t: after.get(t, 0) - before.get(t, 0) for t in ("digest_runs", "deliveries")}
    storage = await open_storage(path)
    try:
        # The daily job in its steady state: the day that has just turned old.
        daily = await timed_prune(storage, now - dt.timedelta(days=days - LEDGERS_KEPT.days - 1))
        backlog = await timed_prune(storage, now)
        sizes = await storage.ledgers.sizes()
        started = time.perf_counter()
        compaction = await storage.compact()
        vacuum_seconds = time.perf_counter() - started
    finally:
        await storage.close()
    assert compaction is not None
    return Figures(
        days=days,
        events_a_day=per_poll * POLLS_A_DAY,
        rows=counts,
        table_bytes=grown,
        daily_prune=daily,
        backlog_prune=backlog,
        kept={"digest_runs": sizes.runs, "deliveries": sizes.deliveries},
        vacuum={
            "seconds": vacuum_seconds,
            "bytes_before": compaction.bytes_before,
            "bytes_after": compaction.bytes_after,
            "given_back": compaction.given_back,
        },
    )


async def measure_postgres(server_url: str, days: int, per_poll: int) -> Figures:
    import asyncpg

    url = await fresh_database(server_url, "chronicle_bench_ledgers")
    now = dt.datetime.now(dt.UTC)
    first_day = now - dt.timedelta(days=days)
    rng = random.Random(7)
    storage = await open_storage(url)
    try:
        digests, by_day = await build(storage, days, per_poll, now)
    finally:
        await storage.close()
    conn = await asyncpg.connect(url)
    seen: set[tuple[str, int]] = set()
    try:
        for day, ids in enumerate(by_day):
            start = first_day + dt.timedelta(days=day)
            await conn.execute(
                "UPDATE events SET added_at = $1 WHERE id BETWEEN $2 AND $3", start, ids[0], ids[-1]
            )
            rows = day_rows(start, ids, digests, rng, None)
            await conn.copy_records_to_table(
                "digest_runs",
                records=rows.runs,
                columns=["digest_id", "slot", "status", "parts", "parts_sent", "attempts",
                         "items", "covers_to", "updated_at"],
            )  # fmt: skip
            fresh = [r for r in rows.deliveries if (r[0], r[1]) not in seen]
            seen.update((r[0], r[1]) for r in fresh)  # INSERT OR IGNORE, as SQLite's
            await conn.copy_records_to_table(
                "deliveries",
                records=fresh,
                columns=["target", "event_id", "delivered_at", "state", "attempts", "guild_id"],
            )
        await conn.execute(
            "UPDATE digests SET last_event_id = $1 WHERE kind = 'new'", by_day[-1][-1]
        )
        await conn.execute("VACUUM ANALYZE deliveries, digest_runs, events")
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("digest_runs", "deliveries")
        }
        table_size = {
            t: await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)
            for t in ("digest_runs", "deliveries")
        }
    finally:
        await conn.close()
    storage = await open_storage(url)
    try:
        daily = await timed_prune(storage, now - dt.timedelta(days=days - LEDGERS_KEPT.days - 1))
        backlog = await timed_prune(storage, now)
        sizes = await storage.ledgers.sizes()
    finally:
        await storage.close()
    return Figures(
        days=days,
        events_a_day=per_poll * POLLS_A_DAY,
        rows=counts,
        table_bytes=table_size,
        daily_prune=daily,
        backlog_prune=backlog,
        kept={"digest_runs": sizes.runs, "deliveries": sizes.deliveries},
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledgers", description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-poll", type=int, default=10)
    parser.add_argument("--db", type=Path, help="the SQLite file (default: a temporary one)")
    parser.add_argument("--postgres-url", help=f"also on PostgreSQL (e.g. {DEFAULT_URL})")
    args = parser.parse_args(argv)
    if args.days <= LEDGERS_KEPT.days + 1:
        parser.error(f"--days must be more than {LEDGERS_KEPT.days + 1}: older rows are pruned")
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "ledgers.db"
        measured = asyncio.run(measure_sqlite(path, args.days, args.events_per_poll))
    print(json.dumps({"sqlite": measured.as_dict()}, indent=2), flush=True)
    if args.postgres_url:
        measured = asyncio.run(measure_postgres(args.postgres_url, args.days, args.events_per_poll))
        print(json.dumps({"postgresql": measured.as_dict()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
