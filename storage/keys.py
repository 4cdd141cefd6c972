"""Event keys: the stable name of an event, as its archive path gives it.

A key is ``YYYY/MM/D/<slug>`` with the month zero-padded and the day not, exactly as the
archive lays out its files (``news/2017/09/4/<slug>.md``), so a key can be copied from an
archive link and back. People also paste padded days, whole links or file paths; all of
those normalise to the same key.
"""

from __future__ import annotations

import datetime as dt

_EXTENSIONS = frozenset((".md", ".html", ".json", ".xml"))


def split_key(text: str) -> tuple[dt.date, str] | None:
    """(date, slug) of the event a key, archive link or path names, or None.

    Plain string work rather than a regular expression: an import parses a million links.
    """
    if "?" in text or "#" in text:
        text = text.split("?", 1)[0].split("#", 1)[0]
    if "\\" in text:
        text = text.replace("\\", "/")
    parts = text.strip().rstrip("/").rsplit("/", 4)
    if len(parts) < 4:
        return None
    year, month, day, slug = parts[-4], parts[-3], parts[-2], parts[-1]
    if not (
        len(year) == 4
        and 0 < len(month) <= 2
        and 0 < len(day) <= 2
        and (year + month + day).isdigit()
        and (year + month + day).isascii()
    ):
        return None
    dot = slug.rfind(".")
    if dot > 0 and slug[dot:] in _EXTENSIONS:
        slug = slug[:dot]
    if not slug or slug in ("index", "README") or " " in slug or "\t" in slug:
        return None
    try:
        return dt.date(int(year), int(month), int(day)), slug
    except ValueError:
        return None


def make_key(date: dt.date, slug: str) -> str:
    return f"{date.year:04d}/{date.month:02d}/{date.day}/{slug}"


def parse_key(text: str) -> str | None:
    """The key a link, path or typed key names, or None if it names none."""
    found = split_key(text)
    return make_key(*found) if found else None


def key_date(key: str) -> dt.date | None:
    found = split_key(key)
    return found[0] if found else None
