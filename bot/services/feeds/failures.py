"""A failed poll: backoff, when to disable (the "Failing feeds" rules of the package
docstring), recorded and logged."""

from __future__ import annotations

import datetime as dt
import logging

from bot.ingest.feeds.credentials import masked, masked_in
from bot.services.feeds.reports import FeedOutcome
from bot.services.feeds.rules import FeedRules
from storage import Storage
from storage.models import Feed

log = logging.getLogger(__name__)


async def record_failure(
    storage: Storage,
    rules: FeedRules,
    feed: Feed,
    at: dt.datetime,
    kind: str,
    reason: str,
    *,
    retry_after: float | None = None,
) -> FeedOutcome:
    """Record one failed attempt of ``feed`` and schedule the next, or disable it. A
    server's Retry-After is waited out when longer than the backoff, up to its cap."""
    # Stored, logged and shown by `feeds list`: whatever built the reason (an exception's
    # text too), the feed's login and tokens stay out of it.
    reason = masked_in(reason)
    failures = feed.consecutive_failures + 1
    first_parse = feed.first_parse_failure_at
    if kind == "not_a_feed" and first_parse is None:
        first_parse = at
    wait = rules.backoff(failures)
    if retry_after is not None and retry_after > wait.total_seconds():
        # Capped as seconds: a server's huge Retry-After does not fit in a timedelta.
        wait = dt.timedelta(seconds=min(retry_after, rules.backoff_cap.total_seconds()))
    next_poll_at = at + wait
    disabled: str | None = None
    if failures >= rules.disable_after_failures:
        disabled = f"{failures} consecutive failures; the last: {reason}"
    elif (
        kind == "not_a_feed"
        and first_parse is not None
        and at - first_parse > rules.parse_failure_window
    ):
        disabled = (
            f"not a feed since {first_parse:%Y-%m-%d %H:%M} UTC"
            f" (more than {_span(rules.parse_failure_window)}): {reason}"
        )
    await storage.feeds.record_failure(
        feed.id,
        at=at,
        kind=kind,
        reason=reason,
        consecutive_failures=failures,
        first_parse_failure_at=first_parse,
        next_poll_at=next_poll_at,
        disabled_reason=disabled,
    )
    if disabled:
        log.warning("feed %d (%s) disabled: %s", feed.id, masked(feed.url), disabled)
    else:
        log.info(
            "feed %d (%s) failed (%d in a row), %s: %s; next attempt at %s",
            feed.id,
            masked(feed.url),
            failures,
            kind,
            reason,
            f"{next_poll_at:%Y-%m-%d %H:%M:%S} UTC",
        )
    return FeedOutcome(
        feed.id,
        feed.url,
        feed.name,
        "disabled" if disabled else "failed",
        error_kind=kind,
        error=reason,
        consecutive_failures=failures,
        disabled_reason=disabled,
        next_poll_at=None if disabled else next_poll_at,
    )


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours == 24:
        return "a day"
    return f"{hours / 24:g} days" if hours > 24 and hours % 24 == 0 else f"{hours:g} hours"
