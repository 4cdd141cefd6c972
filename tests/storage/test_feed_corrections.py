"""A feed's correction of an event it alone told, as it changes what members follow: the
event's links become the names its new text mentions (a name dropped leaves the entity's
page, its count, its searches), and each entity it gains is offered to the alert sweep for
that entity's subscribers, once (storage.subscription_rules)."""

from __future__ import annotations

import datetime as dt

from bot.services.feeds.stories import same_story
from storage import Storage
from storage.ledgers import ALERTS_PRUNED_THROUGH
from storage.models import EntryText, Match, SearchFilter, StoredEntries
from storage.subscription_rules import CORRECTION_NEWS
from tests.storage.conftest import RawSQL
from tests.storage.events_support import entity
from tests.storage.test_feeds import T0, item, store

GUILD, CHANNEL = 1, 10
ALICE, BOB, CAROL, DAN = 100, 200, 300, 400


def text(identity: str, headline: str, *entities: str) -> EntryText:
    return EntryText(identity, headline, f"Summary of {headline}", "en", entities)


async def correct(
    storage: Storage, feed_id: int, *texts: EntryText, at: dt.datetime = T0
) -> StoredEntries:
    """A poll (ten minutes after ``at``) that brings nothing new, only what entries seen
    before say now."""
    stored = await storage.feeds.record_success(
        feed_id,
        at=at + dt.timedelta(minutes=10),
        next_poll_at=at + dt.timedelta(minutes=20),
        etag=None,
        last_modified=None,
        same_story=same_story,
        corrections=texts,
    )
    assert stored is not None
    return stored


async def follow(
    storage: Storage, user: int, name: str, delivery: str = "dm", paused: bool = False
) -> int:
    subscription, _ = await storage.subscriptions.subscribe(
        guild_id=GUILD,
        user_id=user,
        entity_id=await entity(storage, name),
        delivery=delivery,
        channel_id=CHANNEL if delivery == "here" else None,
    )
    if paused:
        await storage.subscriptions.pause([subscription.id], "Discord refused")
    return subscription.id


def pairs(matches: list[Match]) -> set[tuple[int, int, str]]:
    """(subscription, event, entity) of each match."""
    return {(m.subscription.id, m.event.id, m.subscription.entity) for m in matches}


async def offered(storage: Storage, after: int) -> tuple[set[tuple[int, int, str]], int]:
    matches, through = await storage.subscriptions.corrected_matches(after, limit=100)
    return pairs(matches), through


# --- links ------------------------------------------------------------------------------------


