"""What the bot, the CLI and the benchmarks may ask of storage: one typed Protocol per
repository, and Storage, which bundles them. A backend implements these (the SQLite one is
storage.sqlite); the domain types they take and return are in storage.models.

Nothing here knows SQL. Each Protocol holds what callers rely on, and the contract suite
(tests/storage) checks each backend against it."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from fractions import Fraction
from typing import Protocol

from storage.ledgers import PRUNE_BATCH, Compaction, LedgerSizes, PruneStep
from storage.models import (
    AliasResult,
    ArchiveStats,
    ArticleCandidate,
    ArticleRecord,
    BatchOutcome,
    DayEntryRecord,
    DayOutcome,
    Digest,
    DigestFilters,
    DigestRun,
    EntityName,
    EntityProfile,
    EntryText,
    Event,
    EventBrief,
    Feed,
    FeedItem,
    GuildSettings,
    HeadlineMention,
    KnownName,
    LinkedEvent,
    Match,
    NewEvent,
    NewEvents,
    PageRecord,
    PortalDayState,
    PortalPoll,
    PortalRevision,
    RelatedEvent,
    RetakenClaims,
    SearchFilter,
    SearchHit,
    StoredEntries,
    Subscription,
)
from storage.problems import Problem


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


class DigestRepository(Protocol):
    """Scheduled digests, what they would post, and the exactly-once ledger of their runs."""

    async def upsert(
        self,
        *,
        guild_id: int,
        channel_id: int,
        kind: str,
        every: str = "daily",
        time: dt.time,
        timezone: str,
        filters: DigestFilters = ...,
        role_id: int | None = None,
        publish: bool = False,
        created_by: int,
        now: dt.datetime,
    ) -> tuple[Digest, bool]:
        """Create the channel's digest of this kind and filters, or change it (which also
        resumes it). (digest, created)."""
        ...

    async def get(self, digest_id: int) -> Digest | None: ...

    async def for_guild(self, guild_id: int) -> list[Digest]: ...

    async def all(self) -> list[Digest]: ...

    async def live(self) -> list[Digest]: ...

    async def remove(self, digest_id: int) -> Digest | None:
        """Remove a digest with its runs and its deliveries; it as it was, or None."""
        ...

    async def pause(self, digest_id: int, reason: str) -> bool:
        """Pause a digest; True when this call paused it."""
        ...

    async def resume_channel(self, channel_id: int) -> list[int]:
        """Resume every paused digest of a channel (what refused one refused them all);
        the ids of those resumed."""
        ...

    async def mark_pause_notified(self, digest_id: int) -> None: ...

    async def advance(self, digest_id: int, covers_to: int) -> None: ...

    async def run(self, digest_id: int, slot: str) -> DigestRun | None: ...

    async def unfinished_run(self, digest_id: int) -> DigestRun | None: ...

    async def interrupted_runs(
        self, *, shard_ids: Sequence[int] | None, shard_count: int | None
    ) -> int:
        """At start: the runs left 'sending' by a stopped process, for the servers on these
        shards (a server is on shard ``(guild_id >> 22) % shard_count``; None for either:
        every server), wait for a retry instead. Runs of other shards' servers are left
        alone: another live process may be sending them. How many changed."""
        ...

    async def record_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> bool: ...

    async def claim_run(
        self,
        digest_id: int,
        slot: str,
        *,
        parts: int,
        items: Sequence[int],
        covers_to: int = 0,
    ) -> DigestRun | None:
        """Claim a slot's run before posting: None if another claimed it."""
        ...

    async def part_sent(
        self,
        digest_id: int,
        slot: str,
        *,
        thread_id: int | None = None,
        event_ids: Sequence[int] = (),
    ) -> None:
        """One more message of the run is out, listing these events: they are delivered to
        the digest, whatever becomes of the rest of the run."""
        ...

    async def finish_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> None: ...

    async def runs_for(self, digest_id: int, limit: int = 10) -> list[DigestRun]: ...

    async def new_events(
        self, digest: Digest, *, language: str = "all", limit: int = 5000
    ) -> NewEvents: ...

    async def new_events_for_preview(
        self,
        digest: Digest | None,
        filters: DigestFilters,
        *,
        language: str,
        now: dt.datetime,
        limit: int = 5000,
    ) -> list[NewEvent]: ...

    async def events_by_id(self, ids: Sequence[int]) -> list[NewEvent]: ...

    async def on_this_day_best(
        self,
        month: int,
        day: int,
        *,
        before_year: int,
        limit: int,
        filters: DigestFilters = ...,
        language: str = "all",
    ) -> list[EventBrief]:
        """A digest's day in the years before `before_year`, the day's own year: its
        February 28 also shows February 29's events when it has none
        (storage.onthisday_rules.month_days)."""
        ...

    async def has_category(self, name: str) -> bool: ...

    async def categories(self, text: str, *, limit: int = 25) -> list[str]: ...


