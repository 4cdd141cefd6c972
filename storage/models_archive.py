"""The archive as lookups see it: events, their sources, articles and related events,
entities, search, and what an import did. Plain data: no SQL, no Discord."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str
    is_image: bool = False


@dataclass(frozen=True, slots=True)
class EventBrief:
    """Enough of an event to list it."""

    id: int
    key: str
    date: dt.date
    headline: str
    complete: bool
    url: str | None = None  # its first source, to link the headline


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    text: str
    publisher: str | None
    published: dt.date | None
    score: float | None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    key: str
    date: dt.date
    headline: str
    summary: str
    story: str | None
    lang: str
    complete: bool
    sources: tuple[Source, ...]
    entities: tuple[str, ...]
    articles: tuple[Article, ...] = ()
    added_at: dt.datetime | None = None
    category: str | None = None  # the portal's heading: "Armed conflicts and attacks"
    removed_at: dt.datetime | None = None  # taken off the portal page it came from

    @property
    def brief(self) -> EventBrief:
        first = next((s.url for s in self.sources if not s.is_image), None)
        return EventBrief(self.id, self.key, self.date, self.headline, self.complete, first)


@dataclass(frozen=True, slots=True)
class RelatedEvent:
    event: EventBrief
    shared: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    event: EventBrief
    snippet: str = ""


@dataclass(frozen=True, slots=True)
class EntityProfile:
    name: str
    event_count: int
    first_date: dt.date | None
    last_date: dt.date | None
    recent: tuple[EventBrief, ...]
    co_entities: tuple[tuple[str, int], ...]
    aliases: tuple[str, ...] = ()
    co_entities_window: int | None = None  # companions counted over this many latest events


@dataclass(frozen=True, slots=True)
class ArchiveStats:
    events: int
    incomplete: int
    entities: int
    sources: int
    articles: int
    first_date: dt.date | None
    last_date: dt.date | None
    extra: dict[str, int] = field(default_factory=dict)
    portal_read_at: dt.datetime | None = None  # when a Current events page was last read


class EntityError(ValueError):
    """An alias or merge that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class EntityName:
    """A name as people may type it, and the entity it means."""

    name: str
    canonical: str
    event_count: int

    @property
    def is_alias(self) -> bool:
        return self.name != self.canonical


@dataclass(frozen=True, slots=True)
class AliasResult:
    alias: str
    canonical: str
    moved_links: int
    created: bool  # the alias name was new to the archive


@dataclass(frozen=True, slots=True)
class KnownName:
    """A name text may mention (canonical or alias), the entity it means and how many
    events that entity has: what a name matcher loads (EntityRepository.names)."""

    id: int  # the name's own row: names are loaded in id order, then only newer ones
    name: str
    entity_id: int  # the canonical entity
    canonical: str
    event_count: int


@dataclass(frozen=True, slots=True)
class HeadlineMention:
    """A headline holding a name's words, and whether its event links the entity."""

    date: dt.date
    headline: str
    linked: bool


@dataclass(frozen=True, slots=True)
class LinkedEvent:
    """An event's text and its entity links (canonical ids): what tagging is measured on."""

    id: int
    key: str
    date: dt.date
    lang: str
    complete: bool
    story: str | None
    headline: str
    summary: str
    entity_ids: tuple[int, ...]


@dataclass(slots=True)
class BatchOutcome:
    """What one import batch did, by event id, so an import of many batches can add up."""

    created_incomplete: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)  # were absent or incomplete, now complete
    updated: set[int] = field(default_factory=set)  # complete before, page changed
    unchanged: int = 0
    replaced: int = 0
    superseded: list[str] = field(default_factory=list)  # older versions skipped


@dataclass(frozen=True, slots=True)
class SearchFilter:
    text: str = ""
    entity_ids: tuple[int, ...] | None = None  # any of these (a canonical entity and aliases)
    since: dt.date | None = None
    until: dt.date | None = None
    language: str | None = None  # 'en' or 'zh': that edition only; 'all' or None: both


@dataclass(frozen=True, slots=True)
class ArticleCandidate:
    """An event an article might report on, with the text to compare it against."""

    id: int
    key: str
    date: dt.date
    headline: str
    summary: str