async def test_a_correction_s_links_are_the_names_its_new_text_mentions(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """A wire corrects "Russia recalls its ambassador to Norway" to "Belarus recalls...":
    the event is Belarus's and Norway's, no longer Russia's (its page, its count, a search
    filtered on it), and its weight is counted again from its links."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    headline = "Russia recalls its ambassador to Norway"
    (event_id,) = (
        await store(storage, feed.id, item("r1", headline, entities=("Russia", "Norway")))
    ).created
    russia = await entity(storage, "Russia")
    before = await storage.entities.profile(russia)
    assert [b.id for b in before.recent] == [event_id] and before.event_count == 1
    ((weight,),) = await raw_sql("SELECT weight FROM events WHERE id = ?", event_id)

    corrected = text("r1", "Belarus recalls its ambassador to Norway", "Belarus", "Norway")
    assert (await correct(storage, feed.id, corrected)).corrected == [event_id]
    event = await storage.events.get(event_id)
    assert event is not None and set(event.entities) == {"Belarus", "Norway"}
    after = await storage.entities.profile(russia)
    assert (after.recent, after.event_count) == ((), 0)
    belarus = await entity(storage, "Belarus")
    assert [b.id for b in (await storage.entities.profile(belarus)).recent] == [event_id]
    found = await storage.search.search(SearchFilter(text="ambassador", entity_ids=(russia,)))
    assert found == []
    found = await storage.search.search(SearchFilter(text="ambassador", entity_ids=(belarus,)))
    assert [h.event.id for h in found] == [event_id]
    assert await raw_sql("SELECT weight FROM events WHERE id = ?", event_id) == [(weight,)]

    # Corrected again to name Norway alone: one link fewer, and the weight says so.
    await correct(storage, feed.id, text("r1", "An ambassador to Norway is recalled", "Norway"))
    event = await storage.events.get(event_id)
    assert event is not None and event.entities == ("Norway",)
    assert (await storage.entities.profile(belarus)).event_count == 0
    assert await raw_sql("SELECT weight FROM events WHERE id = ?", event_id) == [(weight - 1,)]


# --- alerts -----------------------------------------------------------------------------------


async def test_an_entity_a_correction_brings_is_offered_to_its_subscribers_once(
    storage: Storage,
) -> None:
    """A wire corrects "Heavy snow closes mountain passes in Syria" to name Russia too:
    Russia's active subscribers are offered the event (not those paused, nor a target it
    was delivered to), Syria's are not (its sweep went by); an event kept as history is
    offered to no one. Read once: the sweep's next read, after the last link, offers
    nothing."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    stored = await store(
        storage,
        feed.id,
        item("s1", "Heavy snow closes mountain passes in Syria", entities=("Syria",)),
        item("h1", "Old floods in Syria recalled in a long report", announce=False),
        item("r1", "Russia and Syria sign a trade pact", entities=("Russia", "Syria")),
    )
    snow, old, pact = stored.created
    alice = await follow(storage, ALICE, "Russia")
    bob = await follow(storage, BOB, "Syria")
    carol = await follow(storage, CAROL, "Russia", delivery="here")
    await follow(storage, DAN, "Russia", paused=True)
    assert await storage.subscriptions.claim(f"here:{CHANNEL}:{CAROL}", [snow]) == [snow]
    start = await storage.subscriptions.newest_corrected_link()

    await correct(
        storage,
        feed.id,
        text("s1", "Heavy snow closes mountain passes in Syria and Russia", "Syria", "Russia"),
        text("h1", "Old floods in Russia recalled in a long report", "Russia"),
        # Russia named already: nothing new to tell its subscribers.
        text("r1", "Russia and Syria sign a trade pact for ten years", "Russia", "Syria"),
    )
    found, through = await offered(storage, start)
    assert found == {(alice, snow, "Russia")}, (bob, carol, old, pact)
    assert await storage.subscriptions.newest_corrected_link() == through > start
    assert await offered(storage, through) == (set(), through)


async def test_a_correction_is_offered_only_while_it_is_news(storage: Storage) -> None:
    """A correction that comes more than CORRECTION_NEWS after its event arrived, one whose
    name a later correction took off again, and one of an event whose alert ledger was
    pruned (at or below ALERTS_PRUNED_THROUGH) are offered to no one."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    await store(storage, feed.id, item("x1", "Russia holds a vote", entities=("Russia",)))
    pruned, late, undone, fresh = (
        await store(
            storage,
            feed.id,
            item("p1", "Bridge collapses after heavy rain"),
            item("l1", "Floods close roads in the north"),
            item("u1", "Storm cuts power to thousands"),
            item("f1", "Ferry runs aground near the coast"),
        )
    ).created
    alice = await follow(storage, ALICE, "Russia")
    start = await storage.subscriptions.newest_corrected_link()

    await correct(
        storage,
        feed.id,
        text("l1", "Floods close roads in northern Russia", "Russia"),
        at=T0 + CORRECTION_NEWS,
    )
    await correct(storage, feed.id, text("u1", "Storm cuts power to thousands in Russia", "Russia"))
    await correct(storage, feed.id, text("u1", "Storm cuts power to thousands in Belarus"))
    await storage.subscriptions.set_state(ALERTS_PRUNED_THROUGH, str(pruned))
    await correct(storage, feed.id, text("p1", "Bridge collapses in Russia after rain", "Russia"))
    await correct(storage, feed.id, text("f1", "Ferry runs aground near Russia", "Russia"))
    found, _ = await offered(storage, start)
    assert found == {(alice, fresh, "Russia")}, (late, undone)


async def test_an_entity_merged_after_the_correction_is_offered_under_its_new_name(
    storage: Storage,
) -> None:
    """The correction names Moscow; before the sweep reads it, an operator merges Moscow
    into Russia: Russia's subscribers are offered the event."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    await store(storage, feed.id, item("x1", "Russia holds a vote", entities=("Russia",)))
    (event_id,) = (await store(storage, feed.id, item("m1", "Heavy snow in the capital"))).created
    alice = await follow(storage, ALICE, "Russia")
    start = await storage.subscriptions.newest_corrected_link()
    await correct(storage, feed.id, text("m1", "Heavy snow in Moscow", "Moscow"))
    await storage.entities.merge("Moscow", "Russia")
    found, _ = await offered(storage, start)
    assert found == {(alice, event_id, "Russia")}
