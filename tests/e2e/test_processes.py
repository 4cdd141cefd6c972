"""Several bot processes sharing one PostgreSQL database, end to end: two real `chronicle
run` processes, one running shard 0 of 2 and the other shard 1, against one database, one
Discord stand-in with servers on both shards, and a real RSS feed served over 127.0.0.1.

Each server's digests and alerts are posted by the process of its shard, exactly once; the
feed is polled by the one process holding the lead, and each new event is announced once,
to every server. The leader killed with SIGKILL (no goodbye, its lock left to the server to
free), the other process takes the polling over within a poll interval; the killed shard's
servers get what arrived meanwhile when their process is back, once, and the process back
leaves alone a digest run the other one is sending.

The processes run the real command line with the bot's periodic work sped up (see
tests/e2e/bot_process.py): feeds and alerts are looked at every CHECK seconds, a feed is
due again POLL seconds after its poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from bot.cli.run import import_sample_if_empty
from bot.digests import day_slot
from storage import open_storage
from storage.keys import make_key
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import dms_to
from tests.e2e.standin.constants import DEFAULT_TOKEN
from tests.e2e.standin.model import UserSpec, make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support import postgres
from tests.support.feed_server import FeedServer, wire_rss

REPO = Path(__file__).resolve().parents[2]
WAIT = 45.0  # seconds for anything the test waits for (a loaded 2-core machine is slow)
CHECK = 1.0  # seconds between the bot's looks for due feeds and alert sweeps
POLL = 2.0  # seconds after a poll a feed is due again
# Servers on shard 0 of 2 and on shard 1 ((id >> 22) % 2); channel i of each is id + 10 + i.
ON_0 = ((4_000 << 22) + 1, (4_002 << 22) + 2)
ON_1 = ((4_001 << 22) + 3, (4_003 << 22) + 4)
GUILDS = (*ON_0, *ON_1)
READERS = {g: UserSpec(id=7_001 + i, username=f"reader{i}") for i, g in enumerate(GUILDS)}
LINK = re.compile(r"https://wire\.example/([\w-]+)")

Item = tuple[str, str]  # (guid, title)
OLD: list[Item] = [("old-1", "Ministers meet in Brussels to discuss the budget")]
# What the feed brings, batch by batch; the Atlantis items alert its followers.
BATCHES: list[list[Item]] = [
    [
        ("b1-atlantis", "Atlantis opens a deep-water harbour for its fishing fleet"),
        ("b1-snow", "Heavy snow closes the mountain passes of the Alps"),
    ],
    [
        ("b2-atlantis", "Atlantis parliament passes the new water bill"),
        ("b2-ferries", "Storms delay the ferries across the northern strait"),
    ],
    [
        ("b3-atlantis", "Atlantis and its neighbours sign a fishing treaty"),
        ("b3-trains", "Night trains return to the coastal line after repairs"),
    ],
]


def news(guild_id: int) -> int:
    """The channel of the server's daily on-this-day digest."""
    return guild_id + 11


def live(guild_id: int) -> int:
    """The channel of the server's live digest of new events."""
    return guild_id + 12


def guids(batch: int, *, alerted: bool = False) -> set[str]:
    return {guid for guid, _ in BATCHES[batch] if not alerted or "atlantis" in guid}


# --- PostgreSQL, Discord, the feed ------------------------------------------------------------


standin = make_standin_fixture(
    guilds=lambda: [
        make_guild(g, name=f"server {g}", channels=["general", "news", "live"]) for g in GUILDS
    ],
    users=list(READERS.values()),
    recommended_shards=2,
)


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[FeedServer]:
    async with FeedServer(tmp_path / "feeds") as server:
        publish(server, 0)
        yield server


def publish(wire: FeedServer, batches: int) -> None:
    """The feed now lists the first `batches` batches, newest first, over the old items."""
    items = [item for batch in reversed(BATCHES[:batches]) for item in batch] + OLD
    wire.set_file("wire.xml", wire_rss(items))


def noon_zone(now: dt.datetime) -> ZoneInfo:
    """A timezone in which it is about noon: a daily digest set for half an hour ago is
    due today there, whatever the time of day the test runs."""
    offset = 12 - now.hour  # -11 .. 12
    return ZoneInfo("UTC" if offset == 0 else f"Etc/GMT{-offset:+d}")


