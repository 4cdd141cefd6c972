"""/subscribe, /unsubscribe, /subscriptions: follow a person, group, place or story."""

from __future__ import annotations

import re
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.choices import entity_choices, in_time
from bot.client import ChronicleBot
from bot.errors import InvalidInput, NotFound
from bot.permissions import missing_permissions
from bot.services import lookups
from bot.tree import handle_error
from bot.views import Reply, chronicle, respond, update
from storage.models import Subscription

MAX_SUBSCRIPTIONS = 50
BUTTONS_PER_PAGE = 20  # four rows of five; the fifth row is not needed below 21


def subscriptions_message(
    items: list[Subscription],
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The member's subscriptions, with a button to remove each."""
    if not items:
        embed = render.fit_embed(
            discord.Embed(
                title="Your subscriptions",
                description="You follow nothing here yet. /subscribe to follow an entity.",
                colour=render.EMBED_COLOUR,
            )
        )
        return embed, None
    lines = []
    for item in items:
        where = "by DM" if item.delivery == "dm" else f"in <#{item.channel_id}>"
        paused = f" — ⏸ paused: {render.escape(item.paused_reason)}" if item.paused_reason else ""
        lines.append(f"• **{render.escape(item.entity)}** {where}{paused}")
    embed = render.fit_embed(
        discord.Embed(
            title=f"Your subscriptions ({len(items)} of {MAX_SUBSCRIPTIONS})",
            description=render.lines_within(lines, render.DESCRIPTION_LIMIT),
            colour=render.EMBED_COLOUR,
        )
    )
    view = discord.ui.View(timeout=None)
    for item in items[:BUTTONS_PER_PAGE]:
        view.add_item(RemoveSubscription(item.id, item.entity))
    return embed, view


class RemoveSubscription(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"chronicle:unsubscribe:(?P<id>\d+)"
):
    """A "Remove" button under /subscriptions; works across restarts, for its owner only."""

    def __init__(self, subscription_id: int, entity: str = "subscription"):
        super().__init__(
            discord.ui.Button(
                label=render.cut(f"Remove {entity}", 80),
                style=discord.ButtonStyle.danger,
                custom_id=f"chronicle:unsubscribe:{subscription_id}",
            )
        )
        self.subscription_id = subscription_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RemoveSubscription:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await update(interaction, self._remaining(interaction))
        except Exception as error:
            await handle_error(interaction, error)

    async def _remaining(self, interaction: discord.Interaction) -> Reply:
        """Removes the subscription; the member's list as it is then."""
        repo = chronicle(interaction).storage.subscriptions
        subscription = await repo.get(self.subscription_id)
        if subscription is not None and subscription.user_id != interaction.user.id:
            raise InvalidInput("That is someone else's subscription.")
        if subscription is not None:
            await repo.remove(subscription.id)
        remaining = await repo.for_member(interaction.guild_id or 0, interaction.user.id)
        embed, view = subscriptions_message(remaining)
        return Reply(embed=embed, view=view)


class Subscriptions(commands.Cog):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Subscriptions are a server's; a client may still offer the commands in a DM.
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        return True

    @in_time
    async def entity_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await entity_choices(self.bot.storage, current)

    @in_time
    async def own_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        items = await self.bot.storage.subscriptions.for_member(
            interaction.guild_id or 0, interaction.user.id
        )
        typed = current.casefold()
        return [
            app_commands.Choice(name=render.cut(s.entity, 100), value=render.cut(s.entity, 100))
            for s in items
            if typed in s.entity.casefold()
        ][: render.CHOICES_LIMIT]

    # Per command: on a plain Cog (not a GroupCog) discord.py ignores a class decorator.
    @app_commands.guild_only()
    @app_commands.command(name="subscribe", description="Hear about new events involving an entity")
    @app_commands.describe(
        entity="A person, group, place or story (pick one as you type)",
        delivery="dm: a direct message (default); here: in this channel, mentioning you",
    )
    @app_commands.autocomplete(entity=entity_autocomplete)
    async def subscribe(
        self,
        interaction: discord.Interaction,
        entity: app_commands.Range[str, 1, 200],
        delivery: Literal["dm", "here"] = "dm",
    ) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            (entity_id,) = await lookups.entity_ids(self.bot.storage, entity)
            repo = self.bot.storage.subscriptions
            channel_id = None
            if delivery == "here":
                channel = interaction.channel
                if not isinstance(channel, discord.TextChannel | discord.Thread):
                    raise InvalidInput("delivery: here works in a server text channel or thread.")
                if missing := missing_permissions(channel, interaction.guild.me):
                    raise InvalidInput(
                        f"I cannot post alerts in {channel.mention}: I am missing {', '.join(missing)} there. "
                        "Pick another channel, or delivery: dm."
                    )
                channel_id = channel.id
            mine = await repo.for_member(interaction.guild.id, interaction.user.id)
            if len(mine) >= MAX_SUBSCRIPTIONS and all(s.entity_id != entity_id for s in mine):
                raise InvalidInput(
                    f"You follow {len(mine)} entities in this server, the most allowed. "
                    "Remove one with /unsubscribe or /subscriptions first."
                )
            subscription, created = await repo.subscribe(
                guild_id=interaction.guild.id,
                user_id=interaction.user.id,
                entity_id=entity_id,
                delivery=delivery,
                channel_id=channel_id,
            )
            aliases = await self.bot.storage.entities.aliases(entity_id)
            known_as = f" (also named {render.cut(', '.join(aliases), 300)})" if aliases else ""
            where = (
                "by direct message" if delivery == "dm" else f"in <#{channel_id}>, mentioning you"
            )
            verb = "You now follow" if created else "You follow"
            return Reply(
                content=f"{verb} **{render.escape(subscription.entity)}**{render.escape(known_as)}:"
                f" new events involving it reach you {where}, one message per update."
            )

        await respond(interaction, work(), ephemeral=True)

    @app_commands.guild_only()
    @app_commands.command(name="unsubscribe", description="Stop hearing about an entity")
    @app_commands.describe(entity="One of your subscriptions")
    @app_commands.autocomplete(entity=own_autocomplete)
    async def unsubscribe(
        self, interaction: discord.Interaction, entity: app_commands.Range[str, 1, 200]
    ) -> None:
        async def work() -> Reply:
            assert interaction.guild is not None
            found = await self.bot.storage.entities.find(entity)
            if found is None or not await self.bot.storage.subscriptions.unsubscribe(
                guild_id=interaction.guild.id, user_id=interaction.user.id, entity_id=found[0]
            ):
                mine = await self.bot.storage.subscriptions.for_member(
                    interaction.guild.id, interaction.user.id
                )
                raise NotFound(
                    f"You do not follow “{render.cut(entity, 100)}” here.",
                    [s.entity for s in mine][:5],
                )
            return Reply(content=f"You no longer follow **{render.escape(found[1])}**.")

        await respond(interaction, work(), ephemeral=True)

    @app_commands.guild_only()
    @app_commands.command(name="subscriptions", description="What you follow in this server")
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        async def work() -> Reply:
            items = await self.bot.storage.subscriptions.for_member(
                interaction.guild_id or 0, interaction.user.id
            )
            embed, view = subscriptions_message(items)
            return Reply(embed=embed, view=view)

        await respond(interaction, work(), ephemeral=True)


async def setup(bot: ChronicleBot) -> None:
    bot.add_dynamic_items(RemoveSubscription)
    await bot.add_cog(Subscriptions(bot))
