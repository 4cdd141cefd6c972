"""What the PostgreSQL backend says when its server fails: the cause (told to members by the
bot) and a line for the operator. The failures are the real server's, caused for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage import open_storage
from storage.postgres import PostgresStorage
from storage.problems import Cause


@pytest.fixture
async def archive(target_url: str) -> AsyncIterator[PostgresStorage]:
    storage = await open_storage(target_url)
    assert isinstance(storage, PostgresStorage)
    try:
        yield storage
    finally:
        await storage.close()


async def failure(url: str, *statements: str) -> BaseException:
    """The error the last of `statements` raises, on a connection of its own."""
    conn = await asyncpg.connect(url)
    try:
        for statement in statements[:-1]:
            await conn.execute(statement)
        with pytest.raises(Exception) as failed:
            await conn.execute(statements[-1])
        return failed.value
    finally:
        await conn.close()


async def test_a_lock_or_a_statement_past_its_time_is_busy(
    archive: PostgresStorage, target_url: str
) -> None:
    holder = await asyncpg.connect(target_url)
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE subscriptions IN ACCESS EXCLUSIVE MODE")
            locked = await failure(
                target_url, "SET lock_timeout = '100ms'", "SELECT count(*) FROM subscriptions"
            )
    finally:
        await holder.close()
    timed_out = await failure(target_url, "SET statement_timeout = '50ms'", "SELECT pg_sleep(1)")
    for error in (locked, timed_out):
        problem = archive.explain(error)
        assert problem is not None and problem.cause is Cause.BUSY and problem.transient
        assert str(problem).startswith("the PostgreSQL server of postgresql://")


async def test_a_server_that_drops_the_connection_is_unreachable(
    archive: PostgresStorage, target_url: str
) -> None:
    conn = await asyncpg.connect(target_url)
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    admin = await asyncpg.connect(target_url)
    try:
        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    with pytest.raises(Exception) as failed:
        await conn.fetchval("SELECT 1")
    await conn.close()
    problem = archive.explain(failed.value)
    assert problem is not None and problem.cause is Cause.UNREACHABLE and problem.transient
    assert "check that it runs" in str(problem)


async def test_a_read_only_server_and_a_full_disk(
    archive: PostgresStorage, target_url: str
) -> None:
    read_only = await failure(
        target_url,
        "SET default_transaction_read_only = on",
        "INSERT INTO guild_settings (guild_id) VALUES (1)",
    )
    problem = archive.explain(read_only)
    assert problem is not None and problem.cause is Cause.READ_ONLY and problem.transient
    # A full disk cannot be caused on a shared server; the error is the one asyncpg raises.
    full = archive.explain(asyncpg.DiskFullError("could not extend file: No space left"))
    assert full is not None and full.cause is Cause.NO_SPACE
    assert str(full).endswith("is out of disk space: free some")


async def test_a_bug_is_not_the_server_s_state(archive: PostgresStorage, target_url: str) -> None:
    bug = await failure(target_url, "SELECT no_such_column FROM events")
    problem = archive.explain(bug)
    assert problem is not None and problem.cause is Cause.OTHER and not problem.transient
    assert archive.explain(ValueError("not the database's")) is None
    # The network failing elsewhere (Discord, a feed, a closed pipe) is not the server's.
    for elsewhere in (TimeoutError(), BrokenPipeError(), ConnectionRefusedError()):
        assert archive.explain(elsewhere) is None
