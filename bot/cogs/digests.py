"""/digest set, list, remove, preview: scheduled digests, for server managers."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from functools import cache
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.client import ChronicleBot
from bot.digests import DigestContent, local_today, new_content, onthisday_content
from bot.errors import InvalidInput
from storage.digests import Digest

Kind = Literal["onthisday", "new"]
_TIME = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
DEFAULT_TIMEZONE = "UTC"
PERMISSIONS_NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


@cache
def timezones() -> dict[str, str]:
    """Every IANA zone name, by its case-folded form."""
    return {
        name.casefold(): name
        for name in zoneinfo.available_timezones()
        if "/" in name or name == "UTC"
    }


def parse_time(text: str) -> dt.time:
    match = _TIME.match(text)
    if not match:
        raise InvalidInput(
            f"{text[:20]!r} is not a time: use HH:MM on a 24-hour clock, e.g. 08:30 or 18:05."
        )
    return dt.time(int(match[1]), int(match[2]))


def parse_timezone(text: str) -> str:
    name = timezones().get(text.strip().casefold())
    if name is None:
        close = difflib.get_close_matches(
            text.strip().casefold(), timezones().keys(), n=5, cutoff=0.5
        )
        raise InvalidInput(
            f"{text[:60]!r} is not a timezone I know: use an IANA name such as Europe/Berlin.",
            [timezones()[c] for c in close],
        )
    return name


def require_manager(interaction: discord.Interaction) -> None:
    """Discord hides the commands from non-managers by default; a server can change that,
    so the bot checks again."""
    perms = interaction.permissions
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not perms.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Digests(
    commands.GroupCog, group_name="digest", group_description="Daily digests posted to channels"
):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold()
        names = sorted(timezones().values())
        starts = [n for n in names if n.casefold().startswith(typed)]
        contains = [n for n in names if typed in n.casefold() and n not in starts]
        return [
            app_commands.Choice(name=n, value=n)
            for n in (starts + contains)[: render.CHOICES_LIMIT]
        ]

    async def _server_timezone(self, guild_id: int) -> str:
        return await self.bot.storage.digests.guild_timezone(guild_id) or DEFAULT_TIMEZONE

    @app_commands.command(
        name="set", description="Post a digest to a channel every day at a local time"
    )
    @app_commands.describe(
        kind="onthisday: this day in earlier years; new: events added since the last one",
        channel="Where to post it",
        time="HH:MM, 24-hour",
        timezone="IANA timezone, e.g. Europe/Berlin (default: the server's, else UTC)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def set_digest(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        channel: discord.TextChannel,
        time: str,
        timezone: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        at = parse_time(time)
        zone = (
            parse_timezone(timezone)
            if timezone
            else await self._server_timezone(interaction.guild.id)
        )
        me = interaction.guild.me
        perms = channel.permissions_for(me)
        missing = [label for flag, label in PERMISSIONS_NEEDED if not getattr(perms, flag)]
        if missing:
            raise InvalidInput(
                f"I cannot post digests in {channel.mention}: I am missing {', '.join(missing)} there. "
                "Give me those permissions in the channel's settings, then run /digest set again."
            )
        digests = self.bot.storage.digests
        if timezone:
            await digests.set_guild_timezone(interaction.guild.id, zone)
        digest, created = await digests.upsert(
            guild_id=interaction.guild.id,
            channel_id=channel.id,
            kind=kind,
            time=at,
            timezone=zone,
            created_by=interaction.user.id,
            now=self.bot.clock(),
        )
        when = self.bot.chronicle_scheduler.schedule_digest(digest)
        assert when is not None  # upsert resumes a paused digest
        verb = "will be posted" if created else "is now posted"
        await interaction.response.send_message(
            f"The **{kind}** digest {verb} in {channel.mention} every day at {at:%H:%M} ({zone}). "
            f"Next: {render.discord_time(when, 'F')}.",
            ephemeral=True,
        )

    @app_commands.command(name="list", description="This server's digests and when they run next")
    async def list_digests(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        digests = await self.bot.storage.digests.for_guild(interaction.guild.id)
        if not digests:
            zone = await self._server_timezone(interaction.guild.id)
            await interaction.response.send_message(
                f"No digests yet. Add one with /digest set (server timezone: {zone}).",
                ephemeral=True,
            )
            return
        lines = [self._line(d) for d in digests]
        embed = render.fit_embed(
            discord.Embed(title="Digests", description="\n".join(lines), colour=render.EMBED_COLOUR)
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    def _line(self, digest: Digest) -> str:
        head = f"**{digest.kind}** in <#{digest.channel_id}> at {digest.time:%H:%M} ({digest.timezone})"
        if digest.paused:
            return f"{head}\n  ⏸ paused: {render.escape(digest.paused_reason or '')}. Run /digest set to resume."
        when = self.bot.chronicle_scheduler.next_run_time(digest.id)
        return (
            f"{head}\n  next: {render.discord_time(when, 'F')} ({render.discord_time(when, 'R')})"
            if when
            else head
        )

    @app_commands.command(name="remove", description="Stop a digest")
    @app_commands.describe(kind="Which digest", channel="The channel it posts to")
    async def remove_digest(
        self, interaction: discord.Interaction, kind: Kind, channel: discord.TextChannel
    ) -> None:
        removed = await self.bot.storage.digests.remove(channel.id, kind)
        if removed is None:
            raise InvalidInput(
                f"There is no {kind} digest in {channel.mention}. /digest list shows them."
            )
        self.bot.chronicle_scheduler.unschedule_digest(removed.id)
        await interaction.response.send_message(
            f"Removed the **{kind}** digest from {channel.mention}.", ephemeral=True
        )

    @app_commands.command(
        name="preview", description="What a digest would post now (only you see it)"
    )
    @app_commands.describe(kind="Which digest")
    async def preview(self, interaction: discord.Interaction, kind: Kind) -> None:
        assert interaction.guild is not None
        content = await self.preview_content(interaction.guild.id, kind)
        if content.empty:
            await interaction.response.send_message(
                f"Nothing would be posted now: {render.digest_text(content)}", ephemeral=True
            )
            return
        first = render.digest_messages(content)[0]
        await interaction.response.send_message(embeds=first, ephemeral=True)

    async def preview_content(self, guild_id: int, kind: str) -> DigestContent:
        storage = self.bot.storage
        zone = await self._server_timezone(guild_id)
        today = local_today(zone, self.bot.chronicle_scheduler.clock())
        if kind == "onthisday":
            return await onthisday_content(storage, today)
        existing = next(
            (d for d in await storage.digests.for_guild(guild_id) if d.kind == "new"), None
        )
        return new_content(
            await storage.digests.new_events_for_preview(existing, now=self.bot.clock())
        )


async def setup(bot: ChronicleBot) -> None:
    await bot.add_cog(Digests(bot))
