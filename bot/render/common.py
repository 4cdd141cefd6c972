"""Words and moments as Chronicle writes them everywhere: in the terminal, in JSON and on
Discord alike."""

from __future__ import annotations

import datetime as dt

from storage.models import EntityProfile


def cut(text: str, limit: int, marker: str = "…") -> str:
    """Text at most `limit` characters long, cut at a word boundary and marked."""
    if len(text) <= limit:
        return text
    room = limit - len(marker)
    if room <= 0:
        return marker[:limit]
    head = text[:room]
    space = head.rfind(" ")
    if space > room // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-—") + marker


def count(number: int, noun: str, plural: str | None = None, *, bold: bool = False) -> str:
    """A number and its noun as English writes them: "1 event", "2 events", "0 events"
    (`plural` for nouns that do not just take an s: "entry", "entries"); the number in
    bold for Discord with `bold`."""
    shown = f"**{number:,}**" if bold else f"{number:,}"
    return f"{shown} {noun if number == 1 else plural or noun + 's'}"


def years_ago(date: dt.date, today: dt.date) -> str:
    """How many years back a day's event is from that day's anniversary in `today`'s year:
    "this year", "1 year ago", "9 years ago" (December 25, 2025's is "1 year ago" in June
    2026, when December 25 asked for is 2026's). Every "N years ago" Chronicle writes, in the
    terminal and in Discord, comes from here."""
    years = today.year - date.year
    if years <= 0:
        return "this year"
    return f"{count(years, 'year')} ago"


def year_heading(date: dt.date, today: dt.date) -> str:
    """The heading over a year's events on a day: "9 years ago — 2017", "This year — 2026"."""
    return f"{years_ago(date, today).capitalize()} — {date.year}"


def day_heading(date: dt.date, month: int, day: int, today: dt.date) -> str:
    """year_heading over a year's events on the day asked; over another day's (February
    29's, on a common year's February 28) that day too: "3 years ago — 2024 (February 29)"."""
    heading = year_heading(date, today)
    if (date.month, date.day) != (month, day):
        heading += f" ({month_day(date.month, date.day)})"
    return heading


def utc_minute(moment: dt.datetime) -> str:
    """A moment as the terminal shows it: "2017-06-16 14:05 UTC"."""
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def month_day(month: int, day: int) -> str:
    """A day of any year, as "June 16"."""
    return f"{dt.date(2000, month, day):%B} {day}"  # 2000: a leap year, so February 29 exists


def co_window(profile: EntityProfile) -> str:
    """How many of its latest events an entity's companions were counted in, when limited."""
    window = profile.co_entities_window
    return f" (in its latest {count(window, 'event')})" if window else ""
