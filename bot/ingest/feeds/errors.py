"""FeedError: why a feed (or a document fetched like one) could not be fetched or read."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

__all__ = ["FeedError", "FeedErrorKind"]

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
