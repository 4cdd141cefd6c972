"""What the stand-in records, and what it can be told to do wrong: the REST requests, gateway
frames and gateway connections it saw; faults to inject (``DiscordStandIn.fail``) and the
:class:`Errors` to inject; and the Discord rate limits it can enforce (:class:`RateLimits`,
:class:`RateLimitStats`, one :class:`_Bucket` per limited resource)."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, field

from tests.e2e.standin.constants import Json, JsonDict

__all__ = [
    "Errors",
    "Fault",
    "GatewayConnectionInfo",
    "GatewayFrame",
    "RateLimitStats",
    "RateLimits",
    "RecordedFile",
    "RecordedRequest",
]


class Errors:
    """``(status, code, message)`` triples of common Discord errors, for ``fail(*Errors.X)``."""

    UNAUTHORIZED = (401, 0, "401: Unauthorized")
    MISSING_ACCESS = (403, 50001, "Missing Access")
    MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
    CANNOT_DM = (403, 50007, "Cannot send messages to this user")
    UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
    UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
    UNKNOWN_MEMBER = (404, 10007, "Unknown Member")
    UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
    UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
    UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
    ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
    ALREADY_CROSSPOSTED = (400, 40033, "This message has already been crossposted.")
    CANNOT_SEND_IN_FORUM = (400, 40058, "Cannot send messages in a forum channel")
    NON_TEXT_CHANNEL = (400, 50008, "Cannot send messages in a non-text channel")
    WRONG_CHANNEL_TYPE = (400, 50024, "Cannot execute action on this channel type")
    THREAD_ALREADY_CREATED = (400, 160004, "A thread has already been created for this message")
    THREAD_LOCKED = (403, 160005, "Thread is locked")
    SERVER_ERROR = (500, 0, "500: Internal Server Error")
    BAD_GATEWAY = (502, 0, "502: Bad Gateway")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    # dataclasses.field: the field named ``field`` above hides the bare name here.
    data: bytes = dataclasses.field(repr=False)


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the client made, as the stand-in saw and answered it.

    ``authorization`` holds the raw Authorization header (``"Bot <token>"``) so tests can check
    the token format; it is left out of ``repr`` and ``headers`` so it never ends up in logs.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Json
    headers: dict[str, str]
    authorization: str | None = field(default=None, repr=False)
    status: int = 0
    route: str = ""
    params: dict[str, str] = field(default_factory=dict)
    files: tuple[RecordedFile, ...] = ()
    response: Json = field(default=None, repr=False)
    index: int = 0
    # time.monotonic() when the stand-in answered it (same clock as the event loop's time()).
    at: float = 0.0
    # Which enforced limit answered 429 ("global", "channel_messages", "crossposts"); None
    # otherwise, injected failures (fail(), rate_limit()) included.
    rate_limited: str | None = None
    # The headers the stand-in answered with (X-RateLimit-*, Retry-After, ...).
    response_headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class GatewayFrame:
    """A payload the client sent on the gateway (tokens replaced by ``"<redacted>"``)."""

    connection: int
    op: int
    d: Json
    token: str | None = field(default=None, repr=False)


@dataclass
class GatewayConnectionInfo:
    index: int
    path: str
    query: dict[str, str]
    compression: str | None
    close_code: int | None = None
    closed: bool = False


# --------------------------------------------------------------------------------------------
# Injected faults and enforced rate limits
# --------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """An injected error; see :meth:`DiscordStandIn.fail`."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    code: int
    message: str
    times: int | None
    retry_after: float | None
    is_global: bool = False
    errors: JsonDict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    echo_headers: bool = False  # the body repeats the request's headers (a leaky proxy)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.method in ("*", method) and self.path_regex.fullmatch(path) is not None


@dataclass(frozen=True)
class RateLimits:
    """Rate limits the stand-in enforces: ``DiscordStandIn(rate_limits=RateLimits())``.

    Each limit is a fixed window that opens with the first request counted against it, like a
    Discord bucket: at most ``count`` requests until ``window`` seconds later, then it refills.

    global_per_second: requests per ``global_window`` over every authenticated bot request
        (Discord: 50 per 1 s). Interaction callbacks and webhook/followup requests, which
        carry no bot token, are exempt as in Discord. None: no global limit.
    global_window: the global window in seconds (1.0 like Discord; shorten it in tests).
    channel_messages: ``(count, window)`` per channel for message creation --
        ``POST /channels/{id}/messages`` (a thread is a channel of its own) and creating a
        post in a forum (``POST /channels/{forum}/threads`` counts against the forum).
        Discord: 5 per 5 s. None: not limited.
    crossposts: ``(count, window)`` per channel for publishing (``.../crosspost``).
        Discord allows 10 per hour; off by default because a client would sleep that long.
    """

    global_per_second: int | None = 50
    global_window: float = 1.0
    channel_messages: tuple[int, float] | None = (5, 5.0)
    crossposts: tuple[int, float] | None = None


@dataclass
class RateLimitStats:
    """What the enforced limits did (injected ``fail(..., 429)`` faults are not counted)."""

    global_429s: int = 0
    channel_429s: int = 0  # the per-channel message-creation bucket
    crosspost_429s: int = 0
    by_channel: dict[int, int] = field(default_factory=dict)  # channel id -> bucket 429s

    @property
    def total_429s(self) -> int:
        return self.global_429s + self.channel_429s + self.crosspost_429s


@dataclass
class _Bucket:
    """One fixed-window rate-limit bucket (see :class:`RateLimits`)."""

    limit: int
    window: float
    hash: str
    used: int = 0
    resets_at: float | None = None  # time.monotonic()

    def _roll(self, now: float) -> None:
        if self.resets_at is not None and now >= self.resets_at:
            self.used, self.resets_at = 0, None

    def available(self, now: float) -> bool:
        self._roll(now)
        return self.used < self.limit

    def take(self, now: float) -> None:
        self._roll(now)
        if self.resets_at is None:
            self.resets_at = now + self.window
        self.used += 1

    def reset_after(self, now: float) -> float:
        """Seconds until the bucket refills, rounded *up* to the millisecond so a client that
        waits exactly this long never comes back early."""
        self._roll(now)
        remaining = self.window if self.resets_at is None else self.resets_at - now
        return math.ceil(max(remaining, 0.0) * 1000) / 1000

    def headers(self, now: float) -> dict[str, str]:
        reset_after = self.reset_after(now)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.hash,
        }
