"""Fetching and parsing RSS, Atom and JSON feeds: outside bytes -> plain entry records.

This module is the network- and format-facing half of feed ingestion. It knows nothing
about storage, scheduling or Discord: the poller calls :func:`fetch_feed` with the
validators it stored last time, hands the body to :func:`parse_feed`, and stores the
:class:`FeedEntry` records it gets back, keyed by :attr:`FeedEntry.identity`.

Fetching (:func:`fetch_feed`)
    * One :class:`aiohttp.ClientSession` made by :func:`make_session` is shared by every
      feed. Its connector resolves host names through :class:`GuardedResolver`, which
      drops every non-public address *inside the connector*, i.e. the addresses that are
      checked are exactly the addresses the socket is then opened to. There is no separate
      "look the name up, check it, then let aiohttp look it up again" step, so a DNS answer
      that changes between check and connect (DNS rebinding) cannot slip a private address
      through. aiohttp never consults the resolver for literal IP addresses in a URL, so
      those are checked by :func:`fetch_feed` itself before every hop (a literal cannot
      change between check and connect). Every refusal of an address ends with the
      setting that allows it (``FEED_ALLOW_PRIVATE_ADDRESSES``, see
      :data:`PRIVATE_ADDRESS_HINT`): the operator reading it is the one who can set it.
    * Redirects are followed by hand (``allow_redirects=False``) so that every hop gets the
      scheme check, the literal-address check and the connector's resolver check, and so
      that the hop count is ours to enforce.
    * ``timeout_s`` bounds the whole fetch (all hops and the body), not each read: a server
      that drips one byte a second never gets past it.
    * The body is read in chunks and abandoned as soon as it passes ``max_bytes`` (after
      gzip/deflate decoding, so a small compressed bomb is caught too). A Content-Length
      above the limit is refused before reading anything.
    * Cookies are not kept (one session serves unrelated sites) and proxy settings from
      the environment are ignored (with a proxy the resolver would vet the proxy's address,
      not the feed's).

Parsing (:func:`parse_feed`)
    * RSS and Atom: feedparser runs on the *bytes* (wrapped in a BytesIO: feedparser treats
      a bare ``bytes``/``str`` argument as a file name or URL first) in a worker thread.
    * JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1): a JSON object whose
      ``version`` starts with ``https://jsonfeed.org/version/`` (``http://`` is accepted
      too) and that has an ``items`` list. Items become the same records with the same
      entry rules as RSS: identity from ``id``, link from ``url`` else ``external_url``,
      summary from ``summary`` else ``content_text`` else ``content_html``, date from
      ``date_published`` else ``date_modified``, categories from ``tags``. Other JSON, and
      broken JSON, is refused.
    * Encoding (:mod:`bot.ingest.charsets`): a BOM wins; otherwise the HTTP ``charset``
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
      is not a JSON Feed, an HTML page, has no RSS/Atom root, or is broken XML from which
      not a single entry could be recovered. A well-formed feed with zero entries is *not*
      an error: it yields a :class:`ParsedFeed` with no entries.
    * An HTML page is named by its title, decoded with the page's own charset (BOM, else
      the HTTP header, else ``<meta charset>`` / ``<meta http-equiv="Content-Type">``, else
      UTF-8). The feeds it advertises (``<link rel="alternate">`` of type RSS, Atom or
      JSON Feed, resolved against ``<base href>`` or the page's URL) are carried by the
      refusal in :attr:`FeedError.feed_links`, for discovery when a feed is added;
      ``application/json`` links come last, since that type also labels documents that
      are not feeds (e.g. WordPress's REST API).

Entry rules (what a news reader expects)
    * identity: the GUID/Atom id; else the link; else ``"sha256:" + sha256(title, date)``.
      When several GUID-less entries of one document share a link (a "news.html" page used
      as every item's link), the link cannot tell them apart, so those entries fall back to
      the hash, with the link mixed in.
    * An entry with neither a title nor a link is skipped: there is nothing to show or to
      point to. An entry with a link but no title (micro-blog style items) is titled from
      the first sentence / first words of its summary; if it has no summary either, it is
      skipped too.
    * Duplicate identities within one document: the first occurrence wins.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import io
import ipaddress
import json
import re
import socket
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any, Final, Literal, get_args
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXException

import aiohttp
import feedparser
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.ingest.charsets import charset_for_feedparser, decode_html_head

__all__ = [
    "DEFAULT_USER_AGENT",
    "PRIVATE_ADDRESS_HINT",
    "FeedEntry",
    "FeedError",
    "FeedErrorKind",
    "FetchPolicy",
    "FetchResult",
    "GuardedConnector",
    "GuardedResolver",
    "ParsedFeed",
    "cut_at_sentence",
    "entry_identity",
    "fetch_feed",
    "html_to_text",
    "is_public_address",
    "make_session",
    "parse_feed",
    "retry_after_seconds",
]

DEFAULT_USER_AGENT: Final = "Chronicle/0.1 (+news archive bot; feed fetcher)"
PRIVATE_ADDRESS_HINT: Final = (
    "set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
)
"""The end of every refused_address reason: how the operator allows such an address."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024

