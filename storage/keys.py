"""Event keys: the stable name of an event, as its archive path gives it.

A key is ``YYYY/MM/D/<slug>`` with the month zero-padded and the day not, exactly as the
archive lays out its files (``news/2017/09/4/<slug>.md``), so a key can be copied from an
archive link and back. People also paste padded days, whole links or file paths; all of
those normalise to the same key.
"""

from __future__ import annotations

import datetime as dt
import re

_KEY_IN_TEXT = re.compile(
    r"(?:^|/)(\d{4})/(\d{1,2})/(\d{1,2})/([^/?#\s]+?)(?:\.(?:md|html|json|xml))?/?(?:[?#].*)?$"
)


def make_key(date: dt.date, slug: str) -> str:
    return f"{date.year:04d}/{date.month:02d}/{date.day}/{slug}"


def parse_key(text: str) -> str | None:
    """The key a link, path or typed key names, or None if it names none."""
    match = _KEY_IN_TEXT.search(text.strip())
    if not match:
        return None
    year, month, day, slug = match.groups()
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    if slug in ("index", "README"):
        return None
    return make_key(date, slug)


def key_date(key: str) -> dt.date | None:
    match = _KEY_IN_TEXT.search(key)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
