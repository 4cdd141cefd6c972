"""Subscriptions end to end, when Discord refuses an alert for good: a channel Chronicle may
no longer post in, or where it lacks Embed Links, pauses every subscription delivered there
at once (a deleted channel: every member's), each member is told everything that was paused, and after closed DMs one
/subscribe resumes all of the member's DM subscriptions. The real bot over the loopback
Discord, a real SQLite database, a real RSS feed on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.client import ChronicleBot
from tests.e2e.discord_faults_support import EmbedDroppingStandIn
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, BORIS, dms_to, running_bot, sample
from tests.e2e.news_channels_support import OLD
from tests.e2e.standin.constants import DEFAULT_GUILD_ID, EMBED_LINKS, SEND_MESSAGES
from tests.e2e.standin.model import UserSpec, make_guild
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

GENERAL = DEFAULT_GUILD_ID + 10
NEWS = DEFAULT_GUILD_ID + 11


standin = make_standin_fixture(channels=["general", "news"], users=[ANNA, BORIS])


async def subscribe(
    standin: DiscordStandIn,
    user: UserSpec,
    entity: str,
    delivery: str = "dm",
    channel_id: int = GENERAL,
) -> str:
    handle = await standin.send_slash_command(
        "subscribe", {"entity": entity, "delivery": delivery}, user=user, channel_id=channel_id
    )
    content: str = (await handle.callback()).json["data"]["content"]
    return content


async def told(standin: DiscordStandIn, user: UserSpec, count: int = 1) -> list[str]:
    """What the member is told after their next command's own reply (``count`` messages
    expected; with 0, a moment is given for any that should not come)."""
    handle = await standin.send_slash_command("about", user=user)
    await handle.response()
    if count:
        return [f.json["content"] for f in await handle.followups(count=count)]
    await asyncio.sleep(0.3)
    return [r.json["content"] for r in handle.requests if r.route.startswith("POST /webhooks")]


async def publish(bot: ChronicleBot, wire: FeedServer, items: list[tuple[str, str]]) -> None:
    """The wire now carries these items; the bot polls it and sends its alerts."""
    wire.set_file("wire.xml", wire_rss([*items, *OLD]))
    await bot.feeds.poll_all()
    await bot.alerts.sweep()


async def test_a_channel_refusing_a_member_pauses_all_their_subscriptions_there_at_once(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        for name in ("Russia", "Syria", "Iraq"):
            assert "now follow" in await subscribe(standin, ANNA, name, delivery="here")
        await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES)

        await publish(bot, wire, [("x-1", "Russia recalls its ambassador")])
        await publish(
            bot,
            wire,
            [
                ("x-2", "Syria and Iraq close a border crossing"),
                ("x-1", "Russia recalls its ambassador"),
            ],
        )
        # Discord refused Chronicle once; the later event was not tried in that channel.
        tried = standin.requests_to("POST", rf"/channels/{GENERAL}/messages")
        assert [r.status for r in tried] == [403]
        # Anna is told once, of all three.
        (notice,) = await told(standin, ANNA)
        assert all(name in notice for name in ("Russia", "Syria", "Iraq"))
        assert f"<#{GENERAL}>" in notice and "those 3 subscriptions are paused" in notice
        assert await told(standin, ANNA, 0) == []


async def test_a_channel_without_embed_links_pauses_here_alerts_instead_of_a_bare_ping(
    wire: FeedServer, tmp_path: Path
) -> None:
    """Discord would take the alert without Embed Links but drop its embed: Anna would be
    pinged for a message saying nothing. Nothing is posted; her subscription pauses, and
    she is told that Chronicle lacks Embed Links there."""
    guild = make_guild(channels=["general", "news"])
    async with (
        EmbedDroppingStandIn(guilds=[guild], users=[ANNA]) as dropping,
        running_bot(dropping, tmp_path / "c.db", prepare=sample) as bot,
    ):
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        assert "now follow" in await subscribe(dropping, ANNA, "Russia", delivery="here")
        await dropping.set_bot_overwrite(GENERAL, deny=EMBED_LINKS)
        await publish(bot, wire, [("e-1", "Russia recalls its ambassador")])
        ephemeral = 64  # the replies to Anna's commands, which only she sees
        assert [m for m in dropping.messages_in(GENERAL) if not m["flags"] & ephemeral] == []
        assert dropping.dropped == 0
        (notice,) = await told(dropping, ANNA)
        assert notice.startswith(
            f"Chronicle could not post your alerts about Russia in <#{GENERAL}> (Chronicle"
            " lacks Embed Links there: Discord would post them blank), so that subscription"
            " is paused."
        )
    assert not dropping.internal_errors


async def test_a_deleted_channel_pauses_every_members_subscriptions_there_with_one_request(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia", delivery="here", channel_id=NEWS)
        await subscribe(standin, ANNA, "Syria", delivery="here", channel_id=NEWS)
        await subscribe(standin, BORIS, "Russia", delivery="here", channel_id=NEWS)
        await subscribe(standin, BORIS, "Iraq", delivery="here", channel_id=GENERAL)
        await standin.delete_channel(NEWS)

        await publish(bot, wire, [("x-1", "Russia, Syria and Iraq meet in Geneva")])
        # One request found the channel gone; nobody's alert was tried there again.
        assert len([r for r in standin.requests if str(NEWS) in r.path]) == 1
        # Boris's alert in #general, which is still there, went out.
        (ping,) = [
            r
            for r in standin.requests_to("POST", rf"/channels/{GENERAL}/messages")
            if r.status < 300
        ]
        assert ping.json["content"] == f"<@{BORIS.id}>"
        (anna,) = await told(standin, ANNA)
        assert "Russia, Syria" in anna and "channel is gone" in anna
        (boris,) = await told(standin, BORIS)
        assert "Russia" in boris and "Iraq" not in boris and "that subscription is paused" in boris


async def test_two_pauses_at_once_are_both_told(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")  # by DM
        await subscribe(standin, ANNA, "Syria", delivery="here")  # in #general
        standin.block_dms(ANNA.id)
        await standin.set_bot_overwrite(GENERAL, deny=SEND_MESSAGES)

        await publish(bot, wire, [("x-1", "Russia and Syria sign a pact")])
        (notice,) = await told(standin, ANNA)
        assert "by direct message" in notice and "(Russia)" in notice
        assert f"about Syria in <#{GENERAL}>" in notice
        assert await told(standin, ANNA, 0) == []


async def test_one_subscribe_after_closed_dms_resumes_them_all(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        for name in ("Russia", "Syria", "Iraq"):
            await subscribe(standin, ANNA, name)
        await subscribe(standin, ANNA, "Ukraine", delivery="here")  # closed DMs do not pause it
        standin.block_dms(ANNA.id)
        await publish(bot, wire, [("x-1", "Russia recalls its ambassador")])
        assert dms_to(standin, ANNA) == []

        standin.unblock_dms(ANNA.id)
        reply = await subscribe(standin, ANNA, "Russia")  # as the notice says
        assert "You follow **Russia**" in reply
        assert "Your 2 other DM subscriptions paused when your DMs were closed are resumed" in reply

        await publish(
            bot,
            wire,
            [
                ("x-2", "Syria and Iraq close a border crossing"),
                ("x-1", "Russia recalls its ambassador"),
            ],
        )
        (dm,) = dms_to(standin, ANNA)
        text = dm.json["embeds"][0]["description"]
        assert "Syria and Iraq close a border crossing" in text
        # A /subscribe that resumed nothing says nothing of it.
        assert "resumed" not in await subscribe(standin, ANNA, "Syria")


async def test_a_notice_shows_the_names_it_holds_as_written(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A notice names entities as Chronicle knows them, and an entity's name may hold
    markdown ("Al_Qassam", "||x||"): shown as written, while the channels it names are
    still drawn as channels."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.storage.subscriptions.add_notice(
            ANNA.id,
            f"“Al_Qassam_Brigades” is now a name of “**Hamas** ||x||”: your alerts in <#{GENERAL}>"
            " are paused.",
        )
        (notice,) = await told(standin, ANNA)
    assert notice == (
        r"“Al\_Qassam\_Brigades” is now a name of “\*\*Hamas\*\* \|\|x\|\|”: your alerts in"
        f" <#{GENERAL}> are paused."
    )
