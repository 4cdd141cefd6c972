"""Pruning the ledgers (LedgerRepository.prune): what was written long ago and nothing can
look up any more goes, a short transaction a step; what exactly-once still needs stays,
however old: a run still sending or waiting for its retry, a pending alert claim, and the
deliveries of a 'new' digest above its watermark (a failed run's posted part). Without a
prune, every run and every delivery stayed for good."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage import Storage
from storage.ledgers import (
    ALERTS_PRUNED_THROUGH,
    CORRECTIONS_TABLE,
    DELIVERIES_TABLE,
    RUNS_TABLE,
    LedgerSizes,
    PruneStep,
)
from storage.models import Digest, DigestFilters
from storage.times import utc_now
from tests.storage.conftest import RawSQL
from tests.storage.digests_support import SLOT, make_digest, news
from tests.storage.events_support import arrive
from tests.storage.feeds_support import T0, item, store
from tests.storage.test_feed_corrections import correct, follow, offered, text
from tests.storage.test_subscriptions import ALICE, GUILD, subscribe

# A literal both backends read as a time (SQLite's text, PostgreSQL's timestamptz).
LONG_AGO = "'2000-01-01T00:00:00.000000Z'"
KEPT = dt.timedelta(days=14)


async def prune(storage: Storage, *, batch: int = 2000) -> list[PruneStep]:
    """A prune of what is older than two weeks, to its end; its steps."""
    return [s async for s in storage.ledgers.prune(before=utc_now() - KEPT, batch=batch)]


def file_size(path: str) -> int:
    return Path(path).stat().st_size


def removed(steps: list[PruneStep]) -> dict[str, int]:
    return {step.table: step.removed for step in steps}


async def arrived_long_ago(storage: Storage, raw_sql: RawSQL, count: int) -> list[int]:
    """News that arrived long ago (the ledgers' rows about it are made old separately)."""
    ids = await arrive(storage, *(news(f"Old news number {n}", "Italy") for n in range(count)))
    await raw_sql(f"UPDATE events SET added_at = {LONG_AGO} WHERE id <= ?", max(ids))
    return ids


async def deliveries(raw_sql: RawSQL, target: str) -> list[int]:
    rows = await raw_sql(
        "SELECT event_id FROM deliveries WHERE target = ? ORDER BY event_id", target
    )
    return [row[0] for row in rows]


async def posted(storage: Storage, digest: Digest, slot: str, ids: list[int]) -> None:
    """A run of the digest that posted these events."""
    assert await storage.digests.claim_run(digest.id, slot, parts=1, items=ids) is not None
    await storage.digests.part_sent(digest.id, slot, event_ids=ids)
    await storage.digests.finish_run(digest.id, slot, "sent")


async def test_finished_runs_go_once_old_and_unfinished_ones_stay(
    storage: Storage, raw_sql: RawSQL
) -> None:
    digest = await make_digest(storage)
    ids = await arrive(storage, news("Earthquake strikes Italy", "Italy"))
    for slot, outcome in [
        ("2026-11-01", "sent"),
        ("2026-11-02", "failed"),
        ("2026-11-03", "retrying"),  # its retry resumes it
        ("2026-11-04", "sending"),  # a stopped process's, resumed at the next start
    ]:
        assert await storage.digests.claim_run(digest.id, slot, parts=1, items=ids) is not None
        if outcome != "sending":
            await storage.digests.finish_run(digest.id, slot, outcome)
    await storage.digests.record_run(digest.id, "2026-11-05", "empty")
    await storage.digests.record_run(digest.id, "2026-11-06", "skipped", "missed its time")
    await raw_sql(f"UPDATE digest_runs SET updated_at = {LONG_AGO}")
    await storage.digests.record_run(digest.id, SLOT, "empty")  # today's: holds its slot

    steps = await prune(storage)
    assert removed(steps)[RUNS_TABLE] == 4
    kept = await storage.digests.runs_for(digest.id, limit=20)
    assert {run.slot: run.status for run in kept} == {
        "2026-11-03": "retrying",
        "2026-11-04": "sending",
        SLOT: "empty",
    }
    assert await storage.digests.run(digest.id, "2026-11-01") is None
    assert (await storage.ledgers.sizes()).runs == 3


async def test_a_new_digest_keeps_only_the_deliveries_it_may_read_again(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """Below its watermark its deliveries are never read; above it they are what keeps the
    part a failed run posted from being posted again, however long ago that was."""
    digest = await make_digest(storage)
    ids = await arrived_long_ago(storage, raw_sql, 4)
    await posted(storage, digest, "2026-11-01", ids[:2])  # the watermark moves to ids[1]
    # The next run posts its first message of two, then fails for good.
    assert await storage.digests.claim_run(digest.id, "2026-11-02", parts=2, items=ids[2:])
    await storage.digests.part_sent(digest.id, "2026-11-02", event_ids=ids[2:3])
    await storage.digests.finish_run(digest.id, "2026-11-02", "failed", "HTTP 403")
    offered = [e.brief.id for e in (await storage.digests.new_events(digest)).events]
    assert offered == ids[3:]
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")

    assert removed(await prune(storage))[DELIVERIES_TABLE] == 2
    assert await deliveries(raw_sql, f"digest:{digest.id}") == ids[2:3]
    fresh = await storage.digests.get(digest.id)
    assert fresh is not None
    assert [e.brief.id for e in (await storage.digests.new_events(fresh)).events] == offered


async def test_on_this_day_and_removed_digests_deliveries_go_once_old(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """An on-this-day digest picks its events by date: its ledger is never read. A digest
    removed before its ledger went along with it left rows named after an id never used
    again."""
    onthisday = await make_digest(storage, kind="onthisday")
    ids = await arrived_long_ago(storage, raw_sql, 3)
    await posted(storage, onthisday, "2026-11-01", ids[:2])
    await raw_sql(
        "INSERT INTO deliveries(target, event_id, delivered_at)"
        f" VALUES ('digest:999999', ?, {LONG_AGO})",
        ids[0],
    )
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    await posted(storage, onthisday, SLOT, ids[2:])  # today's: kept

    assert removed(await prune(storage))[DELIVERIES_TABLE] == 3
    assert await deliveries(raw_sql, f"digest:{onthisday.id}") == ids[2:]
    assert await deliveries(raw_sql, "digest:999999") == []


async def test_settled_alerts_go_once_old_and_pending_claims_stay(
    storage: Storage, raw_sql: RawSQL
) -> None:
    sent, refused, pending = await arrived_long_ago(storage, raw_sql, 3)
    alice = await subscribe(storage, ALICE, "Italy")
    alerts = storage.subscriptions
    assert await alerts.claim(alice.target, [sent, refused, pending], guild_id=GUILD)
    await alerts.mark_sent(alice.target, [sent])
    await alerts.mark_failed(alice.target, [refused])
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    (recent,) = await arrive(storage, news("Floods in Italy", "Italy"))
    assert await alerts.claim(alice.target, [recent], guild_id=GUILD) == [recent]
    await alerts.mark_sent(alice.target, [recent])

    assert removed(await prune(storage))[DELIVERIES_TABLE] == 2
    assert await deliveries(raw_sql, alice.target) == [pending, recent]
    # The sweep is told not to read those events again: it would find them unalerted.
    assert await alerts.state(ALERTS_PRUNED_THROUGH) == str(refused)
    # The claim a dead process left is still taken back, once.
    taken = await alerts.retake_claims(
        grace=dt.timedelta(minutes=5), shard_ids=None, shard_count=None
    )
    assert taken.retried == [(alice.target, pending)]


async def test_the_pruned_through_mark_only_moves_forward(
    storage: Storage, raw_sql: RawSQL
) -> None:
    target = f"dm:{ALICE}"
    first, second = await arrived_long_ago(storage, raw_sql, 2)
    assert await storage.subscriptions.claim(target, [first]) == [first]
    await storage.subscriptions.mark_sent(target, [first])
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    await storage.subscriptions.set_state(ALERTS_PRUNED_THROUGH, str(second))

    assert removed(await prune(storage))[DELIVERIES_TABLE] == 1
    assert await storage.subscriptions.state(ALERTS_PRUNED_THROUGH) == str(second)


async def test_a_prune_goes_a_step_at_a_time_and_may_stop_between_steps(
    storage: Storage, raw_sql: RawSQL
) -> None:
    digest = await make_digest(storage, DigestFilters(), kind="onthisday")
    ids = await arrived_long_ago(storage, raw_sql, 12)
    for day in range(1, 11):
        await posted(storage, digest, f"2026-11-{day:02d}", ids)
    for day in range(11, 13):
        await posted(storage, digest, f"2026-11-{day:02d}", ids)
    await raw_sql(f"UPDATE digest_runs SET updated_at = {LONG_AGO} WHERE slot < '2026-11-11'")
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO} WHERE event_id <= ?", ids[9])

    # Stopped after its first step (the bot shutting down): what it did is done.
    async for step in storage.ledgers.prune(before=utc_now() - KEPT, batch=4):
        assert step == PruneStep(RUNS_TABLE, examined=4, candidates=12, removed=4)
        break
    assert (await storage.ledgers.sizes()).runs == 8

    steps = await prune(storage, batch=4)
    runs = [s for s in steps if s.table == RUNS_TABLE]
    assert [s.examined for s in runs] == [4, 8]
    assert runs[-1].removed == 6
    rows = [s for s in steps if s.table == DELIVERIES_TABLE]
    assert len(rows) == 3 and rows[-1].examined == rows[-1].candidates == 12
    assert rows[-1].removed == 10
    assert await storage.ledgers.sizes() == LedgerSizes(runs=2, deliveries=2)


async def test_nothing_recent_is_looked_at(storage: Storage) -> None:
    digest = await make_digest(storage, kind="onthisday")
    ids = await arrive(storage, news("Earthquake strikes Italy", "Italy"))
    await posted(storage, digest, SLOT, ids)
    steps = await prune(storage)
    assert removed(steps) == {RUNS_TABLE: 0}  # no event arrived two weeks ago: no rows read
    assert (await storage.ledgers.sizes()).deliveries == 1


async def test_corrections_links_go_once_old(storage: Storage) -> None:
    """The names feeds' corrections gave announced events are kept for the alert sweep
    while they are recent, then pruned like the other ledgers' rows: a sweep reading from
    before them is offered only the recent one."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    _, snow, floods = (
        await store(
            storage,
            feed.id,
            item("x1", "Russia holds a vote", entities=("Russia",)),
            item("s1", "Heavy snow closes mountain passes"),
            item("f1", "Floods close roads in the north"),
        )
    ).created
    alice = await follow(storage, ALICE, "Russia")
    start = await storage.subscriptions.newest_corrected_link()
    await correct(storage, feed.id, text("s1", "Heavy snow closes passes in Russia", "Russia"))
    await correct(
        storage,
        feed.id,
        text("f1", "Floods close roads in northern Russia", "Russia"),
        at=T0 + dt.timedelta(days=2),
    )

    steps = [s async for s in storage.ledgers.prune(before=T0 + dt.timedelta(days=1))]
    assert removed(steps)[CORRECTIONS_TABLE] == 1
    found, _ = await offered(storage, start)
    assert found == {(alice, floods, "Russia")}, snow


async def test_compacting_gives_the_space_of_pruned_rows_back(
    storage: Storage, raw_sql: RawSQL, backend: str
) -> None:
    ids = await arrived_long_ago(storage, raw_sql, 40)
    for member in range(100):
        target = f"dm:{1000 + member}"
        await storage.subscriptions.mark_sent(
            target, await storage.subscriptions.claim(target, ids)
        )
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    assert removed(await prune(storage))[DELIVERIES_TABLE] == 4000

    compaction = await storage.compact()
    if backend == "sqlite":
        # The file, rewritten without the pages those rows took (and its log emptied).
        assert compaction is not None
        assert 0 < compaction.given_back == compaction.bytes_before - compaction.bytes_after
        assert compaction.bytes_after == file_size(storage.location)
    else:
        assert compaction is None  # PostgreSQL keeps the space for new rows
    assert await storage.ledgers.sizes() == LedgerSizes(runs=0, deliveries=0)
    (fresh,) = await arrive(storage, news("Floods in Italy", "Italy"))
    assert await storage.subscriptions.claim("dm:1000", [fresh]) == [fresh]  # writes go on


# --- a prune beside the alert sweep -----------------------------------------------------------


def held_open(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """The store's next write transaction, held open once its statements have run and before
    it commits, until ``release`` is set; ``reached`` is set meanwhile."""
    db: Any = store.db  # type: ignore[attr-defined]
    begin = db.transaction
    reached, release = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        async with begin() as conn:
            yield conn
            if not reached.is_set():
                reached.set()
                await release.wait()

    monkeypatch.setattr(db, "transaction", transaction)
    return reached, release


async def test_a_claim_beside_a_prune_step_is_refused_the_events_the_step_passed(
    storage: Storage, other: Storage, raw_sql: RawSQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert sweep starting from behind (a new shard layout's first) has read the
    pruned-through mark, and claims the alerts of the events just above it, in another
    process, while a prune step deletes those alerts' rows and raises the mark: the claim
    waits for the step, and is refused them. It had found no row and claimed them, and
    the member was told a second time of news two weeks old."""
    target = f"dm:{ALICE}"
    ids = await arrived_long_ago(storage, raw_sql, 2)
    await storage.subscriptions.mark_sent(target, await storage.subscriptions.claim(target, ids))
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    assert await other.subscriptions.state(ALERTS_PRUNED_THROUGH) is None  # the sweep's read

    reached, release = held_open(storage, monkeypatch)
    pruning = asyncio.create_task(prune(storage))
    await asyncio.wait_for(reached.wait(), 10)  # the rows deleted, the mark raised: uncommitted
    claiming = asyncio.create_task(other.subscriptions.claim(target, ids, guild_id=GUILD))
    await asyncio.sleep(0.2)
    assert not claiming.done()  # it waits for the step to end
    release.set()
    assert removed(await asyncio.wait_for(pruning, 10))[DELIVERIES_TABLE] == 2
    assert await asyncio.wait_for(claiming, 10) == []
    assert await deliveries(raw_sql, target) == []
    assert await storage.subscriptions.state(ALERTS_PRUNED_THROUGH) == str(ids[-1])


async def test_no_claim_nor_retry_reaches_down_to_the_pruned_through_mark(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """The events at or below the mark arrived longer ago than alert rows are kept: a
    claim of one is refused, whatever its caller read of the mark before, and a claim of
    one that a process left unsent when it died is given up, not sent two weeks late."""
    target = f"dm:{ALICE}"
    unsent, passed, fresh = await arrived_long_ago(storage, raw_sql, 3)
    assert await storage.subscriptions.claim(target, [unsent], guild_id=GUILD) == [unsent]
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")  # its process died
    await storage.subscriptions.set_state(ALERTS_PRUNED_THROUGH, str(passed))

    alerts = storage.subscriptions
    assert await alerts.claim(target, [passed, fresh], guild_id=GUILD) == [fresh]
    taken = await alerts.retake_claims(
        grace=dt.timedelta(minutes=5), shard_ids=None, shard_count=None
    )
    assert (taken.retried, taken.given_up) == ([], [(target, unsent)])
