"""Slash commands end to end: the real bot in its own process, Discord as the loopback stand-in.

The bot is started exactly as an operator starts it (``python -m bot run``), configured by
environment to talk to the stand-in from tests/e2e (REST and gateway on 127.0.0.1). This
process plays Discord and the users: it sends INTERACTION_CREATE over the gateway and times
until the bot's interaction callback (POST .../callback) arrives -- what a user waits for
before anything appears. For a reply the bot deferred ("thinking..."), the time until the
deferred answer replaced it is kept as well.

The bot's resident memory is read from /proc/<pid>/status while it serves: VmHWM is the
kernel's own peak-RSS figure for the process, so no sample can miss the peak.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from benchmarks.queries import percentile
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_TOKEN
from tests.e2e.standin.server import DiscordStandIn

Progress = Callable[[str, int, int], None]
Key = TypeVar("Key", int, str)  # an interaction id, or an interaction token
CALLBACK_TIMEOUT_S = 10.0
GIVE_UP_AFTER_LOST = 3
REPO = Path(__file__).resolve().parent.parent


class TimedStandIn(DiscordStandIn):
    """The stand-in, noting when each interaction's callback and final answer arrive."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.callback_at: dict[int, float] = {}
        self.answered_at: dict[str, float] = {}  # token -> when a deferral was replaced
        self._callback_waiters: dict[int, asyncio.Future[float]] = {}
        self._answer_waiters: dict[str, asyncio.Future[float]] = {}

    def expect(self, interaction_id: int) -> asyncio.Future[float]:
        return _when(self.callback_at, self._callback_waiters, interaction_id)

    def expect_answer(self, token: str) -> asyncio.Future[float]:
        return _when(self.answered_at, self._answer_waiters, token)

    async def _callback(self, call: Any) -> Any:
        arrived = asyncio.get_running_loop().time()
        interaction_id = int(call.params["interaction_id"])
        _arrived(self.callback_at, self._callback_waiters, interaction_id, arrived)
        return await super()._callback(call)

    async def _webhook_message(self, call: Any) -> Any:
        arrived = asyncio.get_running_loop().time()
        result = await super()._webhook_message(call)
        if call.method == "PATCH" and call.params.get("message_id") == "@original":
            _arrived(self.answered_at, self._answer_waiters, call.params["token"], arrived)
        return result

    async def _followup(self, call: Any) -> Any:
        arrived = asyncio.get_running_loop().time()
        result = await super()._followup(call)
        _arrived(self.answered_at, self._answer_waiters, call.params["token"], arrived)
        return result


def _when(
    seen: dict[Key, float], waiters: dict[Key, asyncio.Future[float]], key: Key
) -> asyncio.Future[float]:
    """A future for when `key` arrives (already resolved if it has)."""
    future = asyncio.get_running_loop().create_future()
    if key in seen:
        future.set_result(seen[key])
    else:
        waiters[key] = future
    return future


def _arrived(
    seen: dict[Key, float], waiters: dict[Key, asyncio.Future[float]], key: Key, at: float
) -> None:
    seen.setdefault(key, at)
    waiter = waiters.pop(key, None)
    if waiter is not None and not waiter.done():
        waiter.set_result(at)


@dataclass(slots=True)
class SlashRow:
    name: str
    target_ms: float | None
    callback_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)  # callback, or the deferred answer
    deferred: int = 0
    lost: int = 0  # no callback within CALLBACK_TIMEOUT_S
    abandoned: str | None = None  # why the row stopped before its last interaction

    @property
    def p50(self) -> float:
        return percentile(self.callback_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.callback_ms, 99)

    @property
    def passed(self) -> bool | None:
        if self.target_ms is None or not self.callback_ms:
            return None
        return self.p99 < self.target_ms and not self.lost and self.abandoned is None


@dataclass(slots=True)
class BotMemory:
    idle_rss_mb: float = 0.0  # after start-up, before any command
    peak_rss_mb: float = 0.0  # VmHWM at the end: the process's peak
    samples: int = 0


