"""What the bot's scheduler writes to the log. `chronicle run` at LOG_LEVEL=INFO (the
default), idle, as a real process: its checks (due feeds, the alert sweep) run every minute,
and each run had made APScheduler write two lines ('Running job ...', '... executed
successfully'), about 8,640 a day saying nothing. And each job has a name, which
APScheduler's warnings use.

The process runs the real command line with the checks sped up to every second
(tests/e2e/bot_process.py); a feed served over 127.0.0.1, due again a second after each poll,
shows how many checks have run."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

from storage import Storage, open_storage
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, running_bot, sample
from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, DEFAULT_TOKEN
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer

REPO = Path(__file__).resolve().parents[2]
WAIT = 45.0  # seconds for anything the test waits for (a loaded 2-core machine is slow)
CHECKS = 4
CHANNEL = DEFAULT_CHANNEL_ID


standin = make_standin_fixture(valid_token=DEFAULT_TOKEN)


async def test_an_idle_bot_writes_no_line_per_check(
    tmp_path: Path, standin: DiscordStandIn, wire: FeedServer
) -> None:
    database = tmp_path / "chronicle.db"
    storage = await open_storage(database)
    try:
        await storage.feeds.add(wire.url("wire.xml"), "Wire", now=dt.datetime.now(dt.UTC))
    finally:
        await storage.close()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_", "LOG_"))
    }
    env.update(
        CHRONICLE_DB=str(database),
        DISCORD_TOKEN=DEFAULT_TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        FEED_ALLOW_PRIVATE_ADDRESSES="true",
        WIKIPEDIA_POLL_MINUTES="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        CHRONICLE_TEST_CHECK_SECONDS="1",
        CHRONICLE_TEST_FEED_POLL_SECONDS="1",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.bot_process",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await standin.wait_for_ready(timeout=WAIT)
        for _ in range(int(WAIT / 0.1)):  # each fetch of the feed: a check of due feeds
            if wire.request_count("wire.xml") >= CHECKS:
                break
            await asyncio.sleep(0.1)
        assert wire.request_count("wire.xml") >= CHECKS
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    lines = err.decode().splitlines()
    assert process.returncode == 0, "\n".join(lines)
    assert any(" INFO bot.client: connected as " in line for line in lines)
    # (A loaded machine may make a run late, which APScheduler warns of: not a line a check
    # writes.)
    assert [line for line in lines if " INFO apscheduler" in line] == []


async def test_every_job_has_the_name_the_log_calls_it_by(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """APScheduler's warnings (a run skipped because the last one still runs, a run missed)
    name the job: every periodic job had read 'ChronicleScheduler.every.<locals>.run'."""

    async def a_digest(storage: Storage) -> None:
        await sample(storage)
        await storage.digests.upsert(
            guild_id=DEFAULT_GUILD_ID,
            channel_id=CHANNEL,
            kind="onthisday",
            time=dt.time(9),
            timezone="UTC",
            created_by=1,
            now=dt.datetime.now(dt.UTC),
        )

    clock = FakeClock(dt.datetime.now(dt.UTC))  # the jobs are looked at, not run
    async with running_bot(
        standin, tmp_path / "c.db", prepare=a_digest, clock=clock, wikipedia_poll_minutes=10
    ) as bot:
        (digest,) = await bot.storage.digests.all()
        bot.chronicle_scheduler.schedule_retry(digest.id, "2026-06-16", 60.0)
        names = sorted(job.name for job in bot.chronicle_scheduler.apscheduler.get_jobs())
    assert names == [
        "alerts",
        f"digest {digest.id} (daily onthisday for channel {CHANNEL})",
        f"digest {digest.id} retry of 2026-06-16",
        "feeds",
        "ledgers",
        "wikipedia",
    ]