# --------------------------------------------------------------------------------------
# Policy, errors, results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch. Frozen so one instance can be shared by every poll."""

    timeout_s: float = 15.0
    """Total time for the whole fetch: every redirect hop, connecting and the body."""
    max_bytes: int = _DEFAULT_MAX_BYTES
    """Largest body accepted, counted after gzip/deflate decoding, checked while reading."""
    max_redirects: int = 5
    allow_private_addresses: bool = False
    """Allow loopback/private/link-local/... destinations (tests, trusted intranets)."""
    allowed_networks: tuple[str, ...] = ()
    """Networks allowed even when private addresses are refused, e.g. ``("10.1.2.3/32",)``
    for one internal feed mirror. Narrower than ``allow_private_addresses``."""
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        # Fail when the policy is built (at startup, from settings), not mid-poll.
        if self.timeout_s <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError(f"invalid fetch limits in {self!r}")
        for network in self.allowed_networks:
            ipaddress.ip_network(network, strict=False)  # raises ValueError if malformed


FeedErrorKind = Literal[
    "invalid_url",
    "refused_address",
    "timeout",
    "http_status",
    "too_large",
    "too_many_redirects",
    "network",
    "not_a_feed",
]
_FEED_ERROR_KINDS: Final = frozenset(get_args(FeedErrorKind))


class FeedError(Exception):
    """A feed could not be fetched or read. ``reason`` is meant for people (operators,
    the server that added the feed); ``kind`` is meant for code (retry or not, back off)."""

    def __init__(
        self,
        kind: FeedErrorKind,
        reason: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        feed_links: tuple[str, ...] = (),
    ) -> None:
        if kind not in _FEED_ERROR_KINDS:
            # A typo here would silently break callers that branch on kind.
            raise ValueError(f"unknown FeedError kind {kind!r}")
        super().__init__(reason)
        self.kind: FeedErrorKind = kind
        self.reason: str = reason
        self.http_status: int | None = http_status
        self.retry_after: float | None = retry_after
        """Seconds the server asked to wait (Retry-After on a 429 or 503), if it said."""
        self.feed_links: tuple[str, ...] = feed_links
        """Absolute URLs of the feeds an HTML page advertises, best first (only on a
        not_a_feed refusal of an HTML page; empty otherwise)."""

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"FeedError({self.kind!r}, {self.reason!r}, http_status={self.http_status!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable (e.g. across a process pool) despite the keyword fields.
        return (
            _rebuild_feed_error,
            (self.kind, self.reason, self.http_status, self.retry_after, self.feed_links),
        )


def _rebuild_feed_error(
    kind: FeedErrorKind,
    reason: str,
    http_status: int | None,
    retry_after: float | None,
    feed_links: tuple[str, ...] = (),
) -> FeedError:
    return FeedError(
        kind, reason, http_status=http_status, retry_after=retry_after, feed_links=feed_links
    )


@dataclass
class FetchResult:
    not_modified: bool
    """True on HTTP 304: the feed did not change since the given etag/last_modified."""
    final_url: str
    """The URL that answered, after redirects; relative links resolve against it."""
    body: bytes | None
    """None when not modified."""
    etag: str | None
    """Validator to send next time (on a 304 without one, the one that was sent)."""
    last_modified: str | None
    status: int
    content_type: str | None
    retry_after: float | None = None
    """Seconds the server asked to wait before the next request (Retry-After), if it said."""


@dataclass
class FeedEntry:
    identity: str
    title: str
    summary: str
    link: str | None
    published: datetime | None
    categories: list[str] = field(default_factory=list)


@dataclass
class ParsedFeed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    warning: str | None
    """Set when the document had problems but was parsed anyway (feedparser's bozo
    exception, or a repair done before parsing)."""


# --------------------------------------------------------------------------------------
# Address policy
# --------------------------------------------------------------------------------------

_SHARED_ADDRESS_SPACE: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_PREFIX: Final = ipaddress.IPv6Network("64:ff9b::/96")


def _parse_ip(ip: str | IPAddress) -> IPAddress | None:
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    try:
        return ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return None


def _non_public_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (e.g. "a loopback"), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address inside reach that IPv4 host on a dual-stack
        # or NAT64/6to4 network, so they are judged by the embedded address.
        embedded: ipaddress.IPv4Address | None = ip.ipv4_mapped
        label = "IPv4-mapped"
        if embedded is None and ip.sixtofour is not None:
            embedded, label = ip.sixtofour, "6to4"
        if embedded is None and ip in _NAT64_PREFIX:
            embedded, label = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
        if embedded is not None:
            inner = _non_public_kind(embedded)
            return f"an {label} {inner.removeprefix('a ').removeprefix('an ')}" if inner else None
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_multicast:
        return "a multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        # RFC 6598 carrier-grade NAT space. Not globally routable; inside clouds and
        # overlay networks (Tailscale, some metadata services) it reaches internal hosts.
        return "a shared (carrier-grade NAT)"
    if ip.is_private:
        return "a private"
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "a reserved"
    if not ip.is_global:
        # Remaining special-purpose ranges (documentation, benchmarking, ...).
        return "a special-purpose"
    return None


