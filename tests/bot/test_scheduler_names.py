"""The scheduler's jobs by name: what APScheduler's own warnings (a run skipped because the
last one is still going, a run missed) call them, so that the operator can tell which job.
Without a name every periodic job read 'ChronicleScheduler.every.<locals>.run'."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, cast

import pytest

from bot.console import configure_logging
from bot.scheduler import ChronicleScheduler

WAIT = 10.0


async def test_a_periodic_job_s_warning_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    level = logging.getLogger("apscheduler").level
    configure_logging(logging.INFO)  # as `chronicle run` sets it up, at the default level
    jobs = ChronicleScheduler(cast(Any, object()))  # no job here touches the bot
    jobs.start()
    began = asyncio.Event()
    release = asyncio.Event()

    async def slow_sweep() -> None:
        began.set()
        await release.wait()

    try:
        jobs.every("alerts", 60.0, slow_sweep)
        jobs.apscheduler.modify_job("alerts", next_run_time=dt.datetime.now(dt.UTC))
        await asyncio.wait_for(began.wait(), WAIT)
        # Its next turn comes while it is still running: skipped, and said.
        jobs.apscheduler.modify_job("alerts", next_run_time=dt.datetime.now(dt.UTC))
        logged = ""
        for _ in range(int(WAIT / 0.05)):
            logged += capsys.readouterr().err  # what the terminal shows
            if "skipped" in logged:
                break
            await asyncio.sleep(0.05)
        release.set()
    finally:
        await jobs.shutdown(grace=WAIT)
        logging.getLogger("apscheduler").setLevel(level)
    (skipped,) = [line for line in logged.splitlines() if "skipped" in line]
    assert ' WARNING apscheduler.scheduler: Execution of job "alerts (trigger: interval' in skipped
    # And no line of the scheduler's per run ('Running job', 'executed successfully').
    assert [line for line in logged.splitlines() if "apscheduler" in line] == [skipped]
