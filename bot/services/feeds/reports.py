"""What polling or adding feeds did: one feed's outcome, a round's report, an add's result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.ingest.feeds.credentials import masked
from storage.models import Feed, StoredEntries
from storage.times import utc_iso

# not_modified: a 304, or the same bytes as at the last successful poll.
OutcomeStatus = Literal["ok", "not_modified", "failed", "disabled", "removed"]


@dataclass(slots=True)
class FeedOutcome:
    """What one poll (or the fetch when adding) of one feed did."""

    feed_id: int
    url: str  # as it may be shown: masked (its login and tokens as ***)
    name: str
    status: OutcomeStatus
    entries: int = 0  # entries in the document
    unseen: int = 0  # entries this feed never carried before
    created: list[int] = field(default_factory=list)  # new events
    announced: list[int] = field(default_factory=list)  # new events that are news
    merged: int = 0  # unseen entries that joined an existing event (same story)
    corrected: list[int] = field(default_factory=list)  # events their seen entries corrected
    history_reason: str | None = None  # why unseen entries were kept as history
    error_kind: str | None = None
    error: str | None = None
    warning: str | None = None  # the document had problems but was read
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    next_poll_at: dt.datetime | None = None
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        # An outcome is printed and logged: it never holds the feed's secrets.
        self.url = masked(self.url)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_modified")

    def fill(self, stored: StoredEntries) -> None:
        """Take what storing the unseen entries did."""
        self.created = list(stored.created)
        self.announced = list(stored.announced)
        self.merged = len(stored.merged)
        self.corrected = list(stored.corrected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "url": self.url,
            "name": self.name,
            "status": self.status,
            "entries": self.entries,
            "unseen": self.unseen,
            "new_events": len(self.created),
            "announced": len(self.announced),
            "announced_ids": list(self.announced),
            "merged": self.merged,
            "corrected_ids": list(self.corrected),
            "history_reason": self.history_reason,
            "error_kind": self.error_kind,
            "error": self.error,
            "warning": self.warning,
            "consecutive_failures": self.consecutive_failures,
            "disabled_reason": self.disabled_reason,
            "next_poll_at": utc_iso(self.next_poll_at),
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(slots=True)
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def new_event_ids(self) -> list[int]:
        """New events that are news (announce=1): for "new events" digests and alerts."""
        return [event_id for o in self.outcomes for event_id in o.announced]

    @property
    def corrected_ids(self) -> list[int]:
        """Events their feeds corrected (which may now name what members follow)."""
        return [event_id for o in self.outcomes for event_id in o.corrected]

    @property
    def created_ids(self) -> list[int]:
        return [event_id for o in self.outcomes for event_id in o.created]

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "disabled")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "feeds": len(self.outcomes),
            "failed": len(self.failed),
            "new_events": len(self.created_ids),
            "announced_ids": self.new_event_ids,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


@dataclass(slots=True)
class AddResult:
    feed: Feed
    outcome: FeedOutcome
    reactivated: bool = False  # the URL was a disabled feed, now active again
    discovered_from: str | None = None
    """The HTML page the operator gave, when ``feed`` is the feed that page advertises."""
    moved_from: str | None = None
    """The URL given (or advertised), when the feed had moved from it for good (301, 308)."""
