"""Logging as the command line and the bot set it up."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.console import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiosqlite").setLevel(logging.NOTSET)


def test_debug_logs_chronicle_not_every_sqlite_statement(restored_logging: None) -> None:
    configure_logging(logging.DEBUG)
    assert logging.getLogger("bot.delivery").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("aiosqlite").isEnabledFor(logging.WARNING)
