"""Models -> plain text: what the command line prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.ingest.articles import lead
from bot.render.common import co_window, count, day_heading, month_day, utc_minute
from bot.render.wrap import TEXT_WIDTH, hang
from bot.services.lookups import EventCard
from storage.models import ArchiveStats, EntityProfile, Event, EventBrief, RelatedEvent, SearchHit


def _wrap(text: str, indent: str = "", width: int = TEXT_WIDTH) -> str:
    """Paragraphs (split at blank lines) wrapped to the width, each line indented."""
    return "\n".join(hang(p, indent, indent, width) for p in text.split("\n\n"))


def _marked(brief: EventBrief) -> str:
    """A headline, marked when the event is known only from links to it."""
    return brief.headline if brief.complete else f"{brief.headline}  (incomplete)"


def _brief_lines(
    lead: str, brief: EventBrief, width: int, keys: bool, key_indent: str
) -> list[str]:
    """An event as a list item: `lead` (a number, a bullet), its date and headline wrapped
    under the headline, and its key on a line of its own when asked for."""
    lines = [hang(_marked(brief), f"{lead}{brief.date.isoformat()}  ", width=width)]
    if keys:
        lines.append(f"{key_indent}key: {brief.key}")
    return lines


def related_lines(
    related: Sequence[RelatedEvent],
    start: int = 1,
    *,
    width: int = TEXT_WIDTH,
    keys: bool = False,
) -> list[str]:
    lines = []
    for number, item in enumerate(related, start=start):
        lines += _brief_lines(f"  {number:>2}. ", item.event, width, False, "")
        lines.append(hang(", ".join(item.shared), "      shared: ", width=width))
        if keys:
            lines.append(f"      key: {item.event.key}")
    return lines


def event_text(card: EventCard, *, width: int = TEXT_WIDTH, keys: bool = False) -> str:
    event = card.event
    lines = [hang(event.headline, f"{event.date.isoformat()}  ", width=width)]
    if keys:
        lines.append(f"key: {event.key}")
    if event.story:
        lines.append(hang(event.story, "story: ", width=width))
    if event.category:
        lines.append(hang(event.category, "category: ", width=width))
    if card.portal_page:
        lines.append(f"Wikipedia: {card.portal_page}")
    if event.removed_at:
        lines.append(f"(removed from the portal on {utc_minute(event.removed_at)})")
    if not event.complete:
        lines.append(
            hang(
                "(incomplete: known from links to it; its own page has not been imported)",
                width=width,
            )
        )
    lines += ["", _wrap(event.summary or event.headline, width=width), ""]
    if event.sources:
        lines.append("Sources")
        number = 0
        for source in event.sources:
            if source.is_image:
                lines.append(f"      cover image: {source.url}")
            else:
                number += 1
                lines.append(hang(f"{source.name} — {source.url}", f"  {number:>2}. ", width=width))
        lines.append("")
    lines.append(
        hang(", ".join(event.entities) if event.entities else "none", "Entities: ", width=width)
    )
    lines.append("")
    if card.related:
        lines.append(f"Related ({len(card.related)} shown, most shared entities first)")
        lines += related_lines(card.related, width=width, keys=keys)
    else:
        lines.append("Related: none (no other event shares an entity with it)")
    for article in event.articles:
        lines += ["", hang(article.title, "Article: ", width=width)]
        if article.score is not None:
            lines.append(f"  (matched automatically, score {article.score:.2f})")
        lines.append(_wrap(lead(article.text), indent="  ", width=width))
    return "\n".join(lines)


def hits_text(hits: Sequence[SearchHit], *, width: int = TEXT_WIDTH, keys: bool = False) -> str:
    if not hits:
        return "No events found."
    lines: list[str] = []
    for number, hit in enumerate(hits, start=1):
        lines += _brief_lines(f"{number:>3}. ", hit.event, width, keys, "     ")
    return "\n".join(lines)


def onthisday_text(
    month: int,
    day: int,
    events: Sequence[EventBrief],
    today: dt.date,
    *,
    up_to: int | None = None,
    width: int = TEXT_WIDTH,
    keys: bool = False,
) -> str:
    """Events on a month and day, under a heading per year; `up_to`: only that year and
    earlier ones were asked for (`onthisday YYYY-MM-DD`), which the heading says."""
    named = month_day(month, day)
    if not events:
        years = f" up to {up_to}" if up_to is not None else ""
        return f"No events on {named}{years} in the archive."
    lines = [f"On this day, {named}" + (f", up to {up_to}:" if up_to is not None else ":")]
    group = None
    for brief in events:
        # Another day's events (February 29's, on a common year's February 28) apart, dated.
        other_day = (brief.date.month, brief.date.day) != (month, day)
        if (brief.date.year, other_day) != group:
            group = (brief.date.year, other_day)
            lines += ["", day_heading(brief.date, month, day, today)]
        lines.append(hang(_marked(brief), "  • ", width=width))
        if keys:
            lines.append(f"    key: {brief.key}")
    return "\n".join(lines)


def related_text(
    event: Event,
    related: Sequence[RelatedEvent],
    start: int = 1,
    *,
    width: int = TEXT_WIDTH,
    keys: bool = False,
) -> str:
    head = hang(event.headline, f"Related to: {event.date.isoformat()}  ", width=width)
    if keys:
        head += f"\nkey: {event.key}"
    if not related:
        return head + "\nNo other event shares an entity with it."
    return "\n".join([head, "", *related_lines(related, start=start, width=width, keys=keys)])


def entity_text(profile: EntityProfile, *, width: int = TEXT_WIDTH, keys: bool = False) -> str:
    span = (
        f"{profile.first_date.isoformat()} to {profile.last_date.isoformat()}"
        if profile.first_date and profile.last_date
        else "no dates"
    )
    lines = [profile.name, f"{count(profile.event_count, 'event')}, {span}"]
    if profile.aliases:
        lines.append(hang(", ".join(profile.aliases), "also named: ", width=width))
    lines += ["", "Recent events"]
    for brief in profile.recent:
        lines += _brief_lines("  • ", brief, width, keys, "    ")
    if profile.co_entities:
        lines += ["", "Often appears with" + co_window(profile)]
        lines += [
            hang(f"{name} ({count(number, 'event')})", "  • ", width=width)
            for name, number in profile.co_entities
        ]
    return "\n".join(lines)


def stats_text(stats: ArchiveStats) -> str:
    span = (
        f"{stats.first_date.isoformat()} to {stats.last_date.isoformat()}"
        if stats.first_date and stats.last_date
        else "empty"
    )
    lines = [
        f"events:     {stats.events} ({stats.events - stats.incomplete} complete,"
        f" {stats.incomplete} incomplete)",
        f"entities:   {stats.entities}",
        f"sources:    {stats.sources}",
        f"articles:   {stats.articles}",
        f"dates:      {span}",
    ]
    lines += [f"{name + ':':<11} {value}" for name, value in stats.extra.items()]
    if stats.portal_read_at is not None:
        lines.append(f"wikipedia read at: {utc_minute(stats.portal_read_at)}")
    return "\n".join(lines)
