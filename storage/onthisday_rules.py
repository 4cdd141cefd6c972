"""What "on this day" means on every backend: the month-days whose events a day shows.

A leap day's events are kept on February 28 in the years that have no February 29 (as a
leap-day birthday is), so they are shown every year, not one year in four. February 29
asked for itself shows its own events only; a leap year's February 28 shows its own."""

from __future__ import annotations

import calendar

LEAP_DAY = "02-29"


def month_days(month: int, day: int, year: int | None = None) -> tuple[str, ...]:
    """The month-days ('MM-DD', as events.month_day holds them) whose events are on this
    day of this year: the day itself, and on February 28 of a common year February 29 too.
    Without a year, the day alone."""
    own = f"{month:02d}-{day:02d}"
    if own == "02-28" and year is not None and not calendar.isleap(year):
        return (own, LEAP_DAY)
    return (own,)
