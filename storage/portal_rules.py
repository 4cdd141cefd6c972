"""What a revision of a Wikipedia day page does to the events it lists, the same on every
backend (PortalRepository.apply_day): the events an item may be, as read before anything is
written, and the pure decisions taken on them. Which event an item is: storage.portal_match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from enum import Enum

from storage.models import PortalItemRecord
from storage.portal_match import Candidate


@dataclass(frozen=True, slots=True)
class Listed:
    """How a page of the wiki listed an event last (its row of portal_items)."""

    date: dt.date
    headline: str
    entities: tuple[str, ...]
    content_hash: str
    removed: bool  # the page listed it, and a later revision no more


@dataclass(slots=True)
class DayEvent:
    """An event an item of the day may be, as read in the revision's transaction."""

    key: str
    date: dt.date
    headline: str
    origin: str
    complete: bool
    keys: set[str] = field(default_factory=set)  # its key and the older keys that name it
    urls: set[str] = field(default_factory=set)
    listing: Listed | None = None  # how a page of this wiki listed it last

    def __post_init__(self) -> None:
        self.keys.add(self.key)

    @property
    def owned(self) -> bool:
        """The portal's own events, and stubs it completes, are the item itself."""
        return self.origin == "wikipedia" or not self.complete

    @property
    def restored(self) -> bool:
        """Listed again after a revision had taken it off."""
        return self.listing is not None and self.listing.removed

    def candidate(self, event_id: int) -> Candidate:
        listing = self.listing
        return Candidate(
            event_id=event_id,
            date=listing.date if listing else self.date,
            keys=frozenset(self.keys),
            text=listing.headline if listing else self.headline,
            urls=frozenset(self.urls),
            listed=listing is not None,
            from_feed=self.origin == "feed",
            on_its_page=listing is not None and not listing.removed,
        )


class Change(Enum):
    """What an item does to the event it was matched to."""

    ENRICH = "enrich"  # an archive or feed event: it gains the item's sources and key
    UNCHANGED = "unchanged"  # the portal's event, listed as it was
    REWRITE = "rewrite"  # the portal's event, written as the item now says


def change(event: DayEvent, item: PortalItemRecord) -> Change:
    if not event.owned:
        return Change.ENRICH
    if (
        event.listing is not None
        and event.listing.content_hash == item.content_hash
        and event.date == item.date
    ):
        return Change.UNCHANGED
    return Change.REWRITE


def unlisted(events: Mapping[int, DayEvent], listed_now: Set[int], date: dt.date) -> list[int]:
    """The events the day's page listed, and this revision lists no more."""
    return [
        event_id
        for event_id, event in events.items()
        if event_id not in listed_now
        and event.listing is not None
        and event.listing.date == date
        and not event.listing.removed
    ]
