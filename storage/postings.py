"""Related events by shared entities, the same on every backend: an entity's events as packed
posting keys, and the rule that ranks them (storage.api.EventRepository.related)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import numpy as np

# An entity's event as one integer, (YYYYMMDD << 32) | event id, so that ordering the keys
# orders events by date, then id. Packed keys are stored as these bytes (entity_postings).
KEY_DTYPE = "<i8"
ID_BITS = 0xFFFFFFFF


def rank_shared(keys: np.ndarray, *, exclude: int, want: int) -> list[int]:
    """Event ids of the first `want` by the rule, best first, from the posting keys of an
    event's entities (one key for each event and entity it shares): most keys first, then
    the biggest key (newest date, then newest id). `exclude` is the event itself."""
    if keys.size == 0 or want <= 0:
        return []
    # Blobs are sorted runs: a stable sort (timsort) merges them rather than sorting anew.
    keys = np.sort(keys, kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    events = keys[starts]
    shared = np.diff(np.append(starts, keys.size))
    others = (events & ID_BITS) != exclude
    events, shared = events[others], shared[others]
    if events.size == 0:
        return []
    # The count at which the first `want` end: all events sharing more rank, and of those
    # sharing exactly that many, the biggest keys (the last ones, as events is ascending).
    histogram = np.bincount(shared)
    cut, above = histogram.size - 1, 0
    while cut > 1 and above + histogram[cut] < want:
        above += int(histogram[cut])
        cut -= 1
    picked = np.concatenate(
        (np.flatnonzero(shared > cut), np.flatnonzero(shared == cut)[-(want - above) :])
    )
    ranked = sorted(
        zip(shared[picked].tolist(), events[picked].tolist(), strict=True), reverse=True
    )
    return [key & ID_BITS for _, key in ranked]


async def rank_offered(
    keys: np.ndarray,
    *,
    exclude: int,
    want: int,
    removed: Callable[[Sequence[int]], Awaitable[set[int]]],
) -> list[int]:
    """rank_shared's first `want`, without the events `removed` says were taken off their
    portal page: the next ones take their place (a page that would have held one is full,
    and a next page is not lost). Those are few: ranked again only when a ranking holds
    one."""
    gone: set[int] = set()
    while True:
        ranked = [
            i for i in rank_shared(keys, exclude=exclude, want=want + len(gone)) if i not in gone
        ]
        if not (found := await removed(ranked)):
            return ranked
        gone |= found
