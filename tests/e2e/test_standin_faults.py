"""The Discord stand-in with the real discord.py client: the faults it injects and the
limits it enforces -- refused and unknown channels, rate limits and server errors retried,
uploads and a message too long, closed DMs, a wrong token and a rejected IDENTIFY."""

from __future__ import annotations

import asyncio
import io
import time

import discord
import pytest
from discord.ext import commands

from bot.discord_endpoints import apply_endpoint_overrides
from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID, DEFAULT_TOKEN, DEFAULT_USER_ID
from tests.e2e.standin.records import Errors
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.standin_support import (
    WAIT,
    bot_fixture,  # noqa: F401 -- a fixture, found by pytest as `bot`
    build_bot,
    restore_discord_endpoints_fixture,  # noqa: F401 -- autouse, undoes the endpoint overrides
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
)


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
    standin.fail("POST", path, *Errors.SERVER_ERROR, times=1)  # discord.py waits, then retries
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