async def prepare(url: str, feed_url: str, now: dt.datetime) -> dict[int, int]:
    """The archive both processes open: Atlantis's history (on this day in earlier years),
    and in each server an on-this-day digest whose time passed half an hour ago (each
    process catches up its servers' at start), a live digest of new events, and a member
    following Atlantis by DM; the feed, not fetched yet. Returns each server's daily
    digest id."""
    zone = noon_zone(now)
    local = now.astimezone(zone)
    storage = await open_storage(url)
    try:
        pages = []
        for years in range(1, 5):  # on February 29, four years back is one
            with contextlib.suppress(ValueError):
                day = local.date().replace(year=local.year - years)
                pages.append(
                    PageRecord(
                        key=make_key(day, f"atlantis-votes-{years}"),
                        date=day,
                        headline=f"Atlantis votes in its election number {10 - years}",
                        sources=(SourceRecord("Example", f"https://example.com/{years}"),),
                        entities=("Atlantis",),
                    )
                )
        await storage.events.import_batch(pages)
        atlantis = await storage.entities.find("Atlantis")
        assert atlantis is not None
        due = (local - dt.timedelta(minutes=30)).time()
        daily = {}
        for guild_id in GUILDS:
            reader = READERS[guild_id].id
            digest, _ = await storage.digests.upsert(
                guild_id=guild_id,
                channel_id=news(guild_id),
                kind="onthisday",
                time=dt.time(due.hour, due.minute),
                timezone=zone.key,
                created_by=reader,
                now=now - dt.timedelta(hours=2),
            )
            daily[guild_id] = digest.id
            await storage.digests.upsert(
                guild_id=guild_id,
                channel_id=live(guild_id),
                kind="new",
                every="live",
                time=dt.time(0, 0),
                timezone="UTC",
                created_by=reader,
                now=now,
            )
            await storage.subscriptions.subscribe(
                guild_id=guild_id,
                user_id=reader,
                entity_id=atlantis[0],
                delivery="dm",
                channel_id=None,
            )
        await storage.feeds.add(feed_url, "Wire", now=now)
    finally:
        await storage.close()
    return daily


async def lead_holders(url: str, work: str = "feeds") -> int:
    """How many sessions hold the lead of `work` (storage.postgres's advisory lock)."""
    conn = await asyncpg.connect(url)
    try:
        key = await conn.fetchval(
            "SELECT hashtextextended('chronicle.lead:' || current_schema() || ':' || $1, 0)",
            work,
        )
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND ((classid::bigint << 32) | objid::bigint) = $1",
            key,
        )
        return count
    finally:
        await conn.close()


def no_runs_sending(url: str) -> Callable[[], Awaitable[bool]]:
    """Whether no digest run is being posted (claimed, not finished)."""

    async def check() -> bool:
        conn = await asyncpg.connect(url)
        try:
            return bool(
                await conn.fetchval("SELECT count(*) = 0 FROM digest_runs WHERE status = 'sending'")
            )
        finally:
            await conn.close()

    return check


# --- the processes ----------------------------------------------------------------------------