def is_public_address(ip: str | IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    Refused: loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7),
    link-local (169.254/16, fe80::/10), multicast (224/4, ff00::/8), unspecified (0.0.0.0,
    ::), reserved (240/4, ::/8 ...), documentation/benchmark ranges, and the RFC 6598 shared
    address space 100.64/10 (decision: carrier-grade NAT space is not the public internet
    and is used for internal services in clouds and VPN overlays). IPv6 addresses that
    embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64) are judged by the
    embedded address. Anything that does not parse as an IP address is not public.
    """
    parsed = _parse_ip(ip)
    return parsed is not None and _non_public_kind(parsed) is None


def _address_refusal(ip: IPAddress, policy: FetchPolicy) -> str | None:
    """Why the policy refuses ``ip`` (e.g. "a loopback address"), or None if allowed."""
    if policy.allow_private_addresses:
        return None
    kind = _non_public_kind(ip)
    if kind is None:
        return None
    for network in policy.allowed_networks:
        net = ipaddress.ip_network(network, strict=False)
        plain = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if ip in net or (plain is not None and plain in net):
            return None
    return f"{kind} address"


class _RefusedAddressError(OSError):
    """Raised inside the connector; aiohttp wraps it in a ClientConnectorError."""

    def __init__(self, host: str, address: str, why: str) -> None:
        self.host = host
        self.address = address
        self.why = why
        super().__init__(None, f"refused: {host} resolves to {address}, {why}")


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and drops every address the policy refuses.

    The connector opens sockets only to what this returns, so the check and the connect
    use the same answer. If nothing allowed remains, resolution fails with a refusal that
    :func:`fetch_feed` reports as ``kind="refused_address"``. (Mixed answers keep only the
    public addresses: an attacker who adds a private A record next to a public one gains
    nothing.)
    """

    def __init__(self, policy: FetchPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        # DefaultResolver is the threaded getaddrinfo resolver unless aiodns is installed.
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        first_refusal: tuple[str, str] | None = None
        for result in results:
            ip = _parse_ip(result["host"])
            why = "an unparseable address" if ip is None else _address_refusal(ip, self.policy)
            if why is None:
                allowed.append(result)
            elif first_refusal is None:
                first_refusal = (result["host"], why)
        if not allowed and first_refusal is not None:
            raise _RefusedAddressError(host, *first_refusal)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector whose name resolution goes through a :class:`GuardedResolver`.

    It exists as its own type so that :func:`fetch_feed` can tell a guarded session from
    a plain one and refuse to run an address-restricted fetch on an unguarded session.
    """

    def __init__(self, policy: FetchPolicy, resolver: AbstractResolver | None = None) -> None:
        self.guard_policy = policy
        super().__init__(
            resolver=GuardedResolver(policy, resolver),
            limit=100,
            # Several feeds often live on one host; don't hammer it in parallel.
            limit_per_host=4,
            ttl_dns_cache=60,
        )


def make_session(
    policy: FetchPolicy = FetchPolicy(), *, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The one session the poller creates (inside the running loop) and reuses for every
    feed. ``resolver`` replaces the default DNS resolver (e.g. aiodns, or a stub in tests);
    its answers are still filtered by the policy."""
    return aiohttp.ClientSession(
        connector=GuardedConnector(policy, resolver),
        headers={"User-Agent": policy.user_agent},
        timeout=aiohttp.ClientTimeout(total=policy.timeout_s),
        # Feeds of unrelated sites share this session: never carry cookies between them.
        cookie_jar=aiohttp.DummyCookieJar(),
        # HTTP(S)_PROXY would route through a proxy whose address, not the feed's, the
        # resolver would vet.
        trust_env=False,
        auto_decompress=True,
    )


def _check_session(session: aiohttp.ClientSession, policy: FetchPolicy) -> None:
    if policy.allow_private_addresses:
        return
    connector = session.connector
    guard = connector.guard_policy if isinstance(connector, GuardedConnector) else None
    if (
        guard is None
        or guard.allow_private_addresses
        or not set(guard.allowed_networks) <= set(policy.allowed_networks)
    ):
        # Without the guard, host names would be connected to unchecked: a programming
        # error, not a feed problem, so it is loud.
        raise ValueError(
            "fetch_feed refuses private addresses but the session's connector does not: "
            "create the session with make_session(policy)"
        )


# --------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------

_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK_SIZE: Final = 64 * 1024
_ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, "
    "application/json;q=0.8, */*;q=0.5"
)


def _format_size(n: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n} bytes"


