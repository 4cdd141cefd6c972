"""When a polled source (a feed, the portal) is next due after the wall clock went back.

A poll records when it happened and when the next one is due, both by the wall clock. When
that clock is stepped back (an NTP correction, a virtual machine restored from a snapshot),
the last poll lies in the future, and so, further than its wait, does the next: counted as
recorded, nothing would be polled until the clock caught up again. The wait is counted again
from now instead: a feed polled every ten minutes is polled within ten minutes, one backed off
for hours after failing waits that backoff again, no longer (nor less: a server that failed
is not asked again at once). Pure functions; the backends apply them in their own SQL."""

from __future__ import annotations

import datetime as dt


def rebased(
    next_at: dt.datetime, last_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """The next poll counted from `now`, when the poll recorded at `last_at` (with its next
    at `next_at`) lies ahead of `now`: the clock went back since. None when it did not, or
    when the next poll is due anyway."""
    if last_at is None or last_at <= now or next_at <= now:
        return None
    return now + max(next_at - last_at, dt.timedelta(0))
