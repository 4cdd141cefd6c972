"""Live digests at Discord's rate limits: thousands of servers, one ingest's events each.

    python -m benchmarks.news_channels                        # 200 servers x 5 channels: 1,000
    python -m benchmarks.news_channels --servers 2000 --write # the issue's 10,000 live digests

Every text channel of --servers servers (--channels-per-server each) has a live 'new' digest,
made straight in storage (``storage.digests.upsert``: 10,000 slash commands would measure
something else). The real ChronicleBot (bot.client, in this process) connects to the loopback
Discord stand-in of tests/e2e, run in a child process of its own so that Discord's side shares
neither the bot's event loop nor its CPU. The stand-in enforces Discord's limits with real 429s
(50 requests a second over the whole bot, 5 messages per 5 seconds per channel). One ingest of
--events announced events then arrives, as a feed poll brings it: ``bot.announce()`` kicks a
live round, and every digest posts its message through bot.pacing.PostPacer.

Figures: the round's wall time (kick to its end) against the theoretical minimum at those
limits (posts / 50 per second: with one post per channel the channel limit does not bind),
429s answered, posts lost (digests whose channel got no message) and duplicated (one message
twice in a channel), the pacer's counters, the bot's CPU time, event-loop lag and peak RSS
(VmHWM, reset when the bot starts), and, apart, its start-up with that many servers and
digests (GUILD_CREATE of every server, the catch-up of every digest). The scheduler is paused
(no feed polls or sweeps meanwhile): the round is the only work.

Importing tests.e2e (the stand-in and the harness) from a benchmark is deliberate, as
benchmarks.slash and benchmarks.feeds_poll do with tests' servers: the stand-in is what makes
Discord's limits measurable here. Its channel lookup is indexed in MeasuredStandIn: the stand-in
finds a channel's server by scanning every server's channels (3 ms a lookup at 10,000 channels,
a handful of lookups a post), which at this size would be a cost of the stand-in, not the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import logging
import multiprocessing
import re
import shlex
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from benchmarks.queries import percentile
from benchmarks.run import Terminal, code_version, machine
from benchmarks.sections import find_section, replace_section
from bot.client import ChronicleBot
from bot.pacing import GLOBAL_PER_SECOND
from bot.services.imports import import_archive
from storage import open_storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import settings_for
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, OWNER_USER_ID
from tests.e2e.standin.model import GuildSpec, make_guild
from tests.e2e.standin.records import RateLimits
from tests.e2e.standin.server import DiscordStandIn, connected_client

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
FINDINGS = HERE / "FINDINGS.md"
SECTION = "## News channels: live digests at Discord's rate limits"
SAMPLE_NEWS = HERE.parent / "bot" / "sample" / "news"
POST_ROUTE = "POST /channels/{channel_id}/messages"
GUILD_SPACING = 1000  # server ids step by this; channels are id + 10 + n (make_guild)
DISCORD_GLOBAL = 50  # requests per second, Discord's global limit for a bot
DISCORD_CHANNEL = (5, 5.0)  # messages per seconds in one channel
COMMAND = "python -m benchmarks.news_channels"


# --- Discord's side: the stand-in, in a process of its own ------------------------------------


def guild_specs(servers: int, channels: int) -> list[GuildSpec]:
    """The servers: the first is the harness's default (where commands are synced)."""
    return [
        make_guild(
            DEFAULT_GUILD_ID + n * GUILD_SPACING,
            name=f"Bench server {n}",
            channels=[f"news-{c}" for c in range(channels)],
        )
        for n in range(servers)
    ]


def channel_ids(servers: int, channels: int) -> list[tuple[int, int]]:
    """(server, channel) of every text channel guild_specs makes."""
    return [
        (DEFAULT_GUILD_ID + n * GUILD_SPACING, DEFAULT_GUILD_ID + n * GUILD_SPACING + 10 + c)
        for n in range(servers)
        for c in range(channels)
    ]


