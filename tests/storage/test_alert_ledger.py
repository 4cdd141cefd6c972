"""The alert ledger across a crash: a claim is pending until its message is marked sent; one
a dead process left pending past the grace period is offered back (retake_claims) once, to
one of the processes asking, for the servers of their shards; one pending again after its
retry is given up; what was sent (or refused) never comes back."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage import Storage
from storage.models import RetakenClaims
from tests.storage.conftest import OpenArchive, RawSQL
from tests.storage.test_subscriptions import ALICE, BOB, CHANNEL, GUILD, arrive, news, subscribe

HOUR = dt.timedelta(hours=1)
# Guilds on shard 0 and shard 1 of 2 (a server's shard is (guild_id >> 22) % count).
SHARD_0, SHARD_1 = 2 << 22, 3 << 22


async def age(raw_sql: RawSQL) -> None:
    """Every pending claim made long ago, as a process that died hours ago left them. (A
    literal, which both backends read as a time: SQLite's text, PostgreSQL's timestamptz.)"""
    await raw_sql(
        "UPDATE deliveries SET delivered_at = '2000-01-01T00:00:00.000000Z' WHERE state = 'claimed'"
    )


async def retake(
    storage: Storage,
    grace: dt.timedelta = HOUR,
    shard_ids: tuple[int, ...] | None = None,
    shard_count: int | None = None,
) -> RetakenClaims:
    return await storage.subscriptions.retake_claims(
        grace=grace, shard_ids=shard_ids, shard_count=shard_count
    )


def nothing(taken: RetakenClaims) -> bool:
    return taken == RetakenClaims(retried=[], matches=[], given_up=[])


async def test_a_claim_left_unsent_is_offered_back_once_after_the_grace_period(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await arrive(storage, news("One", "Syria"), news("Two", "Syria", "Iraq"))
    dm = await subscribe(storage, ALICE, "Syria")
    assert await storage.subscriptions.claim(dm.target, ids, guild_id=GUILD) == ids
    # Within the grace period: perhaps on its way from a live process.
    assert nothing(await retake(storage))

    await age(raw_sql)
    taken = await retake(storage)
    assert taken.retried == [(dm.target, ids[0]), (dm.target, ids[1])]
    assert [(m.subscription, m.event.id) for m in taken.matches] == [(dm, ids[0]), (dm, ids[1])]
    assert taken.given_up == []
    for match in taken.matches:  # what the alert shows, as a sweep's matches have it
        event = await storage.events.get(match.event.id)
        assert event is not None and match.event == event.brief
    # Taken: nobody else gets it, and it is not claimable again or a match of a sweep.
    assert nothing(await retake(storage))
    assert await storage.subscriptions.claim(dm.target, ids) == []
    assert await storage.subscriptions.matches(ids) == []

    # Its retry died too: pending again past the grace period, it is given up, once.
    await age(raw_sql)
    taken = await retake(storage)
    assert (taken.retried, taken.matches) == ([], [])
    assert taken.given_up == [(dm.target, ids[0]), (dm.target, ids[1])]
    assert nothing(await retake(storage, dt.timedelta(0)))
    assert await storage.subscriptions.claim(dm.target, ids) == []
    assert await storage.subscriptions.matches(ids) == []


async def test_sent_and_refused_claims_never_come_back(storage: Storage, raw_sql: RawSQL) -> None:
    ids = await arrive(storage, news("One", "Syria"), news("Two", "Syria"))
    dm = await subscribe(storage, ALICE, "Syria")
    here = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    for target in (dm.target, here.target):
        assert await storage.subscriptions.claim(target, ids, guild_id=GUILD) == ids
    await storage.subscriptions.mark_sent(dm.target, ids)
    await storage.subscriptions.mark_failed(here.target, ids[:1])
    await age(raw_sql)
    taken = await retake(storage)
    assert taken.retried == [(here.target, ids[1])]  # the one neither sent nor refused

    # Its retry went out: done, neither given up nor retried later.
    await storage.subscriptions.mark_sent(here.target, ids[1:])
    await age(raw_sql)
    assert nothing(await retake(storage, dt.timedelta(0)))
    # Marking again, or what was never claimed, changes nothing.
    await storage.subscriptions.mark_sent(dm.target, ids)
    await storage.subscriptions.mark_failed(f"dm:{BOB}", ids)
    assert await storage.subscriptions.claim(f"dm:{BOB}", ids) == ids


async def test_a_retried_claim_whose_subscription_went_has_no_match(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await arrive(storage, news("One", "Syria"))
    dm = await subscribe(storage, ALICE, "Syria")
    await storage.subscriptions.claim(dm.target, ids, guild_id=GUILD)
    await storage.subscriptions.pause([dm.id], "DMs closed")
    await age(raw_sql)
    taken = await retake(storage)
    assert (taken.retried, taken.matches) == ([(dm.target, ids[0])], [])


async def test_each_process_takes_back_its_own_shards_claims(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await arrive(storage, news("One", "Syria"))
    on_0, on_1, unknown = f"dm:{ALICE}", f"dm:{BOB}", f"here:{CHANNEL}:{ALICE}"
    await storage.subscriptions.claim(on_0, ids, guild_id=SHARD_0)
    await storage.subscriptions.claim(on_1, ids, guild_id=SHARD_1)
    await storage.subscriptions.claim(unknown, ids)  # no server said: a whole bot's
    await age(raw_sql)

    assert (await retake(storage, shard_ids=(1,), shard_count=2)).retried == [(on_1, ids[0])]
    assert nothing(await retake(storage, shard_ids=(1,), shard_count=2))
    assert (await retake(storage, shard_ids=(0,), shard_count=2)).retried == [(on_0, ids[0])]
    # A process running every shard takes what is left: the claim no shard was said for.
    assert (await retake(storage)).retried == [(unknown, ids[0])]


async def test_two_processes_taking_back_at_once_split_the_claims(
    storage: Storage, other: Storage, raw_sql: RawSQL
) -> None:
    ids = await arrive(storage, *(news(f"News {n}", "Syria") for n in range(10)))
    targets = [f"dm:{user}" for user in range(100, 106)]
    for target in targets:
        assert await storage.subscriptions.claim(target, ids, guild_id=GUILD) == ids
    await age(raw_sql)

    takes = await asyncio.gather(*(retake(store) for store in (storage, other) * 4))
    every = [claim for taken in takes for claim in taken.retried]
    assert sorted(every) == sorted((t, i) for t in targets for i in ids)  # each once
    assert all(taken.given_up == [] for taken in takes)
    assert nothing(await retake(storage)) and nothing(await retake(other))

    # Their retries died as well: given up once, by one of them.
    await age(raw_sql)
    takes = await asyncio.gather(*(retake(store) for store in (other, storage) * 4))
    every = [claim for taken in takes for claim in taken.given_up]
    assert sorted(every) == sorted((t, i) for t in targets for i in ids)
    assert all(taken.retried == [] for taken in takes)


async def test_pending_claims_survive_a_restart(open_archive: OpenArchive) -> None:
    async with await open_archive("ledger") as storage:
        ids = await arrive(storage, news("One", "Syria"))
        await storage.subscriptions.claim(f"dm:{ALICE}", ids, guild_id=GUILD)
    async with await open_archive("ledger") as storage:
        taken = await retake(storage, dt.timedelta(0))
        assert taken.retried == [(f"dm:{ALICE}", ids[0])]
