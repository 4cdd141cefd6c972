"""The system clock stepped back under a running bot (an NTP correction of an hour, a
virtual machine restored from a snapshot): APScheduler counts a periodic job's next run from
the last run's wall-clock time, so the feed checks, portal checks and alert sweeps would wait
an hour before running again. They run again within moments, every interval from then on."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any, cast

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest

from bot.scheduler import ChronicleScheduler

WAIT = 10.0


class WallClock:
    """The machine's wall clock as APScheduler and the bot read it, which a test steps."""

    offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def step(self, by: dt.timedelta) -> None:
        self.offset += by


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[WallClock]:
    clock = WallClock()

    class SteppedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return dt.datetime.now(tz) + clock.offset

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", SteppedDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", SteppedDatetime)
    yield clock


class Calls:
    """When the job ran, by the wall clock, and an event set at each run."""

    def __init__(self, wall: WallClock):
        self.wall = wall
        self.times: list[dt.datetime] = []
        self.ran = asyncio.Event()

    async def __call__(self) -> None:
        self.times.append(self.wall())
        self.ran.set()

    async def next_within(self, seconds: float) -> bool:
        self.ran.clear()
        try:
            await asyncio.wait_for(self.ran.wait(), seconds)
        except TimeoutError:
            return False
        return True


async def test_a_periodic_job_runs_again_soon_after_the_clock_steps_back_an_hour(
    wall: WallClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = ChronicleScheduler(cast(Any, object()), clock=wall)  # no job here touches the bot
    jobs.start(clock_watch=0.2)
    calls = Calls(wall)
    try:
        jobs.every("feeds", 1, calls)
        jobs.apscheduler.modify_job("feeds", next_run_time=wall())
        assert await calls.next_within(WAIT)
        wall.step(-dt.timedelta(hours=1))
        # Not an hour and a minute later: within moments, and a minute after that by the
        # clock as it now reads.
        assert await calls.next_within(WAIT), "the job waited for the clock to catch up"
        job = jobs.apscheduler.get_job("feeds")
        assert job is not None
        assert job.next_run_time - wall() <= dt.timedelta(minutes=1)
    finally:
        await jobs.shutdown(grace=WAIT)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["the system clock went back (by about 60 minutes): feeds run from now"]


async def test_a_job_is_left_alone_when_the_clock_steps_forward_or_holds(wall: WallClock) -> None:
    jobs = ChronicleScheduler(cast(Any, object()), clock=wall)
    jobs.start(paused=True, clock_watch=WAIT * 10)

    async def check() -> None:
        pass

    try:
        jobs.every("feeds", 1, check)
        jobs.every("ledgers", 24 * 60, check)
        assert jobs.watch_clock() == 0  # just added: first runs in a few seconds
        jobs.apscheduler.modify_job("ledgers", next_run_time=wall() + dt.timedelta(hours=23))
        wall.step(dt.timedelta(minutes=30))
        assert jobs.watch_clock() == 0
        job = jobs.apscheduler.get_job("ledgers")
        assert job is not None
        assert job.next_run_time - wall() == pytest.approx(
            dt.timedelta(hours=22, minutes=30), abs=dt.timedelta(seconds=5)
        )
    finally:
        await jobs.shutdown(grace=WAIT)


async def test_a_digest_retry_waits_its_wait_from_now_after_the_clock_steps_back(
    wall: WallClock,
) -> None:
    jobs = ChronicleScheduler(cast(Any, object()), clock=wall)
    jobs.start(paused=True, clock_watch=WAIT * 10)
    try:
        jobs.schedule_retry(7, "2026-06-15", 300)
        wall.step(-dt.timedelta(hours=1))
        assert jobs.watch_clock() == 1
        job = jobs.apscheduler.get_job("digest-retry:7:2026-06-15")
        assert job is not None
        assert job.next_run_time - wall() == pytest.approx(
            dt.timedelta(minutes=5), abs=dt.timedelta(seconds=5)
        )
        assert jobs.watch_clock() == 0  # once
    finally:
        await jobs.shutdown(grace=WAIT)
