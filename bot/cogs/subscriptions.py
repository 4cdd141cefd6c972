"""/subscribe, /unsubscribe, /subscriptions: follow a person, group, place or story."""

from __future__ import annotations

import re
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.alerts import DM_PAUSE_REASON
from bot.choices import entity_choices, in_time
from bot.client import ChronicleBot
from bot.errors import InvalidInput, NotFound
from bot.permissions import missing_permissions, permissions_needed
from bot.services import lookups
from bot.tree import Admitted, handle_error
from bot.views import Reply, chronicle, respond, update
from storage.api_delivery import TooManySubscriptions
from storage.models import Subscription
from storage.textindex import fold

MAX_SUBSCRIPTIONS = 50
BUTTONS_PER_PAGE = 20  # four rows of five; the fifth row turns the pages
NAV_ROW = 4
HereChannel = discord.TextChannel | discord.VoiceChannel | discord.Thread
OTHERS_BUTTONS = (
    "These buttons belong to the person who ran the command; run /subscriptions yourself."
)


def subscriptions_message(
    items: list[Subscription],
    user_id: int,
    page: int = 0,
    *,
    servers: dict[int, str] | None = None,
    elsewhere: int = 0,
) -> tuple[discord.Embed, discord.ui.View | None]:
    """A page of the member's subscriptions, a button to remove each one on it, and (when
    there is more than one page) Previous and Next. A page past the end shows the last.
    With `servers`, the list is of every server's; `elsewhere` counts those of other
    servers a server's list leaves out."""
    if not items:
        embed = render.subscriptions_embed(
            [], total=0, most=MAX_SUBSCRIPTIONS, servers=servers, elsewhere=elsewhere
        )
        return embed, None
    pages = render.subscription_pages(items, BUTTONS_PER_PAGE, servers)
    page = max(0, min(page, len(pages) - 1))
    embed = render.subscriptions_embed(
        pages[page],
        total=len(items),
        most=MAX_SUBSCRIPTIONS,
        page=page,
        pages=len(pages),
        servers=servers,
        elsewhere=elsewhere,
    )
    view = discord.ui.View(timeout=None)
    for n, item in enumerate(pages[page]):
        view.add_item(RemoveSubscription(item.id, item.entity, page=page, row=n // 5))
    if len(pages) > 1:
        view.add_item(TurnSubscriptionsPage(user_id, max(page - 1, 0), "Previous", page == 0))
        view.add_item(TurnSubscriptionsPage(user_id, page + 1, "Next", page == len(pages) - 1))
    return embed, view


async def listing(interaction: discord.Interaction, page: int = 0) -> Reply:
    """The page of the member's subscriptions as they are now: in this server, or in a
    direct message with Chronicle, in every server."""
    bot = chronicle(interaction)
    everywhere = await bot.storage.subscriptions.for_user(interaction.user.id)
    if interaction.guild_id is None:
        servers = {}
        for item in everywhere:
            guild = bot.get_guild(item.guild_id)
            servers[item.guild_id] = guild.name if guild is not None else ""
        # By server name, each server's by name (as for_user gives them).
        everywhere.sort(key=lambda s: (servers[s.guild_id].casefold(), s.guild_id))
        embed, view = subscriptions_message(everywhere, interaction.user.id, page, servers=servers)
    else:
        here = [s for s in everywhere if s.guild_id == interaction.guild_id]
        embed, view = subscriptions_message(
            here, interaction.user.id, page, elsewhere=len(everywhere) - len(here)
        )
    return Reply(embed=embed, view=view)


def choice_value(subscription: Subscription) -> str:
    """What /unsubscribe's autocomplete sends for a subscription: its name, or for a name
    too long for a choice, the name cut and the subscription's number (`offered` reads it)."""
    name = subscription.entity
    if len(name) <= render.CHOICE_TEXT_LIMIT:
        return name
    number = f" #{subscription.id}"
    return render.cut(name, render.CHOICE_TEXT_LIMIT - len(number)) + number


def offered(mine: list[Subscription], typed: str) -> tuple[int, str] | None:
    """The member's subscription (entity id, name) a cut value of `choice_value` stands for:
    by its number, or (were it renumbered since) by the cut name alone if one name fits."""
    value = re.fullmatch(r"(?P<head>.+…) #(?P<id>\d+)", typed)
    if value is None:
        return None
    head = value["head"].removesuffix("…")
    by_name = [s for s in mine if len(s.entity) > len(head) and s.entity.startswith(head)]
    by_number = [s for s in by_name if s.id == int(value["id"])]
    found = by_number or (by_name if len(by_name) == 1 else [])
    return (found[0].entity_id, found[0].entity) if found else None


def here_channel(interaction: discord.Interaction) -> HereChannel:
    """The channel delivery: here would post the member's alerts in: one both they and
    Chronicle may post in (their alerts are posts made on their behalf, pinging them)."""
    assert interaction.guild is not None
    channel = interaction.channel
    # A voice channel's text chat is a channel like any other for posting.
    if not isinstance(channel, discord.TextChannel | discord.VoiceChannel | discord.Thread):
        raise InvalidInput(
            "delivery: here works in a server text channel, a thread or a voice channel's chat."
        )
    in_thread = isinstance(channel, discord.Thread)
    if not (
        interaction.permissions.send_messages_in_threads
        if in_thread
        else interaction.permissions.send_messages
    ):
        raise InvalidInput(
            f"You cannot post in {channel.mention}, so your alerts cannot go there either. "
            "Run /subscribe in a channel you can post in, or choose delivery: dm."
        )
    if isinstance(channel, discord.VoiceChannel):
        # bot.permissions.missing_permissions is typed for text channels, forums and threads;
        # a voice channel's chat needs what a text channel does.
        granted = channel.permissions_for(interaction.guild.me)
        missing = [
            label for flag, label in permissions_needed(channel) if not getattr(granted, flag)
        ]
    else:
        missing = missing_permissions(channel, interaction.guild.me)
    if missing:
        raise InvalidInput(
            f"I cannot post alerts in {channel.mention}: I am missing {', '.join(missing)} there. "
            "Pick another channel, or delivery: dm."
        )
    return channel


class RemoveSubscription(
    Admitted,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chronicle:unsubscribe:(?P<id>\d+)(?::(?P<page>\d+))?",
):
    """A "Remove" button under /subscriptions; works across restarts, for its owner only.
    The list comes back on the page the button was on."""

    def __init__(
        self,
        subscription_id: int,
        entity: str = "subscription",
        *,
        page: int = 0,
        row: int | None = None,
    ):
        super().__init__(
            discord.ui.Button(
                label=render.cut(f"Remove {entity}", 80),
                style=discord.ButtonStyle.danger,
                custom_id=f"chronicle:unsubscribe:{subscription_id}" + (f":{page}" if page else ""),
                row=row,
            )
        )
        self.subscription_id = subscription_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RemoveSubscription:
        return cls(int(match["id"]), page=int(match["page"] or 0))

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
        return await listing(interaction, self.page)


class TurnSubscriptionsPage(
    Admitted,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chronicle:subscriptions:(?P<user>\d+):page:(?P<page>\d+)",
):
    """Previous or Next under /subscriptions. Like the Remove buttons it works across
    restarts and never times out; it shows the member's list as it is then."""

    def __init__(self, user_id: int, page: int, label: str = "Page", disabled: bool = False):
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"chronicle:subscriptions:{user_id}:page:{page}",
                disabled=disabled,
                row=NAV_ROW,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TurnSubscriptionsPage:
        return cls(int(match["user"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await update(interaction, self._page(interaction))
        except Exception as error:
            await handle_error(interaction, error)

    async def _page(self, interaction: discord.Interaction) -> Reply:
        if interaction.user.id != self.user_id:
            raise InvalidInput(OTHERS_BUTTONS)
        return await listing(interaction, self.page)


class Subscriptions(commands.Cog):
    def __init__(self, bot: ChronicleBot):
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Subscriptions are a server's; a client may still offer the commands in a DM. The
        # list alone is read there: every server's.
        command = interaction.command
        if interaction.guild_id is None and (command is None or command.name != "subscriptions"):
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
        typed = fold(current)  # as names are matched: either Chinese script, no accents
        return [
            app_commands.Choice(name=render.choice_name(s.entity), value=choice_value(s))
            for s in items
            if typed in fold(s.entity)
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
            channel_id = here_channel(interaction).id if delivery == "here" else None
            mine = await repo.for_member(interaction.guild.id, interaction.user.id)
            try:
                subscription, created = await repo.subscribe(
                    guild_id=interaction.guild.id,
                    user_id=interaction.user.id,
                    entity_id=entity_id,
                    delivery=delivery,
                    channel_id=channel_id,
                    most=MAX_SUBSCRIPTIONS,
                )
            except TooManySubscriptions as full:
                raise InvalidInput(
                    f"You follow {full.following} entities in this server, the most allowed. "
                    "Remove one with /unsubscribe or /subscriptions first."
                ) from None
            aliases = await self.bot.storage.entities.aliases(entity_id)
            known_as = f" (also named {render.cut(', '.join(aliases), 300)})" if aliases else ""
            where = (
                "by direct message" if delivery == "dm" else f"in <#{channel_id}>, mentioning you"
            )
            verb = "You now follow" if created else "You follow"
            # Closed DMs paused all of the member's DM subscriptions: resuming one resumes all.
            resumed = 0
            if delivery == "dm" and any(
                s.entity_id == entity_id and s.paused_reason == DM_PAUSE_REASON for s in mine
            ):
                resumed = await repo.resume_dm(interaction.user.id, DM_PAUSE_REASON)
            also = (
                f" Your {resumed} other DM subscription{'s' if resumed > 1 else ''} paused when"
                f" your DMs were closed {'are' if resumed > 1 else 'is'} resumed too."
                if resumed
                else ""
            )
            return Reply(
                content=f"{verb} **{render.escape(subscription.entity)}**{render.escape(known_as)}:"
                f" new events involving it reach you {where}, one message per update.{also}"
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
            repo = self.bot.storage.subscriptions
            mine = await repo.for_member(interaction.guild.id, interaction.user.id)
            found = offered(mine, entity) or await self.bot.storage.entities.find(entity)
            if found is None or not await repo.unsubscribe(
                guild_id=interaction.guild.id, user_id=interaction.user.id, entity_id=found[0]
            ):
                raise NotFound(
                    f"You do not follow “{render.cut(entity, 100)}” here.",
                    [s.entity for s in mine][:5],
                )
            return Reply(content=f"You no longer follow **{render.escape(found[1])}**.")

        await respond(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="subscriptions",
        description="What you follow in this server (in a direct message: in every server)",
    )
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        await respond(interaction, listing(interaction), ephemeral=True)


async def setup(bot: ChronicleBot) -> None:
    bot.add_dynamic_items(RemoveSubscription, TurnSubscriptionsPage)
    await bot.add_cog(Subscriptions(bot))
