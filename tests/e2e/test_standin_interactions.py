"""The Discord stand-in with the real discord.py client: application commands synced, and
each kind of interaction -- slash commands, autocomplete, buttons, deferred replies and
followups, DMs, subcommands, modals -- and their default permissions."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from tests.e2e.standin.constants import (
    APPLICATION_ID,
    BOT_USER_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_USER_ID,
    SEND_MESSAGES,
    permissions,
)
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.standin_support import (
    NEWS_CHANNEL_ID,
    WAIT,
    bot_fixture,  # noqa: F401 -- a fixture, found by pytest as `bot`
    restore_discord_endpoints_fixture,  # noqa: F401 -- autouse, undoes the endpoint overrides
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
)


@pytest.fixture
async def synced_bot(bot: commands.Bot) -> commands.Bot:
    await asyncio.wait_for(bot.tree.sync(), WAIT)
    return bot


async def test_command_sync_stores_commands(standin: DiscordStandIn, bot: commands.Bot) -> None:
    synced = await asyncio.wait_for(bot.tree.sync(), WAIT)
    names = {c.name for c in synced}
    assert names == {"ping", "search", "menu", "digest", "status", "feed", "feedback", "admin"}
    assert all(c.id for c in synced)

    put = standin.requests_to("PUT", rf"/applications/{APPLICATION_ID}/commands")[-1]
    assert put.status == 200
    assert {c["name"] for c in put.json} == names

    fetched = await asyncio.wait_for(bot.tree.fetch_commands(), WAIT)
    assert {c.id for c in fetched} == {c.id for c in synced}
    admin = next(c for c in fetched if c.name == "admin")
    assert admin.default_member_permissions == discord.Permissions(manage_guild=True)

    guild = discord.Object(DEFAULT_GUILD_ID)
    bot.tree.copy_global_to(guild=guild)
    guild_synced = await asyncio.wait_for(bot.tree.sync(guild=guild), WAIT)
    assert {c.name for c in guild_synced} == names
    assert {c["name"] for c in standin.guild_commands[DEFAULT_GUILD_ID]} == names

    # Re-syncing keeps command ids stable, like Discord.
    again = await asyncio.wait_for(bot.tree.sync(), WAIT)
    assert {c.id for c in again} == {c.id for c in synced}


async def test_slash_command_reply(standin: DiscordStandIn, synced_bot: commands.Bot) -> None:
    handle = await standin.send_slash_command("ping")
    callback = await handle.callback(WAIT)

    assert callback.status == 200
    assert callback.query == {"with_response": "1"}
    assert callback.json["type"] == 4
    assert callback.json["data"]["content"] == "pong"
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}
    assert callback.response["interaction"]["response_message_id"] == str(
        handle.original_message_id
    )

    message = handle.original_message
    assert message is not None
    assert message["content"] == "pong"
    assert message["author"]["id"] == str(BOT_USER_ID)
    assert message["interaction_metadata"]["name"] == "ping"


async def test_autocomplete_and_typed_options(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    handle = await standin.send_autocomplete("search", {"topic": "u"}, focused="topic")
    callback = await handle.callback(WAIT)
    assert callback.json == {
        "type": 8,
        "data": {
            "choices": [
                {"name": "ukraine", "value": "ukraine"},
                {"name": "uk politics", "value": "uk politics"},
                {"name": "united nations", "value": "united nations"},
            ]
        },
    }

    # Option types come from the synced definition: "limit" goes out as an integer.
    handle = await standin.send_slash_command("search", {"topic": "ukraine", "limit": 3})
    assert handle.payload["data"]["options"][1] == {"name": "limit", "type": 4, "value": 3}
    data = (await handle.callback(WAIT)).json["data"]
    assert (data["content"], data["flags"]) == ("searching ukraine (limit 3)", 64)

    with pytest.raises(ValueError, match="no option"):
        await standin.send_slash_command("search", {"topic": "x", "bogus": 1})


async def test_button_click_updates_message(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    handle = await standin.send_slash_command("menu")
    callback = await handle.callback(WAIT)
    row = callback.json["data"]["components"][0]
    assert row["components"][0]["custom_id"] == "confirm"

    assert handle.original_message is not None
    click = await standin.click(handle.original_message, "confirm")
    click_callback = await click.callback(WAIT)
    assert click_callback.status == 200
    assert click_callback.json["type"] == 7
    assert click_callback.json["data"]["content"] == "confirmed"
    assert click_callback.json["data"]["components"] == []
    assert standin.messages[handle.original_message_id or 0]["content"] == "confirmed"

    with pytest.raises(ValueError, match="no component"):
        await standin.click(handle.original_message_id or 0, "confirm")  # buttons are gone


async def test_deferred_command_with_followups(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    handle = await standin.send_slash_command("digest")
    callback = await handle.callback(WAIT)
    assert callback.json == {"type": 5}
    assert callback.response["interaction"]["response_message_loading"] is True

    followups = await handle.followups(count=2, timeout=WAIT)
    assert [f.json["content"] for f in followups] == ["digest ready", "second part"]
    assert followups[0].query["wait"] == "1"
    assert followups[1].json["embeds"][0]["title"] == "Top story"

    final = await handle.response(WAIT)
    assert final["content"] == "digest ready"  # the first followup replaced "thinking..."
    assert [m["content"] for m in handle.messages] == ["digest ready", "second part"]


async def test_deferred_ephemeral_command_edits_original(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    handle = await standin.send_slash_command("status")
    callback = await handle.callback(WAIT)
    assert callback.json == {"type": 5, "data": {"flags": 64}}

    edits = await handle.original_edits(timeout=WAIT)
    assert edits[0].json["content"] == "all feeds healthy"
    final = await handle.response(WAIT)
    assert final["content"] == "all feeds healthy"
    assert final["flags"] & 64  # still ephemeral


async def test_dm_interaction(standin: DiscordStandIn, synced_bot: commands.Bot) -> None:
    handle = await standin.send_slash_command("ping", dm=True)
    assert "guild_id" not in handle.payload and handle.payload["user"]["id"] == str(DEFAULT_USER_ID)
    assert handle.payload["channel"]["type"] == 1
    assert (await handle.callback(WAIT)).json["data"]["content"] == "pong"


async def test_subcommand_with_channel_option(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    handle = await standin.send_slash_command(
        "feed add", {"url": "https://example.com/rss", "channel": NEWS_CHANNEL_ID}
    )
    options = handle.payload["data"]["options"]
    assert options[0]["name"] == "add" and options[0]["type"] == 1
    assert str(NEWS_CHANNEL_ID) in handle.payload["data"]["resolved"]["channels"]

    callback = await handle.callback(WAIT)
    assert callback.json["data"]["content"] == f"added https://example.com/rss to {NEWS_CHANNEL_ID}"
    # The bot lacks Send Messages in #news, and Discord tells it so on every interaction there.
    other = await standin.send_slash_command("ping", channel_id=NEWS_CHANNEL_ID)
    assert not int(other.payload["app_permissions"]) & SEND_MESSAGES
    await other.callback(WAIT)


async def test_modal_round_trip(standin: DiscordStandIn, synced_bot: commands.Bot) -> None:
    handle = await standin.send_slash_command("feedback")
    callback = await handle.callback(WAIT)
    assert callback.json["type"] == 9
    assert callback.json["data"]["title"] == "Feedback"

    submit = await standin.send_modal_submit(callback.json["data"], {"feedback_text": "great bot"})
    data = (await submit.callback(WAIT)).json["data"]
    assert (data["content"], data["flags"]) == ("thanks: great bot", 64)


async def test_default_member_permissions_are_enforced(
    standin: DiscordStandIn, synced_bot: commands.Bot
) -> None:
    with pytest.raises(PermissionError):
        await standin.send_slash_command("admin")
    handle = await standin.send_slash_command(
        "admin", member_permissions=permissions(manage_guild=True, view_channel=True)
    )
    assert (await handle.callback(WAIT)).json["data"]["content"] == "admin ok"
