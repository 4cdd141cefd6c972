"""The stand-in shards as Discord does: GET /gateway/bot recommends a count, an IDENTIFY
names its shard, and each shard's connection hears of its own servers only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest

from tests.e2e.standin.constants import DEFAULT_TOKEN
from tests.e2e.standin.model import make_guild
from tests.e2e.standin.server import DiscordStandIn, connected_client

WAIT = 5.0
# Server ids by the shard they are on, of 2: (id >> 22) % 2.
ON_0 = [(2_000 << 22) + 5, (2_002 << 22) + 9]
ON_1 = [(2_001 << 22) + 7]


def standin() -> DiscordStandIn:
    guilds = [make_guild(g, name=f"server {g}") for g in (*ON_0, *ON_1)]
    return DiscordStandIn(guilds=guilds, transport_compression=False, recommended_shards=2)


class Shard:
    """One raw gateway connection, identified for a shard, and what it was sent."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def next_event(self) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.ws.receive(), WAIT)
            assert frame.type is aiohttp.WSMsgType.TEXT, frame
            payload = json.loads(frame.data)
            if payload["op"] == 0:
                self.events.append(payload)
                return payload

    async def until_ready(self) -> list[int]:
        """READY, then its servers' GUILD_CREATEs: the ids of those servers."""
        ready = await self.next_event()
        assert ready["t"] == "READY"
        created = []
        for _ in ready["d"]["guilds"]:
            event = await self.next_event()
            assert event["t"] == "GUILD_CREATE"
            created.append(int(event["d"]["id"]))
        assert sorted(created) == sorted(int(g["id"]) for g in ready["d"]["guilds"])
        return created


@asynccontextmanager
async def shard(
    session: aiohttp.ClientSession, api: DiscordStandIn, shard: list[int] | None
) -> AsyncIterator[Shard]:
    async with session.ws_connect(f"{api.gateway_url}?v=10&encoding=json") as ws:
        hello = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert hello["op"] == 10
        identify: dict[str, Any] = {"token": DEFAULT_TOKEN, "intents": 1, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await ws.send_json({"op": 2, "d": identify})
        yield Shard(ws)


async def test_gateway_bot_recommends_the_shard_count() -> None:
    async with standin() as api, aiohttp.ClientSession() as session:
        async with session.get(
            f"{api.api_base}/gateway/bot", headers={"Authorization": f"Bot {DEFAULT_TOKEN}"}
        ) as response:
            body = await response.json()
        assert body["shards"] == 2
        assert body["url"] == api.gateway_url


async def test_each_shard_is_sent_its_own_servers_and_their_events() -> None:
    async with (
        standin() as api,
        aiohttp.ClientSession() as session,
        shard(session, api, [0, 2]) as zero,
        shard(session, api, [1, 2]) as one,
    ):
        assert sorted(await zero.until_ready()) == sorted(ON_0)
        assert await one.until_ready() == ON_1
        assert zero.events[0]["d"]["shard"] == [0, 2]
        assert one.events[0]["d"]["shard"] == [1, 2]
        assert api.shard_count == 2 and api.shard_of(ON_1[0]) == 1

        # Later events about a server go to its shard's connection; the other stays open.
        await api.dispatch("GUILD_UPDATE", {"id": str(ON_1[0]), "name": "renamed"})
        update = await one.next_event()
        assert (update["t"], update["d"]["name"]) == ("GUILD_UPDATE", "renamed")
        await api.dispatch("CHANNEL_DELETE", {"id": str(ON_0[1] + 10), "guild_id": str(ON_0[1])})
        deleted = await zero.next_event()
        assert (deleted["t"], deleted["d"]["guild_id"]) == ("CHANNEL_DELETE", str(ON_0[1]))
        # What concerns no server goes to shard 0's connection.
        await api.dispatch("USER_UPDATE", {"id": "1", "username": "someone"})
        assert (await zero.next_event())["t"] == "USER_UPDATE"
        assert len(one.events) == 1 + len(ON_1) + 1  # READY, its server, its update
        assert not zero.ws.closed and not one.ws.closed


async def test_an_event_of_a_shard_nobody_runs_is_not_sent_elsewhere() -> None:
    async with (
        standin() as api,
        aiohttp.ClientSession() as session,
        shard(session, api, [1, 2]) as one,
    ):
        await one.until_ready()
        assert await api.dispatch("GUILD_UPDATE", {"id": str(ON_0[0]), "name": "x"}) == 0
        await api.dispatch("GUILD_UPDATE", {"id": str(ON_1[0]), "name": "y"})
        assert (await one.next_event())["d"]["name"] == "y"


async def test_an_identify_without_a_shard_gets_every_server() -> None:
    async with (
        standin() as api,
        aiohttp.ClientSession() as session,
        shard(session, api, None) as only,
    ):
        assert sorted(await only.until_ready()) == sorted(ON_0 + ON_1)


class QuickShards(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        pass  # Discord spaces a bot's identifies 5 s apart; the stand-in need not


@pytest.mark.parametrize("ids", [[0, 1], [1]])
async def test_discord_py_autosharded_client_sees_its_shards_servers(ids: list[int]) -> None:
    async with standin() as api:
        client = QuickShards(intents=discord.Intents(guilds=True), shard_count=2, shard_ids=ids)
        async with connected_client(client, api, timeout=WAIT):
            expected = {g for g in ON_0 + ON_1 if (g >> 22) % 2 in ids}
            assert {g.id for g in client.guilds} == expected
            assert sorted(client.shards) == ids
            shards = [
                f.d["shard"] for f in api.gateway_frames if f.op == 2 and isinstance(f.d, dict)
            ]
            assert sorted(shards) == [[i, 2] for i in ids]
