"""Pruning the exactly-once ledgers: what the bot does once a day, and `chronicle prune`.

Every digest post leaves a run (with the events it lists) and a delivery row per event, and
every alert a delivery row per member and event, for ever (FINDINGS, "The ledgers over
weeks", says how much). Those rows exist for exactly-once, and exactly-once looks only so far back:

* a run's slot is looked up for the slot due now (a restart, a late or repeated timer), for
  the previous run of a daily digest (catch-up after a restart, the same local day: at
  most about two days back, a local day spanning up to 50 hours of UTC) and for the next
  one; runs still sending or waiting for a retry are never pruned, however old;
* a 'new' digest reads its deliveries above its watermark only (storage.ledgers keeps
  those, however old); an on-this-day digest never reads them;
* an alert's delivery is read by sweeps, which start at their watermark, a minute behind
  (a shard down longer, or a new shard layout, is held at the events pruned), and by the
  retry of a claim left unsent, five minutes after (CLAIM_GRACE; pending claims are never
  pruned);
* a feed's correction that gave an announced event a name is read by the alert sweep
  while it is news (CORRECTION_NEWS, three days).

So rows are kept for LEDGERS_KEPT: a week more than the longest of those (a bot down for a
long weekend still finds all it may ask for), and recent enough to look into by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable

from bot import render
from storage import Storage
from storage.ledgers import (
    CORRECTIONS_TABLE,
    DELIVERIES_TABLE,
    RUNS_TABLE,
    Compaction,
    PruneStep,
)
from storage.times import utc_iso

LEDGERS_KEPT = dt.timedelta(days=14)


@dataclasses.dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune removed, and what the ledgers hold after it."""

    before: dt.datetime  # rows older than this were looked at
    runs_removed: int
    deliveries_removed: int
    runs_kept: int
    deliveries_kept: int
    corrections_removed: int = 0

    @property
    def removed(self) -> int:
        return self.runs_removed + self.deliveries_removed + self.corrections_removed

    def as_dict(self) -> dict[str, object]:
        return {
            "before": utc_iso(self.before),
            "kept_days": LEDGERS_KEPT.days,
            "removed": {
                RUNS_TABLE: self.runs_removed,
                DELIVERIES_TABLE: self.deliveries_removed,
                CORRECTIONS_TABLE: self.corrections_removed,
            },
            "kept": {RUNS_TABLE: self.runs_kept, DELIVERIES_TABLE: self.deliveries_kept},
        }


async def prune_ledgers(
    storage: Storage,
    *,
    now: dt.datetime,
    progress: Callable[[PruneStep], None] | None = None,
    pause: float = 0.0,
) -> PruneReport:
    """Delete the digest runs and deliveries nothing can look up any more (older than
    LEDGERS_KEPT), a short transaction a step; `pause` seconds between steps leave the
    database to others (the bot's own posts and polls) all the more."""
    before = now - LEDGERS_KEPT
    removed = {RUNS_TABLE: 0, DELIVERIES_TABLE: 0, CORRECTIONS_TABLE: 0}
    async for step in storage.ledgers.prune(before=before):
        removed[step.table] = step.removed
        if progress is not None:
            progress(step)
        await asyncio.sleep(pause)
    sizes = await storage.ledgers.sizes()
    return PruneReport(
        before=before,
        runs_removed=removed[RUNS_TABLE],
        deliveries_removed=removed[DELIVERIES_TABLE],
        corrections_removed=removed[CORRECTIONS_TABLE],
        runs_kept=sizes.runs,
        deliveries_kept=sizes.deliveries,
    )


def prune_summary(report: PruneReport) -> str:
    """One line: what went, and what is kept."""
    went = [
        render.count(report.runs_removed, "digest run"),
        render.count(report.deliveries_removed, "delivery", "deliveries"),
    ]
    if report.corrections_removed:
        went.append(render.count(report.corrections_removed, "corrected link"))
    return (
        f"Pruned {', '.join(went[:-1])} and {went[-1]} finished before"
        f" {render.utc_minute(report.before)} ({LEDGERS_KEPT.days} days ago); kept"
        f" {render.count(report.runs_kept, 'run')} and"
        f" {render.count(report.deliveries_kept, 'delivery', 'deliveries')}"
    )


def compaction_summary(location: str, compaction: Compaction | None) -> str:
    """What VACUUM gave back, or why there is nothing to give back."""
    if compaction is None:
        return (
            "PostgreSQL reuses the space of the pruned rows for new ones (VACUUM has marked"
            " it free); its files do not shrink"
        )
    return (
        f"VACUUM gave back {byte_size(compaction.given_back)}: {location} takes"
        f" {byte_size(compaction.bytes_after)} (was {byte_size(compaction.bytes_before)})"
    )


def byte_size(size: int) -> str:
    """Bytes as people read them: 812 bytes, 4.2 KB, 312.4 MB, 3.1 GB (1 KB = 1,000 bytes)."""
    if size < 1000:
        return render.count(size, "byte")
    value = size / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 999.95:  # else it would read "1,000.0"
            return f"{value:,.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} TB"
