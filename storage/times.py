"""Timestamps as every timestamp column holds them: UTC, ISO 8601 with a Z (sorts as text);
and as JSON carries them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

Clock = Callable[[], dt.datetime]  # what services are given to tell the time (tests move it)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now_timestamp() -> str:
    """Now, as a timestamp column holds it."""
    return to_timestamp(utc_now())


def to_timestamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: stored times must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime(_TIMESTAMP)


def from_timestamp(text: str | None) -> dt.datetime | None:
    """A stored timestamp (or any ISO 8601 time with a Z or an offset); naive ones are UTC."""
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def utc_iso(moment: dt.datetime | None) -> str | None:
    """A moment as JSON carries it: UTC, ISO 8601 with a Z (microseconds only if any)."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None
