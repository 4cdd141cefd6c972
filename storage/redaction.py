"""URLs as they may be shown in messages and logs, their secrets masked: a database's
password (storage.postgres.db.redacted), a feed's login and tokens
(bot.ingest.feeds.credentials). Read as text, never raising: a URL that does not parse is
still masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

MASK: Final = "***"


def split_authority(url: str) -> tuple[str, str | None, str, str]:
    """(the scheme and "//", the user part or None, host and port, the rest from the path
    on). The user part ends at the last "@" before the path: a "?" or "#" left unescaped in
    a password goes with it, though a URL parser would end the host there."""
    scheme, sep, rest = url.partition("//")
    if not sep:  # no authority to split ("mailto:a@b", a relative link)
        return "", None, "", url
    userinfo, at, _ = rest.partition("/")[0].rpartition("@")
    start = len(userinfo) + 1 if at else 0
    end = len(rest)
    for mark in "/?#":
        if (found := rest.find(mark, start)) != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    user, at, host = authority.rpartition("@")
    return scheme + sep, (user if at else None), host, tail


def mask_query(tail: str, is_secret: Callable[[str], bool]) -> str:
    """The path and the rest with the values of the secret query parameters as MASK."""
    path, question, query = tail.partition("?")
    if not question:
        return tail
    query, hash_mark, fragment = query.partition("#")
    items = []
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        items.append(f"{name}={MASK}" if equals and value and is_secret(name) else item)
    return f"{path}?{'&'.join(items)}{hash_mark}{fragment}"
