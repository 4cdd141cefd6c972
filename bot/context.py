"""What the bot's services need of the running bot: the archive, the settings, the servers
this process owns, and Discord's users, channels and servers. Services take this, not the
bot class, so that none of them depends on the client that builds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import discord

from bot.config import Settings
from storage import Storage
from storage.times import Clock

if TYPE_CHECKING:
    from bot.views import PagedView


class Chronicle(Protocol):
    """bot.client.ChronicleBot, as its services see it."""

    @property
    def storage(self) -> Storage: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def view_timeout(self) -> float: ...

    @property
    def clock(self) -> Clock:
        """Now, as the bot's scheduler sees it."""
        ...

    @property
    def kept_pages(self) -> dict[str, PagedView]:
        """Sets of pages too long for an address, by token, while their buttons are live."""
        ...

    def owns(self, guild_id: int) -> bool: ...

    def get_user(self, id: int, /) -> discord.User | None: ...

    def get_guild(self, id: int, /) -> discord.Guild | None: ...

    def get_channel(
        self, id: int, /
    ) -> discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel | None: ...

    async def fetch_user(self, user_id: int, /) -> discord.User: ...

    async def fetch_channel(
        self, channel_id: int, /
    ) -> discord.abc.GuildChannel | discord.abc.PrivateChannel | discord.Thread: ...
