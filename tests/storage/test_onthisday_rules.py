"""Which month-days "on this day" shows for a day (storage/onthisday_rules.py): a leap day's
events are kept on February 28 of the years without one. Both backends' queries apply it,
tested in test_onthisday.py."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.onthisday_rules import month_days


@pytest.mark.parametrize("year", [2027, 2025, 2023, 2100, 1900])
def test_a_common_years_february_28_covers_february_29(year: int) -> None:
    assert month_days(2, 28, year) == ("02-28", "02-29")


@pytest.mark.parametrize("year", [2024, 2028, 2000, 1600])
def test_a_leap_years_february_28_is_its_own(year: int) -> None:
    assert month_days(2, 28, year) == ("02-28",)


@pytest.mark.parametrize("year", [2024, 2027, None])
def test_february_29_asked_for_is_itself_alone(year: int | None) -> None:
    assert month_days(2, 29, year) == ("02-29",)


def test_without_a_year_a_day_is_itself_alone() -> None:
    assert month_days(2, 28) == ("02-28",)
    assert month_days(2, 28, None) == ("02-28",)


def test_every_other_day_of_any_year_is_itself_alone() -> None:
    for year in (2024, 2027):
        day = dt.date(year, 1, 1)
        while day.year == year:
            if (day.month, day.day) != (2, 28):
                assert month_days(day.month, day.day, year) == (f"{day:%m-%d}",), day
            day += dt.timedelta(days=1)
