"""The stand-in itself: :class:`DiscordStandIn`, composed of one mixin per concern over the
shared state, with its server's lifecycle and its REST route table; and
:func:`connected_client`, which runs a discord.py client against it."""

# Every wait here takes an explicit ``timeout=`` (tests must never hang), which is exactly
# what ASYNC109 objects to.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Self

import discord
from aiohttp import web

from bot.discord_endpoints import apply_endpoint_overrides
from tests.e2e.standin.commands import CommandsMixin
from tests.e2e.standin.constants import DEFAULT_TOKEN
from tests.e2e.standin.gateway import GatewayMixin
from tests.e2e.standin.guilds import GuildsMixin
from tests.e2e.standin.interactions import InteractionsMixin
from tests.e2e.standin.messages import MessagesMixin
from tests.e2e.standin.routing import RoutingMixin

__all__ = ["DiscordStandIn", "connected_client"]


class DiscordStandIn(
    RoutingMixin, GatewayMixin, MessagesMixin, GuildsMixin, InteractionsMixin, CommandsMixin
):
    """Discord REST + gateway on ``127.0.0.1:<free port>``. Use as ``async with``.

    Options:
        guilds: guilds the bot is in (default: one ``make_guild()``).
        valid_token: if set, any other token gets REST 401 and gateway close 4004.
        interaction_ack_timeout: seconds the bot has to answer an interaction (Discord: 3);
            later callbacks get 404 10062 Unknown interaction. None disables the check.
        enforce_permissions: refuse channel sends the bot lacks permission for (403 50001/50013).
        validate_messages: reject empty / oversized messages, embeds and components like Discord.
        echo_message_events: dispatch MESSAGE_CREATE/UPDATE/DELETE for the bot's own
            (non-ephemeral) messages, as Discord does when the intents ask for them.
        privileged_intents_enabled: False makes an IDENTIFY with privileged intents close 4014.
        resume_gateway_url: what READY advertises (default: the stand-in's own resume path).
        transport_compression: honour ``compress=zlib-stream`` (False: always plain text frames).
        rate_limits: enforce Discord's rate limits (:class:`RateLimits`): requests over a limit
            get a real 429, and responses on limited buckets carry their true
            ``X-RateLimit-*`` headers, so discord.py paces itself as against Discord. None
            (default): nothing is enforced and every response advertises a generous bucket.
            What happened is in :attr:`rate_limit_stats`; change it with
            :meth:`set_rate_limits`.
        recommended_shards: the shard count ``GET /gateway/bot`` recommends (what
            discord.py's AutoShardedClient runs when it is given none).
        nonce_window: seconds a message's nonce stays taken. A message create with a
            ``nonce`` and ``enforce_nonce: true`` that its author already used in that channel
            within the window answers the existing message (200, same id) and creates
            nothing, as Discord does for "the past few minutes" (it says no more exactly).

    Shards: an IDENTIFY with ``shard: [id, count]`` starts a session of that shard alongside
    the others' (one connection each, as on Discord); it is sent READY and the GUILD_CREATEs of
    its servers only, those with ``(guild_id >> 22) % count == id``. Every later event about a
    server (interactions, channel changes, the bot's own messages) goes to its shard's
    connection, and what concerns no server (DMs) to shard 0's; an event for a shard nobody
    runs is dropped, as Discord would hold it for a connection that never comes.
    """

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle_api)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_cdn)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for connection in list(self._connections):
            await connection.close(1001, "stand-in shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the route table ------------------------------------------------------------------

    def _register_routes(self) -> None:
        r = self._route
        r("GET", "/users/@me", self._get_me)
        r("POST", "/users/@me/channels", self._create_dm)
        r("GET", "/users/{user_id}", self._get_user)
        r("GET", "/gateway", self._get_gateway, auth=False)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        for scope in ("", "/guilds/{guild_id}"):
            base = "/applications/{application_id}" + scope + "/commands"
            r("GET", base, self._list_commands)
            r("PUT", base, self._bulk_overwrite_commands)
            r("POST", base, self._upsert_command)
            r("GET", base + "/{command_id}", self._get_command)
            r("PATCH", base + "/{command_id}", self._edit_command)
            r("DELETE", base + "/{command_id}", self._delete_command)
        r(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            self._empty_list,
        )
        r("GET", "/applications/{application_id}/emojis", self._empty_items)
        r("GET", "/applications/{application_id}/entitlements", self._empty_list)
        r("POST", "/interactions/{interaction_id}/{token}/callback", self._callback, auth=False)
        r("POST", "/webhooks/{application_id}/{token}", self._followup, auth=False)
        for method in ("GET", "PATCH", "DELETE"):
            r(
                method,
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._webhook_message,
                auth=False,
            )
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("GET", "/channels/{channel_id}/messages", self._list_messages)
        r("POST", "/channels/{channel_id}/messages", self._create_channel_message)
        for method in ("GET", "PATCH", "DELETE"):
            r(method, "/channels/{channel_id}/messages/{message_id}", self._channel_message)
        r("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", self._crosspost)
        r("POST", "/channels/{channel_id}/threads", self._create_thread)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._create_thread)
        r("POST", "/channels/{channel_id}/typing", self._no_content)
        for method in ("PUT", "DELETE"):
            r(
                method,
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._react,
            )
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self._get_guild_roles)
        r("GET", "/guilds/{guild_id}/threads/active", self._get_active_threads)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)


# --------------------------------------------------------------------------------------------
# Running a client against the stand-in
# --------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def connected_client(
    client: discord.Client,
    standin: DiscordStandIn,
    *,
    token: str = DEFAULT_TOKEN,
    timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in against ``standin``, connect it, and yield once it is ready.

    Applies the endpoint overrides for the duration and restores discord.py's defaults after.
    ``guild_ready_timeout`` shortens discord.py's wait for further GUILD_CREATEs before firing
    ``on_ready`` (2 s by default, pure dead time here); None keeps the client's own setting.
    On exit the client is closed first -- while the stand-in is still up -- so it does not try
    to reconnect; a crash of the connection task is re-raised.
    """
    apply_endpoint_overrides(standin.api_base, standin.gateway_url)
    task: asyncio.Task[None] | None = None
    try:
        if guild_ready_timeout is not None:
            client._connection.guild_ready_timeout = guild_ready_timeout
        await asyncio.wait_for(client.login(token), timeout)
        task = asyncio.create_task(client.connect(reconnect=True), name="discord-standin-client")
        ready = asyncio.ensure_future(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise why the connection ended
            raise TimeoutError(f"client was not ready within {timeout}s")
        yield client
    finally:
        await asyncio.wait_for(client.close(), timeout)
        try:
            if task is not None:
                await asyncio.wait_for(task, timeout)
        finally:
            apply_endpoint_overrides(None, None)