class MeasuredStandIn(DiscordStandIn):
    """The stand-in with its channel -> server lookup indexed, and what a round did."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server_of: dict[int, GuildSpec] = {
            channel.id: guild for guild in self.guilds.values() for channel in guild.all_channels
        }
        self.identify_at = 0.0  # time.monotonic(): IDENTIFY received
        self.guilds_sent_at = 0.0  # READY and every GUILD_CREATE sent
        self._requests_mark = 0
        self._messages_mark = 0
        self._cpu_mark = 0.0
        self._admitted: list[float] = []  # time.monotonic() of each post let through

    def _guild_of_channel(self, channel_id: int) -> GuildSpec | None:
        guild = self._server_of.get(channel_id)
        return guild if guild is not None else super()._guild_of_channel(channel_id)

    def _admit(self, route: Any, params: Any) -> Any:
        now = time.monotonic()
        limited, headers, scope = super()._admit(route, params)
        if limited is None and route.name == POST_ROUTE:
            self._admitted.append(now)
        return limited, headers, scope

    async def _identify(self, connection: Any, data: dict[str, Any]) -> None:
        self.identify_at = time.monotonic()
        await super()._identify(connection, data)
        self.guilds_sent_at = time.monotonic()

    def mark(self) -> None:
        """A round starts: count from here."""
        self.rate_limit_stats = type(self.rate_limit_stats)()
        self._requests_mark = len(self.requests)
        self._messages_mark = len(self.message_log)
        self._cpu_mark = time.process_time()
        self._admitted.clear()

    def report(self) -> dict[str, Any]:
        requests = self.requests[self._requests_mark :]
        posts = sorted(r.at for r in requests if r.route == POST_ROUTE and r.status < 300)
        arrived = self._admitted
        busiest, first = 0, 0
        for last, at in enumerate(arrived):  # most posts let through within any one second
            while at - arrived[first] >= 1.0:
                first += 1
            busiest = max(busiest, last - first + 1)
        per_channel = Counter(int(m["channel_id"]) for m in self.message_log[self._messages_mark :])
        duplicates = self.duplicate_messages()
        stats = self.rate_limit_stats
        return {
            "identify_at": self.identify_at,
            "guilds_sent_at": self.guilds_sent_at,
            "posts": len(posts),
            "first_post_at": posts[0] if posts else None,
            "last_post_at": posts[-1] if posts else None,
            "busiest_second": busiest,
            "per_channel": dict(per_channel),
            "duplicate_groups": len(duplicates),
            "duplicate_extra": sum(len(group) - 1 for group in duplicates),
            "global_429s": stats.global_429s,
            "channel_429s": stats.channel_429s,
            "channels_429d": len(stats.by_channel),
            "requests": dict(Counter(f"{r.route or r.path} {r.status}" for r in requests)),
            "cpu_s": time.process_time() - self._cpu_mark,
            "peak_rss_mb": _status_mb("VmHWM"),
            "internal_errors": [repr(e) for e in self.internal_errors[:5]],
        }


def _status_mb(field_name: str, pid: str = "self") -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss() -> bool:
    """Start VmHWM afresh (Linux: 5 > /proc/self/clear_refs); False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _standin_main(conn: Connection, servers: int, channels: int, limits: RateLimits | None) -> None:
    """The child process: serve the stand-in, answer the parent's commands on `conn`."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_standin(conn, servers, channels, limits))


async def _serve_standin(
    conn: Connection, servers: int, channels: int, limits: RateLimits | None
) -> None:
    standin = MeasuredStandIn(guilds=guild_specs(servers, channels), rate_limits=limits)
    loop = asyncio.get_running_loop()
    async with standin:
        conn.send({"api_base": standin.api_base, "gateway_url": standin.gateway_url})
        while True:
            try:
                command = await loop.run_in_executor(None, conn.recv)
            except EOFError:  # the parent is gone
                return
            if command == "mark":
                standin.mark()
                conn.send(None)
            elif command == "report":
                conn.send(standin.report())
            else:  # "stop"
                conn.send(None)
                return


class StandInProcess:
    """The stand-in in a child process; api_base and gateway_url as DiscordStandIn has them."""

    def __init__(self, servers: int, channels: int, limits: RateLimits | None) -> None:
        self.args = (servers, channels, limits)
        self.api_base = ""
        self.gateway_url = ""
        self._conn: Connection | None = None
        self._process: Any = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> StandInProcess:
        context = multiprocessing.get_context("spawn")  # no copy of this process's loop/threads
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_standin_main, args=(child, *self.args), name="discord-standin", daemon=True
        )
        self._process.start()
        child.close()
        addresses = await self._receive(120.0)
        self.api_base, self.gateway_url = addresses["api_base"], addresses["gateway_url"]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            await self.call("stop", limit_s=30.0)
        if self._process is not None:
            await asyncio.to_thread(self._process.join, 10.0)
            if self._process.is_alive():
                self._process.terminate()
                await asyncio.to_thread(self._process.join, 10.0)
        if self._conn is not None:
            self._conn.close()

    async def call(self, command: str, *, limit_s: float = 300.0) -> Any:
        assert self._conn is not None
        async with self._lock:
            await asyncio.to_thread(self._conn.send, command)
            return await self._receive(limit_s)

    async def _receive(self, limit_s: float) -> Any:
        assert self._conn is not None
        deadline = time.monotonic() + limit_s
        while not await asyncio.to_thread(self._conn.poll, 0.5):
            if not self._process.is_alive():
                raise RuntimeError(f"the stand-in process exited ({self._process.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stand-in did not answer within {limit_s:.0f} s")
        return self._conn.recv()


# --- Chronicle's side ---------------------------------------------------------------------------


class TimedBot(ChronicleBot):
    """ChronicleBot, noting when its start-up steps end (nothing else differs)."""

    setup_s = 0.0
    ready_at = 0.0

    async def setup_hook(self) -> None:
        started = time.perf_counter()
        await super().setup_hook()
        self.setup_s = time.perf_counter() - started

    async def on_ready(self) -> None:
        if not self.ready_at:
            self.ready_at = time.monotonic()
        await super().on_ready()


async def prepare(
    database: Path,
    servers: int,
    channels: int,
    *,
    archive: bool,
    now: dt.datetime,
    term: Terminal,
) -> dict[str, float]:
    """The database: the bundled sample archive (unless not), a live digest per channel."""
    timings: dict[str, float] = {}
    async with await open_storage(database) as storage:
        if archive:
            started = time.perf_counter()
            report = await import_archive(storage, [SAMPLE_NEWS])
            if not report.ok:
                raise RuntimeError(f"the sample archive did not import: {report.failed}")
            timings["archive_s"] = time.perf_counter() - started
        targets = channel_ids(servers, channels)
        started = time.perf_counter()
        for number, (guild_id, channel_id) in enumerate(targets, start=1):
            await storage.digests.upsert(
                guild_id=guild_id,
                channel_id=channel_id,
                kind="new",
                every="live",
                time=dt.time(0, 0),
                timezone="UTC",
                created_by=OWNER_USER_ID,
                now=now,
            )
            term.step("live digests created", number, len(targets))
        timings["digests_s"] = time.perf_counter() - started
    return timings


def _fresh_database(workdir: Path) -> Path:
    """workdir/chronicle.db, removed if a run left one."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "chronicle.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return database


