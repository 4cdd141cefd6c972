"""Feed categories: which of an entry's labels can name an entity of its event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from bot.ingest.feeds.entries import FeedEntry
from storage.textindex import fold

MAX_CATEGORIES: Final = 10
MAX_CATEGORY_CHARS: Final = 80

# Labels that blogs and CMSs put on everything: never a topic.
_GENERIC_CATEGORIES: Final = frozenset(
    {"uncategorized", "uncategorised", "general", "news", "misc", "other", "default", "blog"}
)


def section_labels(entries: Sequence[FeedEntry]) -> set[str]:
    """Folded categories that more than half the entries of a document carry: sections of
    the publication ("World news", "Opinion"), not what an entry is about. Tagging events
    with them would make every event of a feed related to every other."""
    if len(entries) < 4:
        return set()
    counts = Counter(fold(c) for entry in entries for c in {fold(c): c for c in entry.categories})
    return {name for name, count in counts.items() if count * 2 > len(entries)}


def clean_categories(
    categories: Sequence[str], skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Feed categories usable as entity names: not empty, not numbers, not essays, not a
    generic label or one of ``skip`` (folded)."""
    out: list[str] = []
    for category in categories:
        name = " ".join(category.split())
        folded = fold(name)
        if (
            not name
            or len(name) > MAX_CATEGORY_CHARS
            or not any(ch.isalpha() for ch in name)
            or folded in _GENERIC_CATEGORIES
            or folded in skip
        ):
            continue
        out.append(name)
        if len(out) >= MAX_CATEGORIES:
            break
    return out