class BotProcess:
    """`chronicle run` for some shards, its log (stderr and stdout) read as it comes."""

    def __init__(self, shards: str, env: dict[str, str], cwd: Path):
        self.shards = shards
        self.env = env
        self.cwd = cwd
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.killed = False

    def __repr__(self) -> str:
        return f"the process of shard {self.shards}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.bot_process",
            "run",
            "--shard-count",
            "2",
            "--shards",
            self.shards,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self.process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def kill(self) -> None:
        """SIGKILL: the process ends on the spot, without closing anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), WAIT)
        self.killed = True
        await self._drained()

    async def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; its exit status."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), WAIT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._drained()
        return self.process.returncode

    async def _drained(self) -> None:
        if self._reader is not None:
            await asyncio.wait_for(self._reader, WAIT)


def environment(database: str, standin: DiscordStandIn) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_"))
    }
    env.update(
        CHRONICLE_DATABASE_URL=database,
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        FEED_ALLOW_PRIVATE_ADDRESSES="true",
        WIKIPEDIA_POLL_MINUTES="0",
        LOG_LEVEL="INFO",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        CHRONICLE_TEST_CHECK_SECONDS=str(CHECK),
        CHRONICLE_TEST_FEED_POLL_SECONDS=str(POLL),
    )
    return env


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    processes: Iterable[BotProcess],
    within: float = WAIT,
) -> float:
    """Wait for the condition; how long it took. A process that ends meanwhile (not killed
    by the test) fails the test at once, with its log."""
    watched = list(processes)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return loop.time() - started
        for process in watched:
            if not process.running and not process.killed:
                await process.stop()
                pytest.fail(f"{process} ended while waiting for {what}:\n{process.log[-6000:]}")
        if loop.time() - started > within:
            logs = "\n\n".join(f"{p}:\n{p.log[-3000:]}" for p in watched)
            pytest.fail(f"timed out after {within:g} s waiting for {what}\n\n{logs}")
        await asyncio.sleep(0.05)


def posts(standin: DiscordStandIn, channel_id: int) -> list[Any]:
    return [
        r
        for r in standin.requests_to("POST", rf"/channels/{channel_id}/messages")
        if r.status < 300
    ]


def linked(requests: Sequence[Any]) -> Counter[str]:
    """How many of the messages link each feed item."""
    return Counter(
        guid for r in requests for guid in set(LINK.findall(json.dumps(r.json, ensure_ascii=False)))
    )


def live_items(standin: DiscordStandIn, guild_id: int) -> Counter[str]:
    return linked(posts(standin, live(guild_id)))


def alerted_items(standin: DiscordStandIn, guild_id: int) -> Counter[str]:
    return linked(dms_to(standin, READERS[guild_id]))


def delivered(standin: DiscordStandIn, batch: int, guilds: Iterable[int]) -> Callable[[], bool]:
    """Whether the batch reached these servers: their live digests and their followers."""
    servers = list(guilds)

    def check() -> bool:
        return all(
            guids(batch) <= set(live_items(standin, g))
            and guids(batch, alerted=True) <= set(alerted_items(standin, g))
            for g in servers
        )

    return check


# --- the test ---------------------------------------------------------------------------------


async def test_processes_share_one_database_and_hand_polling_over(
    postgres_url: str, standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    database = postgres_url
    now = dt.datetime.now(dt.UTC)
    daily = await prepare(database, wire.url("wire.xml"), now)
    env = environment(database, standin)
    processes = [BotProcess(shards, env, tmp_path) for shards in ("0-0", "1-1")]
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await standin.wait_for_ready(WAIT, count=2)
        await until(
            lambda: all(p.said("scheduled ") for p in processes), "both at work", processes
        )
        # Each server's missed daily digest, caught up by its shard's process.
        await until(
            lambda: all(posts(standin, news(g)) for g in GUILDS),
            "every server's on-this-day digest",
            processes,
        )
        # One process leads the polling: it fetched the feed (its first fetch: history).
        await until(
            lambda: wire.request_count("wire.xml") >= 1
            and any(p.said("now leads feeds") for p in processes)
            and any(p.said("another process leads feeds") for p in processes),
            "one process to lead the polling and the other to wait",
            processes,
        )
        (leader,) = [p for p in processes if p.said("now leads feeds")]
        (other,) = [p for p in processes if p is not leader]
        assert await lead_holders(database) == 1

        # New items: each server's live digest lists them, each follower is alerted, once;
        # the leader's servers after its poll, the other's after that process's sweep.
        publish(wire, 1)
        await until(delivered(standin, 0, GUILDS), "the first batch everywhere", processes)
        # (Posted and recorded: a process killed between a post and its record posts that
        # message again when it is back, which is not what this test is about.)
        await until(no_runs_sending(database), "the posts recorded", processes)

        # The leader is killed (SIGKILL: its lock is freed when the server sees its session
        # gone). The other takes the polling over within a poll interval (at its next look)
        # and announces what the feed brought since, in its own servers at once.
        fetched = wire.request_count("wire.xml")
        await leader.kill()
        killed_at = loop.time()
        publish(wire, 2)
        await until(
            lambda: other.said("now leads feeds") and wire.request_count("wire.xml") > fetched,
            "the other process to take the polling over",
            processes,
        )
        took_over = loop.time() - killed_at
        assert took_over < CHECK + POLL + 10.0, f"took {took_over:.1f} s to take over"
        survivors = ON_0 if other.shards == "0-0" else ON_1
        orphans = ON_1 if other.shards == "0-0" else ON_0
        await until(delivered(standin, 1, survivors), "the second batch in its servers", processes)
        assert await lead_holders(database) == 1
        for guild_id in orphans:  # their process is down: nothing yet, and nothing lost
            assert not guids(1) & set(live_items(standin, guild_id))
            assert not guids(1) & set(alerted_items(standin, guild_id))

        # Runs left 'sending' (yesterday's, in the digests' timezone): one of a server of the
        # killed process, and one the live process would be sending right now.
        storage = await open_storage(database)
        try:
            yesterday = day_slot(now.astimezone(noon_zone(now)).date() - dt.timedelta(days=1))
            for guild_id in (survivors[0], orphans[0]):
                run = await storage.digests.claim_run(daily[guild_id], yesterday, parts=1, items=[])
                assert run is not None and run.status == "sending"
        finally:
            await storage.close()

        # The killed shard's process is back: it does not take the lead back, resumes only
        # its own servers' interrupted run, and brings its servers what they missed, once.
        back = BotProcess(leader.shards, env, tmp_path)
        processes = [leader, other, back]
        await back.start()
        await until(lambda: back.said("scheduled "), "the process back at work", processes)
        await until(delivered(standin, 1, orphans), "the second batch in its servers", processes)
        storage = await open_storage(database)
        try:
            sending = await storage.digests.run(daily[survivors[0]], yesterday)
            resumed = await storage.digests.run(daily[orphans[0]], yesterday)
        finally:
            await storage.close()
        assert sending is not None and sending.status == "sending"  # not this process's
        assert resumed is not None and resumed.status == "skipped"  # taken back: too late

        # And on: the new leader polls, both processes post their servers' news.
        publish(wire, 3)
        await until(delivered(standin, 2, GUILDS), "the third batch everywhere", processes)
        await until(
            lambda: back.said("another process leads feeds"), "the process back to wait", processes
        )
        # Whatever might come twice has had its chance: two more polls, two more sweeps.
        fetched = wire.request_count("wire.xml")
        await until(
            lambda: wire.request_count("wire.xml") >= fetched + 2, "two more polls", processes
        )
        await asyncio.sleep(2 * CHECK)
        assert await lead_holders(database) == 1
        # Polling was one process's at a time: the leader's, then the other's, never the
        # back one's (until the other stops: then it takes over in turn).
        assert not back.said("now leads feeds") and not back.lines_with("feed 1 (")
        takeover = other.lines.index(other.lines_with("now leads feeds")[0])
        assert all(other.lines.index(line) > takeover for line in other.lines_with("feed 1 ("))
        assert leader.lines_with("feed 1 (")  # the first batch was the leader's
    finally:
        status = {p: await p.stop() for p in processes if not p.killed}

    for process, code in status.items():
        assert code == 0, f"{process} exited with {code}:\n{process.log[-6000:]}"
        assert "Traceback" not in process.log, process.log
    for guild_id in GUILDS:
        (post,) = posts(standin, news(guild_id))  # the daily digest: once
        assert post.json["embeds"][0]["title"].startswith("On this day")
        assert live_items(standin, guild_id) == Counter(guids(0) | guids(1) | guids(2))
        alerts = Counter(guids(0, alerted=True) | guids(1, alerted=True) | guids(2, alerted=True))
        assert alerted_items(standin, guild_id) == alerts
    assert not standin.duplicate_messages()


async def test_processes_starting_together_on_an_empty_database_both_come_up(
    postgres_url: str, standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Every process of a new bot started at once: each finds the database empty and imports
    the bundled sample, in turns (the later one finding the earlier's events and names), and
    each comes up and answers its servers, on one archive holding the sample once."""
    database = postgres_url
    env = environment(database, standin)
    processes = [BotProcess(shards, env, tmp_path) for shards in ("0-0", "1-1")]
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await until(
            lambda: all(p.said("scheduled ") for p in processes), "both at work", processes
        )
        await until(lambda: bool(standin.global_commands), "commands synced", processes)
        for guild_id in (ON_0[0], ON_1[0]):  # one answered by each process
            handle = await standin.send_slash_command(
                "about", guild_id=guild_id, channel_id=guild_id + 10
            )
            message = await handle.response(timeout=WAIT)
            assert "events" in message["embeds"][0]["fields"][0]["value"]
    finally:
        status = {p: await p.stop() for p in processes}
    for process, code in status.items():
        assert code == 0, f"{process} exited with {code}:\n{process.log[-6000:]}"
        assert "Traceback" not in process.log and "unexpected error" not in process.log
    assert any(p.said("importing the bundled sample archive") for p in processes)

    # The sample once: what one process alone makes of it, in a schema of its own.
    await postgres.create_schema(database, "alone")
    shared, alone = await open_storage(database), await open_storage(
        postgres.with_schema(database, "alone")
    )
    try:
        await import_sample_if_empty(alone)
        both, one = await shared.stats(), await alone.stats()
        assert (both.events, both.entities, both.sources, both.articles) == (
            one.events,
            one.entities,
            one.sources,
            one.articles,
        )
        assert both.events > 0
    finally:
        await shared.close()
        await alone.close()
