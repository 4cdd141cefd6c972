"""Which URLs may be fetched: http(s) schemes only, and no private addresses unless allowed.

* The session's connector resolves host names through :class:`GuardedResolver`, which
  drops every non-public address *inside the connector*, i.e. the addresses that are
  checked are exactly the addresses the socket is then opened to. There is no separate
  "look the name up, check it, then let aiohttp look it up again" step, so a DNS answer
  that changes between check and connect (DNS rebinding) cannot slip a private address
  through. aiohttp never consults the resolver for literal IP addresses in a URL, so
  those are checked by :func:`~bot.ingest.feeds.fetch.fetch_feed` itself before every hop
  (a literal cannot change between check and connect). Every refusal of an address ends
  with the setting that allows it (``FEED_ALLOW_PRIVATE_ADDRESSES``, see
  :data:`PRIVATE_ADDRESS_HINT`): the operator reading it is the one who can set it.
* :class:`FetchPolicy` carries the limits of one fetch, including which addresses it may
  reach.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.ingest.feeds.credentials import masked, masked_in
from bot.ingest.feeds.errors import FeedError

__all__ = [
    "DEFAULT_USER_AGENT",
    "PRIVATE_ADDRESS_HINT",
    "FetchPolicy",
    "GuardedConnector",
    "GuardedResolver",
    "is_public_address",
]

DEFAULT_USER_AGENT: Final = "Chronicle/0.1 (+news archive bot; feed fetcher)"
PRIVATE_ADDRESS_HINT: Final = (
    "set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
)
"""The end of every refused_address reason: how the operator allows such an address."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024


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


def _parse_http_url(raw: str, *, context: str = "") -> URL:
    """A validated absolute http(s) URL, or FeedError("invalid_url")."""
    text = raw.strip() if isinstance(raw, str) else ""
    shown = masked(text)  # what a refusal may quote of it
    try:
        url = URL(text)
    except (ValueError, TypeError) as exc:
        raise FeedError(
            "invalid_url", f"{context}not a valid URL: {shown!r} ({masked_in(str(exc))})"
        ) from exc
    if not url.scheme:
        raise FeedError("invalid_url", f"{context}not an absolute http(s) URL: {shown!r}")
    if url.scheme not in ("http", "https"):
        raise FeedError(
            "invalid_url",
            f"{context}unsupported URL scheme {url.scheme!r} in {shown!r}: "
            "only http and https feeds can be fetched",
        )
    if not url.host:
        raise FeedError("invalid_url", f"{context}no host name in URL {shown!r}")
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
        raise _refused_address(f"refused: {host} is {why} ({masked(url)})")


def _refused_address(what: str) -> FeedError:
    return FeedError("refused_address", f"{what}; {PRIVATE_ADDRESS_HINT}")


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
