"""The system clock stepped back an hour under a running bot (an NTP correction, a virtual
machine restored from a snapshot), over the loopback Discord stand-in: the feed checks and
alert sweeps run again from now rather than an hour on; a daily digest already posted today
is not posted again, by the running bot nor by one restarted meanwhile, and one not yet
posted today posts at its time, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, fire, only_digest, running_bot
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_resilience_clock import titles

UTC = dt.UTC
NEWS = DEFAULT_GUILD_ID + 11
MANAGE_GUILD = 1 << 5
HOUR = dt.timedelta(hours=1)


standin = make_standin_fixture(channels=["general", "news"])


async def june(storage: Storage) -> None:
    await storage.events.import_batch(
        [
            PageRecord(
                key=f"2015/06/{day}/event-{day}",
                date=dt.date(2015, 6, day),
                headline=f"Something happened on June {day}, 2015",
                sources=(SourceRecord("Example", f"https://example.com/{day}"),),
            )
            for day in range(15, 18)
        ]
    )


async def set_daily(standin: DiscordStandIn, time: str) -> None:
    options: dict[str, Any] = {
        "kind": "onthisday",
        "channel": NEWS,
        "time": time,
        "timezone": "UTC",
    }
    handle = await standin.send_slash_command(
        "digest set", options, member_permissions=MANAGE_GUILD | 0x400 | 0x800
    )
    await handle.callback()


def next_run(bot: ChronicleBot, job_id: str) -> dt.datetime:
    job = bot.chronicle_scheduler.apscheduler.get_job(job_id)
    assert job is not None and job.next_run_time is not None
    when: dt.datetime = job.next_run_time
    return when


async def test_after_the_clock_steps_back_news_checks_run_from_now_and_a_digest_posts_once(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 15, 8, 0, tzinfo=UTC))
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=june, clock=clock) as bot:
        await set_daily(standin, "09:00")
        digest_id = await only_digest(bot)
        await fire(bot, clock, digest_id)
        assert titles(standin) == ["On this day: June 15"]
        scheduler = bot.chronicle_scheduler
        # At 09:30 the feed check and the alert sweep have just run, due again in a minute.
        clock.set(dt.datetime(2026, 6, 15, 9, 30, tzinfo=UTC))
        for job in ("feeds", "alerts"):
            scheduler.apscheduler.modify_job(job, next_run_time=clock() + dt.timedelta(minutes=1))
        clock.set(clock() - HOUR)  # the clock is stepped back
        assert scheduler.watch_clock() == 2
        assert next_run(bot, "feeds") == clock() and next_run(bot, "alerts") == clock()
        # The digest keeps its next run: tomorrow's, not today's again.
        assert scheduler.next_run_time(digest_id) == dt.datetime(2026, 6, 16, 9, 0, tzinfo=UTC)
        await scheduler.apscheduler.get_job("alerts").func()
    # A restart while the clock reads 08:30 again: nothing is caught up, and the run of
    # 09:00 that the clock reaches again finds today's digest posted.
    async with running_bot(standin, database, clock=clock) as bot:
        digest_id = await only_digest(bot)
        assert titles(standin) == ["On this day: June 15"]
        await fire(bot, clock, digest_id)
        assert titles(standin) == ["On this day: June 15"]
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 16, 9, 0, tzinfo=UTC
        )
        await fire(bot, clock, digest_id)
        assert titles(standin) == ["On this day: June 15", "On this day: June 16"]
        runs = {r.slot: r.status for r in await bot.storage.digests.runs_for(digest_id)}
        assert runs == {"2026-06-15": "sent", "2026-06-16": "sent"}


async def test_a_digest_not_yet_posted_today_posts_at_its_time_after_the_clock_steps_back(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 15, 9, 10, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=june, clock=clock) as bot:
        await set_daily(standin, "09:30")
        digest_id = await only_digest(bot)
        clock.set(clock() - HOUR)
        bot.chronicle_scheduler.watch_clock()
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 15, 9, 30, tzinfo=UTC
        )
        await fire(bot, clock, digest_id)
        assert titles(standin) == ["On this day: June 15"]
        assert bot.chronicle_scheduler.next_run_time(digest_id) == dt.datetime(
            2026, 6, 16, 9, 30, tzinfo=UTC
        )
