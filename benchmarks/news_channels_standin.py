"""Discord's side of the news-channel benchmark: the rate-limited stand-in, in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import GuildSpec, make_guild
from tests.e2e.standin.records import RateLimits
from tests.e2e.standin.server import DiscordStandIn

POST_ROUTE = "POST /channels/{channel_id}/messages"
GUILD_SPACING = 1000  # server ids step by this; channels are id + 10 + n (make_guild)


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
