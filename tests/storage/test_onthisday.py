"""On this day around February 29, on every backend: a common year's February 28 shows the
leap days' events too (storage.onthisday_rules), in lookups (events.on_this_day) and in
digests (digests.on_this_day_best), with their filters, bounds and pages; February 29 asked
for itself, a leap year's February 28 and March 1 show their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import Storage
from storage.models import DigestFilters, EventBrief
from tests.storage.digests_support import history
from tests.storage.events_support import arrive, entity

PAGES = (
    history("Leap day summit in 2024", dt.date(2024, 2, 29), "Italy"),
    history("February 28 vote in 2021", dt.date(2021, 2, 28), "Italy", "Japan"),
    history("Leap day storm in 2020", dt.date(2020, 2, 29), "Japan"),
    history("闰日新闻 2016", dt.date(2016, 2, 29), "意大利", lang="zh"),
    history("February 28 treaty in 2016", dt.date(2016, 2, 28), "Italy"),
    history("March 1 march in 2015", dt.date(2015, 3, 1), "Italy"),
    history("February 27 fair in 2015", dt.date(2015, 2, 27), "Italy"),
)


def headlines(events: Sequence[EventBrief]) -> list[str]:
    return [e.headline for e in events]


async def test_onthisday_a_common_years_february_28_shows_the_leap_days(
    storage: Storage,
) -> None:
    await arrive(storage, *PAGES)
    on_this_day = storage.events.on_this_day
    leap_and_28 = [
        "Leap day summit in 2024",
        "February 28 vote in 2021",
        "Leap day storm in 2020",
        "闰日新闻 2016",
        "February 28 treaty in 2016",
    ]
    assert headlines(await on_this_day(2, 28, year=2027)) == leap_and_28
    assert headlines(await on_this_day(2, 28, year=2027, before_year=2027)) == leap_and_28
    # Pages run across both days, newest first.
    first = await on_this_day(2, 28, year=2027, limit=2)
    rest = await on_this_day(2, 28, year=2027, limit=10, offset=2)
    assert headlines(first + rest) == leap_and_28
    # As seen from 2023 (common): up to that year, 2024's leap day not yet.
    assert headlines(await on_this_day(2, 28, year=2023, before_year=2024)) == leap_and_28[1:]
    assert headlines(await on_this_day(2, 28, year=2027, language="en")) == [
        h for h in leap_and_28 if h != "闰日新闻 2016"
    ]
    assert headlines(await on_this_day(2, 28, year=2027, language="zh")) == ["闰日新闻 2016"]


async def test_onthisday_a_leap_day_or_another_day_shows_its_own(storage: Storage) -> None:
    await arrive(storage, *PAGES)
    on_this_day = storage.events.on_this_day
    only_28 = ["February 28 vote in 2021", "February 28 treaty in 2016"]
    assert headlines(await on_this_day(2, 28, year=2024)) == only_28  # a leap year's own
    assert headlines(await on_this_day(2, 28)) == only_28  # no year: the day alone
    only_29 = ["Leap day summit in 2024", "Leap day storm in 2020", "闰日新闻 2016"]
    assert headlines(await on_this_day(2, 29, year=2027)) == only_29  # asked for itself
    assert headlines(await on_this_day(2, 29, year=2024)) == only_29
    assert headlines(await on_this_day(3, 1, year=2027)) == ["March 1 march in 2015"]
    assert headlines(await on_this_day(2, 27, year=2027)) == ["February 27 fair in 2015"]


async def test_onthisday_digests_of_a_common_years_february_28_show_the_leap_days(
    storage: Storage,
) -> None:
    await arrive(storage, *PAGES)
    best = storage.digests.on_this_day_best
    everything = await best(2, 28, before_year=2027, limit=10)
    assert set(headlines(everything)) == {
        "Leap day summit in 2024",
        "February 28 vote in 2021",
        "Leap day storm in 2020",
        "闰日新闻 2016",
        "February 28 treaty in 2016",
    }
    assert headlines(everything)[0] == "February 28 vote in 2021"  # two entities: said most of
    assert set(headlines(await best(2, 28, before_year=2025, limit=10))) == {
        "Leap day summit in 2024",
        "February 28 vote in 2021",
        "Leap day storm in 2020",
        "闰日新闻 2016",
        "February 28 treaty in 2016",
    }
    # A leap year's February 28, and February 29 itself, show their own.
    assert set(headlines(await best(2, 28, before_year=2028, limit=10))) == {
        "February 28 vote in 2021",
        "February 28 treaty in 2016",
    }
    assert set(headlines(await best(2, 29, before_year=2028, limit=10))) == {
        "Leap day summit in 2024",
        "Leap day storm in 2020",
        "闰日新闻 2016",
    }
    assert headlines(await best(3, 1, before_year=2027, limit=10)) == ["March 1 march in 2015"]
    # The filters hold for the leap days' events as for the day's own.
    japan = DigestFilters(entity_ids=(await entity(storage, "Japan"),))
    assert headlines(await best(2, 28, before_year=2027, limit=10, filters=japan)) == [
        "February 28 vote in 2021",
        "Leap day storm in 2020",
    ]
    assert headlines(await best(2, 28, before_year=2027, limit=10, language="zh")) == [
        "闰日新闻 2016"
    ]
    words = DigestFilters(words="leap")
    assert set(headlines(await best(2, 28, before_year=2027, limit=10, filters=words))) == {
        "Leap day summit in 2024",
        "Leap day storm in 2020",
    }
