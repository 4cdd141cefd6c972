"""A feed URL's secrets: what may be shown of it, and the URL without its login.

A private feed is added with its login in the URL (``https://alice:pw@host/feed.xml``, sent
as Basic auth) or a token in its query string (``…/private.atom?token=…``). The URL itself
is the operator's, stored and fetched as given; but whatever is shown of it (logs, stored
failure reasons, ``feeds`` output) goes through :func:`masked` (or :func:`masked_in` for
a text that quotes URLs), and links resolved against it go through
:func:`without_credentials`, so that no member ever sees the login in an item's link.

Both read the URL as text and never raise: a URL that does not parse is still masked.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_plus

from yarl import URL

__all__ = ["MASK", "masked", "masked_in", "without_credentials"]

MASK: Final = "***"

# Query parameters whose value is a secret: their names folded (lower case, "-" as "_"),
# exactly, or ending in one of the suffixes after "_" or nothing ("private_token",
# "apikey", "client_secret").
_SECRET_NAMES: Final = frozenset(
    {
        "auth",
        "credential",
        "credentials",
        "hash",
        "hmac",
        "key",
        "pass",
        "passwd",
        "password",
        "pwd",
        "secret",
        "session",
        "sessionid",
        "sid",
        "sig",
        "signature",
        "token",
    }
)
_SECRET_SUFFIXES: Final = ("token", "key", "secret", "password", "signature", "auth")
# A URL quoted in a text; it ends at a space, a quote or an angle bracket.
_URL_IN_TEXT: Final = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
# Marks that end a sentence around a URL rather than belong to it.
_TRAILING: Final = ").,;:!?]"


def _split(url: str) -> tuple[str, str | None, str, str]:
    """(scheme and "//", userinfo or None, host and port, the rest from the path on)."""
    scheme, sep, rest = url.partition("//")
    if not sep:
        return "", None, "", url
    # The authority ends at the first "/", "?" or "#" after the last "@" before the path:
    # a "?" or "#" left unescaped in a password is masked with it.
    userinfo, at, _ = rest.partition("/")[0].rpartition("@")
    start = len(userinfo) + 1 if at else 0
    end = len(rest)
    for mark in "/?#":
        if (found := rest.find(mark, start)) != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    user, at, host = authority.rpartition("@")
    return scheme + sep, (user if at else None), host, tail


def _is_secret(name: str) -> bool:
    folded = unquote_plus(name).strip().lower().replace("-", "_")
    return folded in _SECRET_NAMES or folded.endswith(_SECRET_SUFFIXES)


def _masked_query(tail: str) -> str:
    path, question, query = tail.partition("?")
    if not question:
        return tail
    query, hash_mark, fragment = query.partition("#")
    items = []
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        items.append(f"{name}={MASK}" if equals and value and _is_secret(name) else item)
    return f"{path}?{'&'.join(items)}{hash_mark}{fragment}"


def masked(url: str | URL) -> str:
    """The URL as it may be shown: a password as ``***`` (``alice:***@host``), a user name
    alone as ``***`` too (it is often a token: ``https://TOKEN@host/``), and the values of
    token-like query parameters (``token``, ``key``, ``api_key``, ``secret``, ``sig``,
    …) as ``***``."""
    text = str(url)
    head, userinfo, host, tail = _split(text)
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        host = f"{user}:{MASK}@{host}" if colon and user else f"{MASK}@{host}"
    return head + host + _masked_query(tail)


def masked_in(text: str) -> str:
    """A text (an error, a reason) with every http(s) URL in it :func:`masked`."""

    def mask(match: re.Match[str]) -> str:
        found = match.group(0)
        kept = found.rstrip(_TRAILING)
        return masked(kept) + found[len(kept) :]

    return _URL_IN_TEXT.sub(mask, text)


def without_credentials(url: str) -> str:
    """The URL without its user name and password (the login belongs to the fetch alone);
    the URL unchanged when it has none."""
    head, userinfo, host, tail = _split(url)
    if userinfo is None:
        return url
    return head + host + tail
