"""Parsing feed bytes: RSS and Atom via feedparser, JSON Feed and HTML pages handed on.

* RSS and Atom: feedparser runs on the *bytes* (wrapped in a BytesIO: feedparser treats
  a bare ``bytes``/``str`` argument as a file name or URL first). A body whose first byte
  is ``{`` or ``[`` goes to :mod:`bot.ingest.feeds.json_feed`.
* Time: all of it runs in a child process (:mod:`bot.ingest.feeds.child`) that is killed
  when its time is up (``time_limit_s``) or its caller gives up (the poller's own timeout),
  with ``FeedError("timeout")``. feedparser's time is not linear in the document's size
  (one element with 40,000 attributes, 430 kB, takes it 13 s; 4.9 MB, half an hour), and a
  thread cannot be stopped: such a document would keep a CPU, and a worker that DNS lookups
  share, long after the poll gave up. A child that dies without an answer is reported as
  ``FeedError("not_a_feed")``.
* Encoding (:mod:`bot.ingest.feeds.charsets`): a BOM wins; otherwise the HTTP ``charset``
  parameter wins; otherwise the XML declaration; otherwise UTF-8 (RFC 7303). RFC 3023's
  "text/xml without charset means US-ASCII" rule, which feedparser still applies, is
  deliberately not used: real servers send ``text/xml`` for UTF-8 and ISO-8859-1 feeds
  all the time.
* A declared encoding that cannot be the bytes' is overridden, never a reason to refuse
  the feed, and the override is reported in :attr:`ParsedFeed.warning`: bytes that are
  valid UTF-8 with non-ASCII characters are UTF-8 whatever is declared (text in a
  legacy encoding is practically never valid UTF-8: this is the common "declared
  windows-1251 / ISO-8859-1, written as UTF-8" slip); a declaration of an encoding that
  is not ASCII-based (UTF-16, EBCDIC) on a document that starts with an ASCII ``<`` is
  read as UTF-8, or windows-1252 if it is not UTF-8. Bytes that do not decode in the
  declared encoding are left to feedparser, which falls back (UTF-8, windows-1252) and
  says so (``CharacterEncodingOverride``, kept in the warning).
* Repairs before parsing, each reported in :attr:`ParsedFeed.warning`: whitespace before
  the XML declaration is removed (a common server-side template slip that otherwise
  forces feedparser's lenient parser), UTF-16 without a BOM is given one, and a body
  that is still gzip-compressed (served without Content-Encoding) is decompressed
  within the size limit.
* A document is refused with ``FeedError("not_a_feed")`` when it is empty, JSON that
  is not a JSON Feed, an HTML page (see :mod:`bot.ingest.feeds.discovery`), has no
  RSS/Atom root, or is broken XML from which not a single entry could be recovered. A
  well-formed feed with zero entries is *not* an error: it yields a :class:`ParsedFeed`
  with no entries.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Mapping
from typing import Any, Final
from xml.sax import SAXException

import feedparser

from bot.ingest.feeds.addresses import _DEFAULT_MAX_BYTES, FetchPolicy
from bot.ingest.feeds.charsets import charset_for_feedparser
from bot.ingest.feeds.child import ChildCrashed, ChildTimeout, run_in_child
from bot.ingest.feeds.credentials import link_base
from bot.ingest.feeds.discovery import _html_page
from bot.ingest.feeds.entries import (
    ParsedFeed,
    _absolute_link,
    _build_entries,
    _detail_type,
    declared_language,
)
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import _format_size
from bot.ingest.feeds.html_text import _clean_text
from bot.ingest.feeds.json_feed import _parse_json_feed
from storage.redaction import secret_values

__all__ = ["parse_feed"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_LEADING_WS_BEFORE_DECL: Final = re.compile(rb"\A(\xef\xbb\xbf)?[ \t\r\n]+(?=<\?xml)")
_XML_DECL_ENCODING: Final = re.compile(r"(<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*([\"'])")
# The fetch's own limit, again: a poll's fetch and its parse each get this long.
_DEFAULT_TIME_LIMIT_S: Final = FetchPolicy().timeout_s
# What the parsing children's fork server imports once, not each child.
_PRELOAD: Final = (__name__,)


async def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    time_limit_s: float = _DEFAULT_TIME_LIMIT_S,
) -> ParsedFeed:
    """Parse feed bytes (in a child process, stopped after ``time_limit_s`` or when the
    caller is cancelled) into cleaned entries.

    ``url`` is the final URL the body came from: relative links resolve against it (and
    any xml:base), without its login (``user:password@``) and token-like query parameters
    (``?token=…``), which belong to the fetch alone: an item's link is shown to everyone.
    ``content_type`` is the response's Content-Type; its charset is used.
    ``max_bytes`` bounds decompressing a body that arrived still gzip-compressed.
    Raises FeedError("not_a_feed") when the bytes are not an RSS, Atom or JSON feed (for
    an HTML page, with the feeds it advertises in ``feed_links``), or FeedError("too_large")
    when a compressed body decompresses past ``max_bytes``, or FeedError("timeout") when
    parsing takes longer than ``time_limit_s``.
    """
    try:
        parsed: ParsedFeed = await run_in_child(
            _parse_sync,
            body,
            url,
            content_type,
            max_bytes,
            time_limit_s=time_limit_s,
            preload=_PRELOAD,
        )
    except ChildTimeout:
        raise FeedError(
            "timeout", f"parsing the feed took longer than {time_limit_s:g} s; stopped it"
        ) from None
    except ChildCrashed as exc:
        raise FeedError("not_a_feed", f"the document could not be parsed ({exc})") from None
    return parsed


def _parse_sync(body: bytes, url: str, content_type: str | None, max_bytes: int) -> ParsedFeed:
    notes: list[str] = []
    # What the entries' links resolve against: a link made of the fetched URL would carry
    # its login or token to every member who sees the item.
    base = link_base(url)
    secrets = secret_values(url)  # a private feed's items may carry its token in their links
    body, reencoded = _prepare_body(body, max_bytes, notes)
    if _first_byte(body) in (b"{", b"["):
        # Judged by the bytes, not the Content-Type: servers label feeds with odd types.
        return _parse_json_feed(body, base, notes, secrets)

    charset: str | None = "utf-8"
    if not reencoded:
        body, charset = charset_for_feedparser(body, content_type, notes)
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={
                "content-location": base,
                # "application/xml" makes feedparser follow RFC 7303: the charset given,
                # else the XML declaration or BOM, else UTF-8. "text/xml" would force
                # US-ASCII, and no content type at all ISO-8859-1.
                "content-type": f"application/xml; charset={charset}"
                if charset
                else "application/xml",
            },
        )
    except Exception as exc:  # feedparser catches parse errors itself; this is a backstop
        raise FeedError(
            "not_a_feed", f"the document could not be parsed ({_describe_exception(exc)})"
        ) from exc
    version = result.get("version") or ""
    raw_entries: list[Mapping[str, Any]] = list(result.get("entries") or [])
    bozo_exc = result.get("bozo_exception") if result.get("bozo") else None

    if not raw_entries:
        if not version:
            # The feeds a page advertises are fetched, not shown: with the page's login.
            page = _html_page(body, content_type, url)
            if page is not None:
                raise FeedError("not_a_feed", page.refusal(), feed_links=page.feed_links)
            raise FeedError("not_a_feed", _no_feed_reason(bozo_exc))
        if isinstance(bozo_exc, SAXException):
            raise FeedError(
                "not_a_feed",
                f"the {_version_name(version)} document is broken XML "
                f"({_describe_exception(bozo_exc)}) and no entries could be recovered",
            )

    if bozo_exc is not None:
        notes.append(_describe_exception(bozo_exc))
    feed_meta: Mapping[str, Any] = result.get("feed") or {}
    title = _clean_text(feed_meta.get("title"), _detail_type(feed_meta, "title_detail"))
    entries = _build_entries(
        raw_entries, base, notes, secrets, feed_language=declared_language(feed_meta)
    )
    return ParsedFeed(
        title=title or None,
        link=_absolute_link(feed_meta.get("link"), base),
        entries=entries,
        warning="; ".join(notes) or None,
    )


def _prepare_body(body: bytes, max_bytes: int, notes: list[str]) -> tuple[bytes, bool]:
    """Repairs that turn common server mistakes back into the document that was meant.

    Returns the body and whether it was re-encoded to UTF-8 here (then any charset the
    server declared no longer applies).
    """
    reencoded = False
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip_limited(body, max_bytes)
        notes.append("body was gzip-compressed without Content-Encoding; decompressed it")
    if len(body) >= 2 and not body.startswith(_BOMS) and (body[0] == 0) != (body[1] == 0):
        # UTF-16 without a BOM: every ASCII character has a zero byte next to it, and no
        # ASCII-compatible XML document can start with a NUL byte. feedparser does not
        # detect this (even with a BOM added), so decode it here and hand over UTF-8.
        codec = "utf-16-be" if body[0] == 0 else "utf-16-le"
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            pass
        else:
            text = _XML_DECL_ENCODING.sub(r"\1utf-8\2", text, count=1)
            body = text.encode("utf-8")
            reencoded = True
            notes.append(f"{codec.upper()} without a byte order mark; decoded it")
    match = _LEADING_WS_BEFORE_DECL.match(body)
    if match:
        # XML forbids anything before the declaration; templates often emit a newline.
        body = (match.group(1) or b"") + body[match.end() :]
        notes.append("removed whitespace before the XML declaration")
    return body, reencoded


def _gunzip_limited(body: bytes, max_bytes: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise FeedError(
            "not_a_feed", f"the body looks gzip-compressed but does not decompress ({exc})"
        ) from exc
    if len(out) > max_bytes:
        raise FeedError(
            "too_large", f"gzip-compressed body exceeds {_format_size(max_bytes)} limit"
        )
    return out


def _first_byte(body: bytes) -> bytes:
    """The document's first byte after a UTF-8 BOM and whitespace; FeedError if it has
    none."""
    first = body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]
    if not first:
        raise FeedError(
            "not_a_feed",
            "the response is empty (0 bytes), not a feed"
            if not body
            else "the response contains only whitespace, not a feed",
        )
    return first


def _no_feed_reason(exc: BaseException | None) -> str:
    if exc is not None:
        return f"no RSS, Atom or JSON feed found: {_describe_exception(exc)}"
    return "no RSS, Atom or JSON feed found in the document"


def _describe_exception(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _version_name(version: str) -> str:
    if version.startswith("atom"):
        return "Atom"
    if version.startswith("rss") or version == "cdf":
        return "RSS"
    return "feed"
