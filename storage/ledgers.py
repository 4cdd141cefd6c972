"""The exactly-once ledgers, the same on every backend: who a delivery row belongs to, which
rows nothing reads any more, and in what steps rows are deleted.

`digest_runs` holds a row per digest and slot (a local day, a local hour, a live batch),
with the events it lists; `deliveries` a row per target and event: a digest's
('digest:<id>'), or a member's alerts' ('dm:<user>', 'here:<channel>:<user>'). Both are
written for every post and would grow for ever. A removed digest's rows go with it (its id
is never used again); the rest are pruned once old, when no reader can ask for them again
(bot.services.ledgers says how old), and so are the links feeds' corrections gave events
(`corrected_links`), which the alert sweep reads only while they are news.

A member's alert rows stay when their last subscription delivered there goes (unsubscribed,
left the server, Chronicle removed from it), until the prune takes them. They are what says
the member was told: one who follows again, or follows a name a feed's correction then
gives the event (up to CORRECTION_NEWS after it arrived), would be told again without them.
Forgetting only the rows older than the correction window and the sweep's lag would not do:
the lag has no bound (a shard down for weeks, a new shard layout starting from an old
watermark), and only the prune's ALERTS_PRUNED_THROUGH keeps sweeps that far behind off the
events whose rows went. The prune bounds the table alike, a member's rows at most as long as
anyone's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# A removed digest's rows are deleted this many to a transaction: a live digest of a busy
# archive holds tens of thousands, and one long delete would hold the write lock that long.
FORGET_BATCH = 5000
# A prune looks at this many rows a step, and deletes those of them it may in one short
# transaction.
PRUNE_BATCH = 2000

DIGEST_TARGET_PREFIX = "digest:"

# A subscription's target (storage.models.Subscription.target), written in SQL over the
# subscriptions row `s`: the same text on SQLite and PostgreSQL.
SUBSCRIPTION_TARGET_SQL = (
    "CASE s.delivery WHEN 'dm' THEN 'dm:' || s.user_id"
    " ELSE 'here:' || s.channel_id || ':' || s.user_id END"
)

# A run in these states is resumed (a retry, a stopped process's half-sent run): never pruned.
UNFINISHED_RUNS = ("sending", "retrying")

# bot_state: the newest event whose alert deliveries a prune removed. The alert sweep never
# reads events at or below it again (they arrived longer ago than deliveries are kept), and
# a claim, which reads it in its own transaction, never takes one, so a sweep starting from
# an old watermark (a shard behind, a new shard layout) cannot alert anyone twice for lack
# of the rows, even with a prune going on meanwhile.
ALERTS_PRUNED_THROUGH = "alerts.pruned_through_event_id"

RUNS_TABLE = "digest_runs"
DELIVERIES_TABLE = "deliveries"
# The links feeds' corrections gave announced events (storage.subscription_rules), read by
# the alert sweep after a watermark of its own: pruned once as old as the other ledgers' rows,
# news no sweep still tells (a correction is news for CORRECTION_NEWS after its event).
CORRECTIONS_TABLE = "corrected_links"


def digest_target(digest_id: int) -> str:
    """The ledger's target of a digest's deliveries."""
    return f"{DIGEST_TARGET_PREFIX}{digest_id}"


@dataclass(frozen=True, slots=True)
class DigestMark:
    """What deciding on a digest's delivery rows needs of the digest."""

    kind: str
    last_event_id: int


def still_read(target: str, event_id: int, digests: Mapping[int, DigestMark]) -> bool:
    """Whether something may still look up an old, settled delivery row. A 'new' digest
    reads its ledger for the events after its watermark (those of a run that failed after
    some of its messages went out are there, and must not be posted again); an on-this-day
    digest picks its events by date and never reads it; a removed digest's id is never
    used again. An alert's row is read by sweeps over events after their watermark, which
    never reach below ALERTS_PRUNED_THROUGH."""
    if not target.startswith(DIGEST_TARGET_PREFIX):
        return False
    digest = digests.get(int(target.removeprefix(DIGEST_TARGET_PREFIX)))
    return digest is not None and digest.kind == "new" and event_id > digest.last_event_id


def doomed_deliveries(
    rows: Iterable[Any], digests: Mapping[int, DigestMark]
) -> tuple[list[tuple[str, int]], int]:
    """Of a window of delivery rows (database rows of target, event, and whether it is
    settled and old), those a prune deletes, and the newest event of an alert among them (0
    for none): the pruned-through mark."""
    doomed = [(t, e) for t, e, old in rows if old and not still_read(t, e, digests)]
    alerts = (e for t, e in doomed if not t.startswith(DIGEST_TARGET_PREFIX))
    return doomed, max(alerts, default=0)


async def newest_id_before(
    newest: int, added_before: Callable[[int], Awaitable[bool | None]]
) -> int:
    """The highest id (of 1..newest) whose first event at or after it was added before the
    cutoff: ``added_before(id)`` says so of the first event at or after ``id`` (None: there
    is none). Ids are handed out in the order events arrive, so every event up to it is
    older than the cutoff; a few dozen lookups by id, where scanning for the cutoff would
    read every event since."""
    low, high = 0, newest
    while low < high:
        middle = (low + high + 1) // 2
        if await added_before(middle):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True, slots=True)
class PruneStep:
    """How far a prune of one table has come: rows looked at and deleted so far, of the
    rows it looks at (its candidates)."""

    table: str
    examined: int
    candidates: int
    removed: int


@dataclass(frozen=True, slots=True)
class LedgerSizes:
    """Rows in the ledgers."""

    runs: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class Compaction:
    """A database file made smaller (SQLite's VACUUM): its bytes on disk before and after,
    its write-ahead log included."""

    bytes_before: int
    bytes_after: int

    @property
    def given_back(self) -> int:
        return max(self.bytes_before - self.bytes_after, 0)