def ingest(count: int, now: dt.datetime) -> list[PageRecord]:
    """One feed poll's worth of announced events (feed entries, today)."""
    day = now.date()
    return [
        PageRecord(
            key=f"{day:%Y/%m/%d}/bench-live-{n}",
            date=day,
            headline=f"Bench wire reports development number {n} in the live round",
            summary="A feed entry, announced to every live digest.",
            entities=("Bench Country",),
            origin="feed",
            announce=True,
            sources=(SourceRecord("Bench Wire", f"https://wire.example/live/{n}"),),
        )
        for n in range(count)
    ]


class GcPauses:
    """Garbage collections while installed (gc.callbacks): (generation, seconds) each."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


async def _watch_loop(lags: list[float], stop: asyncio.Event, every: float = 0.05) -> None:
    """How late the event loop wakes a sleeper: its lag, sampled all through the round."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(every)
        lags.append(loop.time() - started - every)


@dataclass
class Figures:
    servers: int
    channels_per_server: int
    events: int
    digests: int = 0
    posts_expected: int = 0  # messages the bot claimed runs for (digest_runs.parts)
    posts: int = 0  # messages the stand-in created in the round
    lost: int = 0  # digests whose channel got no message
    short: int = 0  # messages missing, over all digests (a digest of 2 parts with 1 sent: 1)
    duplicated: int = 0  # messages beyond the first of identical ones in a channel
    wall_s: float = 0.0  # kick to the round's end
    minimum_s: float = 0.0  # at Discord's limits
    pacer_s: float = 0.0  # at the pacer's own rate (GLOBAL_PER_SECOND)
    lead_s: float = 0.0  # kick to the first post answered
    span_s: float = 0.0  # first to last post answered
    tail_s: float = 0.0  # last post answered to the round's end
    busiest_second: int = 0  # most posts the stand-in let through in any 1 s (sliding)
    global_429s: int = 0
    channel_429s: int = 0
    channels_429d: int = 0
    ingest_s: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)  # digest_runs status -> count
    requests: dict[str, int] = field(default_factory=dict)  # route status -> count, the round
    pacer: dict[str, float] = field(default_factory=dict)
    bot_cpu_s: float = 0.0
    standin_cpu_s: float = 0.0
    lag_p99_ms: float = 0.0
    lag_max_ms: float = 0.0
    gc_full: int = 0  # generation-2 collections in the round
    gc_s: float = 0.0  # all collections' pauses, summed
    gc_max_ms: float = 0.0
    bot_peak_rss_mb: float = 0.0  # since the bot started (VmHWM reset), its whole life
    bot_rss_after_start_mb: float = 0.0
    standin_peak_rss_mb: float = 0.0
    startup: dict[str, float] = field(default_factory=dict)
    prepare: dict[str, float] = field(default_factory=dict)
    guilds_seen: int = 0
    internal_errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.wall_s / self.minimum_s if self.minimum_s else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio <= 1.2 and self.lost == 0 and self.short == 0 and self.duplicated == 0


