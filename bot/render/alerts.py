"""A subscription alert -> a Discord embed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.render.common import cut
from bot.render.limits import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    base_embed,
    fit_embed,
)
from bot.render.markdown import discord_date, escape, link
from storage.models import EventBrief

if TYPE_CHECKING:  # the command line renders text without loading discord.py
    import discord

ALERT_ITEMS = 10
MORE_SEARCHES = 3  # one /search each for up to this many entities of the events left out
NAMES_SHOWN = 3  # followed names under a headline; the rest are counted


def alert_embed(events: Sequence[tuple[EventBrief, Sequence[str]]]) -> discord.Embed:
    """One alert: the new events a subscriber's entities appear in (at most ten listed,
    as many as fit); the rest counted once, with where to find them."""
    entities = list(dict.fromkeys(name for _, names in events for name in names))
    title = (
        f"New events about {escape(entities[0])}" if len(entities) == 1 else "New events you follow"
    )
    newest_first = sorted(events, key=lambda item: (item[0].date, item[0].id), reverse=True)
    lines = [
        f"• {discord_date(brief.date, 'd')} {link(cut(brief.headline, 200), brief.url)}"
        + (f"\n  *{_names_line(names)}*" if len(entities) > 1 else "")
        for brief, names in newest_first[:ALERT_ITEMS]
    ]
    listed = _whole_lines(lines, DESCRIPTION_LIMIT - 300)
    embed = base_embed(title, description="\n".join(listed))
    # Whatever is not listed, for want of room too, is counted here alone: one count, and
    # the searches that find those very events.
    left_out = newest_first[len(listed) :]
    if left_out:
        embed.add_field(name=f"… and {len(left_out)} more", value=more_hint(left_out), inline=False)
    embed.set_footer(text="/subscriptions to manage what you follow")
    return fit_embed(embed)


def _names_line(names: Sequence[str]) -> str:
    """The followed names an event mentions: the first few, the rest counted (an event of
    a summit may name every one of fifty)."""
    shown = ", ".join(escape(name) for name in names[:NAMES_SHOWN])
    rest = len(names) - NAMES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def _whole_lines(lines: Sequence[str], limit: int) -> list[str]:
    """The first lines that fit the limit whole, joined by newlines (the first alone is
    cut to fit if it must: an alert lists at least one event)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + (1 if kept else 0)
        if size > limit:
            break
        kept.append(line)
    if not kept and lines:
        kept.append(cut(lines[0], limit))
    return kept


def more_hint(left_out: Sequence[tuple[EventBrief, Sequence[str]]]) -> str:
    """Where to find the events an alert leaves out: a /search for each entity they are
    about, from the first of its events left out; past a few, what to search for each.
    Names are never cut: a cut name would search for nothing."""
    since: dict[str, dt.date] = {}
    for brief, names in left_out:
        for name in names:
            since[name] = min(since.get(name, brief.date), brief.date)
    searches = [
        _code(f"/search query:* entity:{name} since:{date.isoformat()}")
        for name, date in since.items()
    ]
    if len(searches) <= MORE_SEARCHES and len("\n".join(searches)) <= FIELD_VALUE_LIMIT:
        return "\n".join(searches)
    first = min(since.values()).isoformat()
    search = _code(f"/search query:* entity:<name> since:{first}")
    head = f"About {len(since)} of the entities you follow: "
    tail = f".\n{search} for each (/subscriptions lists what you follow)."
    return head + _names_within(list(since), FIELD_VALUE_LIMIT - len(head) - len(tail)) + tail


def _names_within(names: Sequence[str], limit: int) -> str:
    """Whole names, comma-separated, as many as fit; the rest are counted."""
    shown: list[str] = []
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        more = f" and {rest} more" if rest else ""
        if len(", ".join([*shown, escape(name)])) + len(more) > limit:
            if not shown:  # a name too long to list (not a search: it may be cut)
                return cut(escape(name), limit - len(more)) + more
            return ", ".join(shown) + f" and {len(names) - index} more"
        shown.append(escape(name))
    return ", ".join(shown)


def _code(text: str) -> str:
    """Inline code, whatever backticks the text holds."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"
