"""Replies and their components: deferral, pagination, the event card's buttons.

Cogs describe what to say; this module takes care of how Discord expects it said: answer
within a second or defer, pages that only the asker can turn, and buttons on event cards and
pages that keep working after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import discord

from bot import render
from bot.context import Chronicle
from bot.errors import InvalidInput, NotFound, UserError
from bot.pages import (
    Page,
    PageSet,
    RelatedPages,
    SourcesPages,
    fits_custom_id,
    page_set_at,
)
from bot.services import lookups
from bot.tree import AWAITING_ANSWER, Admitted, handle_error
from storage.models import Event

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 0.8  # Discord allows 3 s for the first answer; defer well before
LARGEST_PAGE = 999_999  # a set's address must fit a custom id with any page number up to this
KEPT = "kept"  # the address of a set kept in memory: kept:<command>:<token>
KEPT_ADDRESS = re.compile(r"kept:(?P<command>\w+):(?P<token>\w+)")
OTHERS_PAGES = "These buttons belong to the person who ran the command; run it yourself to browse."


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
        reply.view.keep()


async def update(interaction: discord.Interaction, work: Awaitable[Reply]) -> None:
    """Replace the message a component is on with the reply `work` builds; defer first if
    that takes longer than a moment. Errors go to the caller's handler."""
    reply = await _deferring(work, interaction.response.defer)
    if interaction.response.is_done():
        await interaction.edit_original_response(**reply.message())
    else:
        await interaction.response.edit_message(**reply.message())


class PagedView(discord.ui.View):
    """Previous/Next over a set of pages (bot/pages.py), and on pages that list events, a
    select menu to open one.

    Only the person who asked can turn the pages; anyone can open an event from the menu,
    privately. The buttons carry the set's address, so they keep working after a restart
    and never time out; a set too long for an address (a long search) is kept in memory
    under a token instead, once its message is sent, and its buttons grey out after the
    bot's view timeout, so nobody clicks a dead button.
    """

    def __init__(self, bot: Chronicle, owner_id: int, pages: PageSet, number: int, current: Page):
        address = pages.address()
        kept = not fits_custom_id(page_turn_id(owner_id, LARGEST_PAGE, address))
        super().__init__(timeout=bot.view_timeout if kept else None)
        if not kept:
            # Its buttons are dynamic items that carry everything: stopped, the view is
            # neither stored nor timed out by discord.py (which gives a private reply's
            # view 15 minutes, then greys it out with an expired token).
            self.stop()
        self.bot = bot
        self.owner_id = owner_id
        self.pages = pages
        self.page = number
        self.current = current
        self.message: discord.Message | None = None
        self.token: str | None = None
        if kept:
            self.token = secrets.token_hex(8)
            address = f"{KEPT}:{pages.command}:{self.token}"
        self.address = address
        self._sync()

    @classmethod
    async def start(
        cls, bot: Chronicle, owner_id: int, pages: PageSet
    ) -> tuple[discord.Embed, PagedView | None]:
        first = await pages.page(bot, 0)
        if not first.has_next and not pages.selectable:
            return first.embed, None  # one page, nothing to open: no components
        return first.embed, cls(bot, owner_id, pages, 0, first)

    def _sync(self) -> None:
        self.clear_items()
        if self.pages.selectable:
            self.add_item(OpenEvent(self.current.options[: render.SELECT_OPTIONS_LIMIT]))
        previous = max(self.page - 1, 0)
        self.add_item(PageTurn(self.owner_id, previous, self.address, "Previous", self.page == 0))
        nxt = self.page + 1
        self.add_item(PageTurn(self.owner_id, nxt, self.address, "Next", not self.current.has_next))

    async def turn(self, number: int) -> Reply:
        """The page `number`, with this view set to it."""
        self.current = await self.pages.page(self.bot, number)
        self.page = number
        self._sync()
        return self.reply()

    def reply(self) -> Reply:
        return Reply(embed=self.current.embed, view=self)

    def keep(self) -> None:
        """Its message was sent: a set without an address is kept until the view times
        out. (Kept before, a reply Discord refused would be kept for good: only a sent
        message's view is timed out.)"""
        if self.token is not None:
            self.bot.kept_pages[self.token] = self

    async def on_timeout(self) -> None:
        if self.token is None:
            return  # pages with an address never time out
        self.bot.kept_pages.pop(self.token, None)
        for child in self.children:
            if isinstance(child, PageTurn | OpenEvent):
                child.item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as exc:
                # Harmless: a click on its live buttons says the pages expired.
                log.info("could not grey out the buttons of message %s: %s", self.message.id, exc)


