"""The delivery ledger end to end, as things go away: `/digest remove` takes the digest's
rows along (they had stayed in the database for good); a member's alert rows stay when they
leave the server, unsubscribe, or Chronicle is removed from it, until the daily prune takes
them: a member told of an event who follows something else it comes to name is not told of
it again. The real bot over the loopback Discord, a real SQLite file, a real RSS feed on
127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

from tests.e2e.fixtures import make_standin_fixture
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

standin = make_standin_fixture(guilds=lambda: [news_guild()], users=[ANNA, BORIS])


def ledger(database: Path) -> dict[str, int]:
    """The delivery ledger's rows, by target, as the database file holds them."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT target, count(*) FROM deliveries GROUP BY target").fetchall()
    db.close()
    return dict(rows)


async def test_a_removed_digest_takes_its_ledger_along_and_a_member_s_stays(
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
        assert await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id) == []
        assert ledger(database) == {f"dm:{ANNA.id}": 2, f"here:{GENERAL}:{BORIS.id}": 3}

        # Chronicle is removed from the server: Boris follows nothing any more.
        await standin.remove_guild(DEFAULT_GUILD_ID)
        for _ in range(200):  # the gateway's event reaches the bot
            if not await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, BORIS.id):
                break
            await asyncio.sleep(0.01)
        assert await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, BORIS.id) == []
        assert ledger(database) == {f"dm:{ANNA.id}": 2, f"here:{GENERAL}:{BORIS.id}": 3}


async def test_a_member_told_of_an_event_is_not_told_again_after_unsubscribing(
    wire: FeedServer, tmp_path: Path
) -> None:
    """Anna, by DM, hears of "Heavy snow closes mountain passes in Russia", and unsubscribes
    from Russia, all she followed. She follows Syria, as Boris does; the wire then corrects
    the entry to name Syria too, within the three days a correction is news: Boris hears of
    it, Anna, told of it already, does not. The bot's ledger of her alerts had gone with
    her last subscription, and she was told a second time."""
    clock = FakeClock(dt.datetime.now(dt.UTC))  # a correction is news by the computer's clock
    # Discord keeps a nonce a few minutes; a correction may come days later.
    async with (
        DiscordStandIn(guilds=[news_guild()], users=[ANNA, BORIS], nonce_window=0) as standin,
        running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot,
    ):
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)
        headline = "Heavy snow closes mountain passes in Russia"
        await ingest(bot, clock, wire, [("s-1", headline), *OLD])
        assert len(dms_to(standin, ANNA)) == 1

        handle = await standin.send_slash_command(
            "unsubscribe", {"entity": "Russia"}, user=ANNA, guild_id=DEFAULT_GUILD_ID
        )
        assert "Russia" in (await handle.callback()).json["data"]["content"]
        assert await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id) == []
        await subscribe(standin, ANNA, "Syria", guild_id=DEFAULT_GUILD_ID)
        await subscribe(standin, BORIS, "Syria", guild_id=DEFAULT_GUILD_ID)

        await ingest(bot, clock, wire, [("s-1", f"{headline} and Syria"), *OLD])
        (told,) = dms_to(standin, BORIS)
        assert "and Syria" in told.json["embeds"][0]["description"]
        assert len(dms_to(standin, ANNA)) == 1
    assert not standin.internal_errors
