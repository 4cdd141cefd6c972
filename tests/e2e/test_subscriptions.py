"""Subscriptions end to end: subscribe by autocomplete, a real feed poll over HTTP brings
events naming the entity under an alias, and alerts go out once per subscriber."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.client import ChronicleBot
from bot.services.imports import import_archive
from tests.conftest import SEED_PAGES, TEST_DATA
from tests.e2e.fixtures import make_standin_fixture
from tests.e2e.harness import ANNA, BORIS, CHLOE, dms_to, running_bot, sample
from tests.e2e.news_channels_support import OLD
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import UserSpec
from tests.e2e.standin.server import DiscordStandIn
from tests.support.feed_server import FeedServer, wire_rss

EPHEMERAL = 64
GENERAL = DEFAULT_GUILD_ID + 10


standin = make_standin_fixture(channels=["general", "news"], users=[ANNA, BORIS, CHLOE])


async def subscribe(
    standin: DiscordStandIn, user: UserSpec, entity: str, delivery: str | None = None
) -> dict:
    options: dict[str, Any] = {"entity": entity}
    if delivery:
        options["delivery"] = delivery
    handle = await standin.send_slash_command("subscribe", options, user=user)
    return (await handle.callback()).json["data"]


async def poll(bot: ChronicleBot) -> None:
    """What the bot's feed job does: poll, then alert."""
    await bot.feeds.poll_all()
    await bot.alerts.sweep()


