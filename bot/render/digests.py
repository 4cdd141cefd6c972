"""A digest -> Discord messages of embeds, and the text the command line previews."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.digest_content import DigestContent, DigestSection
from bot.render.common import cut
from bot.render.limits import (
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    TITLE_LIMIT,
    base_embed,
    fit_embed,
)
from bot.render.markdown import escape
from bot.render.wrap import TEXT_WIDTH, hang

if TYPE_CHECKING:  # the command line renders text without loading discord.py
    import discord

DIGEST_DESCRIPTION_BUDGET = 3800  # below 4,096, leaving room for a "continued" heading
DIGEST_ITEM_LIMIT = 1000
GROUP_NAME_LIMIT = TITLE_LIMIT  # a story's name as a heading, and in its "… and N more"
CONTINUED_ROOM = TITLE_LIMIT - len(" (continued)")  # a continued embed's title before that


@dataclass(frozen=True, slots=True)
class DigestMessage:
    embeds: list[discord.Embed]
    event_ids: tuple[int, ...]  # the events it lists


def digest_messages(content: DigestContent) -> list[DigestMessage]:
    """A digest as messages of embeds, each within Discord's limits; an item is never cut
    and never split from its heading (a heading that continues is repeated)."""
    descriptions: list[tuple[str, list[int]]] = []
    current: list[str] = []
    listed: list[int] = []
    size = 0

    def close() -> None:
        nonlocal current, listed, size
        if current:
            descriptions.append(("\n".join(current), listed))
        current, listed, size = [], [], 0

    for section in content.sections:
        name = _group_name(section.heading)
        heading = f"**{name}**"
        # Each item, then what the group left out: never apart from the group's heading.
        lines: list[tuple[str, int | None]] = [
            (cut(item.markdown, DIGEST_ITEM_LIMIT), item.event_id) for item in section.items
        ]
        if section.more:
            lines.append((group_more(section, name), None))
        first = True
        for line, event_id in lines:
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
            if event_id is not None:
                listed.append(event_id)
            size += len(line) + 1
            first = False
    tail = digest_more(content, f"`{content.more_hint}`" if content.more_hint else None)
    if tail:
        if current and size + len(tail) + 1 > DIGEST_DESCRIPTION_BUDGET:
            close()
        current.append(tail)
    close()

    messages: list[tuple[list[discord.Embed], list[int]]] = []
    for index, (description, ids) in enumerate(descriptions):
        # A long title is cut before "(continued)" is added, so that it keeps saying so.
        title = content.title if index == 0 else f"{cut(content.title, CONTINUED_ROOM)} (continued)"
        embed = fit_embed(base_embed(title, description=description))
        last = messages[-1][0] if messages else None
        if (
            last is not None
            and len(last) < EMBEDS_PER_MESSAGE
            and sum(len(e) for e in last) + len(embed) <= EMBED_TOTAL_LIMIT
        ):
            last.append(embed)
            messages[-1][1].extend(ids)
        else:
            messages.append(([embed], ids))
    return [DigestMessage(embeds, tuple(ids)) for embeds, ids in messages]


def digest_text(content: DigestContent, *, width: int = TEXT_WIDTH) -> str:
    if content.empty:
        return f"{content.title}: nothing to post."
    lines = [content.title]
    for section in content.sections:
        lines += ["", section.heading]
        lines += [hang(item.headline, "  " + item.lead, width=width) for item in section.items]
        if section.more:
            lines.append(hang(group_more(section, section.heading), "  ", width=width))
    if tail := digest_more(content, content.more_hint):
        lines += ["", tail]
    return "\n".join(lines)


def _group_name(name: str) -> str:
    """A story's name as the digest shows it: on one line, cut to fit, escaped (a name may
    hold markdown, a mention or a line break)."""
    return escape(cut(" ".join(name.split()), GROUP_NAME_LIMIT))


def group_more(section: DigestSection, name: str) -> str:
    """The line under a group cut short: "… and 12 more about Brexit" (`name` as shown)."""
    return f"… and {section.more} more {'about' if section.story else 'in'} {name}"


def digest_more(content: DigestContent, hint: str | None) -> str | None:
    """The digest's last line: the events of the groups given no line, counted; "besides"
    when groups above counted their own. With nothing left to count there, the search
    that lists them all (`hint`, as shown), if any."""
    counted = any(section.more for section in content.sections)
    if elsewhere := content.more_elsewhere:
        return f"… and {elsewhere} more{' besides' if counted else ''}" + (
            f": {hint}" if hint else ""
        )
    return f"All of them: {hint}" if counted and hint else None
