"""Logging as the command line and the bot set it up (tests/conftest.py undoes it after
each test)."""

from __future__ import annotations

import logging

import storage.sqlite.db  # noqa: F401 -- opening a SQLite archive imports it: it quiets aiosqlite
from bot.console import configure_logging


def test_debug_logs_chronicle_not_every_sqlite_statement() -> None:
    configure_logging(logging.DEBUG)
    assert logging.getLogger("bot.delivery").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("aiosqlite").isEnabledFor(logging.WARNING)


def test_info_leaves_out_the_schedulers_line_per_job_run_but_not_its_warnings() -> None:
    """APScheduler logs 'Running job' and 'executed successfully' at INFO for every run of
    every job: an idle bot's checks each minute made thousands of lines a day."""
    scheduler_log = logging.getLogger("apscheduler.executors.default")
    level = logging.getLogger("apscheduler").level
    try:
        configure_logging(logging.INFO)
        assert logging.getLogger("bot.delivery").isEnabledFor(logging.INFO)
        assert not scheduler_log.isEnabledFor(logging.INFO)
        assert scheduler_log.isEnabledFor(logging.WARNING)  # a run missed, or skipped
        configure_logging(logging.ERROR)
        assert not scheduler_log.isEnabledFor(logging.WARNING)
        configure_logging(logging.DEBUG)  # which jobs ran, when someone looks closely
        assert scheduler_log.isEnabledFor(logging.INFO)
    finally:
        logging.getLogger("apscheduler").setLevel(level)
