"""The same story: which stored event, if any, a feed item joins (the "Never twice" rules
of the package docstring).

Storage finds the candidates and applies the answer inside the transaction that stores the
item, so two feeds polled at once carrying one story still make one event; what counts as
the same story is decided here, from the candidates alone, without reading anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from storage.models import EventBrief, FeedItem
from storage.textindex import NEAR_DUPLICATE, at_least_as_similar, headline_tokens

MIN_HEADLINE_TOKENS: Final = 4  # shorter headlines ("Live updates") are too generic to compare


def is_near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """The same story by headline: enough tokens, Jaccard at or above NEAR_DUPLICATE."""
    if len(a) < MIN_HEADLINE_TOKENS or len(b) < MIN_HEADLINE_TOKENS:
        return False
    return at_least_as_similar(a, b, NEAR_DUPLICATE)


def is_word_for_word(a: frozenset[str], b: frozenset[str]) -> bool:
    """The same story told on the day before or after: the very same words (the folded
    tokens), enough of them. A like headline of another day is that day's own news ("the
    death toll rises to 44,000" the day after "... to 41,000")."""
    return len(a) >= MIN_HEADLINE_TOKENS and a == b


def same_story(item: FeedItem, same_link: int | None, alike: Sequence[EventBrief]) -> int | None:
    """The event ``item`` joins, or None when it is a new story.

    ``same_link`` is the event that already has the item's link as a source, if any;
    ``alike`` the events storage found with a headline like the item's on its day or the
    day either side, most similar first (not those the item's own feed made or joined:
    two entries of one feed are two items by the feed's own account, even when templated
    alike).

    The link decides first, when it can tell stories apart (``item.link_identifies``: not
    a link the document gives several entries, nor a home page). Otherwise the first event
    of the item's day whose headline is nearly the same (folded-token Jaccard at least
    NEAR_DUPLICATE, both of at least MIN_HEADLINE_TOKENS tokens) is the story; else the
    first of the day before or after with word for word the item's headline (feeds date
    one story either side of midnight, each at its own UTC offset).
    """
    if same_link is not None and item.link and item.link_identifies:
        return same_link
    tokens = headline_tokens(item.headline)
    for event in alike:
        if event.date == item.date and is_near_duplicate(tokens, headline_tokens(event.headline)):
            return event.id
    for event in alike:
        if abs((event.date - item.date).days) == 1 and is_word_for_word(
            tokens, headline_tokens(event.headline)
        ):
            return event.id
    return None
