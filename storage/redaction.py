"""URLs as they may be shown in messages and logs, their secrets masked: a database's
password (storage.postgres.db.redacted), a feed's login and tokens
(bot.ingest.feeds.credentials, by the rule of secret query parameters here, which the
upgrade that takes a feed's token out of stored links reads too: storage.feed_links). Read
as text, never raising: a URL that does not parse is still masked. And the text of another
service's error (clean_error_text), as notices, logs and the database may hold it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import unquote_plus

MASK: Final = "***"
# Query parameters whose value is a secret: their names folded (lower case, "-" as "_"),
# exactly, or ending in one of the suffixes after "_" or nothing ("private_token",
# "apikey", "client_secret").
SECRET_NAMES: Final = frozenset(
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
SECRET_SUFFIXES: Final = ("token", "key", "secret", "password", "signature", "auth")
ERROR_TEXT_LIMIT: Final = 200
# A credential header as a proxy's error page may echo the request's: "Authorization: Bot x".
_CREDENTIAL_HEADER = re.compile(
    r"((?:proxy-)?authorization\W{0,3}\s*[:=]\s*\W{0,3})"
    r"(?:(?:bot|bearer|basic|digest)\s+)?[^\s;,'\"})\]]+",
    re.IGNORECASE,
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def clean_error_text(
    text: str, secrets: Iterable[str | None] = (), limit: int = ERROR_TEXT_LIMIT
) -> str:
    """An error's text from another service, fit to be shown and stored: the secrets and
    credential headers' values masked (a proxy may echo the request's headers), an HTML
    page told by its title (a ban page is kilobytes of markup), on one line, cut short."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _CREDENTIAL_HEADER.sub(lambda m: m.group(1) + MASK, text)
    if re.match(r"\s*<(!doctype|html|head|body)", text, re.IGNORECASE):
        title = _TITLE.search(text)
        text = "an HTML page" + (f" ({_TAG.sub('', title.group(1))})" if title else "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_authority(url: str) -> tuple[str, str | None, str, str]:
    """(the scheme and "//", the user part or None, host and port, the rest from the path
    on), to mask secrets: erring on the side of hiding. The authority ends at the first
    "/", "?" or "#", as a URL parser reads it, unless it holds a user part or reads as a
    user and the start of a password ("u:pa" before a "#"): then it runs to the last "@"
    before the path, so that a "?", "#" or "@" left unescaped in a password is masked with
    it. A URL with no login keeps its host whatever its query holds ("?by=desk@example.org")."""
    scheme, sep, rest = url.partition("//")
    if not sep:  # no authority to split ("mailto:a@b", a relative link)
        return "", None, "", url
    end = _first_of(rest, "/?#", 0)
    if "@" in rest[:end] or _cut_password(rest[:end]):
        userinfo, at, _ = rest.partition("/")[0].rpartition("@")
        if at:
            end = _first_of(rest, "/?#", len(userinfo) + 1)
    authority, tail = rest[:end], rest[end:]
    user, at, host = authority.rpartition("@")
    return scheme + sep, (user if at else None), host, tail


def _first_of(text: str, marks: str, start: int) -> int:
    found = [i for mark in marks if (i := text.find(mark, start)) != -1]
    return min(found, default=len(text))


def _cut_password(authority: str) -> bool:
    """Whether an authority holding no "@" reads as "user:pass…" cut short (not a host
    and port, nor an IPv6 address)."""
    _, colon, after = authority.rpartition(":")
    return bool(colon) and not authority.startswith("[") and not after.isdigit()


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


def is_secret_name(name: str) -> bool:
    """Whether a query parameter of this name (as written in a URL) holds a secret."""
    folded = unquote_plus(name).strip().lower().replace("-", "_")
    return folded in SECRET_NAMES or folded.endswith(SECRET_SUFFIXES)


def secret_values(url: str) -> frozenset[str]:
    """The values of the URL's secret query parameters, unquoted: the same whichever way a
    URL parser wrote them again ("ab%2Fcd" or "ab/cd", "a b" or "a+b")."""
    query = url.partition("#")[0].partition("?")[2]
    return frozenset(
        unquote_plus(value)
        for name, _, value in (item.partition("=") for item in query.split("&"))
        if value and is_secret_name(name)
    )


def without_secret_values(url: str, secrets: frozenset[str]) -> str | None:
    """The URL without its secret query parameters if one of them carries one of
    ``secrets`` (as :func:`secret_values` reads them), everything else kept as written, the
    fragment too; None if none does."""
    address, hash_mark, fragment = url.partition("#")
    path, question, query = address.partition("?")
    if not question or not secrets:
        return None
    items = [(item, *item.partition("=")) for item in query.split("&")]
    if not any(is_secret_name(n) and v and unquote_plus(v) in secrets for _, n, _, v in items):
        return None
    kept = "&".join(item for item, name, _, _ in items if not is_secret_name(name))
    return path + (question + kept if kept else "") + hash_mark + fragment
