"""What is posted and to whom, as storage keeps it, as typed Protocols: digests,
subscriptions and alerts, their ledgers, and servers' settings (storage.api bundles every
repository in Storage)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from storage.ledgers import PRUNE_BATCH, LedgerSizes, PruneStep
from storage.models import (
    Digest,
    DigestFilters,
    DigestRun,
    EventBrief,
    GuildSettings,
    Match,
    NewEvent,
    NewEvents,
    RetakenClaims,
    Subscription,
)
from storage.news_rules import Announced

# A 'new' digest reads its events this many at a time, however many arrived: every one is
# listed or counted, and memory holds a batch.
NEW_EVENTS_BATCH = 2000


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

    def new_event_batches(
        self,
        digest: Digest,
        *,
        language: str = "all",
        waiting_since: dt.datetime | None = None,
        batch: int = NEW_EVENTS_BATCH,
    ) -> AsyncIterator[NewEvents]:
        """What a 'new' digest covers now (every event after its watermark that passes its
        filters; portal items found at or after ``waiting_since`` wait), a batch at a time
        in id order, at least one (maybe empty): each with how far the watermark may go
        once it and those before it are covered."""
        ...

    async def new_events(
        self,
        digest: Digest,
        *,
        language: str = "all",
        waiting_since: dt.datetime | None = None,
    ) -> NewEvents:
        """Every batch of new_event_batches at once."""
        ...

    def preview_batches(
        self,
        digest: Digest | None,
        filters: DigestFilters,
        *,
        language: str,
        now: dt.datetime,
        waiting_since: dt.datetime | None = None,
        batch: int = NEW_EVENTS_BATCH,
    ) -> AsyncIterator[list[NewEvent]]:
        """What a 'new' digest would cover now, a batch at a time: the existing digest's
        new events, or (none yet) those of the last day that pass the filters; portal items
        found at or after ``waiting_since`` wait, as in new_event_batches."""
        ...

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
        ...

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


class TooManySubscriptions(Exception):
    """A new subscription refused: the member follows ``following`` entities in the server,
    the most they may."""

    def __init__(self, following: int):
        super().__init__(f"the member follows {following} entities in this server already")
        self.following = following


class SubscriptionRepository(Protocol):
    """Members' subscriptions to entities, and the exactly-once ledger of their alerts."""

    async def subscribe(
        self,
        *,
        guild_id: int,
        user_id: int,
        entity_id: int,
        delivery: str,
        channel_id: int | None,
        most: int | None = None,
    ) -> tuple[Subscription, bool]:
        """Subscribe, or change delivery (and resume) if subscribed: (subscription, created).
        With ``most``, a new subscription of a member who follows that many entities in the
        server already is refused (TooManySubscriptions); two subscribes of one member at
        once, in any processes, take turns, so that both cannot pass it."""
        ...

    async def unsubscribe(self, *, guild_id: int, user_id: int, entity_id: int) -> bool:
        """Remove a subscription; whether there was one. Every removal of subscriptions
        also deletes the deliveries of a target left with none (its DMs, or its pings in a
        channel): nothing goes there any more."""
        ...

    async def remove(self, subscription_id: int) -> bool: ...

    async def get(self, subscription_id: int) -> Subscription | None: ...

    async def for_member(self, guild_id: int, user_id: int) -> list[Subscription]: ...

    async def for_user(self, user_id: int) -> list[Subscription]:
        """The member's subscriptions in every server, by server then name."""
        ...

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

    async def announced_after(
        self, event_id: int, *, limit: int, waiting_since: dt.datetime | None = None
    ) -> Announced:
        """The next ``limit`` announceable live events after ``event_id``: those to tell,
        and how far a watermark may move. A portal item added at or after
        ``waiting_since`` (the start of the last poll that read the portal) waits
        (storage.news_rules)."""
        ...

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
        takes them back (retake_claims) should this one die before sending. Never an event
        at or below ALERTS_PRUNED_THROUGH as it stands when the claim is made (a prune
        running meanwhile included): its deliveries may be gone."""
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
        those on their second are given up (marked failed), and so are those of events at or
        below ALERTS_PRUNED_THROUGH. A claim is retried once."""
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
        newest event whose alert deliveries go is kept as ALERTS_PRUNED_THROUGH. Then the
        links feeds' corrections made before ``before``. Runs first, then deliveries, then
        corrected links; each step looks at about ``batch`` rows and deletes in one
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
