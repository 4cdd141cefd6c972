"""Subscriptions end to end as the archive changes under what members follow: a wire
corrects an entry to name (or no longer name) an entity, an operator merges two entities a
member follows. The real bot over the loopback Discord, a real SQLite database, a real RSS
feed on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, BORIS, CHLOE, FakeClock, dms_to, running_bot, sample
from tests.e2e.news_channels_support import OLD, ingest
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import UserSpec
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

GENERAL = DEFAULT_GUILD_ID + 10


standin = make_standin_fixture(channels=["general", "news"], users=[ANNA, BORIS, CHLOE])


async def command(
    standin: DiscordStandIn, user: UserSpec, command_name: str, /, **options: Any
) -> dict:
    handle = await standin.send_slash_command(command_name, options, user=user)
    return (await handle.callback()).json["data"]


async def subscribe(
    standin: DiscordStandIn, user: UserSpec, entity: str, delivery: str = "dm"
) -> None:
    reply = await command(standin, user, "subscribe", entity=entity, delivery=delivery)
    assert "now follow" in reply["content"], reply


async def publish(bot: ChronicleBot, wire: FeedServer, items: list[tuple[str, str]]) -> None:
    """The wire now carries these items; the bot polls it and sends its alerts."""
    wire.set_file("wire.xml", wire_rss([*items, *OLD]))
    await bot.feeds.poll_all()
    await bot.alerts.sweep()


def alerted(standin: DiscordStandIn, user: UserSpec, words: str) -> list[str]:
    """The alerts the member was sent by DM that name an event holding these words."""
    texts = [m.json["embeds"][0]["description"] for m in dms_to(standin, user)]
    return [text for text in texts if words in text]


async def entity_page(standin: DiscordStandIn, name: str) -> str:
    """What /entity shows a member of an entity's recent events."""
    embed = (await command(standin, ANNA, "entity", name=name))["embeds"][0]
    return "\n".join(f["value"] for f in embed.get("fields", ()) if f["name"] == "Recent events")


async def test_a_correction_that_names_a_followed_entity_alerts_its_subscribers_once(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """A wire posts "Heavy snow closes mountain passes in Syria", then corrects the entry
    to name Russia too. Anna, who follows Russia, hears of it once; Boris, who follows
    Syria and was alerted already, and Chloe, who follows both and was too, hear nothing
    more."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await subscribe(standin, BORIS, "Syria")
        await subscribe(standin, CHLOE, "Syria")
        await subscribe(standin, CHLOE, "Russia")
        await publish(bot, wire, [("c-1", "Heavy snow closes mountain passes in Syria")])
        assert alerted(standin, ANNA, "mountain passes") == []
        assert len(alerted(standin, BORIS, "mountain passes")) == 1
        assert len(alerted(standin, CHLOE, "mountain passes")) == 1

        corrected = [("c-1", "Heavy snow closes mountain passes in Syria and Russia")]
        await publish(bot, wire, corrected)
        (alert,) = alerted(standin, ANNA, "mountain passes")
        assert "in Syria and Russia" in alert and "Russia" in alert
        assert len(alerted(standin, BORIS, "mountain passes")) == 1
        assert len(alerted(standin, CHLOE, "mountain passes")) == 1
        assert "in Syria and Russia" in await entity_page(standin, "Russia")

        # The next polls and sweeps (the feed's bytes changed, nothing else) tell no one again.
        await publish(bot, wire, [*corrected, ("c-2", "Markets close early for the holiday")])
        await bot.alerts.sweep()
        assert len(alerted(standin, ANNA, "mountain passes")) == 1


async def test_the_bot_s_feed_job_alerts_a_correction_at_once(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """The bot's own feed job: a poll that corrects an event and brings nothing new still
    alerts the subscribers of the name the correction brought, then and there."""
    clock = FakeClock(dt.datetime.now(dt.UTC))
    async with running_bot(standin, tmp_path / "c.db", prepare=sample, clock=clock) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await ingest(bot, clock, wire, [("c-1", "Heavy snow closes mountain passes"), *OLD])
        assert alerted(standin, ANNA, "mountain passes") == []
        corrected = ("c-1", "Heavy snow closes mountain passes in Russia")
        await ingest(bot, clock, wire, [corrected, *OLD])
        assert len(alerted(standin, ANNA, "mountain passes in Russia")) == 1


async def test_a_correction_that_drops_a_followed_entity_takes_the_event_off_its_page(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """A wire corrects "Russia recalls its ambassador to Norway" to "Belarus recalls...":
    /entity Russia, which Anna follows, no longer lists an event that does not involve
    Russia."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await publish(bot, wire, [("d-1", "Russia recalls its ambassador to Norway")])
        assert len(alerted(standin, ANNA, "ambassador to Norway")) == 1
        assert "ambassador to Norway" in await entity_page(standin, "Russia")

        await publish(bot, wire, [("d-1", "Belarus recalls its ambassador to Norway")])
        assert "ambassador to Norway" not in await entity_page(standin, "Russia")
        card = (await command(standin, ANNA, "event", query="Belarus recalls its ambassador"))[
            "embeds"
        ][0]
        assert card["title"].startswith("Belarus recalls its ambassador to Norway")


async def test_a_merge_keeps_the_subscription_that_works_and_tells_the_member(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """Anna follows Russia by DM (working) and Syria in #general, paused since Chronicle
    lost that channel. An operator merges Russia into Syria: Anna keeps hearing of it by
    DM, and her next command tells her what became of her two subscriptions."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await subscribe(standin, ANNA, "Syria", "here")
        (syria,) = [
            s
            for s in await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id)
            if s.entity == "Syria"
        ]
        await bot.storage.subscriptions.pause(
            [syria.id], f"Chronicle may no longer post in <#{GENERAL}> (403)"
        )
        await bot.storage.entities.merge("Russia", "Syria")

        await publish(bot, wire, [("m-1", "Russia recalls its ambassador")])
        assert len(alerted(standin, ANNA, "recalls its ambassador")) == 1

        handle = await standin.send_slash_command("subscriptions", user=ANNA)
        listing = (await handle.response())["embeds"][0]
        assert listing["title"].startswith("Your subscriptions (1 of")
        assert re.search(r"\*\*Syria\*\*", listing["description"])
        assert "paused" not in listing["description"]
        (notice,) = [f.json["content"] for f in await handle.followups(count=1)]
        assert "“Russia” is now a name of “Syria”" in notice
        assert "by direct message" in notice and f"in <#{GENERAL}> is gone" in notice
