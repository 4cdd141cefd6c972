"""One process leads the polling (storage.lead), connected straight to the server or
through pgbouncer in transaction mode, as the README sets it up; when the leader is gone,
the next to ask takes over."""

from __future__ import annotations

import asyncio

import pytest

from storage import open_storage
from storage.problems import Cause
from tests.support import pgbouncer
from tests.support.tcp_proxy import TcpProxy


async def one_leads_at_a_time(url: str) -> None:
    first, second, third = [await open_storage(url) for _ in range(3)]
    try:
        assert [await s.lead("feeds") for s in (first, second, third)] == [True, False, False]
        # Asked again (every minute, in a bot): the same one, and a lead of its own per work.
        assert [await s.lead("feeds") for s in (first, second, third)] == [True, False, False]
        assert await second.lead("wikipedia") and not await first.lead("wikipedia")
        await first.close()  # the leader stops (or dies: its connection drops)
        async with asyncio.timeout(10):  # the server ends its transaction once it sees that
            while not await second.lead("feeds"):  # noqa: ASYNC110 -- the server frees it
                await asyncio.sleep(0.05)
        assert not await third.lead("feeds")
        assert [await s.lead("feeds") for s in (second, third)] == [True, False]
    finally:
        for storage in (second, third):
            await storage.close()


async def test_one_process_leads_connected_to_the_server(target_url: str) -> None:
    await one_leads_at_a_time(target_url)


async def test_one_process_leads_through_a_transaction_pooler(target_url: str) -> None:
    if pgbouncer.binary() is None:
        pytest.skip("pgbouncer is not installed (Debian: apt install pgbouncer)")
    async with pgbouncer.transaction_pooler(target_url) as pooled:
        await one_leads_at_a_time(pooled)


async def test_a_leader_whose_server_is_gone_is_told_so_not_as_a_bug(target_url: str) -> None:
    """The poll's look at its lead, the server gone: a failure the log tells in one line
    (what, and what to do), as every other job's, not a traceback."""
    server = TcpProxy.before(target_url)
    async with server:
        storage = await open_storage(server.through(target_url))
        try:
            assert await storage.lead("feeds")
            await server.cut()
            with pytest.raises(Exception) as failed:
                await storage.lead("feeds")
            problem = storage.explain(failed.value)
            assert problem is not None and problem.cause is Cause.UNREACHABLE
            await server.start()
            assert await storage.lead("feeds")  # back: asked again afresh
        finally:
            await storage.close()