def _parse_http_url(raw: str, *, context: str = "") -> URL:
    """A validated absolute http(s) URL, or FeedError("invalid_url")."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        url = URL(text)
    except (ValueError, TypeError) as exc:
        raise FeedError("invalid_url", f"{context}not a valid URL: {raw!r} ({exc})") from exc
    if not url.scheme:
        raise FeedError("invalid_url", f"{context}not an absolute http(s) URL: {raw!r}")
    if url.scheme not in ("http", "https"):
        raise FeedError(
            "invalid_url",
            f"{context}unsupported URL scheme {url.scheme!r} in {raw!r}: "
            "only http and https feeds can be fetched",
        )
    if not url.host:
        raise FeedError("invalid_url", f"{context}no host name in URL {raw!r}")
    return url


def _literal_ip(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal, including legacy IPv4 spellings such as
    ``127.1`` or ``2130706433`` that the C resolver would also accept."""
    parsed = _parse_ip(host)
    if parsed is not None:
        return parsed
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _check_literal_host(url: URL, policy: FetchPolicy) -> None:
    # aiohttp skips the resolver for literal addresses, so the guard would never see them.
    host = url.host or ""
    ip = _literal_ip(host)
    if ip is None:
        return
    why = _address_refusal(ip, policy)
    if why is not None:
        raise _refused_address(f"refused: {host} is {why} ({url})")


def _refused_address(what: str) -> FeedError:
    return FeedError("refused_address", f"{what}; {PRIVATE_ADDRESS_HINT}")


def _status_line(status: int, reason: str | None) -> str:
    """ "HTTP 503 Service Unavailable", using the standard phrase if the server sent none."""
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {reason}".rstrip()


