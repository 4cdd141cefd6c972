"""Opening a SQLite database cancelled part way (Ctrl-C, a task cancelled at shutdown)
leaves no connection behind: its thread has ended, and no thread reports "Event loop is
closed" after the event loop is gone. A connection cancelled while it was being set up had
been left open, its thread running the statement under way and reporting its end to the
closed loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.sqlite.db import Database


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException | None]]:
    """What threads raise that nothing caught, instead of printing it."""
    errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda hook: errors.append(hook.exc_value)
    try:
        yield errors
    finally:
        threading.excepthook = previous


def database_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


def open_cancelled(path: Path, *, after: float) -> None:
    """Database.open cancelled `after` seconds in, under an event loop of its own that is
    closed once the cancellation has gone through (as `asyncio.run` in the command line)."""

    async def cancelled() -> None:
        opening = asyncio.ensure_future(Database.open(path))
        await asyncio.sleep(after)
        opening.cancel()
        try:
            database = await opening
        except asyncio.CancelledError:
            return
        await database.close()  # it was quicker than the cancellation

    asyncio.run(cancelled())


def test_an_open_cancelled_while_another_process_holds_the_file_leaves_no_thread(
    tmp_path: Path, thread_errors: list[BaseException | None]
) -> None:
    """The first statement of a connection waits for the lock another process holds (one
    creating the database); the open is cancelled meanwhile, and the other process lets go
    after the event loop has closed."""
    path = tmp_path / "chronicle.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE being_made (x)")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO being_made VALUES (1)")
    before = set(database_threads())
    letting_go = threading.Timer(1.0, other.rollback)
    letting_go.start()
    try:
        open_cancelled(path, after=0.3)
    finally:
        letting_go.join()
        other.close()
    for thread in set(database_threads()) - before:
        thread.join(timeout=15)
        assert not thread.is_alive()
    assert thread_errors == []


@pytest.mark.parametrize("after", [0.0, 0.001, 0.003, 0.01, 0.03, 0.1])
def test_an_open_cancelled_at_any_moment_leaves_no_thread(
    tmp_path: Path, thread_errors: list[BaseException | None], after: float
) -> None:
    before = set(database_threads())
    open_cancelled(tmp_path / "chronicle.db", after=after)
    time.sleep(0.2)  # a thread left would report to the closed loop meanwhile
    assert set(database_threads()) - before == set()
    assert thread_errors == []