def _status_mb(pid: int, field_name: str) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.asynccontextmanager
async def bot_process(
    standin: DiscordStandIn,
    database: Path | str,
    workdir: Path,
    *,
    args: Sequence[str] = (),
    guild_id: int | None = DEFAULT_GUILD_ID,
    log_name: str = "bot.log",
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` against the stand-in; stopped with SIGTERM (as an operator would).

    database: the SQLite file (CHRONICLE_DB), or a postgresql:// URL (CHRONICLE_DATABASE_URL).
    guild_id None: no DISCORD_GUILD_ID, so the commands are global (as a sharded bot has)."""
    env = {
        **os.environ,
        "DISCORD_TOKEN": DEFAULT_TOKEN,
        "DISCORD_API_BASE": standin.api_base,
        "DISCORD_GATEWAY_URL": standin.gateway_url,
        "FEED_ALLOW_PRIVATE_ADDRESSES": "true",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    for name in ("CHRONICLE_DB", "CHRONICLE_DATABASE_URL", "DISCORD_GUILD_ID"):
        env.pop(name, None)
    if isinstance(database, Path):
        env["CHRONICLE_DB"] = str(database)
    else:
        env["CHRONICLE_DATABASE_URL"] = database
    if guild_id is not None:
        env["DISCORD_GUILD_ID"] = str(guild_id)
    log = await asyncio.to_thread(_open_log, workdir, log_name)
    # cwd is the work dir: the bot must not pick up a developer's .env from the repository.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *args, cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


def _open_log(workdir: Path, name: str = "bot.log") -> BinaryIO:
    workdir.mkdir(parents=True, exist_ok=True)
    return (workdir / name).open("wb")


async def _wait_ready(
    standin: DiscordStandIn, process: asyncio.subprocess.Process, limit_s: float
) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with status {process.returncode} (see bot.log)")
        if standin.ready_count and standin.guild_commands.get(DEFAULT_GUILD_ID):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the bot was not ready within {limit_s:.0f} s (see bot.log)")


@dataclass(frozen=True, slots=True)
class Interaction:
    command: str
    options: dict[str, Any]
    focused: str | None = None  # autocomplete on this option


def interactions(
    db: sqlite3.Connection, rng: random.Random, count: int
) -> dict[str, list[Interaction]]:
    """Inputs per measured row, drawn from the database (ids, keys, headline words, names)."""
    max_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    rows: list[tuple[int, str, str]] = []
    for _ in range(50):
        if len(rows) >= count or not max_id:
            break
        ids = [rng.randint(1, max_id) for _ in range(min(900, count * 2))]
        rows += db.execute(
            f"SELECT id, key, headline FROM events WHERE complete = 1 AND id IN ({','.join('?' * len(ids))})",
            ids,
        ).fetchall()
    if not rows:
        raise RuntimeError("the database holds no complete events to ask about")
    names = [
        r[0]
        for r in db.execute(
            "SELECT name FROM entities WHERE event_count > 0 ORDER BY event_count DESC LIMIT 2000"
        )
    ]
    names = names or ["Russia"]

    def words(headline: str, low: int, high: int) -> str:
        parts = headline.split()
        size = rng.randint(low, high)
        start = rng.randrange(max(1, len(parts) - size + 1))
        return " ".join(parts[start : start + size]).strip(".,")

    event: list[Interaction] = []
    event_ac: list[Interaction] = []
    entity_ac: list[Interaction] = []
    others: list[Interaction] = []
    for n in range(count):
        event_id, key, headline = rows[n % len(rows)]
        kind = rng.random()
        # Most /event commands come from a picked autocomplete choice ("event:<id>").
        query = f"event:{event_id}" if kind < 0.6 else key if kind < 0.8 else words(headline, 2, 5)
        event.append(Interaction("event", {"query": query}))
        typed = words(headline, 1, 3).lower()
        event_ac.append(
            Interaction("event", {"query": typed[: rng.randint(1, len(typed))]}, "query")
        )
        name = rng.choice(names)
        entity_ac.append(Interaction("entity", {"name": name[: rng.randint(1, len(name))]}, "name"))
        pick = n % 4
        if pick == 0:
            others.append(Interaction("search", {"query": words(headline, 1, 2)}))
        elif pick == 1:
            others.append(Interaction("related", {"query": f"event:{event_id}"}))
        elif pick == 2:
            others.append(Interaction("entity", {"name": rng.choice(names)}))
        else:
            day = 1 + n % 28
            others.append(Interaction("onthisday", {"date": f"{1 + n % 12:02d}-{day:02d}"}))
    return {
        "/event": event,
        "/event autocomplete": event_ac,
        "/entity autocomplete": entity_ac,
        "/search, /related, /entity, /onthisday": others,
    }


TARGETS = {
    "/event": 100.0,
    "/event autocomplete": 100.0,
    "/entity autocomplete": 100.0,
    "/search, /related, /entity, /onthisday": None,
}


async def measure(
    database: Path,
    workdir: Path,
    *,
    count: int,
    seed: int,
    progress: Progress | None = None,
    ready_timeout: float = 600.0,
    database_url: str | None = None,
) -> tuple[list[SlashRow], BotMemory, float]:
    """Run the bot, send every interaction one at a time; (rows, memory, start-up seconds).

    The inputs are drawn from the SQLite file `database`; the bot serves them from it, or
    from the PostgreSQL database at database_url (a copy of it) when that is given."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        plan = interactions(db, random.Random(f"{seed}:slash"), count)
    memory = BotMemory()
    rows: list[SlashRow] = []
    async with TimedStandIn() as standin:
        started = time.perf_counter()
        served: Path | str = database_url if database_url is not None else database
        async with bot_process(standin, served, workdir) as process:
            await _wait_ready(standin, process, ready_timeout)
            await asyncio.sleep(1.0)  # the bot's start-up work (alert watermark, digests)
            startup = time.perf_counter() - started
            memory.idle_rss_mb = _status_mb(process.pid, "VmRSS")
            for name, batch in plan.items():
                row = SlashRow(name, TARGETS[name])
                rows.append(row)
                streak = 0
                for number, interaction in enumerate(batch, start=1):
                    lost = row.lost
                    await _one(standin, row, interaction)
                    streak = streak + 1 if row.lost > lost else 0
                    if streak >= GIVE_UP_AFTER_LOST:
                        # A bot that stopped answering would make the row take hours.
                        row.abandoned = (
                            f"stopped after {number} of {len(batch)}: {streak} interactions in a"
                            f" row got no callback; bot.log ends: {_last_error(workdir)}"
                        )
                        break
                    if progress and (number % 50 == 0 or number == len(batch)):
                        progress(name, number, len(batch))
            memory.peak_rss_mb = _status_mb(process.pid, "VmHWM")
            if process.returncode is not None:
                raise RuntimeError(f"the bot exited with status {process.returncode} (see bot.log)")
        if standin.internal_errors:
            raise RuntimeError(f"the stand-in failed: {standin.internal_errors[:3]}")
    return rows, memory, startup


def _last_error(workdir: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [ln for ln in (workdir / "bot.log").read_text().splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(empty)"
    return "(no bot.log)"


async def _one(standin: TimedStandIn, row: SlashRow, interaction: Interaction) -> None:
    if interaction.focused is not None:
        handle = await standin.send_autocomplete(
            interaction.command, interaction.options, focused=interaction.focused
        )
    else:
        handle = await standin.send_slash_command(interaction.command, interaction.options)
    try:
        arrived = await asyncio.wait_for(standin.expect(handle.id), CALLBACK_TIMEOUT_S)
    except TimeoutError:
        row.lost += 1
        return
    callback_ms = (arrived - handle.dispatched_at) * 1000
    row.callback_ms.append(callback_ms)
    if handle.callback_type == 5:
        row.deferred += 1
        with contextlib.suppress(TimeoutError):
            answered = await asyncio.wait_for(
                standin.expect_answer(handle.token), CALLBACK_TIMEOUT_S
            )
            row.answer_ms.append((answered - handle.dispatched_at) * 1000)
    else:
        row.answer_ms.append(callback_ms)


def summary(rows: Sequence[SlashRow]) -> dict[str, Any]:
    return {
        row.name: {
            "n": len(row.callback_ms),
            "p50": row.p50,
            "p99": row.p99,
            "answer_p99": percentile(row.answer_ms, 99),
        }
        for row in rows
    }
