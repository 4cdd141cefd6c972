"""Each item posted exactly once: a digest's run for a slot claimed once, resumed after the
parts it sent when it failed or was interrupted, taken back only by the process of its
shards, and holding its slot when it posts nothing."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import Digest, DigestFilters
from tests.storage.conftest import RawSQL
from tests.storage.digests_support import (
    NOW,
    SLOT,
    USER,
    fresh,
    headlines,
    make_digest,
    news,
)
from tests.storage.events_support import arrive


async def _ledger(raw_sql: RawSQL, digest: Digest) -> list[int]:
    rows = await raw_sql(
        "SELECT event_id FROM deliveries WHERE target = ? ORDER BY event_id", f"digest:{digest.id}"
    )
    return [row[0] for row in rows]


async def test_a_sent_run_posts_its_events_once(storage: Storage, raw_sql: RawSQL) -> None:
    digest = await make_digest(storage, DigestFilters(words="Italy"))
    ids = await arrive(
        storage,
        news("Earthquake strikes Italy", "Italy"),
        news("Floods in Italy", "Italy"),
        news("Markets rally in Tokyo", "Japan"),  # read past, not posted
    )
    found = await storage.digests.new_events(digest)
    items = [e.brief.id for e in found.events]
    assert items == ids[:2]
    run = await storage.digests.claim_run(
        digest.id, SLOT, parts=2, items=items, covers_to=found.covers_to
    )
    assert run is not None
    assert (run.status, run.attempts, run.parts, run.parts_sent) == ("sending", 1, 2, 0)
    assert run.items == tuple(items) and run.covers_to == ids[-1]
    # A second process, a restart or a late timer gets nothing for the same slot.
    assert (
        await storage.digests.claim_run(digest.id, SLOT, parts=2, items=items, covers_to=ids[-1])
        is None
    )
    await storage.digests.part_sent(digest.id, SLOT, thread_id=555)
    await storage.digests.part_sent(digest.id, SLOT)
    await storage.digests.finish_run(digest.id, SLOT, "sent")

    assert await _ledger(raw_sql, digest) == items
    assert (await fresh(storage, digest)).last_event_id == ids[-1]
    after = await storage.digests.new_events(await fresh(storage, digest))
    assert after.events == [] and after.covers_to == ids[-1]
    assert await storage.digests.claim_run(digest.id, SLOT, parts=1, items=items) is None
    (done,) = await storage.digests.runs_for(digest.id)
    assert (done.slot, done.status, done.parts_sent, done.thread_id) == (SLOT, "sent", 2, 555)
    assert await storage.digests.unfinished_run(digest.id) is None

    # Events in the ledger never come back, even to a digest reading from further back.
    await raw_sql("UPDATE digests SET last_event_id = 0 WHERE id = ?", digest.id)
    assert await headlines(storage, digest) == []


async def test_a_run_that_failed_midway_resumes_after_its_sent_parts(
    storage: Storage, raw_sql: RawSQL
) -> None:
    digest = await make_digest(storage)
    ids = await arrive(storage, news("One", "A"), news("Two", "B"), news("Three", "C"))
    claimed = await storage.digests.claim_run(digest.id, SLOT, parts=3, items=ids)
    assert claimed is not None and claimed.attempts == 1
    await storage.digests.part_sent(digest.id, SLOT, thread_id=77)
    await storage.digests.finish_run(digest.id, SLOT, "retrying", "HTTP 503")
    waiting = await storage.digests.unfinished_run(digest.id)
    assert waiting is not None and (waiting.slot, waiting.status) == (SLOT, "retrying")
    assert waiting.detail == "HTTP 503"
    assert (await fresh(storage, digest)).last_event_id == digest.last_event_id  # not yet
    assert await _ledger(raw_sql, digest) == []

    retry = await storage.digests.claim_run(digest.id, SLOT, parts=3, items=ids)
    assert retry is not None
    assert (retry.status, retry.attempts, retry.parts_sent, retry.thread_id) == (
        "sending",
        2,
        1,
        77,
    )
    assert retry.items == tuple(ids)
    assert await storage.digests.claim_run(digest.id, SLOT, parts=3, items=ids) is None

    # The process stops mid-send: at the next start the run waits for its retry.
    await storage.digests.part_sent(digest.id, SLOT)
    assert await storage.digests.interrupted_runs(shard_ids=None, shard_count=None) == 1
    interrupted = await storage.digests.run(digest.id, SLOT)
    assert interrupted is not None
    assert (interrupted.status, interrupted.detail, interrupted.parts_sent) == (
        "retrying",
        "interrupted",
        2,
    )
    assert await storage.digests.unfinished_run(digest.id) == interrupted
    assert await storage.digests.interrupted_runs(shard_ids=None, shard_count=None) == 0

    last = await storage.digests.claim_run(digest.id, SLOT, parts=3, items=ids)
    assert last is not None and (last.attempts, last.parts_sent, last.thread_id) == (3, 2, 77)
    await storage.digests.part_sent(digest.id, SLOT)
    await storage.digests.finish_run(digest.id, SLOT, "sent")
    done = await storage.digests.run(digest.id, SLOT)
    assert done is not None and (done.status, done.parts_sent, done.thread_id) == ("sent", 3, 77)
    assert await _ledger(raw_sql, digest) == ids
    assert await headlines(storage, digest) == []


async def test_a_process_takes_back_only_its_own_shards_interrupted_runs(
    storage: Storage,
) -> None:
    """Processes sharing the archive each run some shards: one starting again resumes the
    runs its servers' process left 'sending', never a run another live process is sending."""
    # Servers on shards 0, 1, 2 of 3 ((id >> 22) % 3), the first id past 32 bits.
    guilds = {0: (1 << 32) * 3 + 5, 1: (1 << 22) * 7 + 9, 2: (1 << 22) * 5}
    runs = {}
    for shard, guild_id in guilds.items():
        digest, _ = await storage.digests.upsert(
            guild_id=guild_id,
            channel_id=guild_id + 1,
            kind="onthisday",
            time=dt.time(9),
            timezone="UTC",
            created_by=USER,
            now=NOW,
        )
        assert await storage.digests.claim_run(digest.id, SLOT, parts=2, items=[]) is not None
        runs[shard] = digest.id

    async def statuses() -> dict[int, str]:
        found = {}
        for shard, digest_id in runs.items():
            run = await storage.digests.run(digest_id, SLOT)
            assert run is not None
            found[shard] = run.status
        return found

    # The process of shards 0 and 2 of 3 restarts: shard 1's run is another process's.
    assert await storage.digests.interrupted_runs(shard_ids=[0, 2], shard_count=3) == 2
    assert await statuses() == {0: "retrying", 1: "sending", 2: "retrying"}
    assert await storage.digests.interrupted_runs(shard_ids=[0, 2], shard_count=3) == 0
    # The count matters: of 2 shards, shard 0 holds only the first server (taken back).
    assert await storage.digests.interrupted_runs(shard_ids=[0], shard_count=2) == 0
    assert await storage.digests.interrupted_runs(shard_ids=[1], shard_count=3) == 1
    assert await statuses() == {0: "retrying", 1: "retrying", 2: "retrying"}
    # A bot running every shard in one process takes back every run.
    for digest_id in runs.values():
        assert await storage.digests.claim_run(digest_id, SLOT, parts=2, items=[]) is not None
    assert await storage.digests.interrupted_runs(shard_ids=None, shard_count=None) == 3


