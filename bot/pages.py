"""The pages of /search, /onthisday and /related, and their addresses.

A set of pages is described by what was asked (the words and filters, the day, the event),
not by the bot that answered: its address, written into its buttons' custom ids, is enough
to show any of its pages again, so that the buttons still turn pages after Chronicle
restarts. A search too long for an address (a custom id holds 100 characters) has none; the
bot keeps it in memory while its buttons are live (bot/views.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self

import discord

from bot import render
from bot.context import Chronicle
from bot.errors import NotFound
from bot.language import LANGUAGE_NAMES
from bot.services import lookups
from storage.models import Event, EventBrief

CUSTOM_ID_LIMIT = 100  # Discord's, in characters (UTF-16 code units, as JavaScript counts)


@dataclass
class Page:
    embed: discord.Embed
    has_next: bool
    options: list[discord.SelectOption] = field(default_factory=list)  # the select menu's


class PageSet(Protocol):
    """What a set of pages shows, and how it is written into a custom id."""

    command: ClassVar[str]  # the slash command that makes such pages ("run /search again")
    selectable: ClassVar[bool]  # its pages list events to open from a select menu

    def address(self) -> str: ...

    async def page(self, bot: Chronicle, number: int) -> Page: ...


def among(message: str, language: str) -> str:
    """A "nothing found" message that says which edition was looked in, unless both."""
    if language == "all":
        return message
    return f"{message.removesuffix('.')} among this server's {LANGUAGE_NAMES[language]} events."


def event_options(items: list[EventBrief]) -> list[discord.SelectOption]:
    """Select options for events (label: headline, description: date, value: the id)."""
    return [
        discord.SelectOption(
            label=render.cut(brief.headline, render.SELECT_TEXT_LIMIT),
            description=brief.date.isoformat(),
            value=str(brief.id),
        )
        for brief in items
    ]


def fits_custom_id(text: str) -> bool:
    return len(text.encode("utf-16-le")) // 2 <= CUSTOM_ID_LIMIT


@dataclass(frozen=True)
class SearchPages:
    """/search's results, ten a page; the dates as ISO dates (checked when typed)."""

    command: ClassVar[str] = "search"
    selectable: ClassVar[bool] = True
    query: str
    entity: str | None
    since: str | None
    until: str | None
    language: str

    _ADDRESS: ClassVar[re.Pattern[str]] = re.compile(
        r"search:(?P<language>\w+):(?P<since>[\d-]*):(?P<until>[\d-]*)"
        r":(?P<entity_length>\d+|-):(?P<rest>[\s\S]*)"
    )

    @classmethod
    def typed(
        cls,
        query: str,
        *,
        entity: str | None,
        since: str | None,
        until: str | None,
        language: str,
    ) -> SearchPages:
        """The search as a member typed it; a date that is not one is refused here."""
        since_date = lookups.parse_date(since, what="since date") if since else None
        until_date = lookups.parse_date(until, what="until date") if until else None
        return cls(
            query,
            entity,
            since_date.isoformat() if since_date else None,
            until_date.isoformat() if until_date else None,
            language,
        )

    @property
    def described(self) -> str:
        """The search in words, as its pages' title says it."""
        text = self.query + (f" · {self.entity}" if self.entity else "")
        text += f" · from {self.since}" if self.since else ""
        return text + (f" · to {self.until}" if self.until else "")

    def address(self) -> str:
        entity_length = "-" if self.entity is None else str(len(self.entity))
        return (
            f"search:{self.language}:{self.since or ''}:{self.until or ''}:{entity_length}:"
            f"{self.entity or ''}{self.query}"
        )

    @classmethod
    def from_address(cls, address: str) -> SearchPages | None:
        found = cls._ADDRESS.fullmatch(address)
        if found is None or found["language"] not in LANGUAGE_NAMES:
            return None
        rest = found["rest"]
        entity_length = None if found["entity_length"] == "-" else int(found["entity_length"])
        entity = None if entity_length is None else rest[:entity_length]
        query = rest if entity_length is None else rest[entity_length:]
        return cls(query, entity, found["since"] or None, found["until"] or None, found["language"])

    async def page(self, bot: Chronicle, number: int) -> Page:
        size = render.PAGE_SIZE
        hits = await lookups.search(
            bot.storage,
            self.query,
            entity=self.entity,
            since=self.since,
            until=self.until,
            limit=size + 1,
            offset=number * size,
            language=self.language,
        )
        shown = hits[:size]
        if number == 0 and not shown:
            closest = await bot.storage.search.closest(self.query, language=self.language)
            raise NotFound(
                among(
                    f"No events match “{render.escape(render.cut(self.described, 200))}”.",
                    self.language,
                ),
                [f"{b.date.isoformat()} {b.headline}" for b in closest],
            )
        return Page(
            render.search_page_embed(self.described, shown, number, len(hits) > size),
            len(hits) > size,
            event_options([h.event for h in shown]),
        )


