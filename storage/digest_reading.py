"""What a 'new' digest reads, the same on every backend: the announced events after its
watermark, a batch at a time to the newest, the portal items that wait (storage.news_rules)
holding its watermark back; and what a preview of it lists. Each backend reads the rows
(storage.{sqlite,postgres}.digest_content); which pass the filters is storage.digest_rules'."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Sequence

from storage.api_delivery import NEW_EVENTS_BATCH
from storage.digest_rules import (
    RECENT_EVENTS_KEPT,
    RECENT_EVENTS_SECONDS,
    EventText,
    asks_of_events,
    passing,
)
from storage.models import Digest, DigestFilters, NewEvent, NewEvents
from storage.news_rules import announced


class NewEventsReading:
    """The 'new' digests' reading, over three queries each backend writes."""

    async def _announced_rows(
        self, digest: Digest, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[tuple[int, bool]]:
        """The next `batch` announced live events after `after` not delivered to the
        digest, in id order, each with whether it waits."""
        raise NotImplementedError

    async def _recent_ids(
        self, since: dt.datetime, after: int, batch: int, waiting_since: dt.datetime | None
    ) -> list[int]:
        """The next `batch` announced live events after `after`, added since `since`, that
        do not wait, in id order."""
        raise NotImplementedError

    async def _meeting(
        self, ids: Sequence[int], filters: DigestFilters, language: str, *, texts: bool
    ) -> list[EventText]:
        """Those of the events that meet the filters but words (entities, category, the
        language), each with its headline and summary when `texts`."""
        raise NotImplementedError

    _recent: dict[int, tuple[float, NewEvent]]  # id -> (expires, event)

    async def _read_events(self, ids: Sequence[int]) -> list[NewEvent]:
        """The events, with what digests group them by, in any order."""
        raise NotImplementedError

    async def events_by_id(self, ids: Sequence[int]) -> list[NewEvent]:
        """The events, in id order, with what digests group them by. Remembered for a while:
        the 'new' digests of a thousand channels cover much the same events."""
        now = time.monotonic()
        found: dict[int, NewEvent] = {}
        missing: list[int] = []
        for i in ids:
            if (hit := self._recent.get(i)) is not None and hit[0] >= now:
                found[i] = hit[1]
            else:
                missing.append(i)
        if missing:
            read = await self._read_events(missing)
            # The answer is built from what was read: the memory may be cleared meanwhile.
            if len(self._recent) > RECENT_EVENTS_KEPT:
                self._recent.clear()
            for event in read:
                found[event.brief.id] = event
                self._recent[event.brief.id] = (now + RECENT_EVENTS_SECONDS, event)
        return [found[i] for i in sorted(found)]

    async def _passing(
        self, ids: Sequence[int], filters: DigestFilters, language: str
    ) -> list[NewEvent]:
        """Those of the events that pass the filters, in the language, as NewEvents."""
        if ids and asks_of_events(filters, language):
            met = await self._meeting(ids, filters, language, texts=bool(filters.words))
            ids = passing(met, filters.words)
        return await self.events_by_id(ids)

    async def new_event_batches(
        self,
        digest: Digest,
        *,
        language: str = "all",
        waiting_since: dt.datetime | None = None,
        batch: int = NEW_EVENTS_BATCH,
    ) -> AsyncIterator[NewEvents]:
        """Announceable events after the digest's watermark, not yet delivered to it, that
        pass its filters and do not wait (storage.news_rules), read `batch` at a time to
        the newest; each batch's covers_to is how far a watermark may go once it and those
        before it are covered (past the ones that did not pass, short of the first that
        waits). At least one batch, maybe empty."""
        after, held = digest.last_event_id, None
        while True:
            rows = await self._announced_rows(digest, after, batch, waiting_since)
            found = announced(rows, after)
            if held is None and found.settled_through < found.read_through:
                held = found.settled_through  # the first that waits holds every later batch
            events = await self._passing(found.ready, digest.filters, language)
            yield NewEvents(events, found.settled_through if held is None else held)
            if len(rows) < batch:
                return
            after = found.read_through

    async def new_events(
        self,
        digest: Digest,
        *,
        language: str = "all",
        waiting_since: dt.datetime | None = None,
    ) -> NewEvents:
        """Every batch of new_event_batches at once."""
        events: list[NewEvent] = []
        covers_to = digest.last_event_id
        async for found in self.new_event_batches(
            digest, language=language, waiting_since=waiting_since
        ):
            events += found.events
            covers_to = found.covers_to
        return NewEvents(events, covers_to)

    async def preview_batches(
        self,
        digest: Digest | None,
        filters: DigestFilters,
        *,
        language: str,
        now: dt.datetime,
        waiting_since: dt.datetime | None = None,
        batch: int = NEW_EVENTS_BATCH,
    ) -> AsyncIterator[list[NewEvent]]:
        """What a 'new' digest would cover now, a batch at a time: after its watermark, or
        (no such digest yet) the events announced in the last day that pass the filters;
        either way without the portal items that wait (storage.news_rules)."""
        if digest is not None:
            async for found in self.new_event_batches(
                digest, language=language, waiting_since=waiting_since, batch=batch
            ):
                yield found.events
            return
        since, after = now - dt.timedelta(days=1), 0
        while True:
            ids = await self._recent_ids(since, after, batch, waiting_since)
            yield await self._passing(ids, filters, language)
            if len(ids) < batch:
                return
            after = ids[-1]

    async def new_events_for_preview(
        self,
        digest: Digest | None,
        filters: DigestFilters,
        *,
        language: str,
        now: dt.datetime,
        waiting_since: dt.datetime | None = None,
    ) -> list[NewEvent]:
        """Every batch of preview_batches at once."""
        return [
            event
            async for events in self.preview_batches(
                digest, filters, language=language, now=now, waiting_since=waiting_since
            )
            for event in events
        ]
