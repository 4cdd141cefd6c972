"""Exactly once under concurrency: digest runs and alerts claimed at the same moment by
several tasks of one process, and by two processes sharing the archive (two Storage objects
opened on it: two connection pools, two SQLite connections), go to exactly one claimant;
alerts split without overlap; a member's notice is taken once; subscribing twice at once
makes one subscription."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from storage import Storage
from storage.keys import make_key
from storage.models import NO_FILTERS, Digest, DigestFilters, DigestRun, PageRecord
from tests.storage.events_support import arrive

DAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
SLOT = "2026-12-07"
GUILD, CHANNEL, USER = 1, 10, 100
CLAIMANTS = 8


async def news(storage: Storage, count: int) -> list[int]:
    """`count` announced events; their ids."""
    pages = [
        PageRecord(
            key=make_key(DAY, f"news-{n}"),
            date=DAY,
            headline=f"News number {n}",
            entities=("Syria",),
            origin="feed",
            announce=True,
        )
        for n in range(count)
    ]
    return await arrive(storage, *pages)


async def digest(
    storage: Storage,
    *,
    channel: int = CHANNEL,
    every: str = "daily",
    filters: DigestFilters = NO_FILTERS,
    created_by: int = USER,
) -> Digest:
    made, _ = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=channel,
        kind="new",
        every=every,
        time=dt.time(9),
        timezone="UTC",
        filters=filters,
        created_by=created_by,
        now=NOW,
    )
    return made


def one_run(claims: Sequence[DigestRun | None]) -> DigestRun:
    won = [run for run in claims if run is not None]
    assert len(won) == 1, claims
    return won[0]


def split_without_overlap(claims: Sequence[list[int]], wanted: Sequence[int]) -> None:
    every = [event_id for claim in claims for event_id in claim]
    assert sorted(every) == sorted(set(wanted)), claims  # each once, none left over


# --- digest runs ------------------------------------------------------------------------------


async def test_a_slot_s_run_goes_to_one_of_many_claims(storage: Storage) -> None:
    made = await digest(storage)
    ids = await news(storage, 3)
    claims = await asyncio.gather(
        *(
            storage.digests.claim_run(made.id, SLOT, parts=1, items=ids, covers_to=ids[-1])
            for _ in range(CLAIMANTS)
        )
    )
    run = one_run(claims)
    assert (run.status, run.attempts, run.items) == ("sending", 1, tuple(ids))
    assert await storage.digests.runs_for(made.id) == [run]


async def test_a_retry_goes_to_one_of_many_claims(storage: Storage) -> None:
    made = await digest(storage)
    ids = await news(storage, 2)
    assert await storage.digests.claim_run(made.id, SLOT, parts=2, items=ids) is not None
    await storage.digests.part_sent(made.id, SLOT)
    await storage.digests.finish_run(made.id, SLOT, "retrying", "HTTP 503")
    claims = await asyncio.gather(
        *(storage.digests.claim_run(made.id, SLOT, parts=2, items=ids) for _ in range(CLAIMANTS))
    )
    run = one_run(claims)
    assert (run.status, run.attempts, run.parts_sent) == ("sending", 2, 1)


async def test_two_processes_claim_a_slot_s_run_once(storage: Storage, other: Storage) -> None:
    made = await digest(storage)
    ids = await news(storage, 3)
    mine = [storage.digests.claim_run(made.id, SLOT, parts=1, items=ids) for _ in range(4)]
    theirs = [other.digests.claim_run(made.id, SLOT, parts=1, items=ids) for _ in range(4)]
    run = one_run(await asyncio.gather(*mine, *theirs))
    # Both see the one run.
    assert await storage.digests.run(made.id, SLOT) == run
    assert await other.digests.run(made.id, SLOT) == run

    await storage.digests.finish_run(made.id, SLOT, "retrying", "HTTP 503")
    again = await asyncio.gather(
        *(s.digests.claim_run(made.id, SLOT, parts=1, items=ids) for s in (storage, other) * 3)
    )
    assert one_run(again).attempts == 2


# --- alerts -----------------------------------------------------------------------------------


async def test_claims_of_the_same_alerts_split_them_without_overlap(storage: Storage) -> None:
    ids = await news(storage, 12)
    target = f"dm:{USER}"
    # Overlapping batches, in different orders, as overlapping sweeps would claim them.
    batches = [ids, ids[::-1], ids[3:9], ids[::2], ids[1::3], ids[6:], ids[:6][::-1], ids]
    claims = await asyncio.gather(*(storage.subscriptions.claim(target, b) for b in batches))
    split_without_overlap(claims, ids)
    for batch, claim in zip(batches, claims, strict=True):
        assert claim == [i for i in batch if i in claim]  # in the order given
    assert await storage.subscriptions.claim(target, ids) == []


async def test_two_processes_claim_each_alert_once(storage: Storage, other: Storage) -> None:
    ids = await news(storage, 12)
    targets = [f"dm:{USER}", f"here:{CHANNEL}:{USER}"]
    for target in targets:
        claims = await asyncio.gather(
            *(
                store.subscriptions.claim(target, batch)
                for store in (storage, other)
                for batch in (ids, ids[::-1], ids[4:], ids[:8])
            )
        )
        split_without_overlap(claims, ids)


# --- notices and subscriptions ----------------------------------------------------------------


async def test_a_notice_is_taken_by_one_of_many(storage: Storage, other: Storage) -> None:
    await storage.subscriptions.add_notice(USER, "Your DMs are closed")
    taken = await asyncio.gather(
        *(s.subscriptions.take_notice(USER) for s in (storage, other) * (CLAIMANTS // 2))
    )
    assert [t for t in taken if t is not None] == ["Your DMs are closed"]


async def test_subscribing_at_once_makes_one_subscription(storage: Storage, other: Storage) -> None:
    await news(storage, 1)
    found = await storage.entities.find("Syria")
    assert found is not None
    results = await asyncio.gather(
        *(
            s.subscriptions.subscribe(
                guild_id=GUILD, user_id=USER, entity_id=found[0], delivery="dm", channel_id=None
            )
            for s in (storage, other) * (CLAIMANTS // 2)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({subscription.id for subscription, _ in results}) == 1
    assert await storage.subscriptions.count_for_member(GUILD, USER) == 1
