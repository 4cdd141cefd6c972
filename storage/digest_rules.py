"""What digests do the same on every backend: which events pass a digest's filters, how far
on this day reads for words, and how long the events a digest posts are remembered."""

from __future__ import annotations

from collections.abc import Iterable

from storage.matching import text_matcher
from storage.models import DigestFilters

# on_this_day_best with words: the words are matched in Python (storage.matching), so the
# day's best are read this many times the limit, for the words to choose from.
WORDS_POOL_FACTOR = 50

# events_by_id remembers events for a while: the 'new' digests of a thousand channels cover
# much the same events. At most this many, each for this long.
RECENT_EVENTS_KEPT = 50_000
RECENT_EVENTS_SECONDS = 600.0

# An event as a digest's words are matched against it: (id, headline, summary); headline
# and summary are None when there are no words to match.
EventText = tuple[int, str | None, str | None]


def asks_of_events(filters: DigestFilters, language: str) -> bool:
    """Whether the filters (and the digest's language) leave out any event: with none, every
    event passes, and nothing need be read to say so."""
    return bool(filters.entity_ids or filters.category or filters.words or language != "all")


def passing(met: Iterable[EventText], words: str | None) -> list[int]:
    """The events that pass a digest's filters, in id order: of those that met the rest
    (entities, category, language: each backend's SQL), every one when there are no words,
    else those whose headline or summary hold the words as /search reads them."""
    if not words:
        return sorted(event_id for event_id, _, _ in met)
    holds = text_matcher(words)
    return sorted(
        event_id
        for event_id, headline, summary in met
        if holds(f"{headline or ''}\n{summary or ''}")
    )
