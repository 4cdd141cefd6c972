"""A feed URL's secrets: what may be shown of it, and the URL without its login.

A private feed is added with its login in the URL (``https://alice:pw@host/feed.xml``, sent
as Basic auth) or a token in its query string (``…/private.atom?token=…``). The URL itself
is the operator's, stored and fetched as given; but whatever is shown of it (logs, stored
failure reasons, ``feeds`` output) goes through :func:`masked` (or :func:`masked_in` for
a text that quotes URLs), and the links of its document resolve against
:func:`link_base` (and go through :func:`without_credentials`), so that no member ever sees
the login or the token in an item's link.

Both read the URL as text and never raise: a URL that does not parse is still masked.
"""

from __future__ import annotations

import re
from typing import Final

from yarl import URL

# The rule of which query parameters hold a secret is storage's: the upgrade that took a
# feed's token out of links stored before reads it too.
from storage.redaction import MASK, is_secret_name, mask_query, split_authority

__all__ = ["link_base", "masked", "masked_in", "without_credentials"]

# A URL quoted in a text; it ends at a space, a quote or an angle bracket.
_URL_IN_TEXT: Final = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
# Marks that end a sentence around a URL rather than belong to it.
_TRAILING: Final = ").,;:!?]"


def masked(url: str | URL) -> str:
    """The URL as it may be shown: a password as ``***`` (``alice:***@host``), a user name
    alone as ``***`` too (it is often a token: ``https://TOKEN@host/``), and the values of
    token-like query parameters (``token``, ``key``, ``api_key``, ``secret``, ``sig``,
    …) as ``***``."""
    text = str(url)
    head, userinfo, host, tail = split_authority(text)
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        host = f"{user}:{MASK}@{host}" if colon and user else f"{MASK}@{host}"
    return head + host + mask_query(tail, is_secret_name)


def masked_in(text: str) -> str:
    """A text (an error, a reason) with every http(s) URL in it :func:`masked`."""

    def mask(match: re.Match[str]) -> str:
        found = match.group(0)
        kept = found.rstrip(_TRAILING)
        return masked(kept) + found[len(kept) :]

    return _URL_IN_TEXT.sub(mask, text)


def without_credentials(url: str) -> str:
    """The URL without its user name and password (the login belongs to the fetch alone);
    the URL unchanged when it has none. Read as a URL parser reads it (the login ends at
    the first "/", "?" or "#"), as a link is followed."""
    scheme, sep, rest = url.partition("//")
    end = min((i for mark in "/?#" if (i := rest.find(mark)) != -1), default=len(rest))
    _, at, host = rest[:end].rpartition("@")
    if not sep or not at:
        return url
    return scheme + sep + host + rest[end:]


def link_base(url: str) -> str:
    """What the links of the document at ``url`` resolve against: the URL without its login
    and without its token-like query parameters. A link that is empty or only a fragment
    ("#a1") keeps the base's query, so it would carry the operator's token to every member
    who sees the item."""
    bare = without_credentials(url)
    address, hash_mark, fragment = bare.partition("#")
    path, question, query = address.partition("?")
    if not question:
        return bare
    kept = [item for item in query.split("&") if not is_secret_name(item.partition("=")[0])]
    query = "&".join(kept)
    return path + (question + query if query else "") + hash_mark + fragment