class SubscriptionRepository(Protocol):
    """Members' subscriptions to entities, and the exactly-once ledger of their alerts."""

    async def subscribe(
        self, *, guild_id: int, user_id: int, entity_id: int, delivery: str, channel_id: int | None
    ) -> tuple[Subscription, bool]: ...

    async def unsubscribe(self, *, guild_id: int, user_id: int, entity_id: int) -> bool:
        """Remove a subscription; whether there was one. Every removal of subscriptions
        also deletes the deliveries of a target left with none (its DMs, or its pings in a
        channel): nothing goes there any more."""
        ...

    async def remove(self, subscription_id: int) -> bool: ...

    async def get(self, subscription_id: int) -> Subscription | None: ...

    async def for_member(self, guild_id: int, user_id: int) -> list[Subscription]: ...

    async def count_for_member(self, guild_id: int, user_id: int) -> int: ...

    async def pause(self, subscription_ids: Sequence[int], reason: str) -> None: ...

    async def resume_dm(self, user_id: int, reason: str) -> int:
        """Resume the member's DM subscriptions (every server's) paused for ``reason``;
        how many."""
        ...

    async def here_subscriptions(
        self, channel_id: int, user_id: int | None = None
    ) -> list[Subscription]:
        """Active subscriptions delivered in the channel: ``user_id``'s, or everyone's."""
        ...

    async def remove_member(self, guild_id: int, user_id: int) -> int:
        """Remove the member's subscriptions in the server (they left it); how many."""
        ...

    async def remove_guild(self, guild_id: int) -> int:
        """Remove every subscription in the server (Chronicle left it); how many."""
        ...

    async def dm_subscriptions(self, user_id: int) -> list[Subscription]: ...

    async def announced_after(self, event_id: int, *, limit: int) -> list[int]: ...

    async def newest_event_id(self) -> int: ...

    async def matches(self, event_ids: Sequence[int]) -> list[Match]:
        """Active subscriptions whose entity is in these events, not yet delivered there."""
        ...

    async def newest_corrected_link(self) -> int:
        """The last corrected link's id (0: none): where a first sweep starts reading them."""
        ...

    async def corrected_matches(self, after: int, *, limit: int) -> tuple[list[Match], int]:
        """Active subscriptions to the entities feeds' corrections linked to announced events
        (storage.subscription_rules), of the next ``limit`` corrected links after ``after``,
        each with its event while the event is live and still linked to the entity, not yet
        delivered there (and above ALERTS_PRUNED_THROUGH, whose deliveries may be gone); and
        the last link read (``after`` if none)."""
        ...

    async def claim(
        self, target: str, event_ids: Sequence[int], *, guild_id: int | None = None
    ) -> list[int]:
        """Record deliveries before sending (at most once); the ids newly claimed, pending
        until mark_sent. ``guild_id``: the server they are claimed for, whose shard's process
        takes them back (retake_claims) should this one die before sending."""
        ...

    async def mark_sent(self, target: str, event_ids: Sequence[int]) -> None:
        """The claims' message went out: they are done, never taken back."""
        ...

    async def mark_failed(self, target: str, event_ids: Sequence[int]) -> None:
        """The claims' message was refused for good (the member's DMs are closed): done,
        never taken back, never claimed again."""
        ...

    async def retake_claims(
        self,
        *,
        grace: dt.timedelta,
        shard_ids: Sequence[int] | None,
        shard_count: int | None,
    ) -> RetakenClaims:
        """Claims pending for longer than ``grace`` (their process died before sending),
        of the servers on these shards (None: every server): those on their first attempt
        are taken for a second, each by one caller of all the processes asking at once;
        those on their second are given up (marked failed). A claim is retried once."""
        ...

    async def add_notice(self, user_id: int, text: str) -> None:
        """Keep a notice for the member's next command; it replaces none waiting."""
        ...

    async def take_notice(self, user_id: int) -> str | None:
        """The member's waiting notices, taken (each by one caller) and joined, oldest first,
        as many as one Discord message holds (storage.notices); the rest wait."""
        ...

    async def state(self, name: str) -> str | None: ...

    async def set_state(self, name: str, value: str) -> None: ...


