"""A member's subscriptions -> the pages of the /subscriptions list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.render.common import cut
from bot.render.limits import CHOICE_TEXT_LIMIT, DESCRIPTION_LIMIT, base_embed, fit_embed
from bot.render.markdown import escape, escape_reason
from storage.models import Subscription

if TYPE_CHECKING:  # the command line renders text without loading discord.py
    import discord

NAME_LIMIT = 200  # as long as /subscribe takes a name
REASON_LIMIT = 300
SERVER_NAME_LIMIT = 100  # as long as Discord lets a server's name be
_START = object()  # before the first group of a page


def subscription_pages(
    items: Sequence[Subscription], per_page: int, servers: Mapping[int, str] | None = None
) -> list[list[Subscription]]:
    """The list in pages of at most `per_page`, each within one embed's description: the
    active subscriptions first, then the paused ones, grouped by why they are paused (their
    reason is said once, above them), by name within each group as `items` come. With
    `servers` (a list of every server's), each line names its server."""
    ordered = sorted(items, key=lambda s: (bool(s.paused_reason), s.paused_reason or ""))
    pages: list[list[Subscription]] = [[]]
    for item in ordered:
        page = pages[-1]
        if page and (
            len(page) >= per_page or len(_description([*page, item], servers)) > DESCRIPTION_LIMIT
        ):
            pages.append([item])
        else:
            page.append(item)
    return pages


def subscriptions_embed(
    shown: Sequence[Subscription],
    *,
    total: int,
    most: int,
    page: int = 0,
    pages: int = 1,
    servers: Mapping[int, str] | None = None,
    elsewhere: int = 0,
) -> discord.Embed:
    """One page of the list (`shown`, from `subscription_pages`); `total` in all. With
    `servers`, the list is of every server's (in a direct message); else of one server's,
    and `elsewhere` are the member's subscriptions in other servers."""
    every = servers is not None
    if not shown:
        where = "in any server" if every else "here"
        embed = base_embed(
            "Your subscriptions",
            description=f"You follow nothing {where} yet. /subscribe to follow an entity.",
        )
    elif every:
        title = f"Your subscriptions in every server ({total})"
        embed = base_embed(title, description=_description(shown, servers))
    else:
        title = f"Your subscriptions ({total} of {most})"
        embed = base_embed(title, description=_description(shown, servers))
    footer = [f"Page {page + 1} of {pages}"] if pages > 1 else []
    if elsewhere:
        footer.append(
            f"{elsewhere} more in other servers: /subscriptions in a direct message with"
            " Chronicle lists every server's"
        )
    if footer:
        embed.set_footer(text=" · ".join(footer))
    return fit_embed(embed)


def _description(shown: Sequence[Subscription], servers: Mapping[int, str] | None) -> str:
    lines: list[str] = []
    group: object = _START
    for item in shown:
        reason = item.paused_reason or None
        if reason != group:
            group = reason
            if reason is not None:
                lines.append(f"**⏸ paused:** {escape_reason(cut(reason, REASON_LIMIT))}")
        where = "by DM" if item.delivery == "dm" else f"in <#{item.channel_id}>"
        if servers is not None:
            server = servers.get(item.guild_id) or f"server {item.guild_id}"
            where += f" · {escape(cut(server, SERVER_NAME_LIMIT))}"
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
