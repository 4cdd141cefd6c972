"""Feeds when the wall clock was stepped back an hour under a running bot: their last poll lies
in the future. Each is due again once its wait has gone by counted from now: a feed polled
every ten minutes within ten minutes, not the seventy that waiting for the clock to catch up
would take; one backed off for six hours after failing, six hours, not at once and not
seven."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.schedule_rules import rebased
from tests.storage.feeds_support import T0

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def test_rebased_counts_the_wait_from_now_only_when_the_last_poll_is_ahead() -> None:
    assert rebased(T0 + 10 * MINUTE, T0, T0 + MINUTE) is None  # the clock went on
    assert rebased(T0 + 10 * MINUTE, T0, T0) is None
    assert rebased(T0 + 10 * MINUTE, None, T0) is None  # never polled: due as stored
    back = T0 + 2 * MINUTE - HOUR
    assert rebased(T0 + 10 * MINUTE, T0, back) == back + 10 * MINUTE
    assert rebased(T0 + 6 * HOUR, T0, back) == back + 6 * HOUR
    assert rebased(T0 - MINUTE, T0, back) == back  # never a wait below none


async def test_feeds_are_due_after_their_wait_from_now_when_the_clock_went_back(
    storage: Storage,
) -> None:
    ok = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    failing = await storage.feeds.add("https://b.example/feed", "B", now=T0)
    fresh = await storage.feeds.add("https://c.example/feed", "C", now=T0 - 2 * HOUR)
    await storage.feeds.record_success(
        ok.id, at=T0, next_poll_at=T0 + 10 * MINUTE, etag=None, last_modified=None
    )
    await storage.feeds.record_failure(
        failing.id,
        at=T0,
        kind="http_status",
        reason="HTTP 503 Service Unavailable",
        consecutive_failures=6,
        first_parse_failure_at=None,
        next_poll_at=T0 + 6 * HOUR,
    )
    # Two minutes later the clock is stepped back an hour.
    back = T0 + 2 * MINUTE - HOUR
    assert [f.id for f in await storage.feeds.due(back)] == [fresh.id]
    # Ten minutes on (not seventy), the feed that was polled is due; the failing one is not.
    assert [f.id for f in await storage.feeds.due(back + 10 * MINUTE)] == [fresh.id, ok.id]
    # Asking again changes nothing: the wait is counted from when the step was seen.
    assert [f.id for f in await storage.feeds.due(back + 10 * MINUTE)] == [fresh.id, ok.id]
    assert [f.id for f in await storage.feeds.due(back + 6 * HOUR - MINUTE)] == [fresh.id, ok.id]
    due = await storage.feeds.due(back + 6 * HOUR)
    assert [f.id for f in due] == [fresh.id, ok.id, failing.id]
    # The failure is still on record, counted from the step.
    row = await storage.feeds.get(failing.id)
    assert row is not None
    assert row.consecutive_failures == 6 and row.last_error_at == T0
    assert row.next_poll_at == back + 6 * HOUR and row.last_attempt_at == back


async def test_a_feed_polled_meanwhile_keeps_its_schedule(storage: Storage) -> None:
    feed = await storage.feeds.add("https://a.example/feed", "A", now=T0)
    await storage.feeds.record_success(
        feed.id, at=T0, next_poll_at=T0 + 10 * MINUTE, etag=None, last_modified=None
    )
    # Seen with the clock right: nothing moves.
    assert await storage.feeds.due(T0 + 5 * MINUTE) == []
    row = await storage.feeds.get(feed.id)
    assert row is not None
    assert row.next_poll_at == T0 + 10 * MINUTE and row.last_attempt_at == T0
