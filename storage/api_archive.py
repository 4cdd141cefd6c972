"""What storage holds of the archive, as typed Protocols: events, their search, entities and
articles (storage.api bundles every repository in Storage)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from fractions import Fraction
from typing import Protocol

from storage.models import (
    AliasResult,
    ArticleCandidate,
    ArticleRecord,
    BatchOutcome,
    DayEntryRecord,
    EntityName,
    EntityProfile,
    Event,
    EventBrief,
    HeadlineMention,
    KnownName,
    LinkedEvent,
    PageRecord,
    RelatedEvent,
    SearchFilter,
    SearchHit,
)


class EventRepository(Protocol):
    """The archive's events: imports, and lookups by id, key, day and shared entities."""

    async def import_batch(
        self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord] = ()
    ) -> BatchOutcome:
        """Apply archive pages and day-index entries in one transaction."""
        ...

    async def index_pending(self, *, batch: int = ...) -> int:
        """Make searchable every event still waiting to be (stubs, an interrupted import)."""
        ...

    async def reconcile_stubs(self, stub_ids: Iterable[int], *, threshold: Fraction = ...) -> int:
        """Fold incomplete events into an event of their day with nearly the same headline;
        how many were folded."""
        ...

    async def get(self, event_id: int) -> Event | None:
        """The event of that id, or the one it was merged into (a page's newer version, the
        event a stub was folded into): the id may be a posted card's."""
        ...

    async def get_by_key(self, text: str) -> Event | None:
        """The event a key, archive link or path names (older keys included)."""
        ...

    async def count_incomplete(self, ids: Collection[int]) -> int: ...

    async def briefs(self, ids: Sequence[int]) -> dict[int, EventBrief]: ...

    async def related(
        self, event_id: int, *, limit: int = 10, offset: int = 0
    ) -> list[RelatedEvent]:
        """Other events sharing an entity: most shared first, then newest date, then the
        newest id."""
        ...

    async def pack_postings(self) -> int:
        """Prepare what related() reads of popular entities after an ingest; how many."""
        ...

    async def on_this_day(
        self,
        month: int,
        day: int,
        *,
        year: int | None = None,
        before_year: int | None = None,
        limit: int = 50,
        offset: int = 0,
        language: str | None = None,
    ) -> list[EventBrief]:
        """Events on a month and day, newest year first. `year`: the year the day is asked
        in, whose February 28 also shows February 29's events when it has none
        (storage.onthisday_rules.month_days); None: the day's own events only."""
        ...

    async def archive_related(self, event_id: int) -> list[tuple[str, tuple[str, ...]]]:
        """The event's Related list exactly as the archive gave it: (key, shared names)."""
        ...


class SearchProvider(Protocol):
    """Full-text lookups over events: /search, autocomplete, and suggestions for text
    that matched nothing."""

    async def search(
        self, query: SearchFilter, *, limit: int = 10, offset: int = 0
    ) -> list[SearchHit]:
        """Events matching the words (bot.services.lookups validates their syntax) and the
        filters, best first."""
        ...

    async def suggest_headlines(
        self, text: str, *, limit: int = 25, language: str | None = None
    ) -> list[EventBrief]:
        """Autocomplete: headlines holding the words typed, newest first."""
        ...

    async def closest(
        self, text: str, *, limit: int = 5, language: str | None = None
    ) -> list[EventBrief]:
        """Suggestions for text that matched nothing (typos, unknown words)."""
        ...


class EntityRepository(Protocol):
    """People, groups, places and stories: names, aliases, merges and profiles."""

    async def find(self, name: str) -> tuple[int, str] | None:
        """(id, name) of the canonical entity a name means, ignoring case and accents."""
        ...

    async def find_by_id(self, entity_id: int) -> tuple[int, str] | None:
        """(id, name) of the canonical entity an id names (an alias's: its entity's)."""
        ...

    async def known(self, names: Iterable[str]) -> set[str]: ...

    async def aliases(self, entity_id: int) -> list[str]: ...

    async def names(self, *, after_id: int = 0) -> list[KnownName]:
        """Every name created after ``after_id``, in id order, with its canonical entity."""
        ...

    async def headline_mentions(self, name: str, *, limit: int = ...) -> list[HeadlineMention]:
        """The newest headlines holding a name's words, and whether each links the entity."""
        ...

    async def linked_events(self, *, after_id: int = 0, limit: int = 5000) -> list[LinkedEvent]:
        """Events after ``after_id`` with their text and linked entity ids."""
        ...

    async def suggest(self, text: str, *, limit: int = 25) -> list[EntityName]:
        """Names for what is typed, aliases included, entities with most events first."""
        ...

    async def closest(self, text: str, *, limit: int = 5) -> list[str]:
        """Known canonical names nearest to a name that matched nothing."""
        ...

    async def alias(
        self,
        alias: str,
        canonical: str,
        *,
        create_canonical: bool = True,
        require_known: bool = False,
    ) -> AliasResult:
        """Make ``alias`` another name of ``canonical``; its links, subscriptions and
        digests move to the canonical entity. Raises EntityError when it cannot be done."""
        ...

    async def merge(self, source: str, target: str) -> AliasResult:
        """Fold one known entity (and its aliases) into another."""
        ...

    async def profile(
        self,
        entity_id: int,
        *,
        recent: int = 10,
        co_entities: int = 10,
        language: str | None = None,
    ) -> EntityProfile: ...


class ArticleRepository(Protocol):
    """Full article texts attached to the events they report."""

    async def attach(self, event_id: int, article: ArticleRecord, *, score: float | None) -> bool:
        """Attach an article; False when this exact text is already attached."""
        ...

    async def attached_to(self, article: ArticleRecord) -> str | None: ...

    async def candidates(
        self, words: str, *, around: dt.date | None, days: int, limit: int = 200
    ) -> list[ArticleCandidate]: ...
