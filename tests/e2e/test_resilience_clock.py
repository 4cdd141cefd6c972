"""Digests when the clock jumps under a running bot: the machine asleep past a digest's time
(a suspended virtual machine, a laptop's lid shut), or its clock stepped forward by NTP. The
timer set for a run fires late, once the clock reads a later day: that day's run, missed
while the bot was not looking, is posted then, once, as a restart the same day would post it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from storage import Storage
from storage.models import PageRecord, SourceRecord
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import FakeClock, only_digest, running_bot
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn

UTC = dt.UTC
NEWS = DEFAULT_GUILD_ID + 11
MANAGE_GUILD = 1 << 5


standin = make_standin_fixture(channels=["general", "news"])


async def june(storage: Storage) -> None:
    """An event on each of June 15 to 19, 2015: every day of the test has one to recall."""
    await storage.events.import_batch(
        [
            PageRecord(
                key=f"2015/06/{day}/event-{day}",
                date=dt.date(2015, 6, day),
                headline=f"Something happened on June {day}, 2015",
                sources=(SourceRecord("Example", f"https://example.com/{day}"),),
            )
            for day in range(15, 20)
        ]
    )


def titles(standin: DiscordStandIn) -> list[str]:
    return [
        r.json["embeds"][0]["title"]
        for r in standin.requests_to("POST", rf"/channels/{NEWS}/messages")
        if r.status < 300
    ]


async def set_daily(standin: DiscordStandIn, time: str, zone: str) -> None:
    options: dict[str, Any] = {"kind": "onthisday", "channel": NEWS, "time": time, "timezone": zone}
    handle = await standin.send_slash_command(
        "digest set", options, member_permissions=MANAGE_GUILD | 0x400 | 0x800
    )
    await handle.callback()


async def fire_at(bot: Any, clock: FakeClock, digest_id: int, now: dt.datetime) -> dt.datetime:
    """The digest's timer fires with the clock at `now`: later than it was set for when the
    machine slept or its clock jumped meanwhile. Returns when it was set for."""
    job = bot.chronicle_scheduler.apscheduler.get_job(f"digest:{digest_id}")
    assert job is not None
    scheduled: dt.datetime = job.trigger.run_date
    clock.set(now)
    await job.func(*job.args)
    return scheduled


@pytest.mark.parametrize(
    ("zone", "time", "woke", "next_run"),
    [
        # Asleep from June 16, 08:00 to June 17, 14:00 (UTC): June 17's 09:00 went by.
        ("UTC", "09:00", dt.datetime(2026, 6, 17, 14, 0), dt.datetime(2026, 6, 18, 9, 0)),
        # The same in Berlin (09:00 is 07:00 UTC), woken at 23:30 local on June 17.
        (
            "Europe/Berlin",
            "09:00",
            dt.datetime(2026, 6, 17, 21, 30),
            dt.datetime(2026, 6, 18, 7, 0),
        ),
    ],
)
async def test_a_timer_fired_a_day_late_posts_the_day_it_fired_on_once(
    standin: DiscordStandIn,
    tmp_path: Path,
    zone: str,
    time: str,
    woke: dt.datetime,
    next_run: dt.datetime,
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=june, clock=clock) as bot:
        await set_daily(standin, time, zone)
        digest_id = await only_digest(bot)
        scheduled = await fire_at(bot, clock, digest_id, woke.replace(tzinfo=UTC))
        assert scheduled.date() == dt.date(2026, 6, 16)
        # June 16's run had its day go by while the machine slept; June 17's is posted.
        assert titles(standin) == ["On this day: June 17"]
        runs = {r.slot: r.status for r in await bot.storage.digests.runs_for(digest_id)}
        assert runs == {"2026-06-16": "skipped", "2026-06-17": "sent"}
        assert bot.chronicle_scheduler.next_run_time(digest_id) == next_run.replace(tzinfo=UTC)
        # Once: the run of the next day is the next day's.
        await fire_at(bot, clock, digest_id, next_run.replace(tzinfo=UTC))
        assert titles(standin) == ["On this day: June 17", "On this day: June 18"]