def minimum_seconds(parts: Sequence[int], limits: RateLimits) -> float:
    """The least time the limits allow for these posts (each item: one channel's posts).
    Globally posts / rate; in a channel, every burst after the first waits a window."""
    total = sum(parts)
    at_global = (
        total * limits.global_window / limits.global_per_second if limits.global_per_second else 0.0
    )
    burst, window = limits.channel_messages or (0, 0.0)
    at_channel = max(((p - 1) // burst) * window for p in parts) if parts and burst else 0.0
    return max(at_global, at_channel)


async def measure(
    *,
    servers: int,
    channels: int,
    events: int,
    archive: bool = True,
    limits: RateLimits | None = None,
    workdir: Path | None = None,
    term: Terminal | None = None,
    startup_timeout: float = 1800.0,
    ready_wait: float | None = None,
) -> Figures:
    """Build the servers and digests, start the bot, run one live round; its figures."""
    term = term or Terminal()
    limits = limits or RateLimits(
        global_per_second=DISCORD_GLOBAL, channel_messages=DISCORD_CHANNEL
    )
    figures = Figures(servers, channels, events)
    now = dt.datetime.now(dt.UTC)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="news-")))
        database = _fresh_database(workdir)
        term.note(f"{servers:,} servers x {channels} channels: the database")
        figures.prepare = await prepare(
            database, servers, channels, archive=archive, now=now, term=term
        )
        term.note(f"starting the stand-in: {servers:,} servers, {servers * channels:,} channels")
        async with StandInProcess(servers, channels, limits) as standin:
            await _run_bot(standin, database, figures, term, startup_timeout, ready_wait, limits)
    return figures


async def _run_bot(
    standin: StandInProcess,
    database: Path,
    figures: Figures,
    term: Terminal,
    startup_timeout: float,
    ready_wait: float | None,
    limits: RateLimits,
) -> None:
    proxy = cast(DiscordStandIn, standin)  # the harness reads api_base and gateway_url only
    bot = TimedBot(settings_for(proxy, database, log_level="WARNING"), scheduler_paused=True)
    _reset_peak_rss()
    term.note("starting the bot (GUILD_CREATE of every server, then every digest catches up)")
    started_mono = time.monotonic()
    # ready_wait None: discord.py's own 2 s wait for another GUILD_CREATE, as in production
    # (a shorter one could fire on_ready before every server is known).
    async with connected_client(
        bot, proxy, timeout=startup_timeout, guild_ready_timeout=ready_wait
    ) as client:
        assert isinstance(client, TimedBot)
        connected_at = time.monotonic()
        await asyncio.wait_for(client.wait_until_working(), startup_timeout)
        working_at = time.monotonic()
        # Start-up may kick a live round of its own (what arrived while the bot was down):
        # the measured round starts after it, as it would have to.
        await asyncio.wait_for(client.chronicle_scheduler.live.wait(), startup_timeout)
        caught_up_at = time.monotonic()
        gateway = await standin.call("report")
        figures.guilds_seen = len(client.guilds)
        figures.startup = {
            "setup_s": client.setup_s,  # storage, command sync
            "identify_to_guilds_sent_s": gateway["guilds_sent_at"] - gateway["identify_at"],
            "guilds_sent_to_ready_s": client.ready_at - gateway["guilds_sent_at"],
            "ready_s": client.ready_at - started_mono,
            # catching up every digest: the start-up work, then a live round if it kicks one
            "catch_up_s": caught_up_at - max(client.ready_at, connected_at),
            "startup_round_s": caught_up_at - working_at,
            "total_s": caught_up_at - started_mono,
        }
        figures.bot_rss_after_start_mb = _status_mb("VmRSS")
        term.note(
            f"bot ready in {figures.startup['ready_s']:.1f} s ({figures.guilds_seen:,} servers),"
            f" working in {figures.startup['total_s']:.1f} s"
        )
        await _round(client, standin, figures, term, limits)
        figures.bot_peak_rss_mb = _status_mb("VmHWM")


