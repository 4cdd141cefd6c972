"""/settings show, timezone, language: this server's settings, for server managers."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ChronicleBot
from bot.cogs.digests import require_manager
from bot.language import LANGUAGE_NAMES, ServerLanguage, resolve_language
from bot.timezones import DEFAULT_TIMEZONE, parse_timezone, timezone_autocomplete, zone_label
from bot.views import Reply, respond

FOLLOW_LOCALE = "locale"
LANGUAGE_CHOICES = [
    app_commands.Choice(name="English (en)", value="en"),
    app_commands.Choice(name="Chinese 中文 (zh)", value="zh"),
    app_commands.Choice(name="All: English and Chinese (all)", value="all"),
    app_commands.Choice(name="Follow the server's locale (the default)", value=FOLLOW_LOCALE),
]
LOOKUPS = "/onthisday, /search, /event, /related, /entity and their suggestions"


def language_effect(language: str) -> str:
    """What a language does to lookups, in a few words."""
    if language == "all":
        return f"{LOOKUPS} show English and Chinese events"
    return f"{LOOKUPS} show {LANGUAGE_NAMES[language]} events only"


def language_line(current: ServerLanguage) -> str:
    return (
        f"**Language:** {current.name} (`{current.language}`, {current.describe()}):"
        f" {language_effect(current.language)}."
    )


def timezone_line(timezone: str | None) -> str:
    if timezone is None:
        return (
            f"**Timezone:** {DEFAULT_TIMEZONE} (the default; none set): /onthisday's today"
            " is the date in UTC."
        )
    return (
        f"**Timezone:** {zone_label(timezone)} (set by a manager): /onthisday's today is the"
        " date there, and /digest set uses it when given no timezone."
    )


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerSettings(
    commands.GroupCog, group_name="settings", group_description="Chronicle's settings here"
):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    @app_commands.command(name="show", description="This server's timezone and language")
    async def show(self, interaction: discord.Interaction) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            storage = self.bot.storage
            saved = await storage.settings.get(interaction.guild.id)
            language = await resolve_language(storage, interaction.guild, interaction.guild.id)
            return Reply(
                content="\n".join(
                    [
                        "Chronicle's settings in this server:",
                        f"• {timezone_line(saved.timezone)}",
                        f"• {language_line(language)}",
                        "Change them with /settings timezone and /settings language.",
                    ]
                )
            )

        await respond(interaction, work(), ephemeral=True)

    @app_commands.command(name="timezone", description="The server's timezone (IANA name)")
    @app_commands.describe(
        timezone="IANA timezone, e.g. Europe/Berlin (type UTC+5 for the zones at an offset)"
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def timezone(
        self, interaction: discord.Interaction, timezone: app_commands.Range[str, 1, 100]
    ) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            zone = parse_timezone(timezone)
            await self.bot.storage.settings.set_timezone(interaction.guild.id, zone)
            return Reply(
                content=f"This server's timezone is now **{zone_label(zone)}**: /onthisday's today"
                " is the date there, and /digest set uses it when given no timezone (digests set"
                " before keep their own)."
            )

        await respond(interaction, work(), ephemeral=True)

    @app_commands.command(name="language", description="Which edition of the archive to show")
    @app_commands.describe(language="en: English events, zh: Chinese events, all: both")
    @app_commands.choices(language=LANGUAGE_CHOICES)
    async def language(
        self, interaction: discord.Interaction, language: app_commands.Choice[str]
    ) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            chosen = None if language.value == FOLLOW_LOCALE else language.value
            await self.bot.storage.settings.set_language(interaction.guild.id, chosen)
            now = await resolve_language(self.bot.storage, interaction.guild)
            source = f", {now.describe()}" if chosen is None else ""
            return Reply(
                content=f"This server's language is now **{now.name}** (`{now.language}`{source}):"
                f" {language_effect(now.language)}. An event named by its key is shown in"
                " any language; digests without a language of their own follow this one."
            )

        await respond(interaction, work(), ephemeral=True)


async def setup(bot: ChronicleBot) -> None:
    await bot.add_cog(ServerSettings(bot))
