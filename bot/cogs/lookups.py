"""Looking events up: /event, /search, /onthisday, /related, /entity, /about.

Thin: options in, a service call, a renderer, a reply. Lookups by words, dates and
autocomplete show the server's language only (bot.language; 'all': both editions); an event
named by its key or picked from autocomplete is shown whatever its language.
"""

from __future__ import annotations

import datetime as dt

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.choices import entity_choices, in_time
from bot.client import ChronicleBot
from bot.digests import zone as stored_zone
from bot.errors import NotFound
from bot.language import server_language
from bot.pages import OnThisDayPages, SearchPages, among
from bot.services import lookups
from bot.views import PagedView, Reply, event_card_reply, related_reply, respond
from storage.models import Event

EVENT_CHOICE_PREFIX = "event:"  # autocomplete values name an event by id (keys exceed 100 chars)


class Lookups(commands.Cog):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot

    async def _event(self, interaction: discord.Interaction, query: str) -> Event:
        if query.startswith(EVENT_CHOICE_PREFIX) and query[len(EVENT_CHOICE_PREFIX) :].isdigit():
            ident = lookups.row_id(query[len(EVENT_CHOICE_PREFIX) :])
            event = await self.bot.storage.events.get(ident) if ident is not None else None
            if event is None:
                raise NotFound("That event is no longer in the archive.")
            return event
        language = await self._language(interaction)
        try:
            return await lookups.find_event(self.bot.storage, query, language=language)
        except NotFound as error:
            raise NotFound(among(error.message, language), error.suggestions) from None

    async def _language(self, interaction: discord.Interaction) -> str:
        """The language this server's lookups show: 'en', 'zh' or 'all'."""
        return await server_language(self.bot.storage, interaction.guild, interaction.guild_id)

    async def _today(self, interaction: discord.Interaction) -> dt.date:
        """Today where the server is (its saved timezone), else in UTC (as when this machine's
        zone database lacks the saved one)."""
        zone = (
            (await self.bot.storage.settings.get(interaction.guild_id)).timezone
            if interaction.guild_id
            else None
        )
        now = self.bot.clock()
        return now.astimezone(stored_zone(zone) if zone else dt.UTC).date()

    @in_time
    async def event_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        briefs = await self.bot.storage.search.suggest_headlines(
            current, limit=render.CHOICES_LIMIT, language=await self._language(interaction)
        )
        return [
            app_commands.Choice(
                name=render.choice_label(b.date, b.headline), value=f"{EVENT_CHOICE_PREFIX}{b.id}"
            )
            for b in briefs
        ]

    @in_time
    async def entity_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await entity_choices(self.bot.storage, current)

    @app_commands.command(
        name="event", description="An event's card: summary, sources, related events"
    )
    @app_commands.describe(query="A headline (pick one as you type), a key, or some words")
    @app_commands.autocomplete(query=event_autocomplete)
    async def event(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]
    ) -> None:
        async def work() -> Reply:
            return await event_card_reply(self.bot, await self._event(interaction, query))

        await respond(interaction, work())

    @app_commands.command(name="search", description="Find events by words, entity and dates")
    @app_commands.describe(
        query='Words; "a phrase", word* for a prefix, -word to exclude',
        entity="Only events involving this entity",
        since="From this date (YYYY-MM-DD)",
        until="Up to this date (YYYY-MM-DD)",
    )
    @app_commands.autocomplete(entity=entity_autocomplete)
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 500],
        entity: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        async def work() -> Reply:
            # The server's language is read here, within the time "thinking…" buys.
            pages = SearchPages.typed(
                query,
                entity=entity,
                since=since,
                until=until,
                language=await self._language(interaction),
            )
            embed, view = await PagedView.start(self.bot, interaction.user.id, pages)
            return Reply(embed=embed, view=view)

        await respond(interaction, work())

    @app_commands.command(name="onthisday", description="Events on this day in earlier years")
    @app_commands.describe(date="MM-DD or YYYY-MM-DD (default: today)")
    async def onthisday(
        self, interaction: discord.Interaction, date: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        async def work() -> Reply:
            # The server's day and language are read here, within the time "thinking…" buys.
            today = await self._today(interaction)
            language = await self._language(interaction)
            month, day = today.month, today.day
            before_year: int | None = today.year  # earlier years
            year = today.year  # a common year's February 28 shows February 29's events too
            if date:
                month, day = lookups.parse_month_day(date)
                if date.count("-") == 2:  # as seen from that date: its year and earlier
                    year = lookups.parse_date(date).year
                    before_year = year + 1 if year < dt.MAXYEAR else None  # 9999: all years
            pages = OnThisDayPages(month, day, year, before_year, today, language)
            embed, view = await PagedView.start(self.bot, interaction.user.id, pages)
            return Reply(embed=embed, view=view)

        await respond(interaction, work())

    @app_commands.command(
        name="related", description="Events related to one, by the entities they share"
    )
    @app_commands.describe(query="A headline (pick one as you type), a key, or some words")
    @app_commands.autocomplete(query=event_autocomplete)
    async def related(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]
    ) -> None:
        async def work() -> Reply:
            return await related_reply(
                self.bot, interaction.user.id, await self._event(interaction, query)
            )

        await respond(interaction, work())

    @app_commands.command(
        name="entity", description="What the archive knows of a person, group, place or story"
    )
    @app_commands.describe(name="The entity's name (pick one as you type)")
    @app_commands.autocomplete(name=entity_autocomplete)
    async def entity(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 200]
    ) -> None:
        async def work() -> Reply:
            profile = await lookups.entity_profile(
                self.bot.storage, name, language=await self._language(interaction)
            )
            return Reply(embed=render.entity_embed(profile))

        await respond(interaction, work())

    @app_commands.command(name="about", description="What Chronicle holds and how to use it")
    async def about(self, interaction: discord.Interaction) -> None:
        async def work() -> Reply:
            return Reply(embed=render.about_embed(await self.bot.storage.stats()))

        await respond(interaction, work())


async def setup(bot: ChronicleBot) -> None:
    await bot.add_cog(Lookups(bot))
