"""Discord's faults that the stand-in does not play by itself, as subclasses of it:

EmbedDroppingStandIn: as the real Discord does, a message the bot creates in a server
channel where it lacks Embed Links is accepted (200) with its embeds dropped silently.

CloudflareStandIn: Cloudflare's ban in front of Discord, which answers matching requests 429
with an HTML page, no JSON, no Via header and a Retry-After in seconds (discord.py raises a
plain HTTPException(429) for it, not RateLimited).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.e2e.standin.constants import BOT_USER_ID, EMBED_LINKS, JsonDict
from tests.e2e.standin.records import RecordedFile
from tests.e2e.standin.server import DiscordStandIn

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Access denied | discord.com used Cloudflare to"
    " restrict access</title></head><body><h1>Error 1015</h1><h2>You are being rate"
    " limited</h2><p>"
    + "The owner of this website has banned you temporarily. " * 40
    + "</p></body></html>"
)


class EmbedDroppingStandIn(DiscordStandIn):
    """The stand-in, dropping the embeds of posts where the bot lacks Embed Links."""

    dropped: int = 0  # posts whose embeds were dropped

    def _create_message(  # type: ignore[override]
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: Sequence[RecordedFile],
        **kwargs: Any,
    ) -> JsonDict:
        guild = self._guild_of_channel(channel_id)
        if (
            kwargs.get("interaction") is None
            and guild is not None
            and body.get("embeds")
            and not guild.permissions_for(BOT_USER_ID, channel_id) & EMBED_LINKS
        ):
            body = {k: v for k, v in body.items() if k != "embeds"}
            self.dropped += 1
        return super()._create_message(channel_id, body, files, **kwargs)


class CloudflareStandIn(DiscordStandIn):
    """The stand-in behind a Cloudflare that may ban the bot (cloudflare_ban, lift_ban)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ban: tuple[str, re.Pattern[str], int] | None = None
        self.banned_hits: list[str] = []  # the requests the ban answered

    def cloudflare_ban(self, method: str, path_regex: str, retry_after: int | str = 3600) -> None:
        self.ban = (method, re.compile(path_regex), retry_after)

    def lift_ban(self) -> None:
        self.ban = None

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        if self.ban is not None:
            method, pattern, retry_after = self.ban
            if request.method == method and pattern.fullmatch(path):
                await request.read()
                self.banned_hits.append(f"{request.method} {path}")
                self._notify()
                return web.Response(
                    status=429,
                    text=CLOUDFLARE_PAGE,
                    content_type="text/html",
                    headers={"Retry-After": str(retry_after), "Server": "cloudflare"},
                )
        return await super()._handle_api(request)
