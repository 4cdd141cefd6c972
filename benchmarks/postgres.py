"""The scale benchmark on PostgreSQL (`python -m benchmarks.run --backend postgresql`).

For each size the SQLite archive is built as for SQLite (benchmarks.run), then copied into a
fresh PostgreSQL database with `chronicle migrate`'s code (storage.postgres.transfer: the
copy, then its check), timed as "migrate". On that copy, and with the same inputs as
SQLite's (drawn from the SQLite file by the same seeds): the lookups through Chronicle's
services, the slash commands end to end (the bot process started with
CHRONICLE_DATABASE_URL), the digests of --channels channels, and the slash-command
throughput of one bot process against two (--shard-count 2, one shard each).

The database is named ``chronicle_bench_<events>`` on the server of --postgres-url; it is
dropped and created again at the start of each run of that size (the migration is timed
into an empty database) and kept afterwards, so that the slow lookups can be looked at
with EXPLAIN ANALYZE.

SQLite's "bare" column is not measured here: its statements are SQLite's (FTS5 MATCH, its
indexes), and PostgreSQL's lookups are other statements; the comparison shown is with
SQLite's figures for the same inputs, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from benchmarks import digest_build, queries, slash
from benchmarks.corpus_model import CorpusSpec
from benchmarks.queries import percentile
from benchmarks.report_cells import ms, slowest, verdict
from storage import open_storage
from storage.postgres import PostgresStorage, transfer, transfer_check
from storage.postgres.db import redacted
from tests.e2e.standin.model import make_guild

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
Progress = Callable[[str, int, int], None]
Note = Callable[[str], None]

# Two servers, one on each shard of 2 ((id >> 22) % 2), for the throughput runs.
SHARD_GUILDS = (3_000 << 22, (3_001 << 22) + 100)
IN_FLIGHT = 16  # interactions sent and not yet answered, at most, in the throughput runs
ACK_LIMIT_S = 3.0  # Discord's: a callback later than this is refused (10062)


# --- the database --------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    """server_url with its database replaced by name."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + name))


async def fresh_database(server_url: str, name: str) -> str:
    """Drop `name` if it exists and create it empty; its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(server_url, name)


async def server_info(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_connections")
        }
    finally:
        await conn.close()
    return {"server": version, "asyncpg": asyncpg.__version__, "settings": settings}


async def db_size(url: str) -> dict[str, Any]:
    """The database's bytes on disk, and its biggest tables (with TOAST) and indexes."""
    conn = await asyncpg.connect(url)
    try:
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        biggest = await conn.fetch(
            "SELECT c.relname, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid)"
            " ELSE pg_table_size(c.oid) END AS bytes"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
            " ORDER BY bytes DESC LIMIT 8"
        )
    finally:
        await conn.close()
    return {"bytes": int(total), "biggest": [(r[0], int(r[1])) for r in biggest]}


async def migrate(sqlite_path: Path, url: str, progress: Progress | None = None) -> dict[str, Any]:
    """`chronicle migrate --to url`'s work, timed: the copy, then its check."""
    source = await open_storage(sqlite_path)
    target = await PostgresStorage.open(url)
    try:
        started = time.perf_counter()

        def step(s: transfer.Step) -> None:
            if progress:
                progress(f"migrate {s.table}", s.done, s.total)

        report = await transfer.copy_archive(sqlite_path, target, progress=step)
        copied = time.perf_counter() - started
        check = await transfer_check.verify(sqlite_path, source, target)
        checked = time.perf_counter() - started - copied
        if check.ok:
            await transfer.finish(target)
    finally:
        await target.close()
        await source.close()
    rows = sum(report.rows.values())
    return {
        "seconds": copied + checked,
        "copy_seconds": copied,
        "check_seconds": checked,
        "rows": report.rows,
        "rows_per_second": rows / copied if copied else None,
        "checks": check.checks,
        "problems": check.problems[:10],
        "skipped": list(getattr(check, "skipped", [])),
    }


# --- throughput: one bot process against two -----------------------------------------------


