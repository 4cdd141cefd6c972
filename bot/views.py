"""Replies and their components: deferral, pagination, the event card's buttons.

Cogs describe what to say; this module takes care of how Discord expects it said: answer
within a second or defer, pages that only the asker can turn and that grey out when they
time out, and buttons on event cards that keep working after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import discord

from bot import render
from bot.context import Chronicle
from bot.errors import NotFound, UserError
from bot.services import lookups
from bot.tree import AWAITING_ANSWER, handle_error
from storage.models import Event

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 0.8  # Discord allows 3 s for the first answer; defer well before


@dataclass
class Page:
    embed: discord.Embed
    has_next: bool
    options: list[discord.SelectOption] = field(default_factory=list)  # the select menu's


PageLoader = Callable[[int], Awaitable[Page]]
OnSelect = Callable[[discord.Interaction, str], Awaitable[None]]


@dataclass
class Reply:
    embed: discord.Embed | None = None
    content: str | None = None
    view: discord.ui.View | None = None
    embeds: list[discord.Embed] | None = None  # several, instead of `embed`

    def message(self) -> dict[str, Any]:
        """The reply as keyword arguments of a send or an edit."""
        kwargs: dict[str, Any] = {"content": self.content}
        if self.embeds is not None:
            kwargs["embeds"] = self.embeds
        else:
            kwargs["embed"] = self.embed
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs


async def _deferring(work: Awaitable[Reply], defer: Callable[[], Awaitable[Any]]) -> Reply:
    """What `work` builds; `defer` is called first if that takes longer than a moment
    (Discord allows 3 s for the first answer)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)
    if not done:
        await defer()
    return await task


def chronicle(interaction: discord.Interaction) -> Chronicle:
    return interaction.client  # type: ignore[return-value]


async def respond(
    interaction: discord.Interaction, work: Awaitable[Reply], *, ephemeral: bool = False
) -> None:
    """Answer with the reply `work` builds; defer first if it takes longer than a moment.

    A UserError from `work` becomes a private message either way (after a public deferral
    the "thinking…" placeholder is removed, so the error is not shown to everyone).
    """
    async def defer() -> None:
        interaction.extras[AWAITING_ANSWER] = True
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)

    try:
        reply = await _deferring(work, defer)
    except UserError as error:
        if interaction.response.is_done() and not ephemeral:
            await interaction.delete_original_response()
        await handle_error(interaction, error)
        return
    message: discord.Message | None
    if interaction.response.is_done():
        message = await interaction.edit_original_response(**reply.message())
        interaction.extras[AWAITING_ANSWER] = False
    else:
        callback = await interaction.response.send_message(ephemeral=ephemeral, **reply.message())
        message = callback.resource if isinstance(callback.resource, discord.Message) else None
    if isinstance(reply.view, PagedView):
        reply.view.message = message


async def update(interaction: discord.Interaction, work: Awaitable[Reply]) -> None:
    """Replace the message a component is on with the reply `work` builds; defer first if
    that takes longer than a moment. Errors go to the caller's handler."""
    reply = await _deferring(work, interaction.response.defer)
    if interaction.response.is_done():
        await interaction.edit_original_response(**reply.message())
    else:
        await interaction.response.edit_message(**reply.message())


