"""Point discord.py at a different Discord API / gateway (e.g. a local stand-in).

discord.py 2.7 hard-codes its endpoints in three places, so redirecting it takes three
small, reversible patches:

1. ``discord.http.Route.BASE`` -- every REST call is built from it, *including* webhook and
   interaction traffic: ``discord.webhook.async_`` (interaction callbacks, followups,
   ``@original`` edits) and ``discord.webhook.sync`` import that same ``Route`` class, and
   ``Route.__init__`` reads ``self.BASE`` on every call, so one class attribute covers them all.
   (``Webhook.url`` still *renders* ``https://discord.com/...`` but is never requested.)
2. ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` -- ``Client.connect()`` never asks
   ``GET /gateway/bot``; it connects to this class attribute for the first IDENTIFY and again
   after an INVALID_SESSION. ``AutoShardedClient`` asks ``GET /gateway/bot`` instead, which
   already goes through ``Route.BASE``.
3. ``DiscordWebSocket.from_client`` -- after READY discord.py stores ``resume_gateway_url`` and
   reconnects/RESUMEs to it, bypassing ``DEFAULT_GATEWAY``. If that URL points anywhere other
   than the override (a real Discord host, or a misconfigured stand-in), a RESUME would leak
   out, so every connection attempt is pinned: a gateway URL whose scheme/host/port differ from
   the override is replaced by the override. Same-origin URLs (e.g. a stand-in's own resume
   path) are kept.

The function is idempotent and reversible: calling it again replaces the previous override,
and passing ``None`` restores discord.py's own value for that endpoint (captured before the
first override), so tests can call ``apply_endpoint_overrides(None, None)`` in teardown.
"""

from __future__ import annotations

from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

__all__ = ["apply_endpoint_overrides"]

# discord.py's own values, captured lazily right before we first replace them, so that
# ``None`` restores exactly what the library had (e.g. after discord.http._set_api_version).
_original_route_base: str | None = None
_original_gateway: yarl.URL | None = None
# ``from_client`` is a classmethod; we keep the descriptor itself to put it back verbatim.
_original_from_client: Any = None
_gateway_override: yarl.URL | None = None


def _same_origin(a: yarl.URL, b: yarl.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _pin_gateway(gateway: yarl.URL | None) -> yarl.URL | None:
    """Return ``gateway`` unless it would leave the overridden gateway's origin."""
    override = _gateway_override
    if override is None or gateway is None or _same_origin(gateway, override):
        return gateway
    return override


def _pinning(original: Any) -> Any:
    """Wrap the ``from_client`` classmethod so every connection goes through ``_pin_gateway``.

    Every gateway connection (first IDENTIFY, RESUME after a drop or op 7, shard launch) is made
    by ``from_client``, so pinning its ``gateway`` covers READY's resume_gateway_url too. The
    original is bound here, not looked up later, so a reconnect racing a restore still works.
    """
    original_func = original.__func__

    async def from_client(
        cls: type[DiscordWebSocket], client: Any, *, gateway: yarl.URL | None = None, **kwargs: Any
    ) -> DiscordWebSocket:
        return await original_func(cls, client, gateway=_pin_gateway(gateway), **kwargs)

    return classmethod(from_client)


def apply_endpoint_overrides(api_base: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls to ``api_base`` and its gateway to ``gateway_url``.

    ``api_base`` is the versioned REST root (``http://127.0.0.1:PORT/api/v10``); routes such as
    ``/users/@me`` are appended to it. ``gateway_url`` is the websocket URL
    (``ws://127.0.0.1:PORT/gateway``); discord.py appends ``?v=10&encoding=json&compress=...``.
    ``None`` (or ``""``, i.e. an unset environment variable) means "use discord.py's default"
    and undoes an earlier override. The patches are process-wide class attributes, so they
    affect every client in the process.
    """
    global _original_route_base, _original_gateway, _original_from_client, _gateway_override

    api_base = api_base or None
    gateway_url = gateway_url or None

    if api_base is not None:
        if _original_route_base is None:
            _original_route_base = Route.BASE
        Route.BASE = api_base.rstrip("/")
    elif _original_route_base is not None:
        Route.BASE = _original_route_base
        _original_route_base = None

    if gateway_url is not None:
        if _original_gateway is None:
            _original_gateway = DiscordWebSocket.DEFAULT_GATEWAY
            _original_from_client = DiscordWebSocket.__dict__["from_client"]
            DiscordWebSocket.from_client = _pinning(_original_from_client)  # type: ignore[method-assign]  # the patch itself
        _gateway_override = yarl.URL(gateway_url)
        DiscordWebSocket.DEFAULT_GATEWAY = _gateway_override
    elif _original_gateway is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = _original_gateway
        DiscordWebSocket.from_client = _original_from_client  # type: ignore[method-assign]  # undone
        _original_gateway = None
        _original_from_client = None
        _gateway_override = None
