"""A loopback stand-in for Discord that the *real* discord.py client can talk to.

End-to-end tests run the actual bot (discord.py 2.7 and all) against this server instead of
discord.com: ``bot.discord_endpoints.apply_endpoint_overrides`` points discord.py's REST base and
gateway URL here, and the stand-in answers like Discord does -- HELLO/IDENTIFY/READY/GUILD_CREATE
on a JSON gateway (zlib-stream transport compression when asked for), the REST routes a bot uses,
interaction callbacks with ``?with_response=true`` bodies, webhook followups and Discord-shaped
errors. Every REST request is recorded so tests can assert on exactly what the bot sent.

For news channels it also does what a digest poster meets on Discord: forum posts
(``POST /channels/{forum}/threads``), threads as channels (:func:`make_thread`; Send Messages in
Threads is what counts there), crossposting in announcement channels
(:meth:`DiscordStandIn.published_messages`), role/user/everyone mentions resolved against
``allowed_mentions``, opt-in enforced rate limits with real 429s and true ``X-RateLimit-*``
headers (:class:`RateLimits`, :attr:`DiscordStandIn.rate_limit_stats`), duplicate detection
(:meth:`DiscordStandIn.duplicate_messages`), and permission/channel changes while the bot is
connected (:meth:`DiscordStandIn.set_bot_overwrite`, ``set_role_permissions``,
``delete_channel`` ...), dispatched on the gateway so discord.py's cache follows.

Typical use::

    from tests.e2e.standin.model import make_guild
    from tests.e2e.standin.server import DiscordStandIn, connected_client

    async with DiscordStandIn(guilds=[make_guild()]) as discord_api:
        async with connected_client(bot, discord_api):
            await bot.tree.sync()
            handle = await discord_api.send_slash_command("ping")
            callback = await handle.callback()
            assert callback.json["data"]["content"] == "pong"

Conventions:

* ``RecordedRequest.path`` is relative to the API base (``/channels/1/messages``), and every
  ``path_regex`` argument is matched with :func:`re.fullmatch` against it.
* Everything runs on the test's event loop; nothing sleeps. All waits take a ``timeout`` and
  raise :class:`TimeoutError` with a summary of the recent traffic.
* The stand-in must outlive the client: close the bot first (``connected_client`` does), or
  discord.py will try to reconnect to a server that is gone.

The modules, one per concern (import each name from the module that defines it):

* ``constants`` -- fixed ids and the bot token, permission bits, channel/interaction types.
* ``model`` -- the guild/channel/role/member/user specs tests build (``make_guild``,
  ``make_thread``).
* ``records`` -- what is recorded (``RecordedRequest``, ``GatewayFrame`` ...), injected
  faults and ``Errors``, enforced ``RateLimits``.
* ``rest`` -- what REST handlers deal in: calls, results, Discord-shaped errors, routes.
* ``state`` -- the shared state (initialised once, in ``StandInState``), waits, lookups.
* ``routing`` -- the HTTP core: route matching, faults, token check, rate limits, records.
* ``gateway`` -- sessions, IDENTIFY/RESUME, shards, dispatching events, ``/gateway/bot``.
* ``messages`` -- channel and DM messages, edits, reactions, crossposts, nonces.
* ``guilds`` -- guild, channel, thread and member routes, and live changes to them.
* ``interactions`` -- ``InteractionHandle``, sending interactions, callbacks, webhooks.
* ``commands`` -- the application, command sync, ``send_slash_command``/``send_autocomplete``.
* ``server`` -- ``DiscordStandIn`` composed of the mixins above, and ``connected_client``.
"""