class PagedView(discord.ui.View):
    """Previous/Next over pages loaded on demand, optionally a select menu per page.

    Only the person who asked can turn the pages; after the timeout every component is
    greyed out, so nobody clicks a dead button.
    """

    def __init__(
        self,
        owner_id: int,
        loader: PageLoader,
        first: Page,
        *,
        timeout: float,
        on_select: OnSelect | None = None,
        placeholder: str = "Open one…",
    ):
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.loader = loader
        self.page = 0
        self.current = first
        self.on_select = on_select
        self.message: discord.Message | None = None
        self.select: discord.ui.Select[PagedView] | None = None
        if on_select is not None:
            self.select = discord.ui.Select(
                placeholder=placeholder, min_values=1, max_values=1, row=0
            )
            self.select.callback = self._selected  # type: ignore[method-assign]
            self.add_item(self.select)
        self._sync()

    @classmethod
    async def start(
        cls,
        owner_id: int,
        loader: PageLoader,
        *,
        timeout: float,  # noqa: ASYNC109 - the view's idle timeout, not this call's
        on_select: OnSelect | None = None,
    ) -> tuple[discord.Embed, PagedView | None]:
        first = await loader(0)
        if not first.has_next and on_select is None:
            return first.embed, None  # one page: no buttons to grey out later
        return first.embed, cls(owner_id, loader, first, timeout=timeout, on_select=on_select)

    def _sync(self) -> None:
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = not self.current.has_next
        if self.select is not None:
            self.select.options = self.current.options[: render.SELECT_OPTIONS_LIMIT] or [
                discord.SelectOption(label="(nothing on this page)", value="-")
            ]
            self.select.disabled = not self.current.options

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to the person who ran the command; run it yourself to browse.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction, page: int) -> None:
        await update(interaction, self._load(page))

    async def _load(self, page: int) -> Reply:
        self.current = await self.loader(page)
        self.page = page
        self._sync()
        return Reply(embed=self.current.embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, row=1)
    async def previous_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[PagedView]
    ) -> None:
        await self._turn(interaction, max(self.page - 1, 0))

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, row=1)
    async def next_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[PagedView]
    ) -> None:
        await self._turn(interaction, self.page + 1)

    async def _selected(self, interaction: discord.Interaction) -> None:
        assert self.select is not None and self.on_select is not None
        value = self.select.values[0]
        if value != "-":
            await self.on_select(interaction, value)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.info("could not grey out the buttons of message %s", self.message.id)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await handle_error(interaction, error)


# --- the event card and its buttons ------------------------------------------------------------


class EventButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chronicle:event:(?P<action>related|sources):(?P<id>\d+)",
):
    """ "Related" and "Sources" under an event card. The custom id carries the event, so the
    buttons work for anyone, on any card, across restarts; the answer is private."""

    LABELS: ClassVar[dict[str, str]] = {"related": "Related", "sources": "Sources"}

    def __init__(self, action: str, event_id: int):
        super().__init__(
            discord.ui.Button(
                label=self.LABELS[action],
                style=discord.ButtonStyle.secondary,
                custom_id=f"chronicle:event:{action}:{event_id}",
            )
        )
        self.action = action
        self.event_id = event_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EventButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await respond(interaction, self._reply(interaction), ephemeral=True)
        except Exception as error:  # one handler for everything, as for commands
            await handle_error(interaction, error)

    async def _reply(self, interaction: discord.Interaction) -> Reply:
        bot = chronicle(interaction)
        event = await bot.storage.events.get(self.event_id)
        if event is None:
            raise NotFound("That event is no longer in the archive.")
        if self.action == "sources":
            return Reply(embed=render.sources_embed(event))
        return await related_reply(bot, interaction.user.id, event)


def event_card_view(event: Event) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(EventButton("related", event.id))
    view.add_item(EventButton("sources", event.id))
    return view


async def event_card_reply(bot: Chronicle, event: Event) -> Reply:
    card = await lookups.card_for(bot.storage, event)
    return Reply(embed=render.event_embed(card), view=event_card_view(event))


async def related_reply(bot: Chronicle, owner_id: int, event: Event) -> Reply:
    async def load(page: int) -> Page:
        items = await bot.storage.events.related(
            event.id, limit=render.PAGE_SIZE + 1, offset=page * render.PAGE_SIZE
        )
        shown = items[: render.PAGE_SIZE]
        return Page(
            render.related_page_embed(event, shown, page, len(items) > render.PAGE_SIZE),
            len(items) > render.PAGE_SIZE,
        )

    embed, view = await PagedView.start(owner_id, load, timeout=bot.view_timeout)
    return Reply(embed=embed, view=view)


def event_options(items: Sequence[Any]) -> list[discord.SelectOption]:
    """Select options for event briefs (label: headline, description: date)."""
    return [
        discord.SelectOption(
            label=render.cut(brief.headline, render.SELECT_TEXT_LIMIT),
            description=brief.date.isoformat(),
            value=str(brief.id),
        )
        for brief in items
    ]