async def test_a_run_that_posts_nothing_holds_its_slot(storage: Storage) -> None:
    digest = await make_digest(storage)
    assert await storage.digests.record_run(digest.id, SLOT, "empty")
    assert not await storage.digests.record_run(digest.id, SLOT, "skipped")
    assert await storage.digests.claim_run(digest.id, SLOT, parts=1, items=[]) is None
    run = await storage.digests.run(digest.id, SLOT)
    assert run is not None and run.status == "empty" and run.items == ()
    # A failed run is not retried, and posts nothing.
    ids = await arrive(storage, news("One", "A"))
    hour = "2026-12-07T13"
    assert await storage.digests.claim_run(digest.id, hour, parts=1, items=ids) is not None
    await storage.digests.finish_run(digest.id, hour, "failed", "Missing Permissions")
    assert await storage.digests.claim_run(digest.id, hour, parts=1, items=ids) is None
    assert await storage.digests.unfinished_run(digest.id) is None
    assert await headlines(storage, digest) == ["One"]


async def test_a_run_that_fails_after_a_part_offers_only_the_rest_again(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """The events a sent part listed are delivered with it: a run that then fails for good
    leaves only the others for the next run."""
    digest = await make_digest(storage)
    ids = await arrive(storage, news("Floods in Italy"), news("Talks in Geneva"), news("A storm"))
    run = await storage.digests.claim_run(digest.id, SLOT, parts=2, items=ids)
    assert run is not None
    await storage.digests.part_sent(digest.id, SLOT, event_ids=ids[:2])
    assert await _ledger(raw_sql, digest) == ids[:2]
    await storage.digests.finish_run(digest.id, SLOT, "failed", "503 four times")
    assert await headlines(storage, digest) == ["A storm"]