async def _round(
    bot: TimedBot, standin: StandInProcess, figures: Figures, term: Terminal, limits: RateLimits
) -> None:
    storage = bot.storage
    live = bot.chronicle_scheduler.live
    pacer = bot.chronicle_scheduler.pacer
    figures.digests = len(await storage.digests.live())
    await standin.call("mark")
    pacer.reset_stats()

    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    await storage.events.import_batch(ingest(figures.events, now))
    figures.ingest_s = time.perf_counter() - started

    lags: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_loop(lags, stop))
    # A round must not take ten times its minimum; past that, something hangs.
    limit = max(120.0, 10 * minimum_seconds([1] * figures.digests, limits))
    term.note(f"one ingest of {figures.events} announced events: the live round")
    cpu = time.process_time()
    with GcPauses() as collections:
        kick_at = time.monotonic()
        await bot.announce()  # what a feed poll that brought events does: kick, alert sweep
        round_task = asyncio.ensure_future(live.wait())
        try:
            while not round_task.done():
                await asyncio.wait({round_task}, timeout=0.5)
                term.step("posts granted", pacer.stats().grants, figures.digests)
                if time.monotonic() - kick_at > limit:
                    raise TimeoutError(f"the live round took over {limit:.0f} s")
            round_task.result()
        finally:
            round_task.cancel()
            end_at = time.monotonic()
            figures.bot_cpu_s = time.process_time() - cpu
            stop.set()
            await watcher
    figures.gc_full = sum(1 for generation, _ in collections.pauses if generation == 2)
    figures.gc_s = sum(seconds for _, seconds in collections.pauses)
    figures.gc_max_ms = 1000 * max((seconds for _, seconds in collections.pauses), default=0.0)
    figures.wall_s = end_at - kick_at
    stats = pacer.stats()
    figures.pacer = {
        "grants": stats.grants,
        "mean_wait_s": stats.waited / stats.grants if stats.grants else 0.0,
        "max_queue": stats.max_queue,
        "backoffs": stats.backoffs,
        "queued_after": stats.queued,
    }
    lags_ms = [lag * 1000 for lag in lags]
    figures.lag_p99_ms = percentile(lags_ms, 99) if lags_ms else 0.0
    figures.lag_max_ms = max(lags_ms, default=0.0)

    with contextlib.closing(sqlite3.connect(f"file:{storage.location}?mode=ro", uri=True)) as bare:
        rows = bare.execute(
            "SELECT r.status, COUNT(*), SUM(r.parts) FROM digest_runs r"
            " JOIN digests d ON d.id = r.digest_id WHERE d.every = 'live' GROUP BY r.status"
        ).fetchall()
        parts_rows = bare.execute(
            "SELECT d.channel_id, r.parts FROM digests d LEFT JOIN digest_runs r"
            " ON r.digest_id = d.id AND r.slot LIKE 'live:%' WHERE d.every = 'live'"
        ).fetchall()
    figures.runs = {row[0]: row[1] for row in rows}
    report = await standin.call("report")
    per_channel: dict[int, int] = report["per_channel"]
    expected = {int(row[0]): int(row[1] or 0) for row in parts_rows}
    figures.posts_expected = sum(expected.values())
    figures.posts = report["posts"]
    figures.lost = sum(1 for channel in expected if per_channel.get(channel, 0) == 0)
    figures.short = sum(max(0, parts - per_channel.get(c, 0)) for c, parts in expected.items())
    figures.duplicated = report["duplicate_extra"]
    parts = [p for p in expected.values() if p] or [1] * figures.digests
    figures.minimum_s = minimum_seconds(parts, limits)
    figures.pacer_s = sum(parts) / GLOBAL_PER_SECOND
    if report["first_post_at"] is not None:
        figures.lead_s = report["first_post_at"] - kick_at
        figures.span_s = report["last_post_at"] - report["first_post_at"]
        figures.tail_s = end_at - report["last_post_at"]
    figures.busiest_second = report["busiest_second"]
    figures.global_429s = report["global_429s"]
    figures.channel_429s = report["channel_429s"]
    figures.channels_429d = report["channels_429d"]
    figures.requests = report["requests"]
    figures.standin_cpu_s = report["cpu_s"]
    figures.standin_peak_rss_mb = report["peak_rss_mb"]
    figures.internal_errors = report["internal_errors"]


