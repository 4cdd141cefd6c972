"""Dataclasses passed across the storage boundary, in both directions.

Records (what ingest hands to storage) and views (what storage hands back) are plain data:
no SQL, no Discord, nothing that needs a connection to be useful.

Every domain type is here, past the 600 lines a module usually stays under: the types cross
repositories (an EventBrief is in digests, alerts and search), and one module is the one
place a backend's author reads to learn them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import operator
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from storage.textindex import fold_text

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")


def pickled_as_values(cls: type[_Record]) -> type[_Record]:
    """Pickle a frozen slots dataclass as its class and field values. Records cross from the
    parsing processes to the writer by the hundred thousand, and dataclasses' own slots
    pickling (fields() looked up for every object, every name stored) took as long as
    parsing them."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))

    def __reduce__(self: Any) -> tuple[type[_Record], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]  # replacing it is the point
    return cls


# --- records: outside formats turned into what the archive stores ---------------------------


@pickled_as_values
@dataclass(frozen=True, slots=True)
class SourceRecord:
    name: str
    url: str
    is_image: bool = False


@pickled_as_values
@dataclass(frozen=True, slots=True)
class RelatedRecord:
    """One item of an archive Related list: the other event and the entities both share."""

    key: str
    date: dt.date
    headline: str
    shared: tuple[str, ...]


def pack_related(related: tuple[RelatedRecord, ...]) -> bytes:
    """A Related list as archive_related stores it: (key, shared names), JSON, compressed."""
    payload = json.dumps([[r.key, list(r.shared)] for r in related], ensure_ascii=False)
    return zlib.compress(payload.encode(), 6)


def unpack_related(packed: bytes) -> list[tuple[str, tuple[str, ...]]]:
    return [(key, tuple(shared)) for key, shared in json.loads(zlib.decompress(packed))]


@pickled_as_values
@dataclass(frozen=True, slots=True)
class PageRecord:
    """One event page of the archive (or a feed entry): everything it says about its event."""

    key: str
    date: dt.date
    headline: str
    summary: str = ""
    story: str | None = None
    lang: str = "en"
    sources: tuple[SourceRecord, ...] = ()
    related: tuple[RelatedRecord, ...] = ()
    entities: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()  # older keys of the same event (a Changes list)
    origin: str = "archive"
    # How new this version of the page is (bot.ingest.archive.page_version): of two versions
    # of a page, the newer is kept, whichever is imported first.
    version: str = field(default="", compare=False)
    announce: bool = field(default=False, compare=False)  # news, not history: digests, alerts
    content_hash: str = field(default="", compare=False)  # of everything above; computed
    # The Related list as archive_related stores it; computed, like content_hash, where the
    # record is made: in the parsing processes of an import, not its one writer.
    related_packed: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.related and not self.related_packed:
            object.__setattr__(self, "related_packed", pack_related(self.related))
        if not self.content_hash:
            # repr() of these frozen fields (str, date, tuples of records) is deterministic.
            fields = (
                self.key,
                self.date,
                self.headline,
                self.summary,
                self.story,
                self.lang,
                # Plain tuples: their repr is much faster than the dataclasses' own.
                tuple((s.name, s.url, s.is_image) for s in self.sources),
                tuple((r.key, r.date, r.headline, r.shared) for r in self.related),
                self.entities,
                self.replaces,
                self.origin,
            )
            digest = hashlib.sha256(repr(fields).encode()).hexdigest()[:32]  # 128 bits
            object.__setattr__(self, "content_hash", digest)


