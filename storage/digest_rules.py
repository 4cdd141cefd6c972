"""What digests do the same on every backend: how far on this day reads for words, and how
long the events a digest posts are remembered."""

from __future__ import annotations

# on_this_day_best with words: the words are matched in Python (storage.matching), so the
# day's best are read this many times the limit, for the words to choose from.
WORDS_POOL_FACTOR = 50

# events_by_id remembers events for a while: the 'new' digests of a thousand channels cover
# much the same events. At most this many, each for this long.
RECENT_EVENTS_KEPT = 50_000
RECENT_EVENTS_SECONDS = 600.0
