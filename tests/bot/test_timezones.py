"""Timezones as managers type them: IANA names, and the UTC or GMT offsets people know."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import InvalidInput
from bot.timezones import parse_timezone, typed_offset, zone_label, zones_at

WINTER = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("typed", "offset"),
    [
        ("UTC+5", 5 * HOUR),
        ("gmt+5:30", dt.timedelta(hours=5, minutes=30)),
        (" UTC +05:45 ", dt.timedelta(hours=5, minutes=45)),
        ("GMT-3", -3 * HOUR),
        ("UTC\u221205:00", -5 * HOUR),  # the minus sign offsets are printed with
        ("Asia/Karachi", None),
        ("UTC", None),
    ],
)
def test_an_offset_is_read_with_the_sign_people_mean(
    typed: str, offset: dt.timedelta | None
) -> None:
    assert typed_offset(typed) == offset


def test_the_zones_at_an_offset_are_those_there_on_the_day() -> None:
    """Berlin is at UTC+01:00 in winter, London in summer; the fixed Etc zone follows the
    well-known ones, with its sign the POSIX way round."""
    assert zones_at(HOUR, WINTER)[:3] == ["Africa/Lagos", "Europe/Berlin", "Europe/Paris"]
    assert "Europe/London" not in zones_at(HOUR, WINTER)
    assert zones_at(HOUR, SUMMER)[:2] == ["Europe/London", "Africa/Lagos"]
    assert zones_at(5 * HOUR, WINTER)[:3] == ["Asia/Karachi", "Asia/Tashkent", "Etc/GMT-5"]
    assert zones_at(-5 * HOUR, WINTER)[:3] == ["America/New_York", "America/Bogota", "Etc/GMT+5"]
    assert zones_at(dt.timedelta(hours=5, minutes=30), WINTER)[:2] == [
        "Asia/Kolkata",
        "Asia/Colombo",
    ]


def test_an_offset_is_refused_with_the_zones_at_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_timezone("GMT+5:30", WINTER)
    assert refused.value.message.startswith("UTC+05:30 is an offset, not a timezone")
    assert refused.value.suggestions[:2] == ["Asia/Kolkata", "Asia/Colombo"]
    with pytest.raises(InvalidInput, match="No timezone is at UTC\\+05:15 now"):
        parse_timezone("UTC+5:15", WINTER)


def test_a_zone_typed_by_its_name_is_taken_as_it_is() -> None:
    assert parse_timezone("etc/gmt+5") == "Etc/GMT+5"
    assert parse_timezone(" asia/KOLKATA ") == "Asia/Kolkata"


def test_an_etc_gmt_zone_is_labelled_with_its_real_offset() -> None:
    assert zone_label("Etc/GMT+5") == "Etc/GMT+5 (UTC\u221205:00)"
    assert zone_label("Etc/GMT-14") == "Etc/GMT-14 (UTC+14:00)"
    assert zone_label("Etc/GMT0") == "Etc/GMT0"
    assert zone_label("Europe/Berlin") == "Europe/Berlin"
