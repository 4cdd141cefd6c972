"""/digest set, list, remove, preview: digests and news channels, for server managers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.choices import entity_choices, in_time
from bot.client import ChronicleBot
from bot.digests import known_zone, local_today
from bot.errors import InvalidInput
from bot.language import server_language
from bot.permissions import Channel, missing_permissions
from bot.services import lookups
from bot.services.digests import (
    describe_filters,
    find_digest,
    preview_content,
    resolve_filters,
)
from bot.services.portal_news import portal_waiting_since
from bot.timezones import (
    DEFAULT_TIMEZONE,
    parse_timezone,
    timezone_autocomplete,
    zone_aside,
    zone_label,
)
from bot.views import Reply, respond
from storage.models import Digest

Kind = Literal["onthisday", "new"]
Every = Literal["daily", "hourly", "live"]
Language = Literal["en", "zh", "all"]
_TIME = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_time(text: str) -> dt.time:
    match = _TIME.match(text)
    if not match:
        raise InvalidInput(
            f"{text[:20]!r} is not a time: use HH:MM on a 24-hour clock, e.g. 08:30 or 18:05."
        )
    return dt.time(int(match[1]), int(match[2]))


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
    commands.GroupCog,
    group_name="digest",
    group_description="Digests and news channels: events posted daily, hourly or live",
):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    @in_time
    async def entity_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await entity_choices(self.bot.storage, current)

    @in_time
    async def category_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = await self.bot.storage.digests.categories(current, limit=render.CHOICES_LIMIT)
        return [
            app_commands.Choice(name=render.cut(n, render.CHOICE_TEXT_LIMIT), value=n)
            for n in names
            if len(n) <= render.CHOICE_TEXT_LIMIT
        ]

    @in_time
    async def digest_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.casefold()
        choices = []
        for digest in await self.bot.storage.digests.for_guild(interaction.guild_id or 0):
            label = render.cut(self._name(digest, interaction.guild), render.CHOICE_TEXT_LIMIT)
            if typed in label.casefold():
                choices.append(app_commands.Choice(name=label, value=str(digest.id)))
        return choices[: render.CHOICES_LIMIT]

    async def _server_timezone(self, guild_id: int) -> str:
        return (await self.bot.storage.settings.get(guild_id)).timezone or DEFAULT_TIMEZONE

    async def _kept_timezone(self, digest: Digest | None, guild_id: int) -> tuple[str, str | None]:
        """The zone a digest keeps when none is typed: its own, else the server's, else UTC;
        and the stored zone passed over because this machine's tzdata lacks it (a digest in
        such a zone is never scheduled, bot.scheduler), or None."""
        unknown = None
        if digest is not None:
            if known_zone(digest.timezone):
                return digest.timezone, None
            unknown = digest.timezone
        server = await self._server_timezone(guild_id)
        if known_zone(server):
            return server, unknown
        return DEFAULT_TIMEZONE, unknown or server

    @staticmethod
    def _unknown_zone_note(unknown: str | None, zone: str) -> str:
        if unknown is None:
            return ""
        return (
            f" The timezone {render.escape(unknown)} is unknown to this machine's timezone data,"
            f" so {zone_label(zone)} is used instead."
        )

    @app_commands.command(
        name="set",
        description="Post a digest to a channel: daily, hourly, or live as events arrive",
    )
    @app_commands.describe(
        kind="onthisday: this day in earlier years (daily); new: events added since the last post",
        channel="A text, announcement or forum channel, or a thread",
        every="daily (default), hourly, or live: each poll's new events as they arrive",
        time="daily: HH:MM, 24-hour; hourly: the minutes past each hour (default 00)",
        timezone="IANA timezone, e.g. Europe/Berlin (default: the server's, else UTC)",
        entity="Only events about this entity (a person, group, place or story)",
        entity2="... or this one",
        entity3="... or this one",
        category="Only events of this category, e.g. Armed conflicts and attacks",
        words="Only events matching these words, as /search reads them",
        language="en, zh or all (default: the server's language)",
        role="A role to mention on each post",
        no_role="True: stop mentioning the digest's role",
        publish="In an announcement channel: publish each post to following servers",
    )
    @app_commands.autocomplete(
        timezone=timezone_autocomplete,
        entity=entity_autocomplete,
        entity2=entity_autocomplete,
        entity3=entity_autocomplete,
        category=category_autocomplete,
    )
    async def set_digest(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        channel: Channel,
        every: Every | None = None,
        time: str | None = None,
        timezone: str | None = None,
        entity: str | None = None,
        entity2: str | None = None,
        entity3: str | None = None,
        category: str | None = None,
        words: str | None = None,
        language: Language | None = None,
        role: discord.Role | None = None,
        no_role: bool = False,
        publish: bool | None = None,
    ) -> None:
        async def work() -> Reply:
            guild = interaction.guild
            assert guild is not None
            filters, names = await resolve_filters(
                self.bot.storage,
                entities=[e for e in (entity, entity2, entity3) if e],
                category=category,
                words=words,
                language=language,
            )
            # Set again, a digest keeps what the options left out do not say otherwise.
            existing = await find_digest(
                self.bot.storage, guild.id, kind=kind, filters=filters, channel_id=channel.id
            )
            often = every or (existing.every if existing else "daily")
            if kind == "onthisday" and often != "daily":
                raise InvalidInput(
                    "An onthisday digest is daily: leave out every, or pick kind new."
                )
            if time is None and existing is not None and existing.every == often:
                at = existing.time
            else:
                at = self._time(often, time)
            unknown = None
            if timezone:
                zone = parse_timezone(timezone)
            else:
                zone, unknown = await self._kept_timezone(existing, guild.id)
            missing = missing_permissions(channel, guild.me)
            if missing:
                raise InvalidInput(
                    f"I cannot post digests in {channel.mention}: I am missing {', '.join(missing)}"
                    " there. Give me those permissions in the channel's settings, then run"
                    " /digest set again."
                )
            if role is not None:
                if no_role:
                    raise InvalidInput(
                        "Pick a role to mention or no_role to mention none, not both."
                    )
                self._check_role(role, channel, guild, interaction.permissions)
            if publish and not (isinstance(channel, discord.TextChannel) and channel.is_news()):
                raise InvalidInput(
                    f"{channel.mention} is not an announcement channel: publish only applies there."
                )
            if no_role:
                role_id = None
            else:
                role_id = role.id if role else existing.role_id if existing else None
            publish_it = publish if publish is not None else bool(existing and existing.publish)
            # The first timezone a server names becomes its own; one it has is left alone.
            adopted = False
            if timezone and (await self.bot.storage.settings.get(guild.id)).timezone is None:
                await self.bot.storage.settings.set_timezone(guild.id, zone)
                adopted = zone != DEFAULT_TIMEZONE
            digest, created = await self.bot.storage.digests.upsert(
                guild_id=guild.id,
                channel_id=channel.id,
                kind=kind,
                every=often,
                time=at,
                timezone=zone,
                filters=filters,
                role_id=role_id,
                publish=publish_it,
                created_by=interaction.user.id,
                now=self.bot.clock(),
            )
            when = await self.bot.chronicle_scheduler.schedule_set_digest(digest)
            resumed = await self._resume_channel(channel.id)
            verb = "will be posted" if created else "is now posted"
            about = describe_filters(filters, names)
            about = f" ({render.escape(about)})" if about else ""
            return Reply(
                content=f"The **{kind}** digest{about} {verb} in {channel.mention}"
                f" {self._schedule(digest)}{self._extras(digest)}."
                + (f" Next: {render.discord_time(when, 'F')}." if when else "")
                + self._unknown_zone_note(unknown, zone)
                + (
                    f" Resumed too: {resumed} other digest{'s' if resumed > 1 else ''}"
                    f" paused in {channel.mention}."
                    if resumed
                    else ""
                )
                + (
                    f" The server's timezone is now {zone_label(zone)} too (`/settings timezone`"
                    " changes it)."
                    if adopted
                    else ""
                )
            )

        await respond(interaction, work(), ephemeral=True)

    async def _resume_channel(self, channel_id: int) -> int:
        """The channel's other digests paused when it refused one: it takes posts again
        (its permissions were just checked), so they resume with this one."""
        resumed = await self.bot.storage.digests.resume_channel(channel_id)
        for digest_id in resumed:
            if (digest := await self.bot.storage.digests.get(digest_id)) is not None:
                if digest.every == "live":
                    self.bot.chronicle_scheduler.live.kick()
                else:
                    await self.bot.chronicle_scheduler.schedule_set_digest(digest)
        return len(resumed)

    @staticmethod
    def _time(every: str, text: str | None) -> dt.time:
        if every == "live":
            return dt.time(0, 0)
        if every == "hourly":
            if text is None:
                return dt.time(0, 0)
            minutes = text.strip().rsplit(":", 1)[-1]
            if not (
                minutes.isascii() and minutes.isdigit() and len(minutes) <= 2 and int(minutes) < 60
            ):
                raise InvalidInput(
                    f"{text[:20]!r} is not a minute: an hourly digest takes the minutes past"
                    " each hour, e.g. 05 or 30."
                )
            return dt.time(0, int(minutes))
        if text is None:
            raise InvalidInput("A daily digest needs a time: HH:MM on a 24-hour clock, e.g. 08:30.")
        return parse_time(text)

    def _check_role(
        self,
        role: discord.Role,
        channel: Channel,
        guild: discord.Guild,
        caller: discord.Permissions,
    ) -> None:
        if role.is_default():
            raise InvalidInput("Pick a role to mention: Chronicle never pings @everyone.")
        if role.mentionable:
            return
        # Chronicle pings only a role its caller could ping themselves.
        if not caller.mention_everyone:
            raise InvalidInput(
                f"You cannot ping {role.mention} yourself, so Chronicle will not ping it for you:"
                " make the role mentionable (Server Settings → Roles), or ask a member with"
                " Mention @everyone, @here and All Roles to set the digest."
            )
        if not channel.permissions_for(guild.me).mention_everyone:
            raise InvalidInput(
                f"I cannot ping {role.mention}: make the role mentionable (Server Settings →"
                " Roles), or give me Mention @everyone, @here and All Roles."
            )

    @staticmethod
    def _schedule(digest: Digest) -> str:
        if digest.every == "live":
            return "as new events arrive"
        # An hour's minutes too are local: a zone half an hour off UTC posts at other ones.
        if digest.every == "hourly":
            return f"every hour at :{digest.time.minute:02d} ({zone_aside(digest.timezone)})"
        return f"every day at {digest.time:%H:%M} ({zone_aside(digest.timezone)})"

    @staticmethod
    def _extras(digest: Digest) -> str:
        """What else a post does, for the reply to /digest set: its role, its publishing."""
        extras = []
        if digest.role_id:
            extras.append(f"mentioning <@&{digest.role_id}>")
        if digest.publish:
            extras.append("published to following servers")
        return f", {' and '.join(extras)}" if extras else ""

    def _name(self, digest: Digest, guild: discord.Guild | None) -> str:
        """A digest as a choice: kind, frequency, channel and filters, in plain text."""
        channel = guild.get_channel_or_thread(digest.channel_id) if guild else None
        where = f"#{channel.name}" if channel else f"channel {digest.channel_id}"
        about = describe_filters(digest.filters, digest.entity_names)
        return f"{digest.every} {digest.kind} in {where}" + (f" · {about}" if about else "")

    @app_commands.command(name="list", description="This server's digests and their state")
    async def list_digests(self, interaction: discord.Interaction) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            digests = await self.bot.storage.digests.for_guild(interaction.guild.id)
            if not digests:
                zone = await self._server_timezone(interaction.guild.id)
                return Reply(
                    content="No digests yet. Add one with /digest set (server timezone:"
                    f" {zone_label(zone)})."
                )
            lines = [self._line(d) for d in digests]
            more = "… and {n} more: type a channel, kind or word in /digest remove to find one"
            embed = discord.Embed(
                title="Digests",
                description=render.lines_within(lines, render.DESCRIPTION_LIMIT, more),
                colour=render.EMBED_COLOUR,
            )
            return Reply(embed=embed)

        await respond(interaction, work(), ephemeral=True)

    def _line(self, digest: Digest) -> str:
        head = f"**{digest.kind}** in <#{digest.channel_id}> {self._schedule(digest)}"
        details = []
        if about := describe_filters(digest.filters, digest.entity_names):
            details.append(render.escape(about))
        if digest.role_id:
            details.append(f"mentions <@&{digest.role_id}>")
        if digest.publish:
            details.append("published")
        if details:
            head += f"\n  {' · '.join(details)}"
        if digest.paused:
            since = (
                f" since {render.discord_time(digest.paused_at, 'f')}" if digest.paused_at else ""
            )
            reason = render.escape_reason(digest.paused_reason or "")
            return f"{head}\n  ⏸ paused: {reason}{since}. Run /digest set to resume."
        when = self.bot.chronicle_scheduler.next_run_time(digest.id)
        if when:
            return (
                f"{head}\n  next: {render.discord_time(when, 'F')}"
                f" ({render.discord_time(when, 'R')})"
            )
        return head

    @app_commands.command(name="remove", description="Stop a digest")
    @app_commands.describe(digest="Which digest")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def remove_digest(self, interaction: discord.Interaction, digest: str) -> None:
        async def work() -> Reply:
            ident = lookups.row_id(digest)
            found = await self.bot.storage.digests.get(ident) if ident is not None else None
            if found is None or found.guild_id != interaction.guild_id:
                raise InvalidInput(
                    f"There is no such digest here ({digest[:40]!r}): pick one from the list"
                    " /digest remove offers, or see /digest list."
                )
            await self.bot.storage.digests.remove(found.id)
            self.bot.chronicle_scheduler.forget_digest(found.id)
            return Reply(content=f"Removed the {self._name(found, interaction.guild)} digest.")

        await respond(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="preview", description="What a digest would post now (only you see it)"
    )
    @app_commands.describe(
        kind="Which digest",
        entity="Only events about this entity",
        category="Only events of this category",
        words="Only events matching these words, as /search reads them",
        language="en, zh or all (default: the server's language)",
    )
    @app_commands.autocomplete(entity=entity_autocomplete, category=category_autocomplete)
    async def preview(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        entity: str | None = None,
        category: str | None = None,
        words: str | None = None,
        language: Language | None = None,
    ) -> None:
        rest: list[render.DigestMessage] = []

        async def work() -> Reply:
            guild = interaction.guild
            assert guild is not None
            storage = self.bot.storage
            filters, names = await resolve_filters(
                storage,
                entities=[entity] if entity else [],
                category=category,
                words=words,
                language=language,
            )
            now = self.bot.clock()
            existing = await find_digest(storage, guild.id, kind=kind, filters=filters)
            # The day a digest would post is its own timezone's, not the server's.
            zone, unknown = await self._kept_timezone(existing, guild.id)
            server = await server_language(storage, guild, guild.id)
            content = await preview_content(
                storage,
                kind=kind,
                filters=filters,
                entity_names=names,
                language=filters.language or server,
                today=local_today(zone, now),
                now=now,
                existing=existing,
                server_language=server,
                # As the digest itself would: portal items wait for the next poll.
                waiting_since=await portal_waiting_since(storage, self.bot.settings, now),
            )
            note = self._unknown_zone_note(unknown, zone).strip()
            if content.empty:
                return Reply(
                    content=f"Nothing would be posted now: {render.digest_text(content)}"
                    + (f"\n{note}" if note else "")
                )
            first, *others = render.digest_messages(content)
            rest.extend(others)
            return Reply(content=note or None, embeds=first.embeds)

        await respond(interaction, work(), ephemeral=True)
        # A post of several messages is previewed whole: the others follow, as privately.
        for message in rest:
            await interaction.followup.send(embeds=message.embeds, ephemeral=True)


async def setup(bot: ChronicleBot) -> None:
    await bot.add_cog(Digests(bot))
