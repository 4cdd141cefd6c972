"""A member's subscriptions -> the pages of the /subscriptions list."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.render.common import cut
from bot.render.limits import CHOICE_TEXT_LIMIT, DESCRIPTION_LIMIT, base_embed, fit_embed
from bot.render.markdown import escape, escape_reason
from storage.models import Subscription

NAME_LIMIT = 200  # as long as /subscribe takes a name
REASON_LIMIT = 300
_START = object()  # before the first group of a page


def subscription_pages(items: Sequence[Subscription], per_page: int) -> list[list[Subscription]]:
    """The list in pages of at most `per_page`, each within one embed's description: the
    active subscriptions first, then the paused ones, grouped by why they are paused (their
    reason is said once, above them), by name within each group as `items` come."""
    ordered = sorted(items, key=lambda s: (bool(s.paused_reason), s.paused_reason or ""))
    pages: list[list[Subscription]] = [[]]
    for item in ordered:
        page = pages[-1]
        if page and (len(page) >= per_page or len(_description([*page, item])) > DESCRIPTION_LIMIT):
            pages.append([item])
        else:
            page.append(item)
    return pages


def subscriptions_embed(
    shown: Sequence[Subscription], *, total: int, most: int, page: int = 0, pages: int = 1
) -> discord.Embed:
    """One page of the list (`shown`, from `subscription_pages`); `total` in all."""
    if not shown:
        return fit_embed(
            base_embed(
                "Your subscriptions",
                description="You follow nothing here yet. /subscribe to follow an entity.",
            )
        )
    embed = base_embed(f"Your subscriptions ({total} of {most})", description=_description(shown))
    if pages > 1:
        embed.set_footer(text=f"Page {page + 1} of {pages}")
    return fit_embed(embed)


def _description(shown: Sequence[Subscription]) -> str:
    lines: list[str] = []
    group: object = _START
    for item in shown:
        reason = item.paused_reason or None
        if reason != group:
            group = reason
            if reason is not None:
                lines.append(f"**⏸ paused:** {escape_reason(cut(reason, REASON_LIMIT))}")
        where = "by DM" if item.delivery == "dm" else f"in <#{item.channel_id}>"
        lines.append(f"• **{escape(cut(item.entity, NAME_LIMIT))}** {where}")
    return "\n".join(lines)


def choice_name(name: str, limit: int = CHOICE_TEXT_LIMIT) -> str:
    """A subscription's name as an autocomplete choice shows it: whole when it fits, else its
    beginning and its end (names of nested stories differ at the end)."""
    if len(name) <= limit:
        return name
    tail_room = limit // 3
    tail = name[-tail_room:]
    if " " in tail[1:]:
        tail = tail[tail.index(" ", 1) + 1 :]  # from a word's start
    return cut(name, limit - len(tail) - 1) + " " + tail.lstrip()