# --- reporting ----------------------------------------------------------------------------------


def _full_collections(f: Figures) -> str:
    return f"{f.gc_full} full collection{'' if f.gc_full == 1 else 's'}"


def _size(f: Figures) -> str:
    return f"{f.servers:,} × {f.channels_per_server}"


def print_figures(f: Figures) -> None:
    verdict = "PASS" if f.passed else "MISS"
    print(
        f"{_size(f)} channels: {f.digests:,} live digests, one ingest of {f.events} events\n"
        f"  round wall time     {f.wall_s:9.1f} s   minimum {f.minimum_s:.1f} s"
        f" ({f.ratio:.2f}x, goal ≤ 1.2x: {verdict});"
        f" at the pacer's {GLOBAL_PER_SECOND:g}/s {f.pacer_s:.1f} s\n"
        f"  kick → first post   {f.lead_s:9.2f} s   first → last {f.span_s:.1f} s,"
        f" last → end {f.tail_s:.2f} s; most let through in 1 s: {f.busiest_second}\n"
        f"  posts               {f.posts:9,}     expected {f.posts_expected:,};"
        f" lost {f.lost}, short {f.short}, duplicated {f.duplicated}\n"
        f"  429s                {f.global_429s + f.channel_429s:9,}     global {f.global_429s},"
        f" per channel {f.channel_429s} ({f.channels_429d} channels)\n"
        f"  pacer               grants {f.pacer['grants']:,}, mean wait"
        f" {f.pacer['mean_wait_s']:.1f} s, most waiting {f.pacer['max_queue']:,},"
        f" backoffs {f.pacer['backoffs']}\n"
        f"  runs                {', '.join(f'{k} {v:,}' for k, v in sorted(f.runs.items()))}\n"
        f"  bot CPU             {f.bot_cpu_s:9.1f} s   ({100 * f.bot_cpu_s / f.wall_s:.0f}% of"
        f" the round); loop lag p99 {f.lag_p99_ms:.1f} ms, max {f.lag_max_ms:.0f} ms;"
        f" stand-in CPU {f.standin_cpu_s:.1f} s\n"
        f"  garbage collection  {f.gc_s:9.1f} s   in pauses; {_full_collections(f)},"
        f" longest pause {f.gc_max_ms:.0f} ms\n"
        f"  bot memory          {f.bot_peak_rss_mb:9.0f} MB peak RSS"
        f" ({f.bot_rss_after_start_mb:.0f} MB after start-up)\n"
        f"  bot start-up        {f.startup['total_s']:9.1f} s   setup {f.startup['setup_s']:.1f} s,"
        f" ready {f.startup['ready_s']:.1f} s (stand-in sent {f.guilds_seen:,} GUILD_CREATE in"
        f" {f.startup['identify_to_guilds_sent_s']:.1f} s), catch-up of every digest"
        f" {f.startup['catch_up_s']:.1f} s (of which a live round"
        f" {f.startup['startup_round_s']:.1f} s)\n"
        f"  requests in round   {', '.join(f'{k}: {v:,}' for k, v in sorted(f.requests.items()))}"
    )
    if f.internal_errors:
        print(f"  stand-in errors     {f.internal_errors}")


HEADER = (
    "| servers × channels | live digests | posts | round wall time | minimum | ratio"
    " | kick → first post | 429s (global / channel) | lost | duplicated | bot CPU | bot peak RSS"
    " | |"
)
STARTUP_HEADER = (
    "| servers × channels | bot start-up | setup (storage, commands) | GUILD_CREATE sent"
    " | ready (discord.py) | catch-up of every digest | digests created |"
)
RUNS_HEAD = "Runs:"


def _row(f: Figures) -> str:
    return (
        f"| {_size(f)} | {f.digests:,} | {f.posts:,} of {f.posts_expected:,}"
        f" | **{f.wall_s:,.1f} s** | {f.minimum_s:,.1f} s | **{f.ratio:.2f}x**"
        f" | {f.lead_s:.1f} s | {f.global_429s} / {f.channel_429s} | {f.lost} | {f.duplicated}"
        f" | {f.bot_cpu_s:,.0f} s ({100 * f.bot_cpu_s / f.wall_s:.0f}%)"
        f" | {f.bot_peak_rss_mb:,.0f} MB | {'PASS' if f.passed else '**MISS**'} |"
    )


