"""What is posted and to whom: digests and their runs, subscriptions and their matches,
servers' settings. Plain data: no SQL, no Discord."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from storage.models_archive import EventBrief
from storage.textindex import fold_text


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


LANGUAGES = ("en", "zh", "all")


@dataclass(frozen=True, slots=True)
class GuildSettings:
    timezone: str | None = None  # None: UTC
    language: str | None = None  # None: from the server's preferred locale


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