@dataclass(frozen=True)
class OnThisDayPages:
    """/onthisday's events: a month and day, the years asked for, headed as seen from
    `today` (the server's day when it was asked)."""

    command: ClassVar[str] = "onthisday"
    selectable: ClassVar[bool] = False
    month: int
    day: int
    year: int  # whose calendar decides whether February 28 shows February 29's events
    before_year: int | None  # the years before this one; None: every year
    today: dt.date
    language: str

    _ADDRESS: ClassVar[re.Pattern[str]] = re.compile(
        r"onthisday:(?P<language>\w+):(?P<today>[\d-]+):(?P<month>\d+)-(?P<day>\d+)"
        r":(?P<year>\d+):(?P<before_year>\d*)"
    )

    def address(self) -> str:
        return (
            f"onthisday:{self.language}:{self.today.isoformat()}:{self.month}-{self.day}"
            f":{self.year}:{self.before_year or ''}"
        )

    @classmethod
    def from_address(cls, address: str) -> OnThisDayPages | None:
        found = cls._ADDRESS.fullmatch(address)
        if found is None or found["language"] not in LANGUAGE_NAMES:
            return None
        try:
            today = dt.date.fromisoformat(found["today"])
            dt.date(2000, int(found["month"]), int(found["day"]))  # 2000: February 29 exists
        except ValueError:
            return None
        before_year = int(found["before_year"]) if found["before_year"] else None
        return cls(
            int(found["month"]),
            int(found["day"]),
            int(found["year"]),
            before_year,
            today,
            found["language"],
        )

    async def page(self, bot: Chronicle, number: int) -> Page:
        size = render.PAGE_SIZE
        events = await bot.storage.events.on_this_day(
            self.month,
            self.day,
            year=self.year,
            before_year=self.before_year,
            limit=size + 1,
            offset=number * size,
            language=self.language,
        )
        has_next = len(events) > size
        embed = render.onthisday_page_embed(
            self.month, self.day, events[:size], self.today, number, has_next
        )
        return Page(embed, has_next)


@dataclass(frozen=True)
class _EventPages:
    """Pages about one event, addressed as ``<command>:<event id>``."""

    command: ClassVar[str]
    selectable: ClassVar[bool] = False
    event_id: int

    def address(self) -> str:
        return f"{self.command}:{self.event_id}"

    @classmethod
    def from_address(cls, address: str) -> Self | None:
        command, _, event_id = address.partition(":")
        if command != cls.command or not (event_id.isascii() and event_id.isdigit()):
            return None
        return cls(int(event_id)) if len(event_id) <= 18 else None

    async def _event(self, bot: Chronicle) -> Event:
        event = await bot.storage.events.get(self.event_id)
        if event is None:
            raise NotFound("That event is no longer in the archive.")
        return event


@dataclass(frozen=True)
class RelatedPages(_EventPages):
    """The events related to one, by the entities they share."""

    command: ClassVar[str] = "related"

    async def page(self, bot: Chronicle, number: int) -> Page:
        event = await self._event(bot)
        size = render.PAGE_SIZE
        items = await bot.storage.events.related(event.id, limit=size + 1, offset=number * size)
        has_next = len(items) > size
        return Page(render.related_page_embed(event, items[:size], number, has_next), has_next)


@dataclass(frozen=True)
class SourcesPages(_EventPages):
    """An event's sources, as many a page as fit."""

    command: ClassVar[str] = "sources"

    async def page(self, bot: Chronicle, number: int) -> Page:
        event = await self._event(bot)
        has_next = number + 1 < len(render.source_pages(event))
        return Page(render.sources_embed(event, number), has_next)


def page_set_at(address: str) -> PageSet | None:
    """The set of pages an address names; None for an address of no known kind."""
    kind = address.partition(":")[0]
    for pages in (SearchPages, OnThisDayPages, RelatedPages, SourcesPages):
        if kind == pages.command:
            return pages.from_address(address)
    return None
