"""Adding a feed: the address check, the feed's name, and what a refusal tells the operator."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from yarl import URL

from bot.errors import InvalidInput
from bot.ingest.feeds.credentials import masked, masked_in
from bot.ingest.feeds.entries import ParsedFeed
from bot.ingest.feeds.errors import FeedError
from storage.redaction import MASK

MAX_NAME_CHARS: Final = 100


def check_feed_url(url: str) -> str:
    """The URL, stripped, if it can be a feed's; InvalidInput saying why otherwise."""
    text = url.strip()
    shown = masked(text)[:200]
    try:
        parsed = URL(text)
    except (ValueError, TypeError):
        raise InvalidInput(_not_a_url(text)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(f"{shown!r} is not a feed URL: give an http:// or https:// address.")
    return text


def _not_a_url(text: str) -> str:
    """Why ``text`` is refused as a URL. A login holding a "/", "#" or "?" as typed is what
    breaks a URL that has one ("alice:Zx/9+ab@host"): a URL reader ends the login there, so
    all of it up to the last "@" is masked, not just what reads as a password."""
    scheme, sep, rest = text.partition("://")
    _, at, after = rest.rpartition("@")
    if not sep or not at:
        return f"{masked(text)[:200]!r} is not a valid URL."
    shown = masked(f"{scheme}{sep}{MASK}{at}{after}")[:200]
    return (
        f"{shown!r} is not a valid URL: a '/', '#' or '?' in a user name or password must"
        " be written %2F, %23 or %3F."
    )


def not_added(exc: FeedError, *, advertised: tuple[str, str] | None = None) -> str:
    """Why a feed was not added and what the operator can do; ``advertised`` is the page
    the operator gave and the feed it advertises, when that feed is what failed."""
    reason = masked_in(exc.reason)  # shown, and often pasted into a chat or an issue
    if advertised is not None:
        page, feed_url = advertised
        reason = f"{masked(page)} advertises the feed {masked(feed_url)}, which failed: {reason}"
    hint = _add_hint(exc)
    return f"Not added: {reason}" + (f"; {hint}" if hint else "")


def _add_hint(exc: FeedError) -> str | None:
    if exc.kind in ("timeout", "network"):
        return "check the address, or try again later"
    if exc.kind == "http_status":
        status = exc.http_status
        # 4xx says "this URL is wrong" (404, 410, 401, 403); 408 and 429 say "try later".
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            return "check the address"
        return "try again later"  # 5xx, 408, 429: the site is down or busy right now
    # The reason says it all: not a feed (an HTML page says what it advertises), too
    # large, too many redirects, an invalid URL; a refused address names its setting.
    return None


def choose_name(given: str | None, parsed: ParsedFeed | None, url: str) -> str:
    """The name the operator gave, else the feed's title, else its host."""
    shown = masked(url)  # a name is shown everywhere: never the login
    for candidate in (given, parsed.title if parsed else None, urlsplit(url).hostname, shown):
        text = " ".join((candidate or "").split())
        if text:
            return text[:MAX_NAME_CHARS]
    return shown[:MAX_NAME_CHARS]
