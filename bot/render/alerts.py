"""A subscription alert -> a Discord embed."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.render.common import cut
from bot.render.limits import DESCRIPTION_LIMIT, base_embed, fit_embed, lines_within
from bot.render.markdown import discord_date, escape, link
from storage.models import EventBrief

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
    embed = base_embed(title, description=lines_within(lines, DESCRIPTION_LIMIT - 300))
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
