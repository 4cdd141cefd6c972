"""Which event a portal item is: the rule that keeps it one event, whatever editors do to
its page and whichever source told of it first. Pure: decided before anything is written.

Each item is matched to at most one event, in this order:

1. the same key (the date and the slug of the headline, as the archive names events; an
   older key of the event counts);
2. a shared source URL, on the same day, or on the day before or after for a feed's event
   no page listed whose headline shares some words with the item's
   (``ADJACENT_SHARED_SIMILARITY``: a feed and the page date one story either side of
   midnight, while a live blog is cited on consecutive days for several stories); the most
   shared first, then an event a page listed before, then the most similar headline. A
   URL that several items of the page cite (a live blog) tells nothing;
3. a similar headline (folded-token Jaccard): at least ``EDIT_SIMILARITY`` against an
   earlier version of an item of the same day's page, or an archive event of that day (an
   edit: a typo fixed, a clause added); at least ``NEAR_DUPLICATE``, the bar feeds use for
   the same story, against a feed's event, or an item of the next or previous day's page
   (an item moved to another day). While that page, as last read, still lists it, only the
   same words are the item moved (the other page may not have been read since): a like
   item is that day's own news ("the death toll rises to 41,000", then "to 44,000").

An item left unmatched is a new event. The same rule lets an archive page imported after
a pull find the portal's event of the same story.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from storage.textindex import NEAR_DUPLICATE, at_least_as_similar, headline_tokens

EDIT_SIMILARITY = Fraction(3, 5)
# A source shared with a feed's event of the day either side names the item's story only
# with some words in common too: a live blog cited on consecutive days names several.
ADJACENT_SHARED_SIMILARITY = Fraction(1, 5)
MIN_TOKENS = 3  # shorter headlines are too generic to tell an edit from another item


@dataclass(frozen=True, slots=True)
class Listing:
    """An item to place: a portal item, or an archive page."""

    key: str
    date: dt.date
    headline: str
    urls: frozenset[str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event an item may be: its text as a page last listed it (else its headline), its
    source URLs, whether a portal page listed it, whether a feed made it, and whether its
    day's page lists it now."""

    event_id: int
    date: dt.date
    keys: frozenset[str]
    text: str
    urls: frozenset[str]
    listed: bool
    from_feed: bool
    on_its_page: bool = False


def _similarity(a: frozenset[str], b: frozenset[str], floor: Fraction) -> Fraction | None:
    """Folded-token Jaccard of two headlines, if at least floor (None otherwise, and for
    headlines too short to compare)."""
    if min(len(a), len(b)) < MIN_TOKENS or not at_least_as_similar(a, b, floor):
        return None
    return Fraction(len(a & b), len(a | b))


def match_items(items: Sequence[Listing], candidates: Sequence[Candidate]) -> dict[int, int]:
    """The index of each item matched -> the event it is; each event is matched once."""
    matched: dict[int, int] = {}
    taken: set[int] = set()

    def take(index: int, event_id: int) -> None:
        matched[index] = event_id
        taken.add(event_id)

    by_key = {key: c.event_id for c in candidates for key in c.keys}
    for index, item in enumerate(items):
        event_id = by_key.get(item.key)
        if event_id is not None and event_id not in taken:
            take(index, event_id)

    tokens = {c.event_id: headline_tokens(c.text) for c in candidates}
    mine = [headline_tokens(item.headline) for item in items]
    cited = Counter(url for item in items for url in item.urls)
    shared_pairs: list[tuple[int, bool, Fraction, int, int]] = []
    similar_pairs: list[tuple[Fraction, int, int]] = []
    for index, item in enumerate(items):
        if index in matched:
            continue
        urls = {url for url in item.urls if cited[url] == 1}
        for candidate in candidates:
            same_day = candidate.date == item.date
            # A source one item alone cites names a feed's event of the day either side too
            # (the feed dated it at its own offset); an item a page listed on another day is
            # a story told over days, citing the article again.
            near = same_day or (
                abs((candidate.date - item.date).days) == 1
                and candidate.from_feed
                and not candidate.listed
            )
            shared = len(urls & candidate.urls) if near else 0
            edit = same_day and (candidate.listed or not candidate.from_feed)
            bar = EDIT_SIMILARITY if edit else NEAR_DUPLICATE
            if not same_day and candidate.on_its_page:
                # Moved, as far as a reader of the other page knows, only word for word.
                bar = Fraction(1)
            # Shared sources rank by similarity too, however small.
            similarity = _similarity(
                mine[index], tokens[candidate.event_id], Fraction(0) if shared else bar
            )
            if shared and not same_day and (similarity or 0) < ADJACENT_SHARED_SIMILARITY:
                shared = 0  # a live blog or a home page another day's story cites too
            if shared:
                shared_pairs.append(
                    (
                        -shared,
                        not candidate.listed,
                        -(similarity or Fraction(0)),
                        candidate.event_id,
                        index,
                    )
                )
            if similarity is not None and similarity >= bar:
                similar_pairs.append((-similarity, candidate.event_id, index))
    for *_, event_id, index in sorted(shared_pairs):
        if index not in matched and event_id not in taken:
            take(index, event_id)
    for _, event_id, index in sorted(similar_pairs):
        if index not in matched and event_id not in taken:
            take(index, event_id)
    return matched
