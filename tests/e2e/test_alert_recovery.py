"""An alert claimed by a process that died before sending it: after a restart, the process
takes the claim back once the grace period has passed and sends it, exactly once; and if
the retry dies too, the alert is given up rather than retried forever. One a process sent
but died before marking sent is retried with the same nonce, which Discord answers with the
message it has: still one."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from storage.models import Match
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import dms_to, running_bot
from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.test_subscriptions import ANNA, BORIS, OLD, poll, sample, subscribe
from tests.support.feed_server import FeedServer, wire_rss

NEWS = [("n-1", "ISIL fighters retreat from the outskirts of Raqqa"), *OLD]


standin = make_standin_fixture(channels=["general"], users=[ANNA, BORIS])


def die_before_sending(bot: ChronicleBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies between the claim and the send: nothing sent, nothing settled."""

    async def dead(target: str, items: list[Match]) -> bool:
        return False

    monkeypatch.setattr(bot.alerts, "_send", dead)


def die_after_sending(bot: ChronicleBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies between the send and marking it sent: Discord has the message, the
    ledger still has the claim pending."""

    async def dead(target: str, event_ids: list[int]) -> None:
        return None

    monkeypatch.setattr(bot.storage.subscriptions, "mark_sent", dead)


def grace_passes(database: Path) -> None:
    """The claims pending now were made long ago (past any grace period)."""
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE deliveries SET delivered_at = '2000-01-01T00:00:00.000000Z'"
            " WHERE state = 'claimed'"
        )
    db.close()


async def claimed_and_died(
    standin: DiscordStandIn,
    wire: FeedServer,
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first process: Anna follows Islamic State; news about it arrives; the process
    claims her alert and dies before sending it."""
    async with running_bot(standin, database, prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "islamic state")
        die_before_sending(bot, monkeypatch)
        wire.set_file("wire.xml", wire_rss(NEWS))
        await poll(bot)
        ids = (await bot.storage.subscriptions.announced_after(0, limit=10)).ready
        assert ids and await bot.storage.subscriptions.matches(ids) == []  # claimed
    monkeypatch.undo()
    assert dms_to(standin, ANNA) == []


async def test_an_alert_claimed_by_a_process_that_died_is_sent_once(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "c.db"
    await claimed_and_died(standin, wire, database, monkeypatch)

    async with running_bot(standin, database) as bot:
        # Started again at once: the claim is within its grace period (as a live
        # process's claim on its way would be), so it is left alone.
        assert dms_to(standin, ANNA) == []
        assert await bot.alerts.sweep() == 0

        grace_passes(database)
        assert await bot.alerts.sweep() == 1
        (dm,) = dms_to(standin, ANNA)
        embed = dm.json["embeds"][0]
        assert embed["title"] == "New events about Islamic State"
        assert "ISIL fighters retreat" in embed["description"]
        assert dm.json["allowed_mentions"] == {"parse": []}

        # Sent: neither a sweep nor any time passing brings it back.
        assert await bot.alerts.sweep() == 0
        grace_passes(database)
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 1

    async with running_bot(standin, database) as bot:
        grace_passes(database)
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 1
    assert dms_to(standin, BORIS) == []


async def test_an_alert_whose_retry_died_too_is_given_up(
    standin: DiscordStandIn,
    wire: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = tmp_path / "c.db"
    await claimed_and_died(standin, wire, database, monkeypatch)

    async with running_bot(standin, database) as bot:
        die_before_sending(bot, monkeypatch)
        grace_passes(database)
        await bot.alerts.sweep()  # the retry, which dies as well
    monkeypatch.undo()

    with caplog.at_level(logging.WARNING, logger="bot.alerts"):
        async with running_bot(standin, database) as bot:
            grace_passes(database)
            assert await bot.alerts.sweep() == 0
            assert "gave up the alert of event" in caplog.text
            grace_passes(database)
            await poll(bot)
    assert dms_to(standin, ANNA) == []


async def test_an_alert_discord_failed_to_take_is_sent_once_after_the_grace_period(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord answers 503 to the alert: the claim stays pending, and once the grace period
    has passed a sweep sends it, once (the sweeps' watermark has moved past the event)."""
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "islamic state")
        standin.fail("POST", r"/channels/\d+/messages", 503, message="503: Service Unavailable")
        wire.set_file("wire.xml", wire_rss(NEWS))
        with caplog.at_level(logging.WARNING, logger="bot.alerts"):
            await poll(bot)
        assert dms_to(standin, ANNA) == []
        assert any("it is tried once more" in r.getMessage() for r in caplog.records)
        standin.clear_faults()

        assert await bot.alerts.sweep() == 0  # not before the grace period
        grace_passes(database)
        assert await bot.alerts.sweep() == 1
        (dm,) = dms_to(standin, ANNA)
        assert "ISIL fighters retreat" in dm.json["embeds"][0]["description"]
        grace_passes(database)
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 1


def alerts_to_anna(standin: DiscordStandIn, delivery: str) -> list[dict[str, Any]]:
    """The alerts Anna can see: her DMs, or the posts mentioning her in #general."""
    if delivery == "dm":
        return [standin.messages[int(r.response["id"])] for r in dms_to(standin, ANNA)]
    return [m for m in standin.messages_in(DEFAULT_CHANNEL_ID) if m["content"] == f"<@{ANNA.id}>"]


@pytest.mark.parametrize("delivery", ["dm", "here"])
async def test_an_alert_sent_by_a_process_that_died_before_recording_it_is_not_posted_twice(
    standin: DiscordStandIn,
    wire: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    delivery: str,
) -> None:
    database = tmp_path / "c.db"
    async with running_bot(standin, database, prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "islamic state", delivery)
        die_after_sending(bot, monkeypatch)
        wire.set_file("wire.xml", wire_rss(NEWS))
        await poll(bot)
        (first,) = alerts_to_anna(standin, delivery)
    monkeypatch.undo()

    async with running_bot(standin, database) as bot:
        assert await bot.alerts.sweep() == 0  # within the grace period: left alone
        grace_passes(database)
        # The claim, still pending, is retried: Discord answers with the message it has.
        assert await bot.alerts.sweep() == 1
        assert [m["id"] for m in alerts_to_anna(standin, delivery)] == [first["id"]]
        sends = [
            r
            for r in standin.requests_to("POST", r"/channels/\d+/messages")
            if r.json.get("nonce") == first["nonce"]
        ]
        assert len(sends) == 2 and all(r.response["id"] == first["id"] for r in sends)
        # Marked sent now: no later sweep sends it.
        grace_passes(database)
        await poll(bot)
        assert len(alerts_to_anna(standin, delivery)) == 1
    assert dms_to(standin, BORIS) == []
