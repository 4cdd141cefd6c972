"""A ledger and what it was kept for: a removed digest takes its deliveries along (its runs
went by ON DELETE CASCADE, its deliveries had stayed for good, named after an id never used
again); a member's alert deliveries stay when their subscriptions go (unsubscribed, left the
server, Chronicle removed from it), until the daily prune takes them once old: they are what
keeps a member who follows again, or follows a name a feed's correction gives an event, from
being told of it twice."""

from __future__ import annotations

import pytest

from storage import Storage
from storage.ledgers import DELIVERIES_TABLE
from storage.models import DigestFilters, Subscription
from tests.storage.conftest import RawSQL
from tests.storage.feeds_support import T0, item, store
from tests.storage.test_feed_corrections import correct, follow, offered, text
from tests.storage.test_ledgers import digest
from tests.storage.test_ledgers_pruned import LONG_AGO, prune, removed
from tests.storage.test_subscriptions import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    GUILD,
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
    removed, kept = (
        await digest(storage),
        await digest(
            storage,
            channel=CHANNEL + 1,
            every="live",
            filters=DigestFilters(words="Syria"),
            created_by=BOB,
        ),
    )
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


async def test_a_member_s_alert_ledger_stays_when_their_subscriptions_go_till_it_is_old(
    storage: Storage, raw_sql: RawSQL
) -> None:
    ids = await some_news(storage, 5)
    alice = await subscribe(storage, ALICE, "Syria")
    bob_here = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    bob_dm = await subscribe(storage, BOB, "Syria", guild=OTHER_GUILD)
    carol = await subscribe(storage, CAROL, "Syria")
    for subscription in (alice, bob_here, bob_dm, carol):
        await alerted(storage, subscription, ids)

    assert await storage.subscriptions.remove_member(GUILD, ALICE) == 1  # she left
    assert await storage.subscriptions.remove_guild(OTHER_GUILD) == 1  # Chronicle was removed
    assert await storage.subscriptions.remove(carol.id)  # she unsubscribed
    for subscription in (alice, bob_here, bob_dm, carol):
        assert await ledger(raw_sql, subscription.target) == 5

    # Two weeks on, the daily prune takes them (and Bob's, whose subscription stays, alike).
    await raw_sql(f"UPDATE events SET added_at = {LONG_AGO}")
    await raw_sql(f"UPDATE deliveries SET delivered_at = {LONG_AGO}")
    assert removed(await prune(storage))[DELIVERIES_TABLE] == 20
    for subscription in (alice, bob_here, bob_dm, carol):
        assert await ledger(raw_sql, subscription.target) == 0


async def test_a_member_told_of_an_event_is_not_told_again_when_they_follow_anew(
    storage: Storage,
) -> None:
    """Alice, by DM, is alerted of "Heavy snow closes mountain passes in Russia" and
    unsubscribes, her last subscription; she then follows Belarus, and the wire corrects the
    entry to name Belarus too: the corrected link's sweep offers it to Bob, who follows
    Belarus and was not told, not to her. Nor does a sweep behind, reading the event again,
    once she follows Russia again. Her ledger had gone with her last subscription."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    headline = "Heavy snow closes mountain passes in Russia"
    snow, _ = (
        await store(
            storage,
            feed.id,
            item("s1", headline, entities=("Russia",)),
            item("b1", "Belarus holds a vote", entities=("Belarus",)),
        )
    ).created
    russia = await follow(storage, ALICE, "Russia")
    assert [m.event.id for m in await storage.subscriptions.matches([snow])] == [snow]
    await storage.subscriptions.mark_sent(
        f"dm:{ALICE}", await storage.subscriptions.claim(f"dm:{ALICE}", [snow])
    )
    assert await storage.subscriptions.remove(russia)
    await follow(storage, ALICE, "Belarus")
    bob = await follow(storage, BOB, "Belarus")
    start = await storage.subscriptions.newest_corrected_link()

    corrected = text("s1", f"{headline} and Belarus", "Russia", "Belarus")
    assert (await correct(storage, feed.id, corrected)).corrected == [snow]
    found, _ = await offered(storage, start)
    assert found == {(bob, snow, "Belarus")}

    await follow(storage, ALICE, "Russia")
    assert [m.subscription.user_id for m in await storage.subscriptions.matches([snow])] == [BOB]
