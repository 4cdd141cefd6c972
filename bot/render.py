"""Events -> text, JSON-ready dicts and Discord embeds. Pure functions, no I/O, no SQL.

The command line and the bot render from the same models with the same rules, so
`chronicle show` and `/event` say the same things.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.ingest.articles import lead
from bot.services.lookups import EventCard
from storage.models import ArchiveStats, EntityProfile, Event, EventBrief, RelatedEvent, SearchHit
from storage.times import utc_iso

if TYPE_CHECKING:
    from bot.digests import DigestContent
    from bot.services.wikipedia import WikipediaStatus
    from storage.models import Feed


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


def count(number: int, noun: str, plural: str | None = None, *, bold: bool = False) -> str:
    """A number and its noun as English writes them: "1 event", "2 events", "0 events"
    (`plural` for nouns that do not just take an s: "entry", "entries"); the number in
    bold for Discord with `bold`."""
    shown = f"**{number:,}**" if bold else f"{number:,}"
    return f"{shown} {noun if number == 1 else plural or noun + 's'}"


def years_ago(date: dt.date, today: dt.date) -> str:
    """How long ago a date was in whole years: "this year", "1 year ago", "9 years ago".
    Every "N years ago" Chronicle writes, in the terminal and in Discord, comes from here."""
    years = today.year - date.year - ((today.month, today.day) < (date.month, date.day))
    if years <= 0:
        return "this year"
    return f"{count(years, 'year')} ago"


def year_heading(date: dt.date, today: dt.date) -> str:
    """The heading over a year's events on a day: "9 years ago — 2017", "This year — 2026"."""
    return f"{years_ago(date, today).capitalize()} — {date.year}"


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


def event_to_dict(
    event: Event, related: Sequence[RelatedEvent] = (), *, portal_page: str | None = None
) -> dict[str, Any]:
    images = [s.url for s in event.sources if s.is_image]
    return {
        "key": event.key,
        "date": event.date.isoformat(),
        "headline": event.headline,
        "summary": event.summary,  # as stored: "" when the page has none
        "story": event.story,
        "category": event.category,
        "complete": event.complete,
        "portal_page": portal_page,
        "removed_at": utc_iso(event.removed_at),
        "entities": list(event.entities),
        "sources": [{"name": s.name, "url": s.url} for s in event.sources if not s.is_image],
        "image": images[0] if images else None,
        "images": images,  # every cover image, one a source at most
        "related": [related_to_dict(r) for r in related],
        "articles": [
            {"title": a.title, "text": a.text, "publisher": a.publisher, "score": a.score}
            for a in event.articles
        ],
    }


def utc_minute(moment: dt.datetime) -> str:
    """A moment as the terminal shows it: "2017-06-16 14:05 UTC"."""
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def feed_to_dict(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "name": feed.name,
        "url": feed.url,
        "status": feed.status,
        "disabled_reason": feed.disabled_reason,
        "disabled_at": utc_iso(feed.disabled_at),
        "added_at": utc_iso(feed.added_at),
        "last_success_at": utc_iso(feed.last_success_at),
        "last_attempt_at": utc_iso(feed.last_attempt_at),
        "last_error": feed.last_error,
        "last_error_kind": feed.last_error_kind,
        "last_error_at": utc_iso(feed.last_error_at),
        "consecutive_failures": feed.consecutive_failures,
        "next_poll_at": utc_iso(feed.next_poll_at) if feed.active else None,
        "events_added": feed.events_added,
        "entries_seen": feed.entries_seen,
    }


def wikipedia_status_to_dict(status: WikipediaStatus) -> dict[str, Any]:
    poll = status.poll
    return {
        "api_url": status.api_url,
        "poll_minutes": status.poll_minutes,
        "last_poll_at": utc_iso(poll.last_attempt_at),
        "last_success_at": utc_iso(poll.last_success_at),
        "last_error": poll.last_error,
        "last_error_at": utc_iso(poll.last_error_at),
        "consecutive_failures": poll.consecutive_failures,
        "next_poll_at": utc_iso(poll.next_poll_at) if status.poll_minutes else None,
        "days": [
            {
                "date": d.date.isoformat(),
                "title": d.title,
                "url": d.page_url,
                "revision": d.revision_id,
                "revision_at": utc_iso(d.revision_at),
                "events": d.items,
                "error": d.error,
                "fetched_at": utc_iso(d.fetched_at),
            }
            for d in status.days
        ],
    }


