"""PostgreSQL holding a table's lock for another session for long: an index built on it
(CREATE INDEX holds every write of the table until it is done), an operator's transaction
left open in psql. A member's command that needs the table waits as long as a write waits on
SQLite (busy_timeout), is told the archive is busy, and works once the lock is let go; it
does not stay "thinking…" for as long as the other session likes, holding one of the pool's
connections meanwhile."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from bot.tree import ARCHIVE_FAILURES
from storage.problems import Cause
from tests.e2e.harness import running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID
from tests.e2e.standin.server import DiscordStandIn


async def test_a_table_locked_by_another_session_is_told_busy_and_the_command_works_after(
    standin: DiscordStandIn,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A statement waits this long for another session's lock (far longer as shipped), within
    # what the test waits for an answer.
    monkeypatch.setattr("storage.postgres.db.LOCK_WAIT", "500ms", raising=False)
    async with running_bot(standin, postgres_url, prepare=sample) as bot:
        other = await asyncpg.connect(postgres_url)
        try:
            locked = other.transaction()
            await locked.start()
            await other.execute("LOCK TABLE subscriptions IN SHARE MODE")  # as CREATE INDEX
            with caplog.at_level(logging.ERROR, logger="bot.tree"):
                reply = await (
                    await standin.send_slash_command("subscribe", {"entity": "ISIL"})
                ).response(timeout=10)
            await locked.rollback()
        finally:
            await other.close()
        assert reply["content"] == ARCHIVE_FAILURES[Cause.BUSY]
        (line,) = [
            r.getMessage()
            for r in caplog.records
            if r.name == "bot.tree" and r.getMessage().startswith("/subscribe by user")
        ]
        assert "the PostgreSQL server of postgresql://" in line and "is busy" in line
        assert "lock timeout" in line

        reply = await (await standin.send_slash_command("subscribe", {"entity": "ISIL"})).response()
        assert reply["content"].startswith("You now follow **Islamic State**")
        assert await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, DEFAULT_USER_ID)