class LedgerRepository(Protocol):
    """The exactly-once ledgers: digest runs (with the events each lists) and deliveries
    (each event to each digest and each member's target), kept while something may look
    them up (storage.ledgers)."""

    def prune(self, *, before: dt.datetime, batch: int = PRUNE_BATCH) -> AsyncIterator[PruneStep]:
        """Delete what no reader needs any more: finished runs (not sending or waiting for
        a retry) last changed before ``before``, and settled deliveries (not a pending
        alert claim) made before it that nothing reads (storage.ledgers.still_read). The
        newest event whose alert deliveries go is kept as ALERTS_PRUNED_THROUGH. Runs
        first, then deliveries; each step looks at about ``batch`` rows and deletes in one
        short transaction, then says how far it has come: the caller may pause between
        steps, or stop."""
        ...

    async def sizes(self) -> LedgerSizes:
        """The rows the ledgers hold."""
        ...


class GuildSettingsRepository(Protocol):
    async def get(self, guild_id: int) -> GuildSettings: ...

    async def set_timezone(self, guild_id: int, timezone: str) -> None: ...

    async def set_language(self, guild_id: int, language: str | None) -> None: ...


class Storage(Protocol):
    """One archive: its repositories, and what spans them."""

    @property
    def location(self) -> str:
        """Where the archive is, for people (a file path; a database URL without password)."""
        ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def search(self) -> SearchProvider: ...

    @property
    def entities(self) -> EntityRepository: ...

    @property
    def articles(self) -> ArticleRepository: ...

    @property
    def feeds(self) -> FeedRepository: ...

    @property
    def portal(self) -> PortalRepository: ...

    @property
    def digests(self) -> DigestRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def settings(self) -> GuildSettingsRepository: ...

    @property
    def ledgers(self) -> LedgerRepository: ...

    async def stats(self) -> ArchiveStats: ...

    def bulk_writes(self) -> AbstractAsyncContextManager[None]:
        """Many large write transactions to come (an import): tune for throughput."""
        ...

    async def optimize_search(self) -> None:
        """Compact the full-text index after a large import, in short transactions."""
        ...

    async def compact(self) -> Compaction | None:
        """Give the space of deleted rows back to the operating system: SQLite rewrites
        its file (VACUUM; the bot must not be using it, and it needs about the file's size
        free on disk meanwhile) and says how big it was and is. None where the backend
        keeps that space for new rows itself (PostgreSQL: VACUUM, not VACUUM FULL, which
        would lock the tables)."""
        ...

    def explain(self, exc: BaseException) -> Problem | None:
        """What went wrong, when ``exc`` is a failure of this backend's database (a full
        disk, a read-only file, a lock, a server gone); None otherwise."""
        ...

    async def lead(self, name: str) -> bool:
        """Whether this process holds the lead for ``name`` (work that one process of many
        sharing the archive does, such as polling feeds) now; takes it when it is free.
        The lead is held until the process ends (or its hold on the database drops), then
        another process takes it at its next ask. A backend for one process always says
        True."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Storage: ...

    async def __aexit__(self, *exc: object) -> None: ...
