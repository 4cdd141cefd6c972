"""The delivery ledger end to end, as things go away: `/digest remove` takes the digest's
rows along, a member found to have left a server takes their alerts' rows along, and so
does Chronicle being removed from a server for the members it leaves with nothing to
follow. They had stayed in the database for good. The real bot over the loopback Discord,
a real SQLite file, a real RSS feed on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import ANNA, BORIS, FakeClock, dms_to, running_bot, sample
from tests.e2e.news_channels_support import (
    GENERAL,
    MANAGER,
    NEWS,
    OLD,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    digest_set,
    ingest,
    news_guild,
    posts,
    wire_fixture,  # noqa: F401 -- a fixture, found by pytest as `wire`
)
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_subscriptions_membership import subscribe
from tests.support.feed_server import FeedServer


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(guilds=[news_guild()], users=[ANNA, BORIS]) as api:
        yield api
    assert not api.internal_errors


def ledger(database: Path) -> dict[str, int]:
    """The delivery ledger's rows, by target, as the database file holds them."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT target, count(*) FROM deliveries GROUP BY target").fetchall()
    db.close()
    return dict(rows)


async def test_what_goes_away_takes_its_ledger_along(
    standin: DiscordStandIn, wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)  # by DM
        await subscribe(standin, BORIS, "Russia", guild_id=DEFAULT_GUILD_ID, delivery="here")
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        (digest,) = await bot.storage.digests.all()
        items = [("x-1", "Russia recalls its ambassador"), ("x-2", "Russia closes a port"), *OLD]
        await ingest(bot, clock, wire, items)
        assert len(posts(standin, NEWS)) == 1 and len(dms_to(standin, ANNA)) == 1
        assert ledger(database) == {
            f"digest:{digest.id}": 2,
            f"dm:{ANNA.id}": 2,
            f"here:{GENERAL}:{BORIS.id}": 2,
        }

        handle = await standin.send_slash_command(
            "digest remove", {"digest": str(digest.id)}, **MANAGER
        )
        assert "Removed the live new" in (await handle.callback()).json["data"]["content"]
        assert f"digest:{digest.id}" not in ledger(database)

    # Anna leaves; the bot, started again, asks Discord about her at her next alert.
    await standin.remove_member(ANNA.id, guild_id=DEFAULT_GUILD_ID)
    async with running_bot(standin, database, clock=clock) as bot:
        await ingest(bot, clock, wire, [("x-3", "Russia recalls its envoy to Rome"), *items])
        assert len(dms_to(standin, ANNA)) == 1
        assert ledger(database) == {f"here:{GENERAL}:{BORIS.id}": 3}

        # Chronicle is removed from the server: Boris follows nothing any more.
        await standin.remove_guild(DEFAULT_GUILD_ID)
        for _ in range(200):  # the gateway's event reaches the bot
            if not ledger(database):
                break
            await asyncio.sleep(0.01)
        assert ledger(database) == {}
