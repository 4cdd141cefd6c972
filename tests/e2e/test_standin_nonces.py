"""The Discord stand-in with the real discord.py client: enforced nonces -- a message sent
again with the same nonce is answered with the first, only when asked and only for a while."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands
from discord.http import Route

from tests.e2e.standin.constants import DEFAULT_CHANNEL_ID, DEFAULT_USER_ID
from tests.e2e.standin.server import DiscordStandIn
from tests.e2e.standin_support import (
    WAIT,
    bot_fixture,  # noqa: F401 -- a fixture, found by pytest as `bot`
    restore_discord_endpoints_fixture,  # noqa: F401 -- autouse, undoes the endpoint overrides
    standin_fixture,  # noqa: F401 -- a fixture, found by pytest as `standin`
)


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