@dataclass(slots=True)
class Throughput:
    processes: int
    sent: int = 0
    answered: int = 0  # callback within Discord's 3 s (and the deferred answer, if deferred)
    late: int = 0  # a callback, but after 3 s
    lost: int = 0  # no callback within slash.CALLBACK_TIMEOUT_S
    seconds: float = 0.0
    latency_ms: list[float] = field(default_factory=list)
    per_guild: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "sent": self.sent,
            "answered": self.answered,
            "late": self.late,
            "lost": self.lost,
            "seconds": self.seconds,
            "per_second": self.per_second,
            "p50": percentile(self.latency_ms, 50) if self.latency_ms else None,
            "p99": percentile(self.latency_ms, 99) if self.latency_ms else None,
            "per_guild": self.per_guild,
        }


def throughput_plan(
    db: sqlite3.Connection, seed: int, count: int
) -> list[tuple[slash.Interaction, int]]:
    """The slash benchmark's interactions, every kind in turn, each on one of the two servers."""
    plan = slash.interactions(db, random.Random(f"{seed}:throughput"), max(1, -(-count // 4)))
    mixed = [i for batch in zip(*plan.values(), strict=True) for i in batch][:count]
    return [(interaction, SHARD_GUILDS[n % 2]) for n, interaction in enumerate(mixed)]


async def _ask(
    standin: slash.TimedStandIn,
    interaction: slash.Interaction,
    guild_id: int,
    result: Throughput,
) -> None:
    channel_id = guild_id + 10  # make_guild's first channel
    if interaction.focused is not None:
        handle = await standin.send_autocomplete(
            interaction.command,
            interaction.options,
            focused=interaction.focused,
            guild_id=guild_id,
            channel_id=channel_id,
        )
    else:
        handle = await standin.send_slash_command(
            interaction.command, interaction.options, guild_id=guild_id, channel_id=channel_id
        )
    try:
        arrived = await asyncio.wait_for(standin.expect(handle.id), slash.CALLBACK_TIMEOUT_S)
    except TimeoutError:
        result.lost += 1
        return
    if arrived - handle.dispatched_at > ACK_LIMIT_S:
        result.late += 1
        return
    if handle.callback_type == 5:
        try:
            arrived = await asyncio.wait_for(
                standin.expect_answer(handle.token), slash.CALLBACK_TIMEOUT_S
            )
        except TimeoutError:
            result.lost += 1
            return
    result.answered += 1
    result.latency_ms.append((arrived - handle.dispatched_at) * 1000)
    key = str(guild_id)
    result.per_guild[key] = result.per_guild.get(key, 0) + 1


async def throughput(
    url: str,
    plan: Sequence[tuple[slash.Interaction, int]],
    workdir: Path,
    *,
    processes: int,
    in_flight: int = IN_FLIGHT,
    ready_timeout: float = 600.0,
) -> Throughput:
    """The plan's interactions, at most in_flight at a time, answered by one bot process
    running both shards of 2, or by two processes running one shard each."""
    guilds = [make_guild(g, name=f"server {g}") for g in SHARD_GUILDS]
    shard_args = (
        [["--shard-count", "2", "--shards", "0-1"]]
        if processes == 1
        else [["--shard-count", "2", "--shards", f"{n}-{n}"] for n in range(processes)]
    )
    result = Throughput(processes)
    async with slash.TimedStandIn(guilds=guilds) as standin:
        async with contextlib.AsyncExitStack() as stack:
            bots = [
                await stack.enter_async_context(
                    slash.bot_process(
                        standin,
                        url,
                        workdir,
                        args=args,
                        guild_id=None,
                        log_name=f"bot-{processes}-{n}.log",
                    )
                )
                for n, args in enumerate(shard_args)
            ]
            deadline = time.monotonic() + ready_timeout
            while not (standin.ready_count >= 2 and standin.global_commands):
                for bot in bots:
                    if bot.returncode is not None:
                        raise RuntimeError(f"a bot exited with status {bot.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the bots were not ready within {ready_timeout:.0f} s")
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the bots' start-up work
            # A few first, not counted: the first of each kind loads what it needs.
            for interaction, guild_id in plan[:8]:
                await _ask(standin, interaction, guild_id, Throughput(processes))
            turn = asyncio.Semaphore(in_flight)

            async def one(interaction: slash.Interaction, guild_id: int) -> None:
                async with turn:
                    await _ask(standin, interaction, guild_id, result)

            started = time.perf_counter()
            await asyncio.gather(*(one(i, g) for i, g in plan))
            result.seconds = time.perf_counter() - started
            result.sent = len(plan)
            for bot in bots:
                if bot.returncode is not None:
                    raise RuntimeError(f"a bot exited with status {bot.returncode}")
        if standin.internal_errors:
            raise RuntimeError(f"the stand-in failed: {standin.internal_errors[:3]}")
    return result


# --- one size ------------------------------------------------------------------------------


def _lookup_rows(rows: Sequence[queries.LatencyRow]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "n": r.count,
            "p50": r.p50,
            "p99": r.p99,
            "max": max(r.times_ms) if r.times_ms else None,
            "target_ms": r.target_ms,
            "passed": r.passed,
            "user_errors": r.errors,
            "stopped_early": r.stopped_early,
            "slowest": r.slowest[:3],
        }
        for r in rows
    ]


async def run_size(
    args: Any,
    database: Path,
    spec: CorpusSpec,
    rundir: Path,
    progress: Progress,
    note: Note,
    digest_now: Any,
) -> dict[str, Any]:
    """Everything measured on PostgreSQL for one size, from the SQLite archive `database`
    (before SQLite's own measures change it: the digests write into it)."""
    name = f"chronicle_bench_{spec.events}"
    result: dict[str, Any] = {"database": redacted(database_url(args.postgres_url, name))}
    result["machine"] = await server_info(args.postgres_url)
    url = await fresh_database(args.postgres_url, name)
    note(f"PostgreSQL: migrating the archive into {result['database']} (chronicle migrate)")
    result["migrate"] = await migrate(database, url, progress)
    note(
        f"migrate: {result['migrate']['copy_seconds']:.1f} s copy,"
        f" {result['migrate']['check_seconds']:.1f} s check"
    )
    if result["migrate"]["problems"]:
        raise RuntimeError(f"the copy differs: {result['migrate']['problems']}")
    result["db"] = await db_size(url)

    note(f"PostgreSQL lookups: {args.queries:,} per row, through Chronicle")
    storage = await open_storage(url)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as inputs:
            rows = await queries.measure(
                storage,
                inputs,
                queries=args.queries,
                seed=args.seed,
                budget_s=args.row_budget,
                progress=progress,
                time_bare=False,
            )
    finally:
        await storage.close()
    result["lookups"] = _lookup_rows(rows)

    if not args.skip_slash:
        note(f"PostgreSQL slash commands: the bot in its own process, {args.slash:,} per row")
        slash_rows, memory, startup = await slash.measure(
            database,
            rundir / "postgresql",
            count=args.slash,
            seed=args.seed,
            progress=progress,
            database_url=url,
        )
        result["slash"] = [
            {
                "name": r.name,
                "n": len(r.callback_ms),
                "p50": r.p50,
                "p99": r.p99,
                "answer_p99": percentile(r.answer_ms, 99) if r.answer_ms else None,
                "deferred": r.deferred,
                "lost": r.lost,
                "abandoned": r.abandoned,
                "target_ms": r.target_ms,
                "passed": r.passed,
            }
            for r in slash_rows
        ]
        result["bot"] = asdict(memory) | {"startup_s": startup}
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as inputs:
            plan = throughput_plan(inputs, args.seed, args.throughput)
        result["throughput"] = []
        for processes in (1, 2):
            note(
                f"PostgreSQL throughput: {len(plan):,} interactions, {IN_FLIGHT} in flight,"
                f" {processes} bot process{'es' if processes > 1 else ''}"
            )
            measured = await throughput(url, plan, rundir / "postgresql", processes=processes)
            result["throughput"].append(measured.summary())
            note(f"  {measured.per_second:,.0f} interactions/s")

    note(f"PostgreSQL digests: every digest of {args.channels:,} channels")
    storage = await open_storage(url)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            digests = await digest_build.measure(
                storage, db, spec, channels=args.channels, now=digest_now, progress=progress
            )
    finally:
        await storage.close()
    result["digests"] = digests.figures()
    return result


# --- reporting -----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return ms(value, missing="—")


def _by_name(rows: Sequence[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows or ()}


def render(r: dict[str, Any]) -> str:
    """The PostgreSQL section of a size: its figures beside SQLite's of the same run."""
    pg = r["postgresql"]
    lines: list[str] = []
    out = lines.append
    m = pg["machine"]
    out("### PostgreSQL, beside SQLite")
    out("")
    out(
        f"The same run, machine and inputs (`--backend postgresql`): PostgreSQL {m['server']}"
        f" on 127.0.0.1 (shared_buffers {m['settings']['shared_buffers']}, work_mem"
        f" {m['settings']['work_mem']}), asyncpg {m['asyncpg']}; database"
        f" `{pg['database']}`, created afresh by this run and kept. The machine has"
        f" {r['machine']['cores']} cores and is shared: other work ran beside the benchmark, so"
        " the figures are noisy, and PostgreSQL's server shares the cores with the bot and the"
        " stand-in. SQLite's bare column has no PostgreSQL counterpart here (the statements"
        " differ); the comparison is with SQLite's own figures."
    )
    out("")
    mig = pg["migrate"]
    rows = sum(mig["rows"].values())
    out(
        f"**migrate** (`chronicle migrate`'s code, storage.postgres.transfer, into an empty"
        f" database): **{mig['seconds']:.1f} s** — the copy {mig['copy_seconds']:.1f} s"
        f" ({rows:,} rows, {mig['rows'].get('events', 0):,} events;"
        f" {mig['rows_per_second']:,.0f} rows/s, with the tsvectors, counters, packed postings"
        f" and ANALYZE), then the check {mig['check_seconds']:.1f} s ({mig['checks']} checks,"
        f" {len(mig['problems'])} mismatches)."
    )
    out("")
    out("| figure | SQLite | PostgreSQL | target | PostgreSQL |")
    out("| --- | ---: | ---: | ---: | --- |")
    sqlite_lookups = _by_name(r.get("lookups"))
    for row in pg["lookups"]:
        theirs = sqlite_lookups.get(row["name"], {})
        target = f"< {row['target_ms']:g} ms" if row["target_ms"] else ""
        early = " (stopped: time budget)" if row["stopped_early"] else ""
        out(
            f"| {row['name']} p99{early} | {_ms(theirs.get('p99'))} ms | {_ms(row['p99'])} ms"
            f" | {target} | {verdict(row['passed'])} |"
        )
    sqlite_slash = _by_name(r.get("slash"))
    for row in pg.get("slash", []):
        theirs = sqlite_slash.get(row["name"], {})
        target = f"< {row['target_ms']:g} ms" if row["target_ms"] else ""
        out(
            f"| slash {row['name']} p99 | {_ms(theirs.get('p99'))} ms | {_ms(row['p99'])} ms"
            f" | {target} | {verdict(row['passed'])} |"
        )
    d, sd = pg["digests"], r.get("digests", {})
    out(
        f"| digests for {d['channels']:,} channels | {sd.get('seconds', float('nan')):.2f} s"
        f" | {d['seconds']:.2f} s | < 5 s | {verdict(d['seconds'] < 5.0)} |"
    )
    if "bot" in pg:
        theirs = r.get("bot", {}).get("peak_rss_mb")
        out(
            f"| bot peak RSS | {theirs:.0f} MB | {pg['bot']['peak_rss_mb']:.0f} MB | < 250 MB"
            f" | {verdict(pg['bot']['peak_rss_mb'] < 250.0)} |"
            if theirs is not None
            else f"| bot peak RSS | — | {pg['bot']['peak_rss_mb']:.0f} MB | < 250 MB |"
            f" {verdict(pg['bot']['peak_rss_mb'] < 250.0)} |"
        )
    sqlite_bytes = r.get("db", {}).get("bytes")
    out(
        f"| database on disk | {sqlite_bytes / 1e6:,.0f} MB | {pg['db']['bytes'] / 1e6:,.0f} MB | | |"
        if sqlite_bytes
        else f"| database on disk | — | {pg['db']['bytes'] / 1e6:,.0f} MB | | |"
    )
    out("")
    out("PostgreSQL lookups in full (through Chronicle's services over asyncpg):")
    out("")
    out("| lookup | n | p50 ms | p99 ms | max ms | SQLite p50 | SQLite p99 | target p99 | |")
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in pg["lookups"]:
        theirs = sqlite_lookups.get(row["name"], {})
        target = f"< {row['target_ms']:g}" if row["target_ms"] else ""
        out(
            f"| {row['name']} | {row['n']:,} | {_ms(row['p50'])} | {_ms(row['p99'])}"
            f" | {_ms(row['max'])} | {_ms(theirs.get('p50'))} | {_ms(theirs.get('p99'))}"
            f" | {target} | {verdict(row['passed'])} |"
        )
    out("")
    out("Slowest PostgreSQL inputs (ms):")
    out("")
    for row in pg["lookups"]:
        out(f"- {row['name']}: {slowest(row)}")
    out("")
    if "slash" in pg:
        out("Slash commands end to end on PostgreSQL (the bot with CHRONICLE_DATABASE_URL):")
        out("")
        out(
            "| interaction | n | p50 ms | p99 ms | answer p99 ms | deferred | lost | SQLite p99 | |"
        )
        out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for row in pg["slash"]:
            theirs = sqlite_slash.get(row["name"], {})
            out(
                f"| {row['name']} | {row['n']:,} | {_ms(row['p50'])} | {_ms(row['p99'])}"
                f" | {_ms(row['answer_p99'])} | {row['deferred']} | {row['lost']}"
                f" | {_ms(theirs.get('p99'))} | {verdict(row['passed'])} |"
            )
        for row in pg["slash"]:
            if row.get("abandoned"):
                out("")
                out(f"**{row['name']}: {row['abandoned']}**")
        out("")
        bot = pg["bot"]
        out(
            f"Bot process on PostgreSQL: {bot['idle_rss_mb']:.0f} MB resident after start-up,"
            f" peak {bot['peak_rss_mb']:.0f} MB; ready {bot['startup_s']:.1f} s after launch."
        )
        out("")
    if pg.get("throughput"):
        out(
            "Slash-command throughput on PostgreSQL: the slash rows' interactions, every kind in"
            f" turn, alternately on two servers (one on each shard of 2), {IN_FLIGHT} in flight;"
            " one process running both shards (`--shard-count 2 --shards 0-1`) against two"
            " (`--shards 0-0` and `--shards 1-1`). Answered: the callback within Discord's 3 s"
            " (and a deferred reply's answer). On 2 cores shared by the bots, PostgreSQL, the"
            " stand-in and other work, a second process has little CPU to gain."
        )
        out("")
        out(
            "| bot processes | sent | answered | late | lost | seconds | answered/s | p50 ms | p99 ms |"
        )
        out("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t in pg["throughput"]:
            out(
                f"| {t['processes']} | {t['sent']:,} | {t['answered']:,} | {t['late']} | {t['lost']}"
                f" | {t['seconds']:.1f} | **{t['per_second']:,.0f}** | {_ms(t['p50'])}"
                f" | {_ms(t['p99'])} |"
            )
        out("")
    out(
        f"Digests on PostgreSQL: {d['digests']:,} built in **{d['seconds']:.2f} s**: onthisday"
        f" p50 {_ms(d['onthisday_p50'])} ms, p99 {_ms(d['onthisday_p99'])} ms; new p50"
        f" {_ms(d['new_p50'])} ms, p99 {_ms(d['new_p99'])} ms; {d['events_listed']:,} events"
        f" listed, {d['empty']} empty."
    )
    out("")
    if pg["db"]["biggest"]:
        out(
            f"PostgreSQL database: {pg['db']['bytes'] / 1e6:,.0f} MB; largest tables (with"
            " TOAST) and indexes: "
            + ", ".join(f"{n} {b / 1e6:,.0f} MB" for n, b in pg["db"]["biggest"])
            + "."
        )
        out("")
    return "\n".join(lines)


def summary_lines(r: dict[str, Any]) -> list[str]:
    pg = r["postgresql"]
    lines = [
        f"  PostgreSQL: migrate {pg['migrate']['seconds']:.1f} s"
        f" (copy {pg['migrate']['copy_seconds']:.1f} s)"
    ]
    for row in pg["lookups"]:
        mark = "" if row["passed"] is None else ("PASS" if row["passed"] else "MISS")
        lines.append(
            f"  pg {row['name']:<34} p50 {_ms(row['p50']):>7} p99 {_ms(row['p99']):>7} ms {mark}"
        )
    for row in pg.get("slash", []):
        mark = "" if row["passed"] is None else ("PASS" if row["passed"] else "MISS")
        lines.append(f"  pg slash {row['name']:<28} p99 {_ms(row['p99']):>7} ms {mark}")
    for t in pg.get("throughput", []):
        lines.append(f"  pg throughput, {t['processes']} process(es): {t['per_second']:,.0f}/s")
    lines.append(f"  pg digests {pg['digests']['seconds']:.2f} s")
    return lines
