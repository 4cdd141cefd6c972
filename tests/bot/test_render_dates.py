"""An event's day as Discord shows it: a calendar day, written out, so that it reads as that
day wherever the reader is (a Discord timestamp is an instant, shown in each reader's own
timezone: the day before at UTC-11, the day after at UTC+14)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import render
from storage.models import EventBrief


@pytest.mark.parametrize(
    ("day", "long", "short"),
    [
        (dt.date(2025, 12, 25), "December 25, 2025", "2025-12-25"),
        (dt.date(2024, 2, 29), "February 29, 2024", "2024-02-29"),
        (dt.date(2026, 7, 5), "July 5, 2026", "2026-07-05"),
    ],
)
def test_a_day_is_written_out_not_a_timestamp(day: dt.date, long: str, short: str) -> None:
    assert render.discord_date(day) == long
    assert render.discord_date(day, "d") == short


def test_an_alerts_events_are_listed_under_their_days() -> None:
    """An alert lists each event after its day, as the digests and the cards write it."""
    brief = EventBrief(
        1, "2025/12/25/truce", dt.date(2025, 12, 25), "Christmas truce declared", True, None
    )
    embed = render.alert_embed([(brief, ["Truce"])])
    assert embed.description == "• 2025-12-25 Christmas truce declared"