def entity_to_dict(profile: EntityProfile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "aliases": list(profile.aliases),
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
        "wikipedia_read_at": utc_iso(stats.portal_read_at),
    }


# --- plain text (the CLI) ---------------------------------------------------------------------

TEXT_WIDTH = 88  # when the output is not a terminal
MIN_ROOM = 20  # columns a hanging indent leaves for text, at least, on a narrow terminal
_CLOSING = frozenset({"Pe", "Pf", "Po"})  # punctuation that ends what it follows
_OPENING = frozenset({"Ps", "Pi"})  # punctuation that starts what follows it


def _columns(text: str) -> int:
    """How many terminal columns text takes: Chinese and Japanese characters take two."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _units(text: str) -> list[tuple[bool, str]]:
    """Text as the pieces a line may break between, each with whether a space comes before
    it: words, and each wide (Chinese, Japanese) character alone, as those scripts break
    between any two characters; but never before a comma or a closing bracket that
    follows without a space, nor after an opening bracket."""
    units: list[tuple[bool, str]] = []
    space = glue = False
    word = ""

    def add(unit: str) -> None:
        nonlocal space, glue
        if units and (glue or (not space and unicodedata.category(unit[0]) in _CLOSING)):
            units[-1] = (units[-1][0], units[-1][1] + unit)
        else:
            units.append((space, unit))
        space = False
        glue = unicodedata.category(unit[-1]) in _OPENING

    for char in text:
        if char.isspace():
            if word:
                add(word)
                word = ""
            space = True
        elif unicodedata.east_asian_width(char) in "WF":
            if word:
                add(word)
                word = ""
            add(char)
        else:
            word += char
    if word:
        add(word)
    return units


def hang(text: str, first: str = "", rest: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Text wrapped to `width` columns: its first line after `first`, the others after
    `rest` (a hanging indent as wide as `first` unless given), so that a list stays
    readable. Nothing is cut: a word longer than a line (a URL, a key) is kept whole."""
    rest = " " * _columns(first) if rest is None else rest
    rest = rest[: max(0, min(len(rest), width - MIN_ROOM))]
    lines: list[str] = []
    line, used, empty = first, _columns(first), True
    for space, unit in _units(text):
        size = _columns(unit)
        gap = 1 if space and not empty else 0
        if not empty and used + gap + size > width:
            lines.append(line.rstrip())
            line, used, empty, gap = rest, _columns(rest), True, 0
        line += " " * gap + unit
        used += gap + size
        empty = False
    lines.append(line.rstrip())
    return "\n".join(lines)


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
    named = f"{dt.date(2000, month, day):%B} {day}"
    if not events:
        years = f" up to {up_to}" if up_to is not None else ""
        return f"No events on {named}{years} in the archive."
    lines = [f"On this day, {named}" + (f", up to {up_to}:" if up_to is not None else ":")]
    year = None
    for brief in events:
        if brief.date.year != year:
            year = brief.date.year
            lines += ["", year_heading(brief.date, today)]
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
        lines += ["", "Often appears with" + _co_window(profile)]
        lines += [
            hang(f"{name} ({count(number, 'event')})", "  • ", width=width)
            for name, number in profile.co_entities
        ]
    return "\n".join(lines)


def _co_window(profile: EntityProfile) -> str:
    window = profile.co_entities_window
    return f" (in its latest {count(window, 'event')})" if window else ""


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


