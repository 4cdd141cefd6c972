"""Where events come from, as storage keeps it, as typed Protocols: feeds and the
Wikipedia portal (storage.api bundles every repository in Storage)."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from storage.models import (
    DayOutcome,
    EntryText,
    EventBrief,
    Feed,
    FeedItem,
    PortalDayState,
    PortalPoll,
    PortalRevision,
    StoredEntries,
)


class FeedRepository(Protocol):
    """RSS/Atom feeds, their health, and the entries they carried."""

    async def add(
        self,
        url: str,
        name: str,
        *,
        now: dt.datetime,
        backfill: int = 0,
        next_poll_at: dt.datetime | None = None,
    ) -> Feed:
        """A new active feed; raises FeedExistsError when the URL is known."""
        ...

    async def get(self, feed_id: int) -> Feed | None: ...

    async def get_by_url(self, url: str) -> Feed | None: ...

    async def list(self) -> builtins.list[Feed]: ...

    async def due(self, now: dt.datetime, *, limit: int | None = None) -> builtins.list[Feed]: ...

    async def active(self) -> builtins.list[Feed]: ...

    async def next_due_at(self) -> dt.datetime | None: ...

    async def remove(self, feed_id: int) -> bool: ...

    async def reactivate(
        self, feed_id: int, *, now: dt.datetime, backfill: int = 0
    ) -> Feed | None: ...

    async def move(self, feed_id: int, url: str) -> Feed | None:
        """The feed at its new URL (it moved there for good); None if it was removed
        meanwhile; FeedExistsError (carrying that feed) when another feed has the URL."""
        ...

    async def disable(self, feed_id: int, *, at: dt.datetime, reason: str) -> Feed | None:
        """The feed disabled for a reason of the caller's (not a failure of its own)."""
        ...

    async def counts(self) -> dict[str, int]: ...

    async def unseen(self, feed_id: int, identities: Sequence[str]) -> set[str]: ...

    async def retold(self, feed_id: int, texts: Sequence[EntryText]) -> set[str]:
        """The identities among these, of entries the feed carried before, whose text
        corrects their event by the rules of storage.feed_steps (a read: record_success
        decides again, in its transaction)."""
        ...

    async def event_feeds(self, event_id: int) -> builtins.list[tuple[int, str]]: ...

    async def record_success(
        self,
        feed_id: int,
        *,
        at: dt.datetime,
        next_poll_at: dt.datetime,
        etag: str | None,
        last_modified: str | None,
        items: Sequence[FeedItem] = (),
        body_sha256: str | None = None,
        same_story: Callable[[FeedItem, int | None, Sequence[EventBrief]], int | None]
        | None = None,
        carried: Collection[str] | None = None,
        corrections: Sequence[EntryText] = (),
    ) -> StoredEntries | None:
        """Store a poll's unseen entries and the feed's new state in one transaction; None
        if the feed was removed meanwhile.

        ``same_story(item, same_link, same_day)`` decides which existing event an unseen
        item joins (None: a new event), called inside that transaction so concurrent polls
        see each other's events. Storage gathers its candidates: ``same_link``, the first
        live event with the item's link as a source, if any; ``same_day``, complete events
        of the item's date with a headline like its own (by the day's index), most similar
        first, none that the same feed made or joined. It must answer one of those, or
        None. Without ``same_story`` every unseen item is a new event.

        ``same_link`` is offered only when the link can name the item's story (the headlines
        alike, or the event told by someone else within a few days), and with ``carried``
        (every identity of the fetched document) an item that re-emits an event of the same
        feed under a new identity joins it before ``same_story`` is asked: the rules of
        storage.feed_steps.

        ``corrections`` are what entries the feed carried before say now: each corrects
        its event in place, when the rules of storage.feed_steps let it
        (``StoredEntries.corrected``)."""
        ...

    async def record_failure(
        self,
        feed_id: int,
        *,
        at: dt.datetime,
        kind: str,
        reason: str,
        consecutive_failures: int,
        first_parse_failure_at: dt.datetime | None,
        next_poll_at: dt.datetime,
        disabled_reason: str | None = None,
    ) -> Feed | None: ...


class PortalRepository(Protocol):
    """Wikipedia's Portal:Current events, day page by day page."""

    async def revisions(
        self, wiki: str, dates: Sequence[dt.date]
    ) -> dict[dt.date, PortalDayState]: ...

    async def days(self, wiki: str, *, limit: int = 10) -> list[PortalDayState]: ...

    async def record_missing(
        self, wiki: str, date: dt.date, title: str, page_url: str, *, now: dt.datetime
    ) -> None: ...

    async def record_read(
        self, wiki: str, dates: Sequence[dt.date], *, now: dt.datetime
    ) -> None: ...

    async def record_unreadable(
        self, wiki: str, revision: PortalRevision, error: str, *, now: dt.datetime
    ) -> None: ...

    async def apply_day(
        self,
        wiki: str,
        revision: PortalRevision,
        *,
        announce: bool,
        now: dt.datetime,
        flood_cap: int | None = None,
    ) -> DayOutcome:
        """Store one revision of a day page in one transaction: items matched to their
        events, new events made, edits applied, removals marked."""
        ...

    async def resolved_titles(self, wiki: str, titles: Sequence[str]) -> dict[str, str | None]: ...

    async def store_titles(
        self, wiki: str, resolved: Mapping[str, str | None], *, now: dt.datetime
    ) -> None: ...

    async def poll_state(self, wiki: str) -> PortalPoll: ...

    async def record_poll(
        self,
        wiki: str,
        *,
        at: dt.datetime,
        next_poll_at: dt.datetime,
        error: str | None = None,
        consecutive_failures: int = 0,
    ) -> None: ...

    async def page_of(self, event_id: int) -> tuple[str, dt.date] | None: ...

    async def counts(self) -> dict[str, int]: ...

    async def last_read(self) -> dt.datetime | None: ...
