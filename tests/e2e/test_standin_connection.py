"""The Discord stand-in with the real discord.py client: the endpoint overrides, login, the
gateway handshake and guild state, reconnects and a clean shutdown."""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import Callable

import discord
import pytest
import yarl
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
)
from tests.e2e.standin.server import DiscordStandIn, connected_client
from tests.e2e.standin_support import (
    NEWS_CHANNEL_ID,
    WAIT,
    bot_fixture,  # noqa: F401 -- a fixture, found by pytest as `bot`
    build_bot,
    restore_discord_endpoints_fixture,  # noqa: F401 -- autouse, undoes the endpoint overrides
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
)

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
