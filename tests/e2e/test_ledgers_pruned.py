"""The bot prunes its ledgers once a day: two weeks after a live digest posted and a member
was alerted, their runs and delivery rows are gone from the database, and nothing is posted
or alerted twice for it, even by an alert sweep starting from far behind (a shard that was
down, a new shard layout), and even when the prune runs while that sweep does. They had
been kept for good. Of several processes sharing
PostgreSQL, the one leading it prunes. The real bot over the loopback Discord, a real SQLite
file (or PostgreSQL), a real RSS feed on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import WATERMARK
from bot.client import ChronicleBot
from storage import Storage
from storage.ledgers import LedgerSizes
from storage.news_rules import Announced
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, FakeClock, dms_to, running_bot, sample
from tests.e2e.news_channels_support import (
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
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_subscriptions_membership import subscribe
from tests.support.feed_server import FeedServer

ITEMS = [("x-1", "Russia recalls its ambassador"), ("x-2", "Russia closes a port"), *OLD]


standin = make_standin_fixture(guilds=lambda: [news_guild()], users=[ANNA])


def rows(database: Path) -> dict[str, int]:
    """What the ledgers hold, as the database file has it."""
    with sqlite3.connect(database) as db:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("digest_runs", "deliveries")
        }
    db.close()
    return counts


async def daily_prune(bot: ChronicleBot) -> None:
    """The bot's daily job, run as the scheduler runs it."""
    job = bot.chronicle_scheduler.apscheduler.get_job("ledgers")
    assert job is not None and job.name == "ledgers"
    await job.func()


async def test_two_weeks_on_the_ledgers_are_pruned_and_nothing_comes_twice(
    standin: DiscordStandIn,
    wire: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = tmp_path / "c.db"
    clock.set(dt.datetime.now(dt.UTC))  # the ledgers are stamped by the computer's clock
    async with running_bot(standin, database, prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)  # by DM
        await digest_set(standin, kind="new", channel=NEWS, every="live")
        await ingest(bot, clock, wire, ITEMS)
        assert len(posts(standin, NEWS)) == 1 and len(dms_to(standin, ANNA)) == 1
        assert rows(database) == {"digest_runs": 1, "deliveries": 4}

        await daily_prune(bot)  # a day on: all of it may still be asked for
        assert rows(database) == {"digest_runs": 1, "deliveries": 4}

        clock.set(clock() + dt.timedelta(days=15))
        caplog.set_level(logging.INFO, logger="bot.client")
        await daily_prune(bot)
        assert rows(database) == {"digest_runs": 0, "deliveries": 0}
        (said,) = [r.getMessage() for r in caplog.records if "Pruned" in r.getMessage()]
        assert said.startswith("Pruned 1 digest run and 4 deliveries finished before ")
        assert said.endswith("(14 days ago); kept 0 runs and 0 deliveries")

        # Nothing comes again: not the live digest's events, nor Anna's alert, even from
        # an alert sweep that starts from the beginning.
        await bot.storage.subscriptions.set_state(WATERMARK, "0")
        await ingest(bot, clock, wire, ITEMS)
        assert await bot.alerts.sweep() == 0
    async with running_bot(standin, database, clock=clock) as bot:
        await ingest(bot, clock, wire, ITEMS)
        assert len(posts(standin, NEWS)) == 1 and len(dms_to(standin, ANNA)) == 1


async def test_a_prune_while_a_sweep_from_behind_runs_alerts_no_one_twice(
    wire: FeedServer, clock: FakeClock, tmp_path: Path
) -> None:
    """Fifteen days after Anna was alerted, a sweep starts from far behind (as a new shard
    layout's first does) and reads where the pruned alerts end; the daily prune then
    deletes her alert's row and commits (the leader's, in another process, or this
    process's job at an await) before the sweep claims: the sweep's claim is refused, and
    Anna hears nothing more. She had been alerted again of the two-week-old event."""
    # Discord keeps a nonce a few minutes: a repeat 15 days on would be a second message.
    async with DiscordStandIn(guilds=[news_guild()], users=[ANNA], nonce_window=0) as standin:
        clock.set(dt.datetime.now(dt.UTC))  # the ledgers are stamped by the computer's clock
        async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
            await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
            await subscribe(standin, ANNA, "Russia", guild_id=DEFAULT_GUILD_ID)  # by DM
            await ingest(bot, clock, wire, [("x-1", "Russia recalls its ambassador"), *OLD])
            assert len(dms_to(standin, ANNA)) == 1

            clock.set(clock() + dt.timedelta(days=15))
            await bot.storage.subscriptions.set_state(WATERMARK, "0")
            repo = bot.storage.subscriptions
            read_events = repo.announced_after
            pruned = False

            async def announced_after(
                event_id: int, *, limit: int, waiting_since: dt.datetime | None = None
            ) -> Announced:
                nonlocal pruned
                if not pruned:  # the sweep has read the mark, and reads its first events
                    pruned = True
                    await daily_prune(bot)
                return await read_events(event_id, limit=limit, waiting_since=waiting_since)

            repo.announced_after = announced_after  # type: ignore[method-assign]
            assert await bot.alerts.sweep() == 0
            assert pruned
            assert len(dms_to(standin, ANNA)) == 1
    assert not standin.internal_errors


# Two servers, one on each shard of 2 ((id >> 22) % 2).
ON_0, ON_1 = 3_000 << 22, (3_001 << 22) + 100


shards_standin = make_standin_fixture(
    guilds=lambda: [make_guild(g, name=f"server {g}", channels=["general"]) for g in (ON_0, ON_1)],
    recommended_shards=2,
    name="shards_standin",
)


async def test_of_the_processes_sharing_postgresql_one_prunes(
    shards_standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes, one per shard, on one database: the one leading 'ledgers' prunes;
    the other leaves the ledgers alone."""
    clock = FakeClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=15))  # all is old then

    shard: dict[str, Any] = {"clock": clock, "guild_id": None, "shard_count": 2}
    caplog.set_level(logging.INFO, logger="bot.client")
    async with (
        running_bot(shards_standin, postgres_url, prepare=sample, shard_ids=(1,), **shard) as one,
        running_bot(shards_standin, postgres_url, shard_ids=(0,), **shard) as other,
    ):
        await old_alerts(one.storage, "dm:1", range(1, 6))
        await daily_prune(one)
        assert await one.storage.ledgers.sizes() == LedgerSizes(runs=0, deliveries=0)

        await old_alerts(other.storage, "dm:2", range(6, 11))  # above what was pruned
        await daily_prune(other)  # another process leads it: nothing done here
        assert await other.storage.ledgers.sizes() == LedgerSizes(runs=0, deliveries=5)
    said = [r.getMessage() for r in caplog.records]
    assert said.count("this process now leads ledgers") == 1
    assert said.count("another process leads ledgers; this one waits") == 1
    assert sum(line.startswith("Pruned ") for line in said) == 1


async def old_alerts(storage: Storage, target: str, events: range) -> None:
    """Alerts about five events of the archive to a member, sent (long ago, by the test's
    clock)."""
    claimed = await storage.subscriptions.claim(target, list(events))
    assert len(claimed) == 5
    await storage.subscriptions.mark_sent(target, claimed)
