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
from tests.storage.feeds_support import DAY, T0, archive_page, item, store

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


# --- an entry corrected in place ----------------------------------------------------------------------

QUAKE = "Earthquake kills 10 in the Atacama region of northern Chile"
CORRECTED = "Earthquake kills 100 in the Atacama region of northern Chile"


def retold_text(
    identity: str,
    headline: str = CORRECTED,
    summary: str = "A hundred people died.",
    *,
    entities: tuple[str, ...] = (),
) -> EntryText:
    return EntryText(identity, headline, summary, "en", entities)


async def test_a_corrected_entry_corrects_its_event_in_place(storage: Storage) -> None:
    """A wire corrects an entry it announced: the event says what the entry says now, is
    searched by it (and no longer by what it said), keeps its key, date and sources, and
    later entries are matched to it by its new headline."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    (event_id,) = (
        await store(storage, feed.id, item("q1", QUAKE, link="https://a.example/q"))
    ).created
    before = await storage.events.get(event_id)
    assert before is not None
    corrected = retold_text("q1", entities=("Atacama",))
    assert await storage.feeds.retold(feed.id, [corrected]) == {"q1"}
    stored = await correct(storage, feed.id, corrected)
    assert stored.corrected == [event_id] and stored.created == stored.announced == []

    event = await storage.events.get(event_id)
    assert event is not None
    assert (event.headline, event.summary) == (CORRECTED, "A hundred people died.")
    assert (event.key, event.date, event.sources) == (before.key, before.date, before.sources)
    assert "Atacama" in event.entities
    found = await storage.search.search(SearchFilter(text="hundred"))
    assert [h.event.id for h in found] == [event_id]
    assert await storage.search.search(SearchFilter(text="Summary")) == []
    # Said again, it is no correction; another feed's telling of the corrected headline is
    # the same story.
    assert await storage.feeds.retold(feed.id, [corrected]) == set()
    assert (await correct(storage, feed.id, corrected)).corrected == []
    other = await storage.feeds.add("https://b.example/feed", "Other", now=T0)
    joined = await store(storage, other.id, item("b1", CORRECTED + ".", link="https://b.example/q"))
    assert joined.merged == [event_id]


async def test_only_an_event_the_feed_alone_told_is_corrected(
    storage: Storage, raw_sql: RawSQL
) -> None:
    """An event another feed joined, an archive event the entry joined, one the portal
    lists, one taken off: each keeps its text. So does one the document tells two ways."""
    feed = await storage.feeds.add("https://a.example/feed", "Wire", now=T0)
    other = await storage.feeds.add("https://b.example/feed", "Other", now=T0)
    await storage.events.import_batch([archive_page("archive-story", "https://ind.example/a")])
    stored = await store(
        storage,
        feed.id,
        item("shared", QUAKE, link="https://a.example/shared"),
        item("archive", link="https://ind.example/a"),
        item("portal", "Floods force four thousand from their homes in Sao Paulo state"),
        item("off", "Glacier collapse closes an Alpine valley road for the summer"),
        item("twice", "Senate passes the budget after an all-night session of debate"),
    )
    shared, portal, off, twice = stored.created
    (archive,) = stored.merged
    joined = await store(storage, other.id, item("b", QUAKE, link="https://a.example/shared"))
    assert joined.merged == [shared]
    await raw_sql(
        "INSERT INTO portal_items(wiki, event_id, date, position, headline, sources,"
        " entities, content_hash) VALUES ('en', ?, ?, 0, 'x', '[]', '[]', 'h')",
        portal,
        DAY,
    )
    await raw_sql("UPDATE events SET removed_at = ? WHERE id = ?", T0, off)
    await store(
        storage,
        feed.id,
        item(
            "twice-again",
            "Senate passes the budget after an all-night session of debate",
            link="https://a.example/t",
        ),
    )
    await raw_sql("UPDATE feed_entries SET event_id = ? WHERE identity = 'twice-again'", twice)
    texts = [
        retold_text(identity, f"{identity} corrected headline")
        for identity in ("shared", "archive", "portal", "off")
    ] + [
        retold_text("twice", "Senate passes the budget"),
        retold_text("twice-again", "Senate rejects it"),
    ]
    assert await storage.feeds.retold(feed.id, texts) == set()
    assert (await correct(storage, feed.id, *texts)).corrected == []
    for event_id in (shared, archive, portal, off, twice):
        event = await storage.events.get(event_id)
        assert event is not None and "corrected" not in event.headline
        assert not event.headline.startswith("Senate rejects")
    # The document's two entries of one event agreeing: that is the correction.
    agreeing = [
        retold_text("twice", "Senate passes it"),
        retold_text("twice-again", "Senate passes it"),
    ]
    assert (await correct(storage, feed.id, *agreeing)).corrected == [twice]