def _startup_row(f: Figures) -> str:
    s = f.startup
    return (
        f"| {_size(f)} | {s['total_s']:,.1f} s | {s['setup_s']:.1f} s"
        f" | {s['identify_to_guilds_sent_s']:.1f} s | {s['ready_s']:,.1f} s"
        f" | {s['catch_up_s']:,.1f} s | {f.prepare.get('digests_s', 0):,.1f} s |"
    )


def _table_rows(text: str, header: str) -> dict[str, str]:
    """The rows under a table header in text, by their first cell."""
    lines = text.splitlines()
    if header not in lines:
        return {}
    rows: dict[str, str] = {}
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("| "):
            break
        rows[line.split(" | ", 1)[0][2:]] = line
    return rows


def _list_items(text: str, head: str) -> dict[str, str]:
    lines = text.splitlines()
    if head not in lines:
        return {}
    items: dict[str, str] = {}
    for line in lines[lines.index(head) + 1 :]:
        if not line.startswith("- "):
            break
        items[line[2:].split(":", 1)[0]] = line
    return items


def _by_size(rows: dict[str, str]) -> list[str]:
    def key(size: str) -> tuple[int, int]:
        servers, _, channels = size.partition(" × ")
        return int(servers.replace(",", "") or 0), int(channels or 0)

    return [rows[k] for k in sorted(rows, key=key)]


def section(f: Figures, command: str, existing: str = "") -> str:
    """The RESULTS.md section: this run's rows, and the other sizes' rows kept."""
    rows = _table_rows(existing, HEADER) | {_size(f): _row(f)}
    startup = _table_rows(existing, STARTUP_HEADER) | {_size(f): _startup_row(f)}
    info = machine()
    runs = _list_items(existing, RUNS_HEAD) | {
        _size(f): (
            f"- {_size(f)}: `{command}`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, code"
            f" {code_version()}; {info['cpu']} ({info['cores']} cores), Python {info['python']}"
        )
    }
    return "\n".join(
        [
            SECTION,
            "",
            "Produced by `python -m benchmarks.news_channels` (see its `--help`). Every text"
            " channel of every server has a live 'new' digest; one ingest of a few announced"
            " events (one message per digest) kicks a live round, which the real bot posts to"
            " the loopback Discord stand-in enforcing Discord's limits with 429s: 50 requests a"
            " second over the bot, 5 messages per 5 s per channel. Wall time is from the kick to"
            " the round's end; the minimum is posts / 50 per second (one post per channel: the"
            " channel limit does not bind). Lost: digests whose channel got no message;"
            " duplicated: copies of a message in one channel. Bot CPU is the bot process's"
            " (the stand-in runs in a process of its own). Goal: within 1.2x of the minimum,"
            " 0 lost, 0 duplicated. Why: [FINDINGS.md](FINDINGS.md).",
            "",
            HEADER,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            *_by_size(rows),
            "",
            "Start-up with that many servers and digests (before the round; the scheduler"
            " paused), and making the digests in storage:",
            "",
            STARTUP_HEADER,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *_by_size(startup),
            "",
            RUNS_HEAD,
            *_by_size(runs),
            "",
        ]
    )


