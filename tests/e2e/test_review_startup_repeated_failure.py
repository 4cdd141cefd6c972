"""The work begun once connected failing for a reason that is not the archive's passing state
(a table gone from the archive file, a bug): it is tried again each minute as an archive
failure is, but its traceback is logged once; each later failure the same says so in one
line, so that the log is not a traceback a minute for as long as the bot runs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiosqlite
import pytest

from bot.client import ChronicleBot
from tests.e2e.harness import running_bot, sample, settings_for
from tests.e2e.standin.server import DiscordStandIn, connected_client

WHAT = "starting the digests and alerts"


async def digests_gone(path: Path) -> None:
    async with aiosqlite.connect(path) as db:
        await db.execute("ALTER TABLE digests RENAME TO digests_gone")
        await db.commit()


async def test_a_failure_that_repeats_at_start_logs_its_traceback_once(
    standin: DiscordStandIn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.client.WORK_RETRY", 0.2)
    database = tmp_path / "c.db"

    caplog.set_level(logging.INFO)
    # The archive made and filled, then its digests table taken away under the bot.
    async with running_bot(standin, database, prepare=sample):
        pass
    await digests_gone(database)
    caplog.clear()
    bot = ChronicleBot(settings_for(standin, database), identify_wait=0.0)
    async with connected_client(bot, standin):
        for _ in range(100):
            failed = [r for r in caplog.records if WHAT in r.getMessage()]
            if len(failed) >= 4:
                break
            await asyncio.sleep(0.1)
    failed = [r for r in caplog.records if WHAT in r.getMessage()]
    assert len(failed) >= 4, caplog.text
    assert failed[0].exc_info is not None
    assert not any(r.exc_info for r in failed[1:]), caplog.text
    again = failed[1].getMessage()
    assert "failed again" in again and "digests" in again, again
    assert again.endswith("tried again in 0.2 seconds"), again
