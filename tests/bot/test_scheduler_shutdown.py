"""Stopping the bot while a job is under way (a feed poll, an alert sweep, a digest being
posted): the job gets a few seconds to finish; one that takes longer is cancelled and ends
quietly, before the storage and connections it uses are closed, rather than failing
against them or being cancelled by the event loop's end with a traceback in the log."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, cast

import pytest

from bot.scheduler import ChronicleScheduler

WAIT = 10.0


async def started_job(scheduler: ChronicleScheduler, work: Any) -> None:
    """Register `work` as a periodic job and run it now, as APScheduler runs jobs."""
    began = asyncio.Event()

    async def job() -> None:
        began.set()
        await work()

    scheduler.every("probe", 60.0, job)
    scheduler.apscheduler.modify_job("probe", next_run_time=dt.datetime.now(dt.UTC))
    await asyncio.wait_for(began.wait(), WAIT)


def scheduler() -> ChronicleScheduler:
    made = ChronicleScheduler(cast(Any, object()))  # no job here touches the bot
    made.start()
    return made


async def test_a_job_under_way_finishes_within_the_grace() -> None:
    jobs = scheduler()
    finished: list[str] = []

    async def poll() -> None:
        await asyncio.sleep(0.3)
        finished.append("poll")

    await started_job(jobs, poll)
    await asyncio.wait_for(jobs.shutdown(grace=WAIT), WAIT)
    assert finished == ["poll"]


async def test_a_job_past_the_grace_is_cancelled_quietly(caplog: pytest.LogCaptureFixture) -> None:
    jobs = scheduler()
    stopped: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append("cancelled")
            raise

    caplog.set_level(logging.INFO)
    await started_job(jobs, stuck)
    await asyncio.wait_for(jobs.shutdown(grace=0.2), WAIT)
    assert stopped == ["cancelled"]  # ended before shutdown returned
    await asyncio.sleep(0.1)  # APScheduler's own handling of the job's end
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "the periodic job probe: stopped by the shutdown" in caplog.text