async def _read_limited(resp: aiohttp.ClientResponse, max_bytes: int, url: URL) -> bytes:
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        # Content-Length counts the encoded body; decoded it can only be larger (bar a few
        # bytes of gzip framing), so this refusal is safe and saves the download.
        raise FeedError(
            "too_large",
            f"body exceeds {_format_size(max_bytes)} limit "
            f"(Content-Length {_format_size(declared)}) at {url}",
        )
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_chunked(_CHUNK_SIZE):
        total += len(chunk)
        if total > max_bytes:
            # Leaving the response unread makes aiohttp drop the connection instead of
            # draining the rest of the body.
            raise FeedError("too_large", f"body exceeds {_format_size(max_bytes)} limit at {url}")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds from now: delay-seconds or an HTTP date; None when
    absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    moment = _http_date(text)
    if moment is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _http_date(text: str) -> datetime | None:
    """An RFC 822 / HTTP date as an aware datetime (UTC when it names no zone); None when
    it is not one."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def fetch_feed(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    policy: FetchPolicy = FetchPolicy(),
    accept: str = _ACCEPT,
) -> FetchResult:
    """GET a feed with a conditional request, following at most ``max_redirects``.
    (Other documents fetched under the same rules name what they ``accept``.)

    Returns a FetchResult (``not_modified=True`` on 304) or raises FeedError. The session
    must come from :func:`make_session` unless ``policy.allow_private_addresses`` is set
    (a ValueError says so otherwise). Host names are vetted by the session's resolver and
    literal addresses by this function's ``policy``; if the two differ, each check still
    applies, so the stricter one wins.
    """
    current = _parse_http_url(url)
    _check_session(session, policy)

    headers = {
        "User-Agent": policy.user_agent,
        "Accept": accept,
        # Only what aiohttp decodes without optional packages; the limit applies after.
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request_timeout = aiohttp.ClientTimeout(total=policy.timeout_s)

    try:
        # One deadline for everything; aiohttp's per-request timeout is only a backstop.
        async with asyncio.timeout(policy.timeout_s):
            for _hop in range(policy.max_redirects + 1):
                _check_literal_host(current, policy)
                async with session.get(
                    current,
                    headers=headers,
                    allow_redirects=False,
                    timeout=request_timeout,
                ) as resp:
                    status = resp.status
                    if status in _REDIRECT_STATUSES:
                        location = resp.headers.get("Location")
                        if not location:
                            raise FeedError(
                                "http_status",
                                f"HTTP {status} redirect without a Location header from {current}",
                                http_status=status,
                            )
                        current = _next_hop(current, location)
                        continue
                    content_type = resp.headers.get("Content-Type")
                    new_etag = resp.headers.get("ETag")
                    new_modified = resp.headers.get("Last-Modified")
                    if status == 304:
                        return FetchResult(
                            not_modified=True,
                            final_url=str(current),
                            body=None,
                            # A 304 may omit the validators; the old ones are still valid.
                            etag=new_etag or etag,
                            last_modified=new_modified or last_modified,
                            status=status,
                            content_type=content_type,
                        )
                    if not 200 <= status < 300:
                        raise FeedError(
                            "http_status",
                            f"{_status_line(status, resp.reason)} from {current}",
                            http_status=status,
                            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
                        )
                    body = await _read_limited(resp, policy.max_bytes, current)
                    return FetchResult(
                        not_modified=False,
                        final_url=str(current),
                        body=body,
                        etag=new_etag,
                        last_modified=new_modified,
                        status=status,
                        content_type=content_type,
                        retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
                    )
            raise FeedError(
                "too_many_redirects",
                f"more than {policy.max_redirects} redirects starting at {url} (last: {current})",
            )
    except FeedError:
        raise
    except TimeoutError as exc:
        raise FeedError(
            "timeout", f"timed out after {policy.timeout_s:g} s fetching {current}"
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        refused = _find_refusal(exc)
        if refused is not None:
            raise _refused_address(f"{refused.strerror} ({current})") from exc
        # (Checked via the wrapped error: ClientConnectorDNSError only exists in aiohttp >= 3.10.)
        if isinstance(exc.os_error, socket.gaierror):
            raise FeedError(
                "network", f"could not resolve {exc.host}: {_os_error_text(exc.os_error)}"
            ) from exc
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            raise FeedError(
                "network", f"TLS certificate of {exc.host} is not valid: {exc.certificate_error}"
            ) from exc
        raise FeedError(
            "network",
            f"could not connect to {exc.host}:{exc.port}: {_os_error_text(exc.os_error)}",
        ) from exc
    except aiohttp.InvalidURL as exc:
        raise FeedError("invalid_url", f"invalid URL {exc.url!s}") from exc
    except aiohttp.ClientError as exc:
        # Disconnects, broken chunked/gzip framing, malformed HTTP, ...
        raise FeedError(
            "network", f"connection to {current.host} failed: {type(exc).__name__}: {exc}"
        ) from exc
    except OSError as exc:
        refused = _find_refusal(exc)
        if refused is not None:
            raise _refused_address(f"{refused.strerror} ({current})") from exc
        raise FeedError("network", f"network error fetching {current}: {exc}") from exc


def _next_hop(current: URL, location: str) -> URL:
    try:
        target = current.join(URL(location.strip()))
    except (ValueError, TypeError) as exc:
        raise FeedError(
            "invalid_url", f"redirect from {current} to an invalid URL {location!r}"
        ) from exc
    return _parse_http_url(str(target), context=f"redirect from {current}: ")


def _find_refusal(exc: BaseException) -> _RefusedAddressError | None:
    seen: BaseException | None = exc
    for _ in range(5):  # walk os_error / __cause__ a few levels; aiohttp wraps once
        if seen is None:
            return None
        if isinstance(seen, _RefusedAddressError):
            return seen
        if isinstance(seen, aiohttp.ClientConnectorError):
            seen = seen.os_error
        else:
            seen = seen.__cause__ or seen.__context__
    return None


def _os_error_text(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


# --------------------------------------------------------------------------------------
# Text helpers (pure)
# --------------------------------------------------------------------------------------

# Elements whose boundaries separate words/sentences in rendered text.
_BLOCK_TAGS: Final = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# Elements whose content is never text a reader sees.
_SKIP_TAGS: Final = frozenset({"script", "style", "noscript", "template"})
# Characters that only get in the way in a one-line text: invisible format characters
# (zero-width space, BOM, soft hyphen) are dropped; C0/C1 control characters become spaces
# (they sometimes stand between words) and are then folded like any whitespace.
# ZWJ/ZWNJ stay: emoji and several scripts (Persian, Urdu, Indic) need them.
_INVISIBLE: Final[dict[int, str | None]] = {
    **{cp: " " for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)]},
    0x200B: None,
    0xFEFF: None,
    0xAD: None,
}


def _fold(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and friends: a separator, never the start of a skipped region.
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)
            self.length += len(data)


def html_to_text(s: str | None, *, max_chars: int | None = None) -> str:
    """Plain text of an HTML fragment: tags removed (script/style content too), entities
    decoded, block boundaries kept as spaces, whitespace folded to single spaces.

    ``max_chars`` stops parsing once that much text has been collected (the result may be
    somewhat longer); summaries only need the first few hundred characters of articles
    that can be megabytes long.
    """
    if not s:
        return ""
    if "<" not in s and "&" not in s:
        return _fold(s)
    parser = _TextExtractor()
    step = 8192
    for start in range(0, len(s), step):
        parser.feed(s[start : start + step])
        if max_chars is not None and parser.length > max_chars + 200:
            break
    parser.close()
    return _fold("".join(parser.parts))


# Known HTML tag names: a text/plain title is only treated as HTML if it contains one, so
# "x<y" or "Why <T> matters" survive while "<b>Breaking</b>" loses its markup.
_LOOKS_LIKE_HTML: Final = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|cite|code|del|div|em|font|h[1-6]|hr|i|img|ins|li|"
    r"ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|td|th|tr|u|ul)\b[^<>]*>",
    re.IGNORECASE,
)


def _clean_text(
    value: str | None, content_type: str | None, *, max_chars: int | None = None
) -> str:
    if not value:
        return ""
    if content_type == "text/plain" and not _LOOKS_LIKE_HTML.search(value):
        # Plain text can still carry (often double-) escaped entities: "&amp;quot;".
        return _fold(html.unescape(value))
    return html_to_text(value, max_chars=max_chars)


_SENTENCE_END: Final = re.compile(r"[.!?…。！？]+[\"'”’»」』)\]）]*")
_CJK_STOPS: Final = frozenset("。！？")
_TRAILING_JUNK: Final = " ,;:-–—/([{“‘«"


def cut_at_sentence(text: str, limit: int = 600) -> str:
    """Shorten ``text`` to at most ``limit`` characters.

    Prefer the end of the last complete sentence that fits, when it keeps at least half
    of the allowance; otherwise cut after the last whole word and add "…". A sentence end
    is terminal punctuation followed by the end of text, or by a space and a character
    that is not lowercase ("e.g. this" is not a sentence end). Scripts written without
    spaces (Chinese, Japanese) end sentences with 。！？ directly and may be cut between
    characters, which is how their words are separated anyway.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit < 2:
        return "…"[:limit]
    best = 0
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        end = match.end()
        if end > limit:
            break
        if _is_sentence_boundary(text, match.group(), end):
            best = end
    if best >= limit // 2:
        return text[:best]
    window = text[: limit - 1]  # room for the ellipsis
    # If the character after the window is a space, the window ends on a whole word.
    cut = len(window) if text[limit - 1].isspace() else window.rfind(" ")
    if cut >= limit // 2:
        return window[:cut].rstrip(_TRAILING_JUNK) + "…"
    # No usable word boundary (one enormous token, or a script without spaces): hard cut.
    return window.rstrip(_TRAILING_JUNK) + "…"