def page_turn_id(owner_id: int, page: int, address: str) -> str:
    return f"chronicle:pages:{owner_id}:{page}:{address}"


class PageTurn(
    Admitted,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chronicle:pages:(?P<owner>\d+):(?P<page>\d{1,9}):(?P<address>[\s\S]+)",
):
    """Previous or Next under a set of pages: shows page `page` of the set at `address`
    (bot/pages.py), or of the set kept under a token, for the member who asked only."""

    def __init__(
        self,
        owner_id: int,
        page: int,
        address: str,
        label: str = "Page",
        disabled: bool = False,
    ):
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=page_turn_id(owner_id, page, address),
                disabled=disabled,
                row=1,
            )
        )
        self.owner_id = owner_id
        self.page = page
        self.address = address

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PageTurn:
        return cls(int(match["owner"]), int(match["page"]), match["address"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if interaction.user.id != self.owner_id:
                raise InvalidInput(OTHERS_PAGES)
            await update(interaction, self._turned(chronicle(interaction)))
        except Exception as error:  # one handler for everything, as for commands
            await handle_error(interaction, error)

    async def _turned(self, bot: Chronicle) -> Reply:
        kept = KEPT_ADDRESS.fullmatch(self.address)
        if kept is not None:
            view = bot.kept_pages.get(kept["token"])
            if view is None:
                raise NotFound(
                    "These pages expired (they last a few idle minutes, and not across a"
                    f" restart): run /{kept['command']} again."
                )
            return await view.turn(self.page)
        pages = page_set_at(self.address)
        if pages is None:
            raise NotFound("These pages are no longer available: run the command again.")
        current = await pages.page(bot, self.page)
        return PagedView(bot, self.owner_id, pages, self.page, current).reply()


class OpenEvent(
    Admitted, discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"chronicle:open-event"
):
    """ "Open one…" over a page of events: the event picked, on its card, privately. Its
    options carry the events' ids, so it works for anyone, across restarts."""

    def __init__(self, options: list[discord.SelectOption] | None = None):
        nothing = [discord.SelectOption(label="(nothing on this page)", value="-")]
        super().__init__(
            discord.ui.Select(
                custom_id="chronicle:open-event",
                placeholder="Open one…",
                min_values=1,
                max_values=1,
                options=options or nothing,
                disabled=not options,
                row=0,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> OpenEvent:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await respond(interaction, self._card(interaction), ephemeral=True)
        except Exception as error:
            await handle_error(interaction, error)

    async def _card(self, interaction: discord.Interaction) -> Reply:
        bot = chronicle(interaction)
        picked = lookups.row_id(self.item.values[0]) if self.item.values else None
        event = await bot.storage.events.get(picked) if picked is not None else None
        if event is None:
            raise NotFound("That event is no longer in the archive.")
        return await event_card_reply(bot, event)


# --- the event card and its buttons ------------------------------------------------------------


class EventButton(
    Admitted,
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
        # The first page reads the event (and says when it is no longer in the archive).
        pages = (SourcesPages if self.action == "sources" else RelatedPages)(self.event_id)
        embed, view = await PagedView.start(chronicle(interaction), interaction.user.id, pages)
        return Reply(embed=embed, view=view)


def event_card_view(event: Event) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(EventButton("related", event.id))
    view.add_item(EventButton("sources", event.id))
    return view


async def event_card_reply(bot: Chronicle, event: Event) -> Reply:
    card = await lookups.card_for(bot.storage, event)
    return Reply(embed=render.event_embed(card), view=event_card_view(event))


async def related_reply(bot: Chronicle, owner_id: int, event: Event) -> Reply:
    embed, view = await PagedView.start(bot, owner_id, RelatedPages(event.id))
    return Reply(embed=embed, view=view)
