"""An event's day as a Discord timestamp: each reader's client shows the instant in their own
timezone, so the instant must fall on that day where people live."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot import render

DAYS = [dt.date(2026, 1, 15), dt.date(2026, 7, 15), dt.date(2024, 2, 29)]  # both seasons


@pytest.mark.parametrize(
    "zone",
    [
        "Pacific/Honolulu",  # UTC-10
        "America/Los_Angeles",
        "Europe/London",
        "Asia/Kathmandu",  # +5:45
        "Asia/Tokyo",
        "Pacific/Auckland",  # +13 in its summer
        "Pacific/Tongatapu",  # +13
        "Pacific/Chatham",  # +13:45 in its summer
    ],
)
def test_a_day_reads_as_that_day_from_hawaii_to_new_zealand(zone: str) -> None:
    for day in DAYS:
        stamp = re.fullmatch(r"<t:(\d+):D>", render.discord_date(day))
        assert stamp is not None
        shown = dt.datetime.fromtimestamp(int(stamp.group(1)), ZoneInfo(zone)).date()
        assert shown == day, (zone, day)
