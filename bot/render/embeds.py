"""Models -> Discord embeds: the event card and the lookups' pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.ingest.articles import lead
from bot.render.common import co_window, count, cut, day_heading, month_day
from bot.render.limits import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    PAGE_SIZE,
    TITLE_LIMIT,
    base_embed,
    fit_embed,
    lines_within,
)
from bot.render.markdown import (
    cut_escaped,
    discord_date,
    discord_time,
    escape,
    link,
    safe_url,
)
from bot.services.lookups import EventCard
from storage.models import ArchiveStats, EntityProfile, Event, EventBrief, RelatedEvent, SearchHit

if TYPE_CHECKING:  # the command line renders text without loading discord.py
    import discord


def source_lines(event: Event) -> list[str]:
    lines = []
    number = 0
    for source in event.sources:
        if source.is_image:
            continue
        number += 1
        lines.append(f"{number}. {link(source.name, source.url)}")
    return lines


def related_line(item: RelatedEvent, headline_chars: int = 140, *, linked: bool = True) -> str:
    """A related event: its date, headline and the entities it shares (named, in italics)."""
    headline = cut(item.event.headline, headline_chars)
    title = link(headline, item.event.url) if linked else escape(headline)
    shared = cut(", ".join(item.shared), 120 if linked else 80)
    return f"• {discord_date(item.event.date, 'd')} {title}\n  *shared: {escape(shared)}*"


def event_embed(card: EventCard) -> discord.Embed:
    """The event card: headline linked to its first source, date, summary, sources,
    entities, story, the top related events, attached articles."""
    event = card.event
    brief = event.brief
    summary = event.summary or event.headline
    embed = base_embed(escape(event.headline), brief.url, cut(escape(summary), 2500))
    embed.add_field(name="Date", value=discord_date(event.date), inline=True)
    if event.story:
        embed.add_field(name="Story", value=escape(event.story), inline=True)
    if event.category:
        embed.add_field(name="Category", value=escape(event.category), inline=True)
    if card.portal_page:
        embed.add_field(
            name="Wikipedia",
            value=link(f"Current events, {event.date.day} {event.date:%B %Y}", card.portal_page),
            inline=True,
        )
    if event.removed_at:
        embed.add_field(
            name="Removed",
            value=f"Taken off the portal's page {discord_time(event.removed_at, 'R')}.",
            inline=True,
        )
    if not event.complete:
        embed.add_field(
            name="Incomplete",
            value="Known from links to it; its own page is not in the archive.",
            inline=True,
        )
    if sources := source_lines(event):
        embed.add_field(
            name=f"Sources ({len(sources)})",
            value=lines_within(sources, FIELD_VALUE_LIMIT, "… and {n} more: press Sources"),
            inline=False,
        )
    if event.entities:
        embed.add_field(
            name="Entities",
            value=cut(escape(", ".join(event.entities)), FIELD_VALUE_LIMIT),
            inline=False,
        )
    if card.related:
        shown = [related_line(r, 80, linked=False) for r in card.related[:5]]
        more = " (more: press Related)" if len(card.related) > len(shown) else ""
        embed.add_field(
            name=f"Related{more}", value=lines_within(shown, FIELD_VALUE_LIMIT), inline=False
        )
    for article in event.articles[:2]:
        embed.add_field(
            name=cut(f"Article: {article.title}", FIELD_NAME_LIMIT),
            value=cut(escape(lead(article.text)), 400),
            inline=False,
        )
    image = safe_url(next((s.url for s in event.sources if s.is_image), None))
    if image:
        embed.set_image(url=image)
    embed.set_footer(text=event.key)
    return fit_embed(embed)


def source_pages(event: Event) -> list[list[str]]:
    """The event's sources as the Sources button lists them: numbered, in pages of as many
    whole lines as a description holds (with room for the title and the cover image)."""
    room = DESCRIPTION_LIMIT - 200
    pages: list[list[str]] = [[]]
    size = 0
    for line in source_lines(event):
        line = cut(line, room)
        if pages[-1] and size + 1 + len(line) > room:
            pages.append([])
            size = 0
        size += len(line) + (1 if pages[-1] else 0)
        pages[-1].append(line)
    return pages


def sources_embed(event: Event, page: int = 0) -> discord.Embed:
    """A page of the event's sources (`source_pages`), its cover image on the first."""
    pages = source_pages(event)
    lines = pages[page] if page < len(pages) else []
    embed = base_embed(f"Sources: {escape(event.headline)}", event.brief.url)
    embed.description = "\n".join(lines) if lines else "No sources recorded."
    images = [s.url for s in event.sources if s.is_image]
    if images and page == 0:
        embed.add_field(
            name="Cover image", value=lines_within([link("image", u) for u in images], 1024)
        )
    if len(pages) > 1:
        embed.set_footer(text=f"Page {page + 1} of {len(pages)} · {sum(map(len, pages))} sources")
    return fit_embed(embed)


def related_page_embed(
    event: Event, related: Sequence[RelatedEvent], page: int, has_next: bool
) -> discord.Embed:
    embed = base_embed(f"Related to: {escape(event.headline)}", event.brief.url)
    if related:
        start = page * PAGE_SIZE
        lines = [f"**{start + n}.** {related_line(r)}" for n, r in enumerate(related, start=1)]
        embed.description = lines_within(lines, DESCRIPTION_LIMIT)
    else:
        embed.description = "No other event shares an entity with it."
    embed.set_footer(text=_page_footer(page, has_next, "most shared entities first, then newest"))
    return fit_embed(embed)