async def test_alerts_once_per_subscriber_under_an_alias(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    async with running_bot(standin, db, prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")

        handle = await standin.send_autocomplete(
            "subscribe", {"entity": "isi"}, focused="entity", user=ANNA
        )
        choices = (await handle.callback()).json["data"]["choices"]
        isil = next(c for c in choices if c["value"] == "ISIL")
        assert isil["name"].startswith("ISIL → Islamic State")
        reply = await subscribe(standin, ANNA, isil["value"])
        assert reply["flags"] & EPHEMERAL
        assert "You now follow **Islamic State**" in reply["content"] and "ISIL" in reply["content"]
        await subscribe(standin, BORIS, "islamic state")

        wire.set_file(
            "wire.xml",
            wire_rss(
                [
                    ("n-1", "ISIL fighters retreat from the outskirts of Raqqa"),
                    (
                        "n-2",
                        "Islamic State of Iraq and the Levant loses its last stronghold in the desert",
                    ),
                    ("n-3", "Heavy snow closes mountain passes in the Alps"),
                    *OLD,
                ]
            ),
        )
        await poll(bot)
        for user in (ANNA, BORIS):
            (dm,) = dms_to(standin, user)
            embed = dm.json["embeds"][0]
            assert embed["title"] == "New events about Islamic State"
            assert "ISIL fighters retreat" in embed["description"]
            assert "loses its last stronghold" in embed["description"]
            assert (
                "Heavy snow" not in embed["description"] and "Brussels" not in embed["description"]
            )
            assert dm.json["allowed_mentions"] == {"parse": []}

    # A restart and another poll: nothing again.
    async with running_bot(standin, db) as bot:
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 1 and len(dms_to(standin, BORIS)) == 1

        # Something new: one more message each, with just the new event.
        wire.set_file("wire.xml", wire_rss([("n-4", "Daesh claims an attack near Palmyra"), *OLD]))
        await poll(bot)
        latest = dms_to(standin, ANNA)[-1].json["embeds"][0]["description"]
        assert len(dms_to(standin, ANNA)) == 2 and "Palmyra" in latest and "Raqqa" not in latest

        # Unsubscribing stops them.
        handle = await standin.send_slash_command(
            "unsubscribe", {"entity": "Islamic State"}, user=ANNA
        )
        assert "no longer follow" in (await handle.callback()).json["data"]["content"]
        wire.set_file(
            "wire.xml", wire_rss([("n-5", "ISIS leaders meet in secret, officials say"), *OLD])
        )
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 2
        assert len(dms_to(standin, BORIS)) == 3


async def test_here_delivery_mentions_only_the_subscriber(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        reply = await subscribe(standin, CHLOE, "Russia", "here")
        assert f"<#{GENERAL}>" in reply["content"]
        wire.set_file(
            "wire.xml",
            wire_rss([("r-1", "Russia and @everyone else sign a treaty on grain"), *OLD]),
        )
        await poll(bot)
        (post,) = [
            r
            for r in standin.requests_to("POST", rf"/channels/{GENERAL}/messages")
            if r.status < 300
        ]
        assert post.json["content"] == f"<@{CHLOE.id}>"
        assert post.json["allowed_mentions"] == {"parse": [], "users": [CHLOE.id]}
        assert "grain" in post.json["embeds"][0]["description"]


async def test_closed_dms_pause_and_the_member_is_told_next_time(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await subscribe(standin, BORIS, "Russia")
        standin.block_dms(BORIS.id)
        wire.set_file("wire.xml", wire_rss([("r-2", "Russia recalls its ambassador"), *OLD]))
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 1
        assert dms_to(standin, BORIS) == []
        (subscription,) = await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, BORIS.id)
        assert subscription.paused_reason and "DMs are closed" in subscription.paused_reason

        # Boris's next command answers as usual, then tells him, once.
        handle = await standin.send_slash_command("about", user=BORIS)
        await handle.response()
        (notice,) = await handle.followups(count=1)
        assert notice.json["flags"] & EPHEMERAL
        assert "paused" in notice.json["content"] and "Russia" in notice.json["content"]
        again = await standin.send_slash_command("about", user=BORIS)
        await again.response()
        assert again.requests and not [
            r for r in again.requests if r.route.startswith("POST /webhooks")
        ]

        # Another poll does not try Boris again; /subscribe resumes.
        wire.set_file(
            "wire.xml",
            wire_rss(
                [("r-3", "Russia hosts talks"), ("r-2", "Russia recalls its ambassador"), *OLD]
            ),
        )
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 2
        listing = await standin.send_slash_command("subscriptions", user=BORIS)
        assert "paused" in (await listing.callback()).json["data"]["embeds"][0]["description"]
        assert "You follow **Russia**" in (await subscribe(standin, BORIS, "Russia"))["content"]


async def test_a_dm_alert_is_one_request_with_more_dm_members_than_discord_py_keeps(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """More members follow by DM than discord.py keeps DM channels of (128): each one's
    second alert is one request, the message. Chronicle neither asks Discord for the
    member (it sees no members) nor opens their DM again, which made three requests of
    each alert, out of the bot's 50 a second."""
    members = [UserSpec(id=910_000 + n, username=f"member{n}") for n in range(140)]
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        for member in members:
            assert "follow" in (await subscribe(standin, member, "Russia"))["content"]
        first = [("r-1", "Russia recalls its ambassador"), *OLD]
        wire.set_file("wire.xml", wire_rss(first))
        await poll(bot)
        before = len(standin.requests)
        wire.set_file("wire.xml", wire_rss([("r-2", "Russia reopens its embassy"), *first]))
        await poll(bot)
        second = standin.requests[before:]
    for member in members:
        alerts = dms_to(standin, member)
        assert len(alerts) == 2 and "embassy" in alerts[1].json["embeds"][0]["description"]
    assert not [f"{r.method} {r.path}" for r in second if r.path.startswith("/users/")]
    sent = [r for r in second if r.method == "POST" and r.path.endswith("/messages")]
    assert len(sent) == len(members)


async def test_dms_closed_after_an_alert_pause_and_the_member_is_told(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    """Boris had an alert by DM, then closes his DMs: the next alert is refused, his DM
    subscriptions are paused, and his next command tells him; Anna's alerts go on."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await bot.feeds.add_feed(wire.url("wire.xml"), name="Wire")
        await subscribe(standin, ANNA, "Russia")
        await subscribe(standin, BORIS, "Russia")
        first = [("r-1", "Russia recalls its ambassador"), *OLD]
        wire.set_file("wire.xml", wire_rss(first))
        await poll(bot)
        assert len(dms_to(standin, BORIS)) == 1

        standin.block_dms(BORIS.id)
        wire.set_file("wire.xml", wire_rss([("r-2", "Russia hosts talks"), *first]))
        await poll(bot)
        assert len(dms_to(standin, ANNA)) == 2 and len(dms_to(standin, BORIS)) == 1
        (subscription,) = await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, BORIS.id)
        assert subscription.paused_reason and "DMs are closed" in subscription.paused_reason
        handle = await standin.send_slash_command("about", user=BORIS)
        await handle.response()
        (notice,) = await handle.followups(count=1)
        assert "paused" in notice.json["content"] and "Russia" in notice.json["content"]


async def test_bulk_archive_import_sends_nothing(
    standin: DiscordStandIn, wire: FeedServer, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await subscribe(standin, ANNA, "Islamic State")
        report = await import_archive(bot.storage, [TEST_DATA / "news-zh", *SEED_PAGES])
        assert report.new > 0
        await bot.alerts.sweep()
        assert dms_to(standin, ANNA) == []
        assert standin.requests_to("POST", "/users/@me/channels") == []


async def test_subscriptions_list_remove_button_and_limit(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        await subscribe(standin, ANNA, "Russia")
        await subscribe(standin, ANNA, "Syria")
        handle = await standin.send_slash_command("subscriptions", user=ANNA)
        message = await handle.response()
        assert message["flags"] & EPHEMERAL
        buttons = [c for row in message["components"] for c in row["components"]]
        assert [b["label"] for b in buttons] == ["Remove Russia", "Remove Syria"]
        stranger = await standin.click(message, buttons[0]["custom_id"], user=BORIS)
        assert "someone else's" in (await stranger.callback()).json["data"]["content"]
        removed = await standin.click(message, buttons[0]["custom_id"], user=ANNA)
        update = await removed.callback()
        assert update.json["type"] == 7
        assert "Russia" not in update.json["data"]["embeds"][0]["description"]
        assert [
            s.entity for s in await bot.storage.subscriptions.for_member(DEFAULT_GUILD_ID, ANNA.id)
        ] == ["Syria"]

        names = [
            n.name for n in await bot.storage.entities.suggest("", limit=60) if n.name != "Syria"
        ]
        for name in names[:49]:
            entity_id = (await bot.storage.entities.find(name))[0]
            await bot.storage.subscriptions.subscribe(
                guild_id=DEFAULT_GUILD_ID,
                user_id=ANNA.id,
                entity_id=entity_id,
                delivery="dm",
                channel_id=None,
            )
        count = await bot.storage.subscriptions.count_for_member(DEFAULT_GUILD_ID, ANNA.id)
        assert count >= 50
        reply = await subscribe(standin, ANNA, names[55])
        assert reply["flags"] & EPHEMERAL and "the most allowed" in reply["content"]
        reply = await subscribe(standin, ANNA, "Nowhere Land At All")
        assert "No entity is called" in reply["content"]


async def test_two_subscribes_at_once_cannot_pass_the_limit(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Anna follows 49 entities, one short of the most, and sends two /subscribe at once (a
    double submit, or two clients): one is taken, the other is told she follows the most
    allowed. She follows 50, not 51."""
    async with running_bot(standin, tmp_path / "c.db", prepare=sample) as bot:
        canonical = {n.entity_id: n.canonical for n in await bot.storage.entities.names()}
        picked = list(canonical.items())[:51]
        for entity_id, _ in picked[:49]:
            await bot.storage.subscriptions.subscribe(
                guild_id=DEFAULT_GUILD_ID,
                user_id=ANNA.id,
                entity_id=entity_id,
                delivery="dm",
                channel_id=None,
            )
        handles = await asyncio.gather(
            *(
                standin.send_slash_command("subscribe", {"entity": name}, user=ANNA)
                for _, name in picked[49:]
            )
        )
        replies = sorted([(await h.callback()).json["data"]["content"] for h in handles])
        assert replies[0] == (
            "You follow 50 entities in this server, the most allowed. "
            "Remove one with /unsubscribe or /subscriptions first."
        )
        assert replies[1].startswith("You now follow"), replies
        assert await bot.storage.subscriptions.count_for_member(DEFAULT_GUILD_ID, ANNA.id) == 50


async def test_subscriptions_are_a_servers_not_offered_in_direct_messages(
    tmp_path: Path,
) -> None:
    """Registered globally (no DISCORD_GUILD_ID), following is for servers only; a client
    that still sends /subscribe or /unsubscribe from a DM is told so, and nothing is looked
    up under no server. (/subscriptions lists every server's there.)"""
    async with DiscordStandIn() as standin:
        async with running_bot(standin, tmp_path / "c.db", prepare=sample, guild_id=None):
            synced = {c["name"]: c for c in standin.global_commands}
            for name in ("subscribe", "unsubscribe"):
                assert synced[name]["dm_permission"] is False, name
            assert synced["subscriptions"].get("dm_permission", True) is not False
            for name, options in [
                ("subscribe", {"entity": "Russia"}),
                ("unsubscribe", {"entity": "Russia"}),
            ]:
                handle = await standin.send_slash_command(name, options, dm=True)
                reply = (await handle.callback()).json["data"]
                assert reply["content"] == "This command works in servers, not in direct messages."
                assert reply["flags"] & 64  # privately
        assert not standin.internal_errors


async def test_a_nul_typed_in_an_option_is_taken_out_on_postgresql(
    standin: DiscordStandIn, postgres_url: str
) -> None:
    """No keyboard types U+0000, but a client can send it, and PostgreSQL's text cannot
    hold it: the option is read without it, by the command and by its autocomplete."""
    async with running_bot(standin, postgres_url, prepare=sample):
        offered = await standin.send_autocomplete(
            "subscribe", {"entity": "Syr\x00"}, focused="entity"
        )
        choices = (await offered.callback()).json["data"]["choices"]
        assert "Syria" in [choice["value"] for choice in choices]
        handle = await standin.send_slash_command("subscribe", {"entity": "Syr\x00ia"})
        reply = (await handle.callback()).json["data"]["content"]
        assert reply.startswith("You now follow **Syria**"), reply
