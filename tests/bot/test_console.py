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
