"""When an announceable event is told (alerts, 'new' digests, news channels), the same on
every backend: at once, but for a portal item, which waits until a later poll of the portal
has read its page again. A vandal's item, reverted before then, is marked removed by that
poll and never told; so is an item editors took back within minutes.

What waits holds back no one: a sweep or a digest tells the events after it, and keeps its
watermark just below it, so that it is read again (and told) once the poll has passed; what
was told meanwhile is in the delivery ledger, and not told twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

PORTAL_ORIGIN = "wikipedia"

# Over the events row `e`: the item waits (one parameter: the start of the last poll that
# read the portal's pages, or a time no event has, when nothing waits). The same text on
# SQLite and PostgreSQL, parameter markers aside.
WAITING_SQL = f"(e.origin = '{PORTAL_ORIGIN}' AND e.added_at >= {{}})"

# What no event was added at or after: nothing waits.
NOTHING_WAITS = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Announced:
    """Announceable events read after a watermark."""

    ready: list[int]  # to tell now, in id order
    read_through: int  # the last event read: the next read starts after it
    settled_through: int  # how far a watermark may move: below the first event waiting


def announced(rows: Sequence[tuple[int, bool]], after: int) -> Announced:
    """Of the rows (id, waiting) read after ``after``, in id order: what is told now, and
    how far the watermark may go."""
    read_through = rows[-1][0] if rows else after
    waiting = [event_id for event_id, wait in rows if wait]
    return Announced(
        ready=[event_id for event_id, wait in rows if not wait],
        read_through=read_through,
        settled_through=waiting[0] - 1 if waiting else read_through,
    )
