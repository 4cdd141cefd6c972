"""What entity lookups answer, the same on every backend: how many headlines tell a name's
use, how many of an entity's events its companions are counted over, and how near a known
name is to one that matched nothing."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from storage.textindex import fold

# Headlines read to tell whether a name is a common word (EntityRepository.headline_mentions).
HEADLINE_MENTIONS = 200

# An entity's latest events its companions are counted over: each event's links are read
# (about five, scattered over the table), so the window bounds the cost of a profile for an
# entity in tens of thousands of events.
CO_ENTITY_WINDOW = 500

# "Did you mean": the names holding a start of a typed word that are weighed, most events first.
CLOSEST_CANDIDATES = 200
# ... besides the names autocomplete gives for the text.
CLOSEST_SUGGESTIONS = 50


def closest_names(text: str, candidates: Mapping[str, str], limit: int) -> list[str]:
    """Canonical names (candidates: canonical -> the spelling that found it) nearest to
    text, by the better of the two spellings' similarity; ties by name."""
    folded = fold(text)

    def similarity(canonical: str) -> float:
        spelled = candidates[canonical]
        return max(
            difflib.SequenceMatcher(None, folded, fold(canonical)).ratio(),
            difflib.SequenceMatcher(None, folded, fold(spelled)).ratio(),
        )

    return sorted(candidates, key=lambda name: (-similarity(name), name))[:limit]
