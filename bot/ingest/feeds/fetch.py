"""Fetching: the shared HTTP session and one GET under a FetchPolicy's limits.

* One :class:`aiohttp.ClientSession` made by :func:`make_session` is shared by every
  feed; its connector is the address guard of :mod:`bot.ingest.feeds.addresses`.
* Redirects are followed by hand (``allow_redirects=False``) so that every hop gets the
  scheme check, the literal-address check and the connector's resolver check, and so
  that the hop count is ours to enforce. A URL's login goes with it to the same host
  (http to https included), never to another. When every hop was permanent (301, 308),
  :attr:`FetchResult.moved_to` says where the feed now is.
* ``timeout_s`` bounds the whole fetch (all hops and the body), not each read: a server
  that drips one byte a second never gets past it.
* The body is read in chunks and abandoned as soon as it passes ``max_bytes`` (after
  gzip/deflate decoding, so a small compressed bomb is caught too). A Content-Length
  above the limit is refused before reading anything.
* A body that does not decode in its Content-Encoding (a plain body labelled gzip, or br or
  zstd, which are not asked for) is ``FeedError("not_a_feed")`` naming the encoding.
* Cookies are not kept (one session serves unrelated sites) and proxy settings from
  the environment are ignored (with a proxy the resolver would vet the proxy's address,
  not the feed's).
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from bot.ingest.feeds.addresses import (
    FetchPolicy,
    GuardedConnector,
    _check_literal_host,
    _check_session,
    _find_refusal,
    _parse_http_url,
    _refused_address,
)
from bot.ingest.feeds.credentials import masked, masked_in
from bot.ingest.feeds.errors import FeedError

__all__ = ["FetchResult", "fetch_feed", "make_session", "retry_after_seconds"]


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
    moved_to: str | None = None
    """Where the feed moved for good: the URL that answered, when every redirect on the way
    was permanent (301, 308); None when there was none, or one was temporary."""


def make_session(
    policy: FetchPolicy = FetchPolicy(),  # noqa: B008 (frozen, so sharing it is safe)
    *,
    resolver: AbstractResolver | None = None,
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


_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS: Final = frozenset({301, 308})
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
            f"(Content-Length {_format_size(declared)}) at {masked(url)}",
        )
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_chunked(_CHUNK_SIZE):
        total += len(chunk)
        if total > max_bytes:
            # Leaving the response unread makes aiohttp drop the connection instead of
            # draining the rest of the body.
            raise FeedError(
                "too_large", f"body exceeds {_format_size(max_bytes)} limit at {masked(url)}"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds from now: delay-seconds or an HTTP date; None when
    absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # not "²" nor other digits float() refuses
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
    policy: FetchPolicy = FetchPolicy(),  # noqa: B008 (frozen, so sharing it is safe)
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
    redirected, permanent = False, True  # every hop so far a 301 or 308

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
                                f"HTTP {status} redirect without a Location header"
                                f" from {masked(current)}",
                                http_status=status,
                            )
                        current = _next_hop(current, location)
                        redirected = True
                        permanent = permanent and status in _PERMANENT_REDIRECTS
                        continue
                    moved_to = str(current) if redirected and permanent else None
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
                            moved_to=moved_to,
                        )
                    if not 200 <= status < 300:
                        raise FeedError(
                            "http_status",
                            f"{_status_line(status, resp.reason)} from {masked(current)}",
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
                        moved_to=moved_to,
                    )
            raise FeedError(
                "too_many_redirects",
                f"more than {policy.max_redirects} redirects starting at {masked(url)}"
                f" (last: {masked(current)})",
            )
    except FeedError:
        raise
    except TimeoutError as exc:
        raise FeedError(
            "timeout", f"timed out after {policy.timeout_s:g} s fetching {masked(current)}"
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        refused = _find_refusal(exc)
        if refused is not None:
            raise _refused_address(f"{refused.strerror} ({masked(current)})") from exc
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
        raise FeedError("invalid_url", f"invalid URL {masked(str(exc.url))}") from exc
    except aiohttp.ClientError as exc:
        encoding = _undecodable_encoding(exc)
        if encoding is not None:
            raise FeedError("not_a_feed", _encoding_reason(encoding)) from exc
        # Disconnects, broken chunked framing, malformed HTTP, ...
        raise FeedError(
            "network",
            f"connection to {current.host} failed: {type(exc).__name__}: {_one_line(exc)}",
        ) from exc
    except OSError as exc:
        refused = _find_refusal(exc)
        if refused is not None:
            raise _refused_address(f"{refused.strerror} ({masked(current)})") from exc
        raise FeedError(
            "network", f"network error fetching {masked(current)}: {_one_line(exc)}"
        ) from exc


# aiohttp's words for a body it cannot decode: "Can not decode content-encoding: gzip",
# or "...: brotli (br). Please install `Brotli`" for one it was not asked for.
_UNDECODABLE: Final = re.compile(
    r"decode content-encoding:\s*([\w.-]+)(?:\s*\(([\w.-]+)\))?", re.IGNORECASE
)
_ASKED_ENCODINGS: Final = ("gzip", "deflate")


def _undecodable_encoding(exc: aiohttp.ClientError) -> str | None:
    """The Content-Encoding that aiohttp could not decode the body in, if that is what
    ``exc`` (a payload or response error, or the error it wraps) says."""
    if not isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return None
    for error in (exc, exc.__cause__):
        found = _UNDECODABLE.search(str(error)) if error is not None else None
        if found:
            return (found.group(2) or found.group(1)).lower()
    return None


def _encoding_reason(encoding: str) -> str:
    if encoding in _ASKED_ENCODINGS:
        return f"the body is labelled Content-Encoding: {encoding} but is not {encoding} data"
    asked = " and ".join(_ASKED_ENCODINGS)
    return (
        f"the body is encoded as {encoding} (Content-Encoding), which was not asked for"
        f" (only {asked})"
    )


def _one_line(exc: BaseException) -> str:
    """An exception's text as a reason may hold it: its URLs masked, on one line."""
    return " ".join(masked_in(str(exc)).split())


def _next_hop(current: URL, location: str) -> URL:
    try:
        target = current.join(URL(location.strip()))
    except (ValueError, TypeError) as exc:
        raise FeedError(
            "invalid_url",
            f"redirect from {masked(current)} to an invalid URL {masked(location)!r}",
        ) from exc
    target = _parse_http_url(str(target), context=f"redirect from {masked(current)}: ")
    if target.user is None and current.user is not None and _same_site(current, target):
        # A login is for its host: it follows the feed there (a move to https too), as
        # browsers and HTTP libraries do, and never to another host.
        target = target.with_user(current.user).with_password(current.password)
    return target


def _same_site(current: URL, target: URL) -> bool:
    """The same host and port, or the same host moving from http to https."""
    if current.host != target.host:
        return False
    to_https = (current.scheme, target.scheme) == ("http", "https")
    return current.port == target.port or (to_https and (current.port, target.port) == (80, 443))


def _os_error_text(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