# --- Discord: limits ---------------------------------------------------------------------------

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CHOICES_LIMIT = 25
CHOICE_TEXT_LIMIT = 100
SELECT_OPTIONS_LIMIT = 25
SELECT_TEXT_LIMIT = 100
PAGE_SIZE = 10
EMBED_COLOUR = 0x2F5D8A


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Make an embed fit every Discord limit, cutting text at words and marking the cut."""
    if embed.title:
        embed.title = cut(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = cut(embed.description, DESCRIPTION_LIMIT)
    if embed.footer.text:
        embed.set_footer(text=cut(embed.footer.text, FOOTER_LIMIT), icon_url=embed.footer.icon_url)
    fields = [(f.name, f.value, f.inline) for f in embed.fields][:FIELD_COUNT_LIMIT]
    embed.clear_fields()
    for name, value, inline in fields:
        embed.add_field(
            name=cut(name or "\u200b", FIELD_NAME_LIMIT),
            value=cut(value or "\u200b", FIELD_VALUE_LIMIT),
            inline=inline,
        )
    # Over the total: shorten the description first, then drop fields from the end.
    excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.description:
        embed.description = cut(embed.description, max(len(embed.description) - excess, 200))
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


def escape(text: str) -> str:
    """Plain text safe inside Discord markdown (no stray bold, links or spoilers)."""
    return discord.utils.escape_markdown(text, as_needed=False)


def link(text: str, url: str | None) -> str:
    """A masked link, or the escaped text when there is no usable URL."""
    label = escape(text).replace("[", "(").replace("]", ")")
    if not url or not url.startswith(("http://", "https://")):
        return label
    safe_url = url.replace(" ", "%20").replace(")", "%29").replace("(", "%28").replace(">", "%3E")
    return f"[{label}]({safe_url})"


def discord_date(date: dt.date, style: str = "D") -> str:
    """A Discord timestamp for a day: each reader sees it in their own locale.

    Noon UTC, so the day is the same in every timezone from UTC-11 to UTC+11.
    """
    moment = dt.datetime(date.year, date.month, date.day, 12, tzinfo=dt.UTC)
    return f"<t:{int(moment.timestamp())}:{style}>"


def discord_time(moment: dt.datetime, style: str = "f") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def lines_within(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Join whole lines up to a limit; what does not fit is counted, never cut mid-item."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index
        tail = len("\n" + more.format(n=remaining)) if remaining > 1 else 0
        if size + len(line) + (1 if kept else 0) + tail > limit and kept:
            kept.append(more.format(n=remaining))
            return "\n".join(kept)
        kept.append(cut(line, limit - tail))
        size += len(kept[-1]) + (1 if len(kept) > 1 else 0)
    return "\n".join(kept)


def choice_label(date: dt.date, text: str) -> str:
    return cut(f"{date.isoformat()} · {text}", CHOICE_TEXT_LIMIT)


# --- Discord: embeds ---------------------------------------------------------------------------


def _base(title: str, url: str | None = None, description: str | None = None) -> discord.Embed:
    return discord.Embed(
        title=cut(title, TITLE_LIMIT), url=url, description=description, colour=EMBED_COLOUR
    )


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
    embed = _base(event.headline, brief.url, cut(escape(summary), 2500))
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
    image = next((s.url for s in event.sources if s.is_image), None)
    if image and image.startswith(("http://", "https://")):
        embed.set_image(url=image)
    embed.set_footer(text=event.key)
    return fit_embed(embed)


def sources_embed(event: Event, page: int = 0) -> discord.Embed:
    lines = source_lines(event)
    images = [s.url for s in event.sources if s.is_image]
    embed = _base(f"Sources: {event.headline}", event.brief.url)
    embed.description = (
        lines_within(lines, DESCRIPTION_LIMIT - 200) if lines else "No sources recorded."
    )
    if images:
        embed.add_field(
            name="Cover image", value=lines_within([link("image", u) for u in images], 1024)
        )
    return fit_embed(embed)


def related_page_embed(
    event: Event, related: Sequence[RelatedEvent], page: int, has_next: bool
) -> discord.Embed:
    embed = _base(f"Related to: {event.headline}", event.brief.url)
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
    embed = _base(cut(f"Search: {description}", TITLE_LIMIT))
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
    embed = _base(f"On this day: {dt.date(2000, month, day):%B} {day}")
    if not events:
        embed.description = f"No events on {dt.date(2000, month, day):%B} {day} in earlier years."
        return fit_embed(embed)
    lines: list[str] = []
    year = None
    for brief in events:
        if brief.date.year != year:
            year = brief.date.year
            lines.append(f"**{year_heading(brief.date, today)}**")
        lines.append(f"• {link(cut(brief.headline, 250), brief.url)}")
    embed.description = lines_within(lines, DESCRIPTION_LIMIT)
    embed.set_footer(text=_page_footer(page, has_next, "newest first"))
    return fit_embed(embed)


def entity_embed(profile: EntityProfile) -> discord.Embed:
    embed = _base(profile.name)
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
            name="Often appears with" + _co_window(profile),
            value=lines_within(
                [f"• {escape(name)} ({count})" for name, count in profile.co_entities],
                FIELD_VALUE_LIMIT,
            ),
            inline=False,
        )
    return fit_embed(embed)


def about_embed(stats: ArchiveStats) -> discord.Embed:
    embed = _base("Chronicle")
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
    text = message
    if suggestions:
        text += "\nDid you mean:\n" + "\n".join(f"• {escape(cut(s, 150))}" for s in suggestions[:5])
    return cut(text, CONTENT_LIMIT)


# --- digests -----------------------------------------------------------------------------------

DIGEST_DESCRIPTION_BUDGET = 3800  # below 4,096, leaving room for a "continued" heading


def digest_messages(content: DigestContent) -> list[list[discord.Embed]]:
    """A digest as messages of embeds, each within Discord's limits; an item is never cut
    and never split from its heading (a heading that continues is repeated)."""
    descriptions: list[str] = []
    current: list[str] = []
    size = 0

    def close() -> None:
        nonlocal current, size
        if current:
            descriptions.append("\n".join(current))
        current, size = [], 0

    for section in content.sections:
        heading = f"**{escape(section.heading)}**"
        first = True
        for item in section.items:
            line = cut(item.markdown, 1000)
            needed = len(line) + 1 + (len(heading) + 1 if first or not current else 0)
            if current and size + needed > DIGEST_DESCRIPTION_BUDGET:
                close()
            if not current:
                current.append(heading if first else f"{heading} (continued)")
                size = len(current[0])
            elif first:
                current.append(heading)
                size += len(heading) + 1
            current.append(line)
            size += len(line) + 1
            first = False
    if content.more:
        hint = f": `{content.more_hint}`" if content.more_hint else ""
        tail = f"… and {content.more} more{hint}"
        if current and size + len(tail) + 1 > DIGEST_DESCRIPTION_BUDGET:
            close()
        current.append(tail)
    close()

    embeds = []
    for index, description in enumerate(descriptions):
        title = content.title if index == 0 else f"{content.title} (continued)"
        embeds.append(fit_embed(_base(title, description=description)))
    messages: list[list[discord.Embed]] = []
    for embed in embeds:
        last = messages[-1] if messages else None
        if (
            last is not None
            and len(last) < EMBEDS_PER_MESSAGE
            and sum(len(e) for e in last) + len(embed) <= EMBED_TOTAL_LIMIT
        ):
            last.append(embed)
        else:
            messages.append([embed])
    return messages


def digest_text(content: DigestContent, *, width: int = TEXT_WIDTH) -> str:
    if content.empty:
        return f"{content.title}: nothing to post."
    lines = [content.title]
    for section in content.sections:
        lines += ["", section.heading]
        lines += [hang(item.headline, "  " + item.lead, width=width) for item in section.items]
    if content.more:
        lines += [
            "",
            f"… and {content.more} more" + (f": {content.more_hint}" if content.more_hint else ""),
        ]
    return "\n".join(lines)


# --- subscription alerts -----------------------------------------------------------------------

ALERT_ITEMS = 10


def alert_embed(events: Sequence[tuple[EventBrief, Sequence[str]]]) -> discord.Embed:
    """One alert: the new events a subscriber's entities appear in (at most ten listed)."""
    entities = list(dict.fromkeys(name for _, names in events for name in names))
    title = f"New events about {entities[0]}" if len(entities) == 1 else "New events you follow"
    newest_first = sorted(events, key=lambda item: (item[0].date, item[0].id), reverse=True)
    lines = [
        f"• {discord_date(brief.date, 'd')} {link(cut(brief.headline, 200), brief.url)}"
        + (f"\n  *{escape(', '.join(names))}*" if len(entities) > 1 else "")
        for brief, names in newest_first[:ALERT_ITEMS]
    ]
    embed = _base(title, description=lines_within(lines, DESCRIPTION_LIMIT - 300))
    more = len(events) - min(len(events), ALERT_ITEMS)
    if more:
        since = min(brief.date for brief, _ in events).isoformat()
        embed.add_field(
            name=f"… and {more} more",
            value=f"`/search query:* entity:{cut(entities[0], 80)} since:{since}`",
            inline=False,
        )
    embed.set_footer(text="/subscriptions to manage what you follow")
    return fit_embed(embed)