def _page_footer(page: int, has_next: bool, note: str = "") -> str:
    more = "" if has_next else " (last)"
    return f"Page {page + 1}{more}" + (f" · {note}" if note else "")


def search_page_embed(
    description: str, hits: Sequence[SearchHit], page: int, has_next: bool
) -> discord.Embed:
    embed = base_embed(cut(f"Search: {escape(description)}", TITLE_LIMIT))
    start = page * PAGE_SIZE
    lines = [
        f"**{n}.** {discord_date(h.event.date, 'd')} "
        f"{link(cut(h.event.headline, 200), h.event.url)}"
        for n, h in enumerate(hits, start=start + 1)
    ]
    embed.description = lines_within(lines, DESCRIPTION_LIMIT) if lines else "No events found."
    embed.set_footer(text=_page_footer(page, has_next, "pick one below to open it"))
    return fit_embed(embed)


def onthisday_page_embed(
    month: int, day: int, events: Sequence[EventBrief], today: dt.date, page: int, has_next: bool
) -> discord.Embed:
    embed = base_embed(f"On this day: {month_day(month, day)}")
    if not events:
        embed.description = f"No events on {month_day(month, day)} in earlier years."
        return fit_embed(embed)
    lines: list[str] = []
    group = None
    for brief in events:
        # Another day's events (February 29's, on a common year's February 28) apart, dated.
        other_day = (brief.date.month, brief.date.day) != (month, day)
        if (brief.date.year, other_day) != group:
            group = (brief.date.year, other_day)
            lines.append(f"**{day_heading(brief.date, month, day, today)}**")
        lines.append(f"• {link(cut(brief.headline, 250), brief.url)}")
    embed.description = lines_within(lines, DESCRIPTION_LIMIT)
    embed.set_footer(text=_page_footer(page, has_next, "newest first"))
    return fit_embed(embed)


def entity_embed(profile: EntityProfile) -> discord.Embed:
    embed = base_embed(escape(profile.name))
    span = (
        f"{discord_date(profile.first_date)} – {discord_date(profile.last_date)}"
        if profile.first_date and profile.last_date
        else "no dates"
    )
    embed.description = f"{count(profile.event_count, 'event', bold=True)}, {span}"
    if profile.recent:
        embed.add_field(
            name="Recent events",
            value=lines_within(
                [
                    f"• {discord_date(b.date, 'd')} {link(cut(b.headline, 120), b.url)}"
                    for b in profile.recent
                ],
                FIELD_VALUE_LIMIT,
            ),
            inline=False,
        )
    if profile.co_entities:
        embed.add_field(
            name="Often appears with" + co_window(profile),
            value=lines_within(
                [f"• {escape(name)} ({count})" for name, count in profile.co_entities],
                FIELD_VALUE_LIMIT,
            ),
            inline=False,
        )
    return fit_embed(embed)


def about_embed(stats: ArchiveStats) -> discord.Embed:
    embed = base_embed("Chronicle")
    embed.description = (
        "An archive of world news events with their sources and related events. "
        "Look events up, get daily digests, and follow people, groups, places and stories."
    )
    span = (
        f"{discord_date(stats.first_date)} – {discord_date(stats.last_date)}"
        if stats.first_date and stats.last_date
        else "empty"
    )
    embed.add_field(
        name="The archive",
        value=(
            f"{count(stats.events - stats.incomplete, 'event', bold=True)}"
            f" ({stats.incomplete} more known only by links)\n"
            f"{count(stats.sources, 'source', bold=True)}"
            f" · {count(stats.entities, 'entity', 'entities', bold=True)}"
            f" · {count(stats.articles, 'article', bold=True)}\n"
            f"Dates: {span}"
        ),
        inline=False,
    )
    if stats.portal_read_at is not None:
        embed.add_field(
            name="Wikipedia",
            value=(
                "The Current events portal, last read"
                f" {discord_time(stats.portal_read_at, 'R')}:"
                f" {count(stats.extra.get('wikipedia_days', 0), 'day', bold=True)},"
                f" {count(stats.extra.get('wikipedia_events', 0), 'event', bold=True)}"
            ),
            inline=False,
        )
    if "feeds" in stats.extra:
        failing = stats.extra.get("feeds_failing", 0)
        health = "all healthy" if not failing else f"{failing} failing"
        embed.add_field(
            name="Feeds",
            value=f"{count(stats.extra['feeds'], 'feed', bold=True)}, {health}",
            inline=False,
        )
    embed.add_field(
        name="Commands",
        value=(
            "`/event` an event's card · `/search` find events · `/onthisday` this day in history\n"
            "`/related` events sharing people, places, groups"
            " · `/entity` what the archive knows of one"
        ),
        inline=False,
    )
    return fit_embed(embed)


def error_text(message: str, suggestions: Sequence[str] = ()) -> str:
    """A message and what was probably meant, each suggestion whole (a name to copy) unless
    together they are longer than a message holds: then each is cut to its share."""
    text = message
    if suggestions:
        shown = [escape(s) for s in suggestions[:5]]
        header = "\nDid you mean:\n"
        room = CONTENT_LIMIT - len(text) - len(header)
        if sum(len(f"• {line}\n") for line in shown) > room:
            shown = [cut_escaped(line, room // len(shown) - len("• \n")) for line in shown]
        text += header + "\n".join(f"• {line}" for line in shown)
    return cut(text, CONTENT_LIMIT)