def _is_sentence_boundary(text: str, punct: str, end: int) -> bool:
    if end >= len(text):
        return True
    if punct[0] in _CJK_STOPS:
        return True
    if not text[end].isspace():
        return False
    rest = text[end:].lstrip()
    return bool(rest) and not rest[0].islower()


def entry_identity(
    *,
    guid: str | None,
    link: str | None,
    title: str,
    published: datetime | str | None,
    link_is_shared: bool = False,
) -> str:
    """Stable identity of an entry across fetches: GUID, else link, else a hash.

    The hash is ``"sha256:" + hex(sha256(title, date))``; the date is the parsed UTC
    timestamp, or the raw date text when it did not parse. When ``link_is_shared`` (several
    GUID-less entries in one document point to the same page) the link is not an identity
    and is mixed into the hash instead.
    """
    guid = (guid or "").strip()
    if guid:
        return guid
    link = (link or "").strip()
    if link and not link_is_shared:
        return link
    if isinstance(published, datetime):
        date_text = published.astimezone(UTC).isoformat()
    else:
        date_text = (published or "").strip()
    material = "\n".join([title.strip(), date_text, link])
    return "sha256:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------

_SUMMARY_LIMIT: Final = 600
_TITLE_LIMIT: Final = 300
_HEADLINE_FROM_SUMMARY_LIMIT: Final = 120
_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_LEADING_WS_BEFORE_DECL: Final = re.compile(rb"\A(\xef\xbb\xbf)?[ \t\r\n]+(?=<\?xml)")
_XML_DECL_ENCODING: Final = re.compile(r"(<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*([\"'])")
_HTML_MARKER: Final = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|title|meta|div|p|h[1-6]|table|script)\b",
    re.IGNORECASE,
)
_FEED_ROOT: Final = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF|rdf)\b")
# Feed links sit in <head>; the rest of a long page is not read for them.
_HTML_SCAN_BYTES: Final = 512 * 1024
_FEED_LINK_TYPES: Final = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Some JSON Feeds are advertised as plain JSON, but WordPress and others label documents
# that are not feeds (their REST API) so too: such links come after the feed types.
_JSON_LINK_TYPE: Final = "application/json"
# The spec says https; a reader loses nothing by accepting the http spelling as well.
_JSON_FEED_VERSIONS: Final = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


async def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_bytes: int = _DEFAULT_MAX_BYTES,
) -> ParsedFeed:
    """Parse feed bytes (in a worker thread) into cleaned entries.

    ``url`` is the final URL the body came from: relative links resolve against it (and
    any xml:base). ``content_type`` is the response's Content-Type; its charset is used.
    ``max_bytes`` bounds decompressing a body that arrived still gzip-compressed.
    Raises FeedError("not_a_feed") when the bytes are not an RSS, Atom or JSON feed (for
    an HTML page, with the feeds it advertises in ``feed_links``), or FeedError("too_large")
    when a compressed body decompresses past ``max_bytes``.
    """
    return await asyncio.to_thread(_parse_sync, body, url, content_type, max_bytes)


