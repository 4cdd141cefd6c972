"""Discord's limits, and making text and embeds fit them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.render.common import cut
from bot.render.markdown import safe_url

if TYPE_CHECKING:  # the command line renders text without loading discord.py
    import discord

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


def base_embed(title: str, url: str | None = None, description: str | None = None) -> discord.Embed:
    """An embed of Chronicle's: its title cut to fit, its link a well-formed web address."""
    import discord

    return discord.Embed(
        title=cut(title, TITLE_LIMIT),
        url=safe_url(url),
        description=description,
        colour=EMBED_COLOUR,
    )
