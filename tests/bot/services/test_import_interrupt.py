"""Stopping an import (Ctrl-C, a cancelled task): it stops between two batches, writes
nothing half, leaves the database usable, and its parse workers never see the Ctrl-C."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

import pytest

from bot.services import imports
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import SAMPLE_NEWS

BATCH = 10


async def test_a_cancelled_import_stops_after_the_batch_it_is_writing(storage: Storage) -> None:
    seen: list[int] = []
    task: asyncio.Task[imports.ImportReport] | None = None

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == BATCH:
            assert task is not None
            task.cancel()  # as asyncio.run does on Ctrl-C

    task = asyncio.ensure_future(
        import_archive(storage, [SAMPLE_NEWS], batch_files=BATCH, progress=progress)
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen in ([BATCH], [BATCH, 2 * BATCH])  # at most the batch already under way
    # Nothing was left open: the database takes the next import, which finishes the work.
    report = await import_archive(storage, [SAMPLE_NEWS], batch_files=BATCH)
    assert report.ok and report.unchanged > 0
    stats = await storage.stats()
    assert stats.events - stats.incomplete == 41


async def test_a_failure_while_importing_is_raised_as_it_was(storage: Storage) -> None:
    class Boom(Exception):
        pass

    def progress(done: int, total: int) -> None:
        raise Boom

    with pytest.raises(Boom):
        await import_archive(storage, [SAMPLE_NEWS], batch_files=BATCH, progress=progress)


def test_parse_workers_ignore_ctrl_c_from_their_start() -> None:
    """A terminal's Ctrl-C reaches every process of the group; a worker started while
    sigint_ignored_by_children() holds ignores it from its first instruction (no traceback
    while it is still starting), and the parent keeps its own handler."""
    before = signal.getsignal(signal.SIGINT)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with imports.sigint_ignored_by_children():
            future = pool.submit(signal.getsignal, signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == before
        assert future.result(timeout=60) == signal.SIG_IGN
