"""The numbers behind the feed rules (see the package docstring)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedRules:
    """The numbers behind the rules in the package docstring."""

    flood_cap: int = 20
    age_margin: dt.timedelta = dt.timedelta(days=1)
    comeback_failures: int = 3
    backoff_base: dt.timedelta = dt.timedelta(minutes=5)
    backoff_cap: dt.timedelta = dt.timedelta(days=1)
    disable_after_failures: int = 11
    parse_failure_window: dt.timedelta = dt.timedelta(days=1)

    def backoff(self, failures: int) -> dt.timedelta:
        """Wait before the next attempt after ``failures`` consecutive failures (>= 1)."""
        if failures <= 0:
            return dt.timedelta(0)
        # Cap the exponent first: 2**11 minutes is already past any sane cap.
        delay = self.backoff_base * (2 ** min(failures - 1, 20))
        return min(delay, self.backoff_cap)
