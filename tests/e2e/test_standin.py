"""Prove the Discord stand-in works with the real discord.py client.

A minimal ``commands.Bot`` (default, non-privileged intents) is logged in and connected to the
stand-in through ``apply_endpoint_overrides``; the tests then act as Discord users and assert
on what the bot sent over REST.
"""

from __future__ import annotations

import asyncio
import gc
import io
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord_endpoints import apply_endpoint_overrides
from tests.e2e.standin.constants import (
    APPLICATION_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    SEND_MESSAGES,
    permissions,
)
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.records import Errors
from tests.e2e.standin.server import DiscordStandIn, connected_client

NEWS_CHANNEL_ID = DEFAULT_CHANNEL_ID + 1  # make_guild's second channel
TOPICS = ["ukraine", "uk politics", "united nations", "elections"]
WAIT = 5.0  # upper bound for any single wait; the happy path takes milliseconds


def build_bot() -> commands.Bot:
    """A tiny bot exercising each interaction flavour; fresh commands per instance."""
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())

    @bot.tree.command(name="ping", description="Check that the bot is alive")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "pong", allowed_mentions=discord.AllowedMentions.none()
        )

    async def topic_autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        matches = [t for t in TOPICS if t.startswith(current.lower())]
        return [app_commands.Choice(name=t, value=t) for t in matches][:25]

    @bot.tree.command(name="search", description="Search the archive")
    @app_commands.describe(topic="Topic to search for", limit="How many results")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def search(interaction: discord.Interaction, topic: str, limit: int = 5) -> None:
        await interaction.response.send_message(
            f"searching {topic} (limit {limit})", ephemeral=True
        )

    class ConfirmView(discord.ui.View):
        @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success, custom_id="confirm")
        async def confirm(
            self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]
        ) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

    @bot.tree.command(name="menu", description="Ask for confirmation")
    async def menu(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Confirm?", view=ConfirmView(timeout=60))

    @bot.tree.command(name="digest", description="Build a digest (slow)")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("digest ready")
        await interaction.followup.send("second part", embed=discord.Embed(title="Top story"))

    @bot.tree.command(name="status", description="Check feed health (private)")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="all feeds healthy")

    feed = app_commands.Group(name="feed", description="Manage feeds")

    @feed.command(name="add", description="Follow a feed")
    async def feed_add(
        interaction: discord.Interaction, url: str, channel: discord.TextChannel | None = None
    ) -> None:
        target = channel.id if channel else interaction.channel_id
        await interaction.response.send_message(f"added {url} to {target}")

    bot.tree.add_command(feed)

    class FeedbackModal(discord.ui.Modal, title="Feedback"):
        text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
            label="Your feedback", custom_id="feedback_text"
        )

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)

    @bot.tree.command(name="feedback", description="Send feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @bot.tree.command(name="admin", description="Server admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("admin ok", ephemeral=True)

    return bot


@pytest.fixture(autouse=True)
def _restore_discord_endpoints() -> Iterator[None]:
    # apply_endpoint_overrides patches discord.py classes process-wide; never leak them.
    yield
    apply_endpoint_overrides(None, None)


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    guild = make_guild(channels=["general", "news"], deny_bot={"news": SEND_MESSAGES})
    async with DiscordStandIn(guilds=[guild]) as server:
        yield server
    assert not server.internal_errors, "the stand-in itself failed; see the log"


@pytest.fixture
async def bot(standin: DiscordStandIn) -> AsyncIterator[commands.Bot]:
    client = build_bot()
    async with connected_client(client, standin, timeout=WAIT):
        yield client


@pytest.fixture
async def synced_bot(bot: commands.Bot) -> commands.Bot:
    await asyncio.wait_for(bot.tree.sync(), WAIT)
    return bot


# --------------------------------------------------------------------------------------------
# Endpoint overrides
# --------------------------------------------------------------------------------------------


def test_apply_endpoint_overrides_is_idempotent_and_reversible() -> None:
    default_base = Route.BASE
    default_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    default_from_client = DiscordWebSocket.__dict__["from_client"]

    apply_endpoint_overrides("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway")
    apply_endpoint_overrides("http://127.0.0.1:2/api/v10", "ws://127.0.0.1:2/gateway")
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:2/api/v10/users/@me"
    callback = Route(
        "POST",
        "/interactions/{webhook_id}/{webhook_token}/callback",
        webhook_id=1,
        webhook_token="t",
    )
    assert callback.url == "http://127.0.0.1:2/api/v10/interactions/1/t/callback"
    assert yarl.URL("ws://127.0.0.1:2/gateway") == DiscordWebSocket.DEFAULT_GATEWAY

    apply_endpoint_overrides(None, None)
    assert default_base == Route.BASE
    assert default_gateway == DiscordWebSocket.DEFAULT_GATEWAY
    assert DiscordWebSocket.__dict__["from_client"] is default_from_client
    apply_endpoint_overrides(None, None)  # restoring twice is harmless
    assert default_base == Route.BASE
    apply_endpoint_overrides("", "")  # empty env vars mean "not set"
    assert default_base == Route.BASE
    assert default_gateway == DiscordWebSocket.DEFAULT_GATEWAY


def test_webhook_adapters_share_the_patched_route() -> None:
    # Interaction callbacks/followups are built by the webhook adapters; they must not have a
    # Route (and BASE) of their own, or they would escape the override.
    import discord.webhook.async_ as async_webhook
    import discord.webhook.sync as sync_webhook

    assert async_webhook.Route is Route
    assert sync_webhook.Route is Route


# --------------------------------------------------------------------------------------------
# Login, gateway, guild state
# --------------------------------------------------------------------------------------------


async def test_login_and_gateway_handshake(standin: DiscordStandIn, bot: commands.Bot) -> None:
    assert bot.user is not None and bot.user.id == BOT_USER_ID
    assert bot.application_id == APPLICATION_ID

    me = standin.requests_to("GET", "/users/@me")[0]
    assert me.status == 200
    assert me.authorization == f"Bot {DEFAULT_TOKEN}"
    assert DEFAULT_TOKEN not in repr(me)
    assert "Authorization" not in me.headers
    assert standin.requests_to("GET", "/oauth2/applications/@me")[0].status == 200

    connection = standin.gateway_connections[0]
    assert connection.query["v"] == "10" and connection.query["encoding"] == "json"
    assert connection.compression == connection.query["compress"] == "zlib-stream"

    identify = await standin.wait_for_gateway_op(2, WAIT)
    assert identify.d["intents"] == discord.Intents.default().value
    assert identify.d["token"] == "<redacted>" and identify.token == DEFAULT_TOKEN
    assert DEFAULT_TOKEN not in repr(identify)

    await standin.wait_for_gateway_op(1, WAIT)  # discord.py beats right after HELLO
    await asyncio.wait_for(_until(lambda: math.isfinite(bot.latency)), WAIT)


async def test_guild_state_and_permissions(standin: DiscordStandIn, bot: commands.Bot) -> None:
    guild = bot.get_guild(DEFAULT_GUILD_ID)
    assert guild is not None and guild.me is not None
    assert guild.member_count == 3
    general = guild.get_channel(DEFAULT_CHANNEL_ID)
    news = guild.get_channel(NEWS_CHANNEL_ID)
    assert isinstance(general, discord.TextChannel) and isinstance(news, discord.TextChannel)

    spec = standin.guilds[DEFAULT_GUILD_ID]
    # discord.py additionally masks voice permissions out of text channels.
    expected = spec.permissions_for(BOT_USER_ID, general.id) & ~discord.Permissions.voice().value
    assert general.permissions_for(guild.me).value == expected
    assert general.permissions_for(guild.me).send_messages
    assert news.permissions_for(guild.me).view_channel
    assert not news.permissions_for(guild.me).send_messages

    # The stand-in enforces the same rule on the REST side.
    with pytest.raises(discord.Forbidden) as denied:
        await asyncio.wait_for(news.send("breaking"), WAIT)
    assert (denied.value.status, denied.value.code) == (403, 50013)


# --------------------------------------------------------------------------------------------
# Application commands and interactions
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------------


async def test_channel_send_forbidden_and_unknown(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    standin.fail(
        "POST", rf"/channels/{DEFAULT_CHANNEL_ID}/messages", *Errors.MISSING_PERMISSIONS, times=1
    )

    with pytest.raises(discord.Forbidden) as forbidden:
        await asyncio.wait_for(channel.send("hello"), WAIT)
    assert (forbidden.value.status, forbidden.value.code) == (403, 50013)
    assert forbidden.value.text == "Missing Permissions"

    sent = await asyncio.wait_for(channel.send("hello again"), WAIT)  # times=1: now it works
    assert sent.content == "hello again"

    with pytest.raises(discord.NotFound) as unknown:
        await asyncio.wait_for(bot.get_partial_messageable(42).send("void"), WAIT)
    assert unknown.value.code == 10003


async def test_channel_send_rate_limited_is_retried(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    fault = standin.rate_limit(
        "POST", rf"/channels/{DEFAULT_CHANNEL_ID}/messages", retry_after=0.05
    )

    started = time.monotonic()
    message = await asyncio.wait_for(channel.send("after the limit"), WAIT)
    assert message.content == "after the limit"
    assert time.monotonic() - started < 2

    attempts = standin.requests_to("POST", rf"/channels/{DEFAULT_CHANNEL_ID}/messages")
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[0].response == {
        "message": "You are being rate limited.",
        "retry_after": 0.05,
        "global": False,
    }
    assert fault.hits == 1


async def test_server_error_is_retried_and_global_rate_limit(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    path = rf"/channels/{DEFAULT_CHANNEL_ID}/messages"
    standin.fail("POST", path, *Errors.SERVER_ERROR, times=1)  # discord.py waits 1 s, retries
    standin.rate_limit("POST", path, retry_after=0.02, is_global=True)

    message = await asyncio.wait_for(channel.send("eventually"), WAIT)
    assert message.content == "eventually"
    assert [r.status for r in standin.requests_to("POST", path)] == [500, 429, 200]
    assert standin.requests_to("POST", path)[1].response["global"] is True


async def test_multipart_upload_and_validation(standin: DiscordStandIn, bot: commands.Bot) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    report = discord.File(io.BytesIO(b"headline,source\n"), filename="digest.csv")
    message = await asyncio.wait_for(channel.send("today's digest", file=report), WAIT)
    assert message.attachments[0].filename == "digest.csv"
    assert await asyncio.wait_for(message.attachments[0].read(), WAIT) == b"headline,source\n"

    upload = standin.requests_to("POST", rf"/channels/{DEFAULT_CHANNEL_ID}/messages")[-1]
    assert upload.json["content"] == "today's digest"  # parsed from payload_json
    assert upload.files[0].filename == "digest.csv"
    assert upload.files[0].data == b"headline,source\n"

    with pytest.raises(discord.HTTPException) as too_long:
        await asyncio.wait_for(channel.send("x" * 2001), WAIT)
    assert (too_long.value.status, too_long.value.code) == (400, 50035)

    edited = await asyncio.wait_for(message.edit(content="digest (updated)"), WAIT)
    assert edited.content == "digest (updated)" and edited.edited_at is not None
    await asyncio.wait_for(message.delete(), WAIT)
    assert int(message.id) not in standin.messages


async def test_dm_to_user_with_closed_dms(standin: DiscordStandIn, bot: commands.Bot) -> None:
    user = await asyncio.wait_for(bot.fetch_user(DEFAULT_USER_ID), WAIT)
    sent = await asyncio.wait_for(user.send("welcome"), WAIT)
    assert isinstance(sent.channel, discord.DMChannel)

    standin.block_dms(DEFAULT_USER_ID)
    with pytest.raises(discord.Forbidden) as blocked:
        await asyncio.wait_for(user.send("welcome again"), WAIT)
    assert blocked.value.code == 50007
    assert [r.path for r in standin.requests_to("POST", "/users/@me/channels")] == [
        "/users/@me/channels"
    ]


async def test_invalid_token_gives_login_failure() -> None:
    async with DiscordStandIn(valid_token=DEFAULT_TOKEN) as server:
        apply_endpoint_overrides(server.api_base, server.gateway_url)
        client = build_bot()
        try:
            with pytest.raises(discord.LoginFailure):
                await asyncio.wait_for(client.login("not-the-token"), WAIT)
        finally:
            await client.close()
        me = server.requests_to("GET", "/users/@me")[0]
        assert me.status == 401
        assert me.response == {"message": "401: Unauthorized", "code": 0}
        assert me.authorization == "Bot not-the-token"


async def test_identify_rejected_with_4004(standin: DiscordStandIn) -> None:
    standin.reject_identify(4004)
    apply_endpoint_overrides(standin.api_base, standin.gateway_url)
    client = build_bot()
    try:
        await asyncio.wait_for(client.login(DEFAULT_TOKEN), WAIT)
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(client.connect(), WAIT)
        assert closed.value.code == 4004
    finally:
        await client.close()
    assert standin.ready_count == 0


# --------------------------------------------------------------------------------------------
# Enforced nonces
# --------------------------------------------------------------------------------------------


async def test_an_enforced_nonce_used_again_answers_the_first_message(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    first = await asyncio.wait_for(channel.send("the digest", nonce="run-7-part-0"), WAIT)
    created = len(standin.message_log)
    again = await asyncio.wait_for(channel.send("the digest, again", nonce="run-7-part-0"), WAIT)

    assert again.id == first.id and again.content == "the digest"
    assert len(standin.message_log) == created  # nothing created, nothing echoed
    assert [m["id"] for m in standin.messages_in(DEFAULT_CHANNEL_ID)] == [str(first.id)]
    sends = standin.requests_to("POST", rf"/channels/{DEFAULT_CHANNEL_ID}/messages")
    assert [(r.status, r.json["enforce_nonce"]) for r in sends] == [(200, True), (200, True)]
    assert sends[1].response["id"] == str(first.id)

    # Another nonce, another channel, or a message since deleted: a message of its own.
    other = await asyncio.wait_for(channel.send("part 1", nonce="run-7-part-1"), WAIT)
    dm = await asyncio.wait_for(
        (await asyncio.wait_for(bot.fetch_user(DEFAULT_USER_ID), WAIT)).send(
            "alert", nonce="run-7-part-0"
        ),
        WAIT,
    )
    await asyncio.wait_for(first.delete(), WAIT)
    anew = await asyncio.wait_for(channel.send("the digest", nonce="run-7-part-0"), WAIT)
    assert len({first.id, other.id, dm.id, anew.id}) == 4


async def test_a_nonce_is_enforced_only_when_asked_and_only_for_a_while(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=DEFAULT_CHANNEL_ID)
    body = {"content": "hello", "nonce": "plain"}
    first = await asyncio.wait_for(bot.http.request(route, json=body), WAIT)
    second = await asyncio.wait_for(bot.http.request(route, json=body), WAIT)
    assert first["id"] != second["id"]  # without enforce_nonce a nonce is only echoed
    assert second["nonce"] == "plain"

    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    standin.nonce_window = 0.0  # the few minutes have passed
    old = await asyncio.wait_for(channel.send("late", nonce="late-retry"), WAIT)
    late = await asyncio.wait_for(channel.send("late", nonce="late-retry"), WAIT)
    assert late.id != old.id

    with pytest.raises(discord.HTTPException) as too_long:
        await asyncio.wait_for(channel.send("x", nonce="n" * 26), WAIT)
    assert (too_long.value.status, too_long.value.code) == (400, 50035)


# --------------------------------------------------------------------------------------------
# Reconnects and shutdown
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advertised", "expected_path"),
    [(None, "/gateway/resume"), ("wss://gateway-us-east1-b.discord.gg", "/gateway")],
    ids=["own-resume-url", "escaping-resume-url-is-pinned"],
)
async def test_reconnect_resumes_on_the_override(
    advertised: str | None, expected_path: str
) -> None:
    async with DiscordStandIn(resume_gateway_url=advertised) as server:
        client = build_bot()
        async with connected_client(client, server, timeout=WAIT):
            await asyncio.wait_for(client.tree.sync(), WAIT)
            await server.request_reconnect()
            await server.wait_for_resume(WAIT)
            assert [c.path for c in server.gateway_connections] == ["/gateway", expected_path]
            assert server.ready_count == 1  # resumed, not re-identified

            # Events pushed while the socket is down are replayed on RESUME.
            await server.disconnect(4000)
            handle = await server.send_slash_command("ping")
            assert (await handle.callback(WAIT)).json["data"]["content"] == "pong"
            await server.wait_for_resume(WAIT, count=2)


async def test_uncompressed_gateway() -> None:
    async with DiscordStandIn(transport_compression=False) as server:
        client = build_bot()
        async with connected_client(client, server, timeout=WAIT):
            assert server.gateway_connections[0].compression is None
            assert client.get_guild(DEFAULT_GUILD_ID) is not None


async def test_clean_shutdown(
    standin: DiscordStandIn, recwarn: pytest.WarningsRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    client = build_bot()
    async with connected_client(client, standin, timeout=WAIT):
        channel = client.get_channel(DEFAULT_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        await asyncio.wait_for(channel.send("bye"), WAIT)

    assert client.is_closed()
    await standin.wait_until(lambda: standin.gateway_connections[-1].closed, WAIT)
    # Client.close() asks for 1000, but with aiohttp 3.14 discord.py's own receive loop wins
    # the race and sends 4000; either way the client closed the socket, not the stand-in.
    assert standin.gateway_connections[-1].close_code in (1000, 4000)
    gc.collect()
    assert not [w for w in recwarn if "Unclosed" in str(w.message)]
    assert "Unclosed" not in caplog.text


async def _until(condition: Callable[[], bool]) -> None:
    """Poll client-side state that has no event to wait on (callers bound it with wait_for)."""
    while not condition():  # noqa: ASYNC110 - discord.py exposes no event for e.g. latency
        await asyncio.sleep(0.005)