@pickled_as_values
@dataclass(frozen=True, slots=True)
class DayEntryRecord:
    """One event as a day's index lists it: its full entity list and its story."""

    key: str
    date: dt.date
    headline: str
    summary: str | None
    entities: tuple[str, ...]
    story: str | None
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class PortalItemRecord:
    """One news item of a Current events day page: a leaf bullet, with its heading (its
    category), its chain of topics (the first is its story), the link targets of it and
    its topics (its entities) and its external links (its sources)."""

    key: str  # the archive's rule: the page's date and the slug of the headline
    date: dt.date
    headline: str
    category: str | None
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    sources: tuple[SourceRecord, ...]
    position: int  # its place among the page's items, from 0
    lang: str = "en"

    @property
    def story(self) -> str | None:
        return self.topics[0] if self.topics else None

    @property
    def content_hash(self) -> str:
        """Of what the item says (not its place on the page): unchanged items are skipped."""
        fields = (
            self.key,
            self.headline,
            self.category,
            self.topics,
            self.entities,
            tuple((s.name, s.url) for s in self.sources),
        )
        return hashlib.sha256(repr(fields).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    title: str
    text: str
    publisher: str | None = None
    published: dt.date | None = None
    file_name: str | None = None

    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()


# --- views: what lookups return -------------------------------------------------------------


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


# --- digests -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestFilters:
    """What a digest is about; no filter at all is everything."""

    entity_ids: tuple[int, ...] = ()  # canonical entities: an event naming any of them
    category: str | None = None  # the portal's category, or a feed's (its items' entities)
    words: str | None = None  # the search syntax of /search
    language: str | None = None  # 'en', 'zh' or 'all'; None: the server's

    @property
    def key(self) -> str:
        """The filters in one canonical text: a channel holds one digest of a kind per key."""
        if self == NO_FILTERS:
            return ""
        return json.dumps(
            [
                sorted(set(self.entity_ids)),
                fold_text(self.category) if self.category else None,
                " ".join(self.words.split()) if self.words else None,
                self.language,
            ],
            ensure_ascii=False,
        )


NO_FILTERS = DigestFilters()


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    guild_id: int
    channel_id: int
    kind: str
    every: str  # daily, hourly or live
    time: dt.time  # daily: the local time; hourly: the minute past each hour
    timezone: str
    filters: DigestFilters
    entity_names: tuple[str, ...]  # of filters.entity_ids, for people
    role_id: int | None
    publish: bool
    created_by: int
    created_at: dt.datetime
    set_at: dt.datetime  # when /digest set last changed it (its time, zone...): created_at at first
    paused_reason: str | None
    paused_at: dt.datetime | None
    pause_notified: bool
    last_event_id: int

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class DigestRun:
    digest_id: int
    slot: str  # a local day (2026-12-07), a local hour (2026-12-07T13) or a live batch
    status: str
    parts: int
    parts_sent: int
    attempts: int
    items: tuple[int, ...]
    covers_to: int
    thread_id: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to announce, with what a 'new' digest groups it by."""

    brief: EventBrief
    story: str | None
    top_entity: str | None


@dataclass(frozen=True, slots=True)
class NewEvents:
    """What a 'new' digest covers now: the matching events, and how far it read."""

    events: list[NewEvent]
    covers_to: int


# --- entities ------------------------------------------------------------------------------


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


# --- imports and search --------------------------------------------------------------------


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


# --- feeds ---------------------------------------------------------------------------------


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


# --- the live portal -----------------------------------------------------------------------


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


# --- server settings -----------------------------------------------------------------------


LANGUAGES = ("en", "zh", "all")


@dataclass(frozen=True, slots=True)
class GuildSettings:
    timezone: str | None = None  # None: UTC
    language: str | None = None  # None: from the server's preferred locale


# --- subscriptions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    guild_id: int
    user_id: int
    entity_id: int
    entity: str  # the canonical name
    delivery: str  # 'dm' or 'here'
    channel_id: int | None
    paused_reason: str | None

    @property
    def target(self) -> str:
        """Where its alerts go; the ledger records deliveries per target."""
        if self.delivery == "dm":
            return f"dm:{self.user_id}"
        return f"here:{self.channel_id}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Match:
    subscription: Subscription
    event: EventBrief


@dataclass(frozen=True, slots=True)
class RetakenClaims:
    """Alert claims left pending (claimed, never marked sent) past the grace period, as a
    process that died between claiming and sending leaves them: those taken back for their
    one retry, with the active subscriptions that match them (what to send), and those
    pending again after their retry, given up (marked failed). Claims are (target, event id).
    """

    retried: list[tuple[str, int]]
    matches: list[Match]
    given_up: list[tuple[str, int]]


# --- articles ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleCandidate:
    """An event an article might report on, with the text to compare it against."""

    id: int
    key: str
    date: dt.date
    headline: str
    summary: str


# --- errors --------------------------------------------------------------------------------


class StorageError(Exception):
    """A storage problem worth a clear message (bad file, newer schema, ...)."""
