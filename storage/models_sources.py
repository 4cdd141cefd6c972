"""Where events come from, as storage keeps it: feeds and their entries, and the Wikipedia
portal's days and revisions. Plain data: no SQL, no Discord."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from storage.records import PortalItemRecord

FeedStatus = Literal["active", "disabled"]


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    name: str
    added_at: dt.datetime
    status: FeedStatus
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    baseline_done: bool  # a fetch has succeeded: unseen entries may be news from now on
    backfill: int
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    last_success_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str | None
    last_error_kind: str | None
    last_error_at: dt.datetime | None
    consecutive_failures: int
    first_parse_failure_at: dt.datetime | None
    next_poll_at: dt.datetime
    entries_seen: int
    events_added: int

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One unseen entry of a feed, prepared by the caller: what its event would be."""

    identity: str
    key: str  # the preferred key; "-2", "-3", ... is added if another event holds it
    date: dt.date
    headline: str
    summary: str
    lang: str
    link: str | None
    entities: tuple[str, ...]
    announce: bool
    # False when the link cannot tell stories apart (a feed that points every entry to
    # one page): it is still stored as the source, but never used to find the same story.
    link_identifies: bool = True


@dataclass(frozen=True, slots=True)
class EntryText:
    """What an entry a feed carried before says now: its event's text, if the feed corrected
    it (the rules are storage.feed_steps')."""

    identity: str
    headline: str
    summary: str
    lang: str
    entities: tuple[str, ...] = ()  # the names the text mentions: its event's links


@dataclass(slots=True)
class StoredEntries:
    """What storing a feed's unseen entries (and its corrected ones) did."""

    created: list[int] = field(default_factory=list)  # new events, in item order
    announced: list[int] = field(default_factory=list)  # the created ones with announce=1
    merged: list[int] = field(default_factory=list)  # existing events joined (same story)
    sources_added: int = 0  # sources appended to existing events
    already_seen: int = 0  # items whose identity was stored meanwhile (or twice given)
    corrected: list[int] = field(default_factory=list)  # events given their entry's new text


class FeedExistsError(Exception):
    def __init__(self, feed: Feed):
        super().__init__(f"feed {feed.id} already has the URL {feed.url}")
        self.feed = feed


@dataclass(frozen=True, slots=True)
class PortalDayState:
    """A day page as last read."""

    date: dt.date
    title: str
    page_url: str
    revision_id: int | None  # None: the page does not exist
    revision_at: dt.datetime | None
    items: int
    error: str | None
    fetched_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PortalPoll:
    """The live poll's health and schedule."""

    baseline_done: bool = False
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PortalRevision:
    """One revision of a day page, parsed: what apply_day stores."""

    date: dt.date
    title: str
    page_url: str
    revision_id: int
    revision_at: dt.datetime | None
    items: tuple[PortalItemRecord, ...]


@dataclass(slots=True)
class DayOutcome:
    """What storing one revision did, by event id."""

    created: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)  # of the created ones
    updated: list[int] = field(default_factory=list)  # an edit, or new sources or entities
    unchanged: int = 0
    removed: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)  # removed before, listed again
    flooded: bool = False  # news, but too many new events at once: kept as history
