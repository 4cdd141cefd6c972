"""A ledger goes with what it was kept for: a removed digest's deliveries (its runs went by
ON DELETE CASCADE, its deliveries had stayed for good, named after an id never used again),
and the alert deliveries of a member's target once no subscription of theirs is delivered
there (unsubscribed, left the server, Chronicle removed from it). A target still in use
keeps its ledger: a member's DMs serve their subscriptions in every server."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import Storage
from storage.models import Digest, DigestFilters, Subscription
from tests.storage.conftest import RawSQL
from tests.storage.test_ledgers import digest
from tests.storage.test_subscriptions import (
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    NOW,
    OTHER_GUILD,
    arrive,
    news,
    subscribe,
)


async def ledger(raw_sql: RawSQL, target: str) -> int:
    """The target's rows in the delivery ledger."""
    rows = await raw_sql("SELECT count(*) FROM deliveries WHERE target = ?", target)
    return int(rows[0][0])


async def some_news(storage: Storage, count: int) -> list[int]:
    return await arrive(storage, *(news(f"Syria news number {n}", "Syria") for n in range(count)))


async def alerted(storage: Storage, subscription: Subscription, ids: list[int]) -> None:
    """The subscription's alerts about these events went out."""
    claimed = await storage.subscriptions.claim(subscription.target, ids, guild_id=GUILD)
    await storage.subscriptions.mark_sent(subscription.target, claimed)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ledger deleted a few rows to a transaction, as a big one is FORGET_BATCH at a time."""
    import storage.postgres.ledgers
    import storage.sqlite.ledgers

    for backend in (storage.sqlite.ledgers, storage.postgres.ledgers):
        monkeypatch.setattr(backend, "FORGET_BATCH", 7)


async def test_a_removed_digest_takes_its_runs_and_deliveries_along(
    storage: Storage, raw_sql: RawSQL, small_batches: None
) -> None:
    removed, kept = await digest(storage), await other_digest(storage)
    ids = await some_news(storage, 30)
    for made in (removed, kept):
        slot = "live:2026-03-02T12:00:00+00:00"
        assert await storage.digests.claim_run(made.id, slot, parts=1, items=ids) is not None
        await storage.digests.part_sent(made.id, slot, event_ids=ids)
        await storage.digests.finish_run(made.id, slot, "sent")
    assert await ledger(raw_sql, f"digest:{removed.id}") == 30

    gone = await storage.digests.remove(removed.id)
    assert gone is not None and gone.id == removed.id
    assert await ledger(raw_sql, f"digest:{removed.id}") == 0
    assert await storage.digests.runs_for(removed.id) == []
    assert await ledger(raw_sql, f"digest:{kept.id}") == 30  # another digest's stays
    assert len(await storage.digests.runs_for(kept.id)) == 1


async def other_digest(storage: Storage) -> Digest:
    made, _ = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=CHANNEL + 1,
        kind="new",
        every="live",
        time=dt.time(9),
        timezone="UTC",
        filters=DigestFilters(words="Syria"),
        created_by=BOB,
        now=NOW,
    )
    return made


async def test_a_member_who_left_takes_their_alert_ledger_along(
    storage: Storage, raw_sql: RawSQL, small_batches: None
) -> None:
    ids = await some_news(storage, 20)
    alice = await subscribe(storage, ALICE, "Syria")
    bob = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    for subscription in (alice, bob):
        await alerted(storage, subscription, ids)

    assert await storage.subscriptions.remove_member(GUILD, ALICE) == 1
    assert await ledger(raw_sql, alice.target) == 0
    assert await ledger(raw_sql, bob.target) == 20


async def test_the_bot_leaving_a_server_takes_its_members_alert_ledgers_along(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await some_news(storage, 5)
    alice = await subscribe(storage, ALICE, "Syria")
    bob_here = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    # Bob's DMs also bring him the news of another server, which stays.
    bob_dm = await subscribe(storage, BOB, "Syria", guild=OTHER_GUILD)
    for subscription in (alice, bob_here, bob_dm):
        await alerted(storage, subscription, ids)

    assert await storage.subscriptions.remove_guild(GUILD) == 2
    assert await ledger(raw_sql, alice.target) == 0
    assert await ledger(raw_sql, bob_here.target) == 0
    assert await ledger(raw_sql, bob_dm.target) == 5  # his DMs serve the other server still


async def test_unsubscribing_from_the_last_entity_of_a_target_takes_its_ledger_along(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await arrive(storage, news("Syria and Iraq talk", "Syria", "Iraq"))
    syria = await subscribe(storage, ALICE, "Syria")
    iraq = await subscribe(storage, ALICE, "Iraq")
    await alerted(storage, syria, ids)

    # One of two: the target still gets alerts, and its ledger keeps them from repeating.
    assert await storage.subscriptions.unsubscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=syria.entity_id
    )
    assert await ledger(raw_sql, syria.target) == 1
    assert await storage.subscriptions.matches(ids) == []

    assert await storage.subscriptions.remove(iraq.id)
    assert await ledger(raw_sql, iraq.target) == 0
