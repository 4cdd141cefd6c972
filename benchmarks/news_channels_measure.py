"""Chronicle's side of the news-channel benchmark: the digests, the bot, one live round."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from benchmarks.news_channels_standin import (
    StandInProcess,
    _reset_peak_rss,
    _status_mb,
    channel_ids,
)
from benchmarks.queries import percentile
from benchmarks.terminal import Terminal
from bot.client import ChronicleBot
from bot.pacing import GLOBAL_PER_SECOND
from bot.services.imports import import_archive
from storage import open_storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.harness import settings_for
from tests.e2e.standin.constants import OWNER_USER_ID
from tests.e2e.standin.records import RateLimits
from tests.e2e.standin.server import DiscordStandIn, connected_client

HERE = Path(__file__).resolve().parent
SAMPLE_NEWS = HERE.parent / "bot" / "sample" / "news"
DISCORD_GLOBAL = 50  # requests per second, Discord's global limit for a bot
DISCORD_CHANNEL = (5, 5.0)  # messages per seconds in one channel


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
    busiest_second: int = 0  # most posts the stand-in let through in any sliding second
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
    # ready_wait None: discord.py's own wait for another GUILD_CREATE, as in production
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
