"""Text as Discord shows it: escaped markdown, masked links, days written out, and moments
as timestamps in each reader's locale."""

from __future__ import annotations

import datetime as dt
import re

from bot.render.common import cut

_CHANNEL_ESCAPED = re.compile(r"\\<#(\d+)>")
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f()<>\"\\^`{|}]")
# What Discord draws from text: emphasis, spoilers, code, strikethrough and a masked link's
# brackets (each such character, and the backslash), a quote, a heading, subtext or a list
# item at the start of a line. A URL in the text is left whole, so that it still works.
# (discord.utils.escape_markdown takes "[..](..)" as one match from a line's first "[" to its
# last ")" and escaped nothing inside it: a spoiler after "[R](TX)" was drawn.)
_URL = r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]"
_MARKDOWN = re.compile(
    rf"(?P<url>{_URL})|(?P<markdown>[_\\~|*`\[\]]|^>(?:>>)?\s|^#{{1,3}}|^\s*-)", re.MULTILINE
)


def _escaped(match: re.Match[str]) -> str:
    return match["url"] or "\\" + match["markdown"]


def escape(text: str) -> str:
    """Plain text safe inside Discord markdown: no stray bold, links or spoilers, and none of
    the text's angle brackets drawn as a mention, a channel, a command or a timestamp (a
    feed's headline may hold ``<@123>`` or ``<t:0:R>``; escaped, Discord shows them as typed)."""
    return _MARKDOWN.sub(_escaped, text).replace("<", "\\<")


def escape_reason(reason: str) -> str:
    """A reason Chronicle gave (why something is paused), escaped, but for the channels it
    names (``<#123>``), which are drawn as channels."""
    return _CHANNEL_ESCAPED.sub(r"<#\1>", escape(reason))


def cut_escaped(escaped: str, limit: int) -> str:
    """Escaped text cut as `cut` cuts, never between a backslash and what it escapes."""
    if len(escaped) <= limit:
        return escaped
    head = cut(escaped, limit).removesuffix("…")
    if (len(head) - len(head.rstrip("\\"))) % 2:
        head = head[:-1]
    return head + "…"


def safe_url(url: str | None) -> str | None:
    """A web address as Discord takes it, in a masked link, an embed's link or its image:
    None unless http(s); spaces, control characters, parentheses (which end a masked link),
    quotes and the like percent-encoded (a feed may give ``https://e.com/a b (1).html``)."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{byte:02X}" for byte in m[0].encode()), url)


def link(text: str, url: str | None) -> str:
    """A masked link, or the escaped text when there is no usable URL."""
    label = escape(text).replace("[", "(").replace("]", ")")
    address = safe_url(url)
    return f"[{label}]({address})" if address else label


def discord_date(date: dt.date, style: str = "D") -> str:
    """An event's day as Discord shows it: written out, "December 25, 2025" (`style` "D"),
    or "2025-12-25" ("d", in lists). A day is not an instant: as a Discord timestamp each
    reader's client would show it in their own timezone, the day before or after for some."""
    if style == "d":
        return date.isoformat()
    return f"{date:%B} {date.day}, {date.year}"


def discord_time(moment: dt.datetime, style: str = "f") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"
