"""The archive failing under a command: a full disk, another process's write lock held past
what a write waits, the database server gone. The member is told what happened, the
operator reads the cause and what to do in the log, no traceback reaches anyone, nothing
is half done, and the same command works once the archive is back."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.choices import AUTOCOMPLETE_SECONDS
from bot.tree import ARCHIVE_FAILURES
from storage.problems import Cause
from storage.sqlite import SQLiteStorage
from tests.e2e.harness import running_bot, sample
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.support.full_disk import fill_disk, room_again
from tests.support.tcp_proxy import TcpProxy

EPHEMERAL = 64


def archive_lines(caplog: pytest.LogCaptureFixture, starting: str) -> list[str]:
    """The command tree's error lines that start so (no traceback in any of them)."""
    lines = [r for r in caplog.records if r.name == "bot.tree" and r.levelno == logging.ERROR]
    assert not any(r.exc_info for r in lines)
    return [r.getMessage() for r in lines if r.getMessage().startswith(starting)]


async def test_a_full_disk_is_told_and_the_command_works_once_there_is_room(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "chronicle.db"
    async with running_bot(standin, database, prepare=sample) as bot:
        archive = bot.storage
        assert isinstance(archive, SQLiteStorage)
        await fill_disk(archive, guild_id=DEFAULT_GUILD_ID)

        with caplog.at_level(logging.ERROR, logger="bot.tree"):
            reply = await (
                await standin.send_slash_command("subscribe", {"entity": "ISIL"})
            ).response()
        assert reply["content"] == ARCHIVE_FAILURES[Cause.NO_SPACE]
        assert reply["flags"] & EPHEMERAL
        assert str(database) not in reply["content"]  # the operator's detail stays in the log
        (line,) = archive_lines(caplog, f"/subscribe by user {DEFAULT_USER_ID}")
        assert line.startswith(f"/subscribe by user {DEFAULT_USER_ID} in guild {DEFAULT_GUILD_ID}")
        assert f"cannot write to the database {database}: database or disk is full" in line
        assert line.endswith("free some disk space")
        assert not await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, DEFAULT_USER_ID)

        await room_again(archive)
        reply = await (await standin.send_slash_command("subscribe", {"entity": "ISIL"})).response()
        assert reply["content"].startswith("You now follow **Islamic State**")
        assert (
            len(await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, DEFAULT_USER_ID)) == 1
        )


async def test_a_write_lock_held_too_long_is_told_and_the_command_works_after(
    standin: DiscordStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "chronicle.db"
    async with running_bot(standin, database, prepare=sample) as bot:
        assert isinstance(bot.storage, SQLiteStorage)
        # A write waits this long for another process's lock (far longer as shipped), within
        # Discord's 3 s here so the test need not wait.
        await bot.storage.db.writer.execute("PRAGMA busy_timeout = 500")
        importer = sqlite3.connect(database, isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")  # the write lock, held as a stuck process would
        try:
            with caplog.at_level(logging.ERROR, logger="bot.tree"):
                reply = await (
                    await standin.send_slash_command("subscribe", {"entity": "ISIL"})
                ).response()
        finally:
            importer.rollback()
            importer.close()
        assert reply["content"] == ARCHIVE_FAILURES[Cause.BUSY]
        (line,) = archive_lines(caplog, f"/subscribe by user {DEFAULT_USER_ID}")
        assert "is busy (database is locked): another Chronicle is writing to it" in line

        reply = await (await standin.send_slash_command("subscribe", {"entity": "ISIL"})).response()
        assert reply["content"].startswith("You now follow **Islamic State**")


async def test_the_database_server_gone_is_told_and_commands_work_once_it_is_back(
    standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL goes away (every connection dropped, new ones refused), as in a restart or
    an outage of its machine, and comes back."""
    server = TcpProxy.before(postgres_url)
    async with server, running_bot(standin, server.through(postgres_url), prepare=sample) as bot:
        await server.cut()
        with caplog.at_level(logging.WARNING):
            reply = await (
                await standin.send_slash_command("subscribe", {"entity": "ISIL"})
            ).response()
            offered = await standin.send_autocomplete("entity", {"name": "abu"}, focused="name")
            callback = await offered.callback(timeout=AUTOCOMPLETE_SECONDS + 3)
            # The member's notices, looked up beside the command, could not be read either.
            async with asyncio.timeout(5):
                noticed = "looking up the notices of /subscribe"
                while not archive_lines(caplog, noticed):  # noqa: ASYNC110 -- another task logs it
                    await asyncio.sleep(0.05)
        assert reply["content"] == ARCHIVE_FAILURES[Cause.UNREACHABLE]
        assert callback.status < 300 and callback.json["data"]["choices"] == []
        (line,) = archive_lines(caplog, f"/subscribe by user {DEFAULT_USER_ID}")
        assert "cannot reach the PostgreSQL server of postgresql://" in line
        assert line.endswith("check that it runs")
        (offered_line,) = [r.getMessage() for r in caplog.records if r.name == "bot.choices"]
        assert offered_line.startswith(
            "autocomplete answered no choices, the archive's doing: cannot reach"
        )
        assert offered_line.endswith("typed 'abu'")

        await server.start()
        reply = await (await standin.send_slash_command("subscribe", {"entity": "ISIL"})).response()
        assert reply["content"].startswith("You now follow **Islamic State**")
        (subscription,) = await bot.storage.subscriptions.for_member(
            DEFAULT_GUILD_ID, DEFAULT_USER_ID
        )
        assert subscription.entity == "Islamic State"
