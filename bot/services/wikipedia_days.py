"""What the portal's pulls and polls report, and which days they read: the live poll's days
after an outage, the days left unread, and `chronicle wikipedia status` (portal_status)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.ingest.portal import EDITIONS
from storage import Storage
from storage.models import DayOutcome, PortalDayState, PortalPoll
from storage.times import Clock, utc_now

CATCH_UP_DAYS = 14  # the most days a poll reads (after an outage); the rest need a pull
UNREAD_LOOKBACK_DAYS = 90  # status looks for days left unread among this many recent days


@dataclass(frozen=True, slots=True)
class PullFailure:
    what: str  # a day ("2017-05-05") or a range of days
    reason: str


@dataclass(slots=True)
class PullReport:
    """What a pull or a poll did."""

    days: int = 0  # days asked for
    fetched: int = 0  # pages read and stored (a new revision)
    unchanged_days: int = 0  # pages whose revision was read before
    missing: list[dt.date] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    announced: list[int] = field(default_factory=list)
    failures: list[PullFailure] = field(default_factory=list)
    requests: int = 0
    request_failed: bool = False  # a request failed (not only a page that could not be read)
    retry_after: float | None = None  # the server asked to wait this long before the next

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, outcome: DayOutcome) -> None:
        self.fetched += 1
        self.new += len(outcome.created)
        self.updated += len(outcome.updated)
        self.unchanged += outcome.unchanged
        self.removed += len(outcome.removed)
        self.announced += outcome.announced

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "fetched": self.fetched,
            "unchanged_days": self.unchanged_days,
            "missing": [d.isoformat() for d in self.missing],
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "announced_ids": self.announced,
            "failures": [{"what": f.what, "reason": f.reason} for f in self.failures],
            "requests": self.requests,
        }


@dataclass(frozen=True, slots=True)
class WikipediaStatus:
    api_url: str
    poll_minutes: float
    poll: PortalPoll
    days: list[PortalDayState]
    unread: list[dt.date] = field(default_factory=list)  # recent days left unread


def date_range(since: dt.date, until: dt.date) -> list[dt.date]:
    return [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]


def poll_days(
    today: dt.date, last_success: dt.datetime | None
) -> tuple[list[dt.date], list[dt.date]]:
    """The days a poll reads, and the days before those it leaves unread: from the day of
    the last successful poll (UTC; yesterday if that is later, or if there was none) to
    today, but at most the last CATCH_UP_DAYS of them."""
    yesterday = today - dt.timedelta(days=1)
    since = yesterday
    if last_success is not None:
        since = min(since, last_success.astimezone(dt.UTC).date())
    first = max(since, today - dt.timedelta(days=CATCH_UP_DAYS - 1))
    return date_range(first, today), date_range(since, first - dt.timedelta(days=1))


def spans(dates: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days: (first, last) each."""
    runs: list[tuple[dt.date, dt.date]] = []
    for date in sorted(dates):
        if runs and date - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], date)
        else:
            runs.append((date, date))
    return runs


def pull_command(first: dt.date, last: dt.date) -> str:
    """The command line that reads these days."""
    return f"chronicle wikipedia pull --since {first.isoformat()} --until {last.isoformat()}"


def day_span(dates: Sequence[dt.date]) -> str:
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    return first if first == last else f"{first} to {last}"


async def portal_status(
    storage: Storage, settings: Settings, *, days: int = 7, clock: Clock = utc_now
) -> WikipediaStatus:
    """The live poll's state and the latest days held, as the settings name the wiki, and
    the recent days left unread: those between days read (an outage longer than a poll
    catches up on, a pull that failed) and those the next poll will not catch up on."""
    wiki = EDITIONS[settings.wikipedia_language].language
    poll = await storage.portal.poll_state(wiki)
    today = clock().astimezone(dt.UTC).date()
    recent = date_range(today - dt.timedelta(days=UNREAD_LOOKBACK_DAYS - 1), today)
    held = await storage.portal.revisions(wiki, recent)
    unread = set(date_range(min(held), max(held)) if held else ()) - held.keys()
    if settings.wikipedia_poll_minutes and poll.last_success_at is not None:
        unread.update(poll_days(today, poll.last_success_at)[1])
    return WikipediaStatus(
        api_url=settings.wikipedia_api_url,
        poll_minutes=settings.wikipedia_poll_minutes,
        poll=poll,
        days=await storage.portal.days(wiki, limit=days),
        unread=sorted(unread),
    )