def finding(f: Figures, command: str) -> str:
    """The FINDINGS.md note: what bounds the round's wall time, from this run's figures."""
    schedule = max(f.posts - 1, 0) / GLOBAL_PER_SECOND  # first to last grant, at the pacer's rate
    rate = (f.posts - 1) / f.span_s if f.span_s else 0.0
    cpu_share = f.bot_cpu_s / f.wall_s if f.wall_s else 0.0
    goal = "within" if f.passed else "**outside**"
    limited = f.global_429s + f.channel_429s
    lines = [
        SECTION,
        "",
        f"From the run of {f.digests:,} live digests ({_size(f)} channels; `{command}`,"
        f" {dt.datetime.now(dt.UTC):%Y-%m-%d}); figures in [RESULTS.md](RESULTS.md).",
        "",
        f"- **{f.wall_s:,.1f} s for {f.posts:,} posts, {f.ratio:.2f}x the minimum of"
        f" {f.minimum_s:,.1f} s**: {goal} the goal (1.2x, 0 lost, 0 duplicated): {f.lost}"
        f" lost, {f.duplicated} duplicated, {limited} 429s ({f.global_429s} global,"
        f" {f.channel_429s} per channel)"
        + (", each waited out by discord.py and the post sent." if limited else "."),
        f"- The bound is the pacer's own rate: bot.pacing grants {GLOBAL_PER_SECOND:g} posts a"
        f" second, not Discord's {DISCORD_GLOBAL}, to leave room for interaction responses and"
        f" DMs sent meanwhile; {f.posts:,} posts at {GLOBAL_PER_SECOND:g}/s take"
        f" {f.pacer_s:,.1f} s, {f.pacer_s / f.minimum_s:.2f}x the minimum by design. The rest"
        f" of the {f.wall_s:,.1f} s: **{f.lead_s:.1f} s from the kick to the first post**"
        f" (reading every live digest and starting a task for each; their runs are made"
        f" ready 64 at a time, servers in turn, through the one reader and writer"
        f" connection), and the posts going out at {rate:.1f} a second instead of"
        f" {GLOBAL_PER_SECOND:g} ({f.span_s:,.1f} s from the first to the last, against"
        f" {schedule:,.1f} s on the pacer's schedule: it times each grant from the moment the"
        f" last one resumed, so the event loop's lateness is never made up).",
        f"- The event loop: {f.bot_cpu_s:,.0f} s of the bot's CPU over the round"
        f" ({100 * cpu_share:.0f}%), lag p99 {f.lag_p99_ms:.1f} ms and at most"
        f" {f.lag_max_ms:,.0f} ms; garbage collection paused it {f.gc_s:.1f} s in all"
        f" ({_full_collections(f)}, the longest {f.gc_max_ms:,.0f} ms). Peak RSS"
        f" {f.bot_peak_rss_mb:,.0f} MB against {f.bot_rss_after_start_mb:,.0f} MB before the"
        f" round: every live digest's task, content and messages are held until it posts (up"
        f" to {f.pacer['max_queue']:,} posts waited at once, {f.pacer['mean_wait_s']:.0f} s on"
        f" average).",
        f"- Start-up with {f.guilds_seen:,} servers: {f.startup['total_s']:,.1f} s until the"
        f" bot works ({f.startup['ready_s']:,.1f} s to on_ready, of which discord.py waits 2 s"
        f" after the last GUILD_CREATE; then {f.startup['catch_up_s']:,.1f} s catching up the"
        f" {f.digests:,} digests, {f.startup['startup_round_s']:,.1f} s of it a live round over"
        f" them that posts nothing).",
        "",
    ]
    return "\n".join(lines)


def _larger_note(text: str | None, than: str) -> bool:
    """Whether a FINDINGS note is about a larger run than `than`'s."""
    pattern = r"From the run of ([\d,]+) live digests"
    held = re.search(pattern, text or "")
    new = re.search(pattern, than)
    return bool(held and new and int(held[1].replace(",", "")) > int(new[1].replace(",", "")))


def write(f: Figures, command: str) -> None:
    """Record the figures in RESULTS.md (other sizes' rows kept) and the note in FINDINGS.md
    (unless it describes a larger run)."""
    existing = find_section(RESULTS, SECTION) or ""
    replace_section(RESULTS, SECTION, section(f, command, existing))
    note = finding(f, command)
    if not _larger_note(find_section(FINDINGS, SECTION), note):
        replace_section(FINDINGS, SECTION, note)


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--servers", type=int, default=200, metavar="N", help="servers (200)")
    parser.add_argument(
        "--channels-per-server",
        type=int,
        default=5,
        metavar="N",
        help="text channels per server, each with a live digest (5)",
    )
    parser.add_argument(
        "--events", type=int, default=3, metavar="N", help="announced events in the ingest (3)"
    )
    parser.add_argument(
        "--no-archive", action="store_true", help="no sample archive in the database"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the database here (default: a temporary folder)"
    )
    parser.add_argument(
        "--write", action="store_true", help="record the figures in RESULTS.md and FINDINGS.md"
    )
    args = parser.parse_args(argv)
    if min(args.servers, args.channels_per_server, args.events) < 1:
        parser.error("--servers, --channels-per-server and --events must be at least 1")
    args.command = " ".join(
        [COMMAND, shlex.join(argv if argv is not None else sys.argv[1:])]
    ).strip()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = asyncio.run(
        measure(
            servers=args.servers,
            channels=args.channels_per_server,
            events=args.events,
            archive=not args.no_archive,
            workdir=args.workdir,
        )
    )
    print_figures(figures)
    if args.write:
        write(figures, args.command)
        print(f"wrote {RESULTS.name} and {FINDINGS.name}", file=sys.stderr)
    return 0 if figures.lost == 0 and figures.short == 0 and figures.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
