"""Events -> text, JSON-ready dicts and Discord embeds. Pure functions, no I/O, no SQL.

The command line and the bot render from the same models with the same rules, so
`chronicle show` and `/event` say the same things.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence
from typing import Any

from bot.ingest.articles import lead
from bot.services.lookups import EventCard
from storage.models import ArchiveStats, EntityProfile, Event, EventBrief, RelatedEvent, SearchHit


def cut(text: str, limit: int, marker: str = "…") -> str:
    """Text at most `limit` characters long, cut at a word boundary and marked."""
    if len(text) <= limit:
        return text
    room = limit - len(marker)
    if room <= 0:
        return marker[:limit]
    head = text[:room]
    space = head.rfind(" ")
    if space > room // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-—") + marker


def years_ago(date: dt.date, today: dt.date) -> str:
    years = today.year - date.year - ((today.month, today.day) < (date.month, date.day))
    if years <= 0:
        return "this year"
    return "1 year ago" if years == 1 else f"{years} years ago"


# --- JSON-ready dicts (the CLI's --json; a public interface) ----------------------------------


def brief_to_dict(brief: EventBrief) -> dict[str, Any]:
    return {
        "key": brief.key,
        "date": brief.date.isoformat(),
        "headline": brief.headline,
        "complete": brief.complete,
        "url": brief.url,
    }


def related_to_dict(item: RelatedEvent) -> dict[str, Any]:
    return {**brief_to_dict(item.event), "shared": list(item.shared)}


def event_to_dict(event: Event, related: Sequence[RelatedEvent] = ()) -> dict[str, Any]:
    image = next((s.url for s in event.sources if s.is_image), None)
    return {
        "key": event.key,
        "date": event.date.isoformat(),
        "headline": event.headline,
        "summary": event.summary or event.headline,
        "story": event.story,
        "complete": event.complete,
        "entities": list(event.entities),
        "sources": [{"name": s.name, "url": s.url} for s in event.sources if not s.is_image],
        "image": image,
        "related": [related_to_dict(r) for r in related],
        "articles": [
            {"title": a.title, "text": a.text, "publisher": a.publisher, "score": a.score}
            for a in event.articles
        ],
    }


def entity_to_dict(profile: EntityProfile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "events": profile.event_count,
        "first_date": profile.first_date.isoformat() if profile.first_date else None,
        "last_date": profile.last_date.isoformat() if profile.last_date else None,
        "recent": [brief_to_dict(b) for b in profile.recent],
        "co_entities": [{"name": n, "events": c} for n, c in profile.co_entities],
    }


def stats_to_dict(stats: ArchiveStats) -> dict[str, Any]:
    return {
        "events": stats.events,
        "complete": stats.events - stats.incomplete,
        "incomplete": stats.incomplete,
        "entities": stats.entities,
        "sources": stats.sources,
        "articles": stats.articles,
        "first_date": stats.first_date.isoformat() if stats.first_date else None,
        "last_date": stats.last_date.isoformat() if stats.last_date else None,
        **stats.extra,
    }


# --- plain text (the CLI) ---------------------------------------------------------------------


def _wrap(text: str, indent: str = "", width: int = 88) -> str:
    return "\n".join(
        textwrap.fill(p, width=width, initial_indent=indent, subsequent_indent=indent)
        for p in text.split("\n\n")
    )


def brief_line(brief: EventBrief) -> str:
    marker = "" if brief.complete else "  (incomplete)"
    return f"{brief.date.isoformat()}  {brief.headline}{marker}"


def related_lines(related: Sequence[RelatedEvent], start: int = 1) -> list[str]:
    lines = []
    for number, item in enumerate(related, start=start):
        lines.append(f"  {number:>2}. {brief_line(item.event)}")
        lines.append(f"      shared: {', '.join(item.shared)}")
        lines.append(f"      key: {item.event.key}")
    return lines


def event_text(card: EventCard) -> str:
    event = card.event
    lines = [f"{event.date.isoformat()}  {event.headline}", f"key: {event.key}"]
    if event.story:
        lines.append(f"story: {event.story}")
    if not event.complete:
        lines.append("(incomplete: known from links to it; its own page has not been imported)")
    lines += ["", _wrap(event.summary or event.headline), ""]
    if event.sources:
        lines.append("Sources")
        number = 0
        for source in event.sources:
            if source.is_image:
                lines.append(f"      cover image: {source.url}")
            else:
                number += 1
                lines.append(f"  {number:>2}. {source.name} — {source.url}")
        lines.append("")
    lines.append("Entities: " + (", ".join(event.entities) if event.entities else "none"))
    lines.append("")
    if card.related:
        lines.append(f"Related ({len(card.related)} shown, most shared entities first)")
        lines += related_lines(card.related)
    else:
        lines.append("Related: none (no other event shares an entity with it)")
    for article in event.articles:
        lines += ["", f"Article: {article.title}"]
        if article.score is not None:
            lines.append(f"  (matched automatically, score {article.score:.2f})")
        lines.append(_wrap(lead(article.text), indent="  "))
    return "\n".join(lines)


def hits_text(hits: Sequence[SearchHit]) -> str:
    if not hits:
        return "No events found."
    return "\n".join(
        f"{number:>3}. {brief_line(hit.event)}\n     key: {hit.event.key}"
        for number, hit in enumerate(hits, start=1)
    )


def onthisday_text(month: int, day: int, events: Sequence[EventBrief], today: dt.date) -> str:
    if not events:
        return f"No events on {dt.date(2000, month, day):%B} {day} in the archive."
    lines = [f"On this day, {dt.date(2000, month, day):%B} {day}:"]
    year = None
    for brief in events:
        if brief.date.year != year:
            year = brief.date.year
            lines += ["", f"{year} — {years_ago(brief.date, today)}"]
        lines.append(f"  • {brief.headline}")
        lines.append(f"    key: {brief.key}")
    return "\n".join(lines)


def related_text(event: Event, related: Sequence[RelatedEvent], start: int = 1) -> str:
    head = f"Related to: {event.date.isoformat()}  {event.headline}"
    if not related:
        return head + "\nNo other event shares an entity with it."
    return "\n".join([head, "", *related_lines(related, start=start)])


def entity_text(profile: EntityProfile) -> str:
    span = (
        f"{profile.first_date.isoformat()} to {profile.last_date.isoformat()}"
        if profile.first_date and profile.last_date
        else "no dates"
    )
    lines = [profile.name, f"{profile.event_count} events, {span}", "", "Recent events"]
    lines += [f"  • {brief_line(b)}" for b in profile.recent]
    if profile.co_entities:
        lines += ["", "Often appears with"]
        lines += [f"  • {name} ({count} events)" for name, count in profile.co_entities]
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
    return "\n".join(lines)