def _parse_sync(body: bytes, url: str, content_type: str | None, max_bytes: int) -> ParsedFeed:
    notes: list[str] = []
    body, reencoded = _prepare_body(body, max_bytes, notes)
    if _first_byte(body) in (b"{", b"["):
        # Judged by the bytes, not the Content-Type: servers label feeds with odd types.
        return _parse_json_feed(body, url, notes)

    charset = "utf-8" if reencoded else charset_for_feedparser(body, content_type, notes)
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={
                "content-location": url,
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
    return ParsedFeed(
        title=title or None,
        link=_absolute_link(feed_meta.get("link"), url),
        entries=_build_entries(raw_entries, url),
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


# --- JSON Feed --------------------------------------------------------------------------


def _parse_json_feed(body: bytes, url: str, notes: list[str]) -> ParsedFeed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # JSON is UTF-8 (RFC 8259); a few bad bytes are no reason to lose the feed.
        text = body.decode("utf-8-sig", "replace")
        notes.append(
            f"the JSON is not valid UTF-8 ({exc.reason} at byte {exc.start});"
            " replaced the undecodable bytes"
        )
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FeedError(
            "not_a_feed", "the response is JSON nested too deeply to read, not a feed"
        ) from None
    except ValueError as exc:
        what = "the JSON Feed" if "jsonfeed.org" in text[:4096] else "the response"
        raise FeedError("not_a_feed", f"{what} is broken JSON ({exc}) and cannot be read") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.strip().startswith(_JSON_FEED_VERSIONS):
        raise FeedError(
            "not_a_feed",
            "the response is JSON but not a JSON Feed"
            ' (it has no "version" starting with https://jsonfeed.org/version/)',
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not_a_feed", f'the JSON Feed ({version.strip()}) has no "items" list')
    raw_entries = [_json_feed_item(item, url) for item in items if isinstance(item, dict)]
    skipped = len(items) - len(raw_entries)
    if skipped:
        what = "not a JSON object" if skipped == 1 else "not JSON objects"
        notes.append(f"skipped {skipped} of the {len(items)} items: {what}")
    return ParsedFeed(
        title=_clean_text(_json_text(doc, "title"), "text/plain") or None,
        link=_absolute_link(doc.get("home_page_url"), url),
        entries=_build_entries(raw_entries, url),
        warning="; ".join(notes) or None,
    )


def _json_text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def _json_feed_item(item: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A JSON Feed item in the shape feedparser gives entries, so that one set of entry
    rules (:func:`_build_entries`) serves every format."""
    raw: dict[str, Any] = {}
    identity = item.get("id")
    if isinstance(identity, int | float) and not isinstance(identity, bool):
        identity = str(identity)  # the spec: a reader coerces a numeric id to a string
    if isinstance(identity, str):
        raw["id"] = identity
    for key in ("url", "external_url"):
        link = _absolute_link(item.get(key), base_url)
        if link is not None:
            raw["link"] = link
            break
    title = _json_text(item, "title")
    if title is not None:
        raw["title"], raw["title_detail"] = title, {"type": "text/plain"}
    for key, kind in (
        ("summary", "text/plain"),
        ("content_text", "text/plain"),
        ("content_html", "text/html"),
    ):
        value = _json_text(item, key)
        if value is not None and value.strip():
            raw["summary"], raw["summary_detail"] = value, {"type": kind}
            break
    dates = [
        text
        for text in (_json_text(item, "date_published"), _json_text(item, "date_modified"))
        if text and text.strip()
    ]
    if dates:
        raw["published"] = dates[0]  # the raw text, for the identity hash when unreadable
        for text in dates:
            moment = _rfc3339(text)
            if moment is not None:
                raw["published_parsed"] = moment.utctimetuple()
                break
    tags = item.get("tags")
    if isinstance(tags, list):
        raw["tags"] = [{"term": tag} for tag in tags if isinstance(tag, str)]
    return raw


def _rfc3339(text: str) -> datetime | None:
    """An RFC 3339 date (JSON Feed's) as aware UTC; RFC 822 dates, which some generators
    write anyway, are read too. None when it is neither."""
    text = text.strip()
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text.upper())  # "t"/"z" are allowed lowercase
    except ValueError:
        moment = _http_date(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        # RFC 3339 requires an offset; a date without one is UTC far more often than not.
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


# --- HTML pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _HtmlPage:
    title: str
    feed_links: tuple[str, ...]

    def refusal(self) -> str:
        named = "the response is an HTML page" + (f" ({self.title!r})" if self.title else "")
        if self.feed_links:
            return f"{named}, not a feed; the page advertises the feed {self.feed_links[0]}"
        return f"{named}, not an RSS, Atom or JSON feed, and the page advertises no feed"


class _HeadScanner(HTMLParser):
    """What a refusal and discovery need from an HTML page: its first <title>, its
    <base href> and its <link rel="alternate"> feed links in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []  # (type, href)
        self._in_title = False
        self._titled = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "title" and not self._titled:
            self._in_title = True
        elif tag == "base" and self.base is None and values.get("href", "").strip():
            self.base = values["href"].strip()
        elif tag == "link" and "alternate" in values.get("rel", "").lower().split():
            mime = values.get("type", "").split(";")[0].strip().lower()
            href = values.get("href", "").strip()
            if href and (mime in _FEED_LINK_TYPES or mime == _JSON_LINK_TYPE):
                self.links.append((mime, href))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title, self._titled = False, True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def _html_page(body: bytes, content_type: str | None, url: str) -> _HtmlPage | None:
    """The page's title and advertised feeds, or None if the body is not an HTML page."""
    head = body[:65536]
    mime = (content_type or "").split(";")[0].strip().lower()
    is_html = _HTML_MARKER.search(head) and not _FEED_ROOT.search(head)
    if not is_html and mime not in ("text/html", "application/xhtml+xml"):
        return None
    scanner = _HeadScanner()
    scanner.feed(decode_html_head(body[:_HTML_SCAN_BYTES], content_type))
    base = _absolute_link(scanner.base, url) or url
    ordered = sorted(scanner.links, key=lambda link: link[0] == _JSON_LINK_TYPE)  # stable
    links = (_absolute_link(href, base) for _, href in ordered)
    feed_links = tuple(dict.fromkeys(link for link in links if link is not None))
    return _HtmlPage(_fold("".join(scanner.title))[:100], feed_links)


def _describe_exception(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _version_name(version: str) -> str:
    if version.startswith("atom"):
        return "Atom"
    if version.startswith("rss") or version == "cdf":
        return "RSS"
    return "feed"


def _detail_type(item: Mapping[str, Any], key: str) -> str | None:
    detail = item.get(key)
    if isinstance(detail, Mapping):
        value = detail.get("type")
        return value if isinstance(value, str) else None
    return None


def _absolute_link(link: Any, base: str) -> str | None:
    """An absolute http(s) link, resolved against ``base``; None for anything else
    (javascript:, mailto:, garbage)."""
    if not isinstance(link, str):
        return None
    link = link.strip()
    if not link:
        return None
    try:
        absolute = urljoin(base, link)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _plain_get(entry: Mapping[str, Any], key: str) -> Any:
    # FeedParserDict.get maps missing published* keys to updated* with a
    # DeprecationWarning; reading the dict directly keeps our own fallback explicit.
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _published(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = _plain_get(entry, key)
        if isinstance(value, time.struct_time | tuple) and len(value) >= 6:
            try:
                # feedparser normalises to UTC struct_time; timegm reads it as UTC.
                return datetime.fromtimestamp(calendar.timegm(tuple(value)[:9]), tz=UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                return None
    return None


def _raw_date(entry: Mapping[str, Any]) -> str | None:
    for key in ("published", "updated", "created"):
        value = _plain_get(entry, key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _summary_source(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary, _detail_type(entry, "summary_detail")
    for content in entry.get("content") or []:
        if isinstance(content, Mapping) and isinstance(content.get("value"), str):
            return content["value"], content.get("type")
    return None, None


def _categories(entry: Mapping[str, Any]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in entry.get("tags") or []:
        if not isinstance(tag, Mapping):
            continue
        term = _clean_text(tag.get("term") or tag.get("label"), None)
        key = term.casefold()
        if term and key not in seen:
            seen.add(key)
            out.append(term)
    return out


def _build_entries(raw_entries: Iterable[Mapping[str, Any]], base_url: str) -> list[FeedEntry]:
    prepared: list[tuple[Mapping[str, Any], str | None, str | None]] = []
    for raw in raw_entries:
        guid = raw.get("id") if isinstance(raw.get("id"), str) else None
        link = _absolute_link(raw.get("link"), base_url)
        prepared.append((raw, guid.strip() if guid else None, link))
    # Links shared by several GUID-less entries cannot identify any one of them.
    link_counts = Counter(link for _, guid, link in prepared if link and not guid)

    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw, guid, link in prepared:
        title = _clean_text(raw.get("title"), _detail_type(raw, "title_detail"))
        summary_raw, summary_type = _summary_source(raw)
        # Parse a little more than needed: sentence search looks back from the limit.
        summary_text = _clean_text(summary_raw, summary_type, max_chars=_SUMMARY_LIMIT * 2)
        if not title:
            if not link or not summary_text:
                continue  # nothing to call it, or nowhere to send the reader
            title = cut_at_sentence(summary_text, _HEADLINE_FROM_SUMMARY_LIMIT)
        title = cut_at_sentence(title, _TITLE_LIMIT)
        summary = cut_at_sentence(summary_text, _SUMMARY_LIMIT)
        if summary.casefold() == title.casefold():
            summary = ""  # feeds that repeat the headline as the description
        published = _published(raw)
        identity = entry_identity(
            guid=guid,
            link=link,
            title=title,
            published=published if published is not None else _raw_date(raw),
            link_is_shared=link is not None and link_counts[link] > 1,
        )
        if identity in seen:
            continue
        seen.add(identity)
        entries.append(
            FeedEntry(
                identity=identity,
                title=title,
                summary=summary,
                link=link,
                published=published,
                categories=_categories(raw),
            )
        )
    return entries
