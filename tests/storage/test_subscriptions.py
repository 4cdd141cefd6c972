"""SubscriptionRepository as the alert service uses it: members' subscriptions (made,
changed, paused, resumed, removed), the announced events a sweep reads, which subscriptions
an event matches, the at-most-once ledger of alerts, notices waiting for a member's next
command, and the bot's small state."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import Storage
from storage.api_delivery import TooManySubscriptions
from storage.keys import make_key
from storage.models import (
    Match,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
    SourceRecord,
    Subscription,
)
from tests.storage.conftest import OpenArchive
from tests.storage.events_support import arrive, entity

DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
GUILD, OTHER_GUILD = 1, 2
ALICE, BOB, CAROL = 100, 200, 300
CHANNEL = 10


def _slug(headline: str) -> str:
    return "-".join("".join(c for c in headline.lower() if c.isalnum() or c == " ").split())


def news(headline: str, *entities: str, sources: tuple[SourceRecord, ...] = ()) -> PageRecord:
    """A feed's item: news, announced to digests and alerts."""
    return PageRecord(
        key=make_key(DAY, _slug(headline)),
        date=DAY,
        headline=headline,
        entities=entities,
        sources=sources,
        origin="feed",
        announce=True,
    )


def history(headline: str, *entities: str) -> PageRecord:
    """An archive page: history, never announced."""
    date = dt.date(2015, 3, 2)
    return PageRecord(
        key=make_key(date, _slug(headline)), date=date, headline=headline, entities=entities
    )


async def subscribe(
    storage: Storage,
    user: int,
    name: str,
    *,
    guild: int = GUILD,
    delivery: str = "dm",
    channel: int | None = None,
) -> Subscription:
    subscription, _ = await storage.subscriptions.subscribe(
        guild_id=guild,
        user_id=user,
        entity_id=await entity(storage, name),
        delivery=delivery,
        channel_id=channel,
    )
    return subscription


def pairs(matches: list[Match]) -> set[tuple[int, int]]:
    """(subscription id, event id) of each match."""
    return {(m.subscription.id, m.event.id) for m in matches}


# --- subscriptions ----------------------------------------------------------------------------


async def test_subscribing_again_changes_delivery_and_resumes(storage: Storage) -> None:
    await arrive(storage, history("Talks in Geneva", "Syria"))
    syria = await entity(storage, "Syria")

    made, created = await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=syria, delivery="dm", channel_id=None
    )
    assert created
    assert (made.guild_id, made.user_id, made.entity_id, made.entity) == (
        GUILD,
        ALICE,
        syria,
        "Syria",
    )
    assert (made.delivery, made.channel_id, made.paused_reason) == ("dm", None, None)
    assert made.target == f"dm:{ALICE}"
    assert await storage.subscriptions.get(made.id) == made

    await storage.subscriptions.pause([made.id], "DMs closed")
    paused = await storage.subscriptions.get(made.id)
    assert paused is not None and paused.paused_reason == "DMs closed"

    changed, created = await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=syria, delivery="here", channel_id=CHANNEL
    )
    assert not created
    assert changed.id == made.id
    assert (changed.delivery, changed.channel_id, changed.paused_reason) == ("here", CHANNEL, None)
    assert changed.target == f"here:{CHANNEL}:{ALICE}"
    assert await storage.subscriptions.get(made.id) == changed
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 1


async def test_a_member_s_subscriptions_by_name_and_per_server(storage: Storage) -> None:
    await arrive(storage, history("Many names", "Zambia", "Émile Zola", "Albania", "Syria"))
    zambia = await subscribe(storage, ALICE, "Zambia")
    zola = await subscribe(storage, ALICE, "Émile Zola", delivery="here", channel=CHANNEL)
    albania = await subscribe(storage, ALICE, "Albania")
    elsewhere = await subscribe(storage, ALICE, "Syria", guild=OTHER_GUILD)
    bobs = await subscribe(storage, BOB, "Syria")

    # By name as people read it: case and accents ignored.
    assert await storage.subscriptions.for_member(GUILD, ALICE) == [albania, zola, zambia]
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 3
    assert await storage.subscriptions.for_member(OTHER_GUILD, ALICE) == [elsewhere]
    assert await storage.subscriptions.for_member(GUILD, BOB) == [bobs]
    assert await storage.subscriptions.for_member(GUILD, CAROL) == []
    assert await storage.subscriptions.count_for_member(GUILD, CAROL) == 0
    # In every server: by server, then by name.
    assert await storage.subscriptions.for_user(ALICE) == [albania, zola, zambia, elsewhere]
    assert await storage.subscriptions.for_user(CAROL) == []

    # Unsubscribing names the entity; it is done once.
    args = {"guild_id": GUILD, "user_id": ALICE, "entity_id": zola.entity_id}
    assert await storage.subscriptions.unsubscribe(**args)
    assert not await storage.subscriptions.unsubscribe(**args)
    assert await storage.subscriptions.get(zola.id) is None
    # Removing names the subscription; it is done once, and touches no other.
    assert await storage.subscriptions.remove(zambia.id)
    assert not await storage.subscriptions.remove(zambia.id)
    assert await storage.subscriptions.for_member(GUILD, ALICE) == [albania]
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 1
    assert await storage.subscriptions.for_member(OTHER_GUILD, ALICE) == [elsewhere]
    assert await storage.subscriptions.get(bobs.id) == bobs


async def test_pausing_and_the_dm_subscriptions_closed_dms_pause(storage: Storage) -> None:
    await arrive(storage, history("Three names", "Syria", "Iraq", "Japan"))
    syria = await subscribe(storage, ALICE, "Syria")
    iraq = await subscribe(storage, ALICE, "Iraq", guild=OTHER_GUILD)
    here = await subscribe(storage, ALICE, "Japan", delivery="here", channel=CHANNEL)
    bobs = await subscribe(storage, BOB, "Syria")

    # Every active DM subscription of the member, in every server; not 'here' ones.
    dms = await storage.subscriptions.dm_subscriptions(ALICE)
    assert sorted(s.id for s in dms) == sorted([syria.id, iraq.id])

    await storage.subscriptions.pause([s.id for s in dms], "DMs closed")
    for paused in (syria, iraq):
        now = await storage.subscriptions.get(paused.id)
        assert now is not None and now.paused_reason == "DMs closed"
    assert await storage.subscriptions.dm_subscriptions(ALICE) == []
    assert await storage.subscriptions.get(here.id) == here  # untouched
    assert await storage.subscriptions.get(bobs.id) == bobs
    assert await storage.subscriptions.dm_subscriptions(BOB) == [bobs]
    # Paused subscriptions are still the member's.
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 2

    await storage.subscriptions.pause([], "nothing")  # nothing to pause: nothing happens
    assert await storage.subscriptions.dm_subscriptions(BOB) == [bobs]


async def test_a_new_subscription_past_the_most_is_refused(storage: Storage) -> None:
    """A member who follows the most may still change one they have, but not add one;
    another server's subscriptions do not count."""
    await arrive(storage, history("Four names", "Syria", "Iraq", "Japan", "Chile"))
    await subscribe(storage, ALICE, "Chile", guild=OTHER_GUILD)
    syria, iraq, japan = [await entity(storage, name) for name in ("Syria", "Iraq", "Japan")]
    for entity_id in (syria, iraq):
        await storage.subscriptions.subscribe(
            guild_id=GUILD,
            user_id=ALICE,
            entity_id=entity_id,
            delivery="dm",
            channel_id=None,
            most=2,
        )

    with pytest.raises(TooManySubscriptions) as refused:
        await storage.subscriptions.subscribe(
            guild_id=GUILD, user_id=ALICE, entity_id=japan, delivery="dm", channel_id=None, most=2
        )
    assert refused.value.following == 2
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 2
    changed, created = await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=iraq, delivery="here", channel_id=CHANNEL, most=2
    )
    assert not created and (changed.delivery, changed.channel_id) == ("here", CHANNEL)
    # The count is the member's in this server: in another, or for another member, it is theirs.
    for guild, user in ((OTHER_GUILD, ALICE), (GUILD, BOB)):
        _, created = await storage.subscriptions.subscribe(
            guild_id=guild, user_id=user, entity_id=japan, delivery="dm", channel_id=None, most=2
        )
        assert created


async def test_of_two_processes_subscribing_at_once_at_the_most_one_is_refused(
    storage: Storage, other: Storage
) -> None:
    """A double submit (or two clients) from a member one short of the most: two new
    subscriptions at once, each in its own process; one is made, the other refused."""
    await arrive(storage, history("Three names", "Syria", "Iraq", "Japan"))
    syria, iraq, japan = [await entity(storage, name) for name in ("Syria", "Iraq", "Japan")]
    await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=syria, delivery="dm", channel_id=None
    )
    outcomes = await asyncio.gather(
        *(
            store.subscriptions.subscribe(
                guild_id=GUILD,
                user_id=ALICE,
                entity_id=entity_id,
                delivery="dm",
                channel_id=None,
                most=2,
            )
            for store, entity_id in ((storage, iraq), (other, japan))
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(o, TooManySubscriptions) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, tuple) for o in outcomes) == 1, outcomes
    assert await storage.subscriptions.count_for_member(GUILD, ALICE) == 2


async def test_an_alias_moves_subscriptions_to_its_canonical_entity(storage: Storage) -> None:
    await arrive(storage, history("Two spellings", "ISIL", "Islamic State"))
    by_alias = await subscribe(storage, ALICE, "ISIL")
    both_alias = await subscribe(storage, BOB, "ISIL")
    both_canonical = await subscribe(storage, BOB, "Islamic State")

    await storage.entities.alias("ISIL", "Islamic State")
    islamic_state = await entity(storage, "Islamic State")
    moved = await storage.subscriptions.get(by_alias.id)
    assert moved is not None
    assert (moved.entity_id, moved.entity) == (islamic_state, "Islamic State")
    # Subscribed both ways: one subscription is left, to the canonical entity.
    assert await storage.subscriptions.get(both_alias.id) is None
    assert await storage.subscriptions.for_member(GUILD, BOB) == [both_canonical]


async def test_a_merge_keeps_a_member_s_working_subscription_and_tells_them(
    storage: Storage,
) -> None:
    """Alice follows Russia by DM and Syria in a channel Chronicle lost (paused); Bob follows
    both, both paused; Carol follows Russia alone. Russia merged into Syria: Alice keeps her
    DM subscription (now to Syria), Bob the one to Syria; each is told at their next command,
    and Carol, whose subscription just moved, is not."""
    await arrive(storage, history("Two neighbours", "Russia", "Syria"))
    alice_dm = await subscribe(storage, ALICE, "Russia")
    alice_here = await subscribe(storage, ALICE, "Syria", delivery="here", channel=CHANNEL)
    bob_russia = await subscribe(storage, BOB, "Russia")
    bob_syria = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    carol = await subscribe(storage, CAROL, "Russia")
    lost = f"Chronicle may no longer post in <#{CHANNEL}> (403)"
    await storage.subscriptions.pause([alice_here.id, bob_syria.id], lost)
    await storage.subscriptions.pause([bob_russia.id], "Discord refused the direct message")

    await storage.entities.merge("Russia", "Syria")
    syria = await entity(storage, "Syria")
    (kept,) = await storage.subscriptions.for_member(GUILD, ALICE)
    assert (kept.id, kept.entity_id, kept.delivery, kept.paused_reason) == (
        alice_dm.id,
        syria,
        "dm",
        None,
    )
    (kept,) = await storage.subscriptions.for_member(GUILD, BOB)
    assert (kept.id, kept.paused_reason) == (bob_syria.id, lost)
    (moved,) = await storage.subscriptions.for_member(GUILD, CAROL)
    assert (moved.id, moved.entity) == (carol.id, "Syria")

    told = await storage.subscriptions.take_notice(ALICE)
    assert told is not None and "“Russia” is now a name of “Syria”" in told
    assert "to Syria by direct message." in told and f"in <#{CHANNEL}> is gone" in told
    told = await storage.subscriptions.take_notice(BOB)
    assert told is not None and f"to Syria in <#{CHANNEL}>, paused" in told
    assert await storage.subscriptions.take_notice(CAROL) is None


# --- what a sweep reads -----------------------------------------------------------------------


def portal_item(headline: str, position: int, *entities: str) -> PortalItemRecord:
    return PortalItemRecord(
        key=make_key(DAY, _slug(headline)),
        date=DAY,
        headline=headline,
        category="Armed conflicts and attacks",
        topics=(),
        entities=entities,
        sources=(),
        position=position,
    )


def portal_revision(number: int, *items: PortalItemRecord) -> PortalRevision:
    return PortalRevision(
        DAY,
        "Portal:Current events/2026 March 2",
        "https://en.wikipedia.org/wiki/Portal:Current_events/2026_March_2",
        number,
        NOW,
        items,
    )


async def test_announced_events_after_a_watermark(storage: Storage) -> None:
    assert await storage.subscriptions.newest_event_id() == 0
    assert (await storage.subscriptions.announced_after(0, limit=10)).ready == []

    old = await arrive(storage, history("An old event", "Syria"))
    first = await arrive(storage, news("First news", "Syria"), news("Second news", "Iraq"))
    later = await arrive(storage, history("Another old event", "Iraq"))
    last = await arrive(storage, news("Third news", "Japan"))
    assert await storage.subscriptions.newest_event_id() == max(old + first + later + last)

    # Only announced events, in id order, after the watermark, at most `limit`.
    assert (await storage.subscriptions.announced_after(0, limit=10)).ready == first + last
    assert (await storage.subscriptions.announced_after(0, limit=2)).ready == first
    assert (await storage.subscriptions.announced_after(first[0], limit=10)).ready == first[
        1:
    ] + last
    assert (await storage.subscriptions.announced_after(last[0], limit=10)).ready == []


async def test_an_event_taken_off_its_portal_page_is_no_longer_announced(
    storage: Storage,
) -> None:
    kept = portal_item("Rebels seize the border town of Kalehe overnight", 0, "Kalehe")
    dropped = portal_item("Floods cut the main road to Bukavu for a week", 1, "Bukavu")
    outcome = await storage.portal.apply_day(
        "en", portal_revision(1, kept, dropped), announce=True, now=NOW
    )
    assert sorted((await storage.subscriptions.announced_after(0, limit=10)).ready) == sorted(
        outcome.announced
    )
    assert len(outcome.announced) == 2
    again = await storage.portal.apply_day("en", portal_revision(2, kept), announce=True, now=NOW)
    (removed,) = again.removed
    remaining = (await storage.subscriptions.announced_after(0, limit=10)).ready
    assert removed not in remaining and len(remaining) == 1
    assert await storage.subscriptions.newest_event_id() == max(outcome.announced)


async def test_matches_are_active_subscriptions_to_the_events_entities(storage: Storage) -> None:
    await arrive(storage, history("Before the news", "Syria", "Iraq", "Japan", "Kenya"))
    await storage.entities.alias("Daesh", "Islamic State")
    alice = await subscribe(storage, ALICE, "Syria")
    bob = await subscribe(storage, BOB, "Syria", delivery="here", channel=CHANNEL)
    carol_paused = await subscribe(storage, CAROL, "Iraq")
    await storage.subscriptions.pause([carol_paused.id], "DMs closed")
    carol = await subscribe(storage, CAROL, "Daesh")  # an alias: the canonical entity
    assert carol.entity == "Islamic State"
    await subscribe(storage, ALICE, "Kenya")  # in no event below

    source = SourceRecord("Reuters", "https://reuters.example/1")
    image = SourceRecord("Photo", "https://img.example/1.jpg", is_image=True)
    ids = await arrive(
        storage,
        news("Talks about Syria and Iraq", "Syria", "Iraq", sources=(image, source)),
        news("Daesh claims an attack", "Daesh", "Syria"),  # named by its alias
        news("Markets rally in Tokyo", "Japan"),
        news("Syria again, not asked about", "Syria"),
    )
    found = await storage.subscriptions.matches(ids[:3])
    assert pairs(found) == {
        (alice.id, ids[0]),
        (bob.id, ids[0]),
        (alice.id, ids[1]),
        (bob.id, ids[1]),
        (carol.id, ids[1]),
    }
    assert [m.event.id for m in found] == sorted(m.event.id for m in found)  # by event
    for match in found:
        # What the alert shows: the subscription as stored, the event's brief.
        assert match.subscription == await storage.subscriptions.get(match.subscription.id)
        event = await storage.events.get(match.event.id)
        assert event is not None and match.event == event.brief
    first = next(m.event for m in found if m.event.id == ids[0])
    assert first.url == source.url  # its first source that is not an image
    assert {m.subscription.entity for m in found if m.event.id == ids[1]} == {
        "Syria",
        "Islamic State",
    }
    assert await storage.subscriptions.matches([]) == []
    assert await storage.subscriptions.matches([ids[2]]) == []  # nobody follows Japan


async def test_matches_leave_out_what_was_delivered_to_the_target(storage: Storage) -> None:
    await arrive(storage, history("Before the news", "Syria"))
    dm = await subscribe(storage, ALICE, "Syria")
    ids = await arrive(storage, news("One", "Syria"), news("Two", "Syria"))
    assert await storage.subscriptions.claim(dm.target, [ids[0]]) == [ids[0]]
    assert pairs(await storage.subscriptions.matches(ids)) == {(dm.id, ids[1])}

    # Delivered to the member's DMs: a subscription that now posts 'here' is another
    # target, whose ledger is its own.
    here, _ = await storage.subscriptions.subscribe(
        guild_id=GUILD, user_id=ALICE, entity_id=dm.entity_id, delivery="here", channel_id=CHANNEL
    )
    assert pairs(await storage.subscriptions.matches(ids)) == {(here.id, ids[0]), (here.id, ids[1])}

    # Claimed, it no longer matches.
    await storage.subscriptions.claim(here.target, ids)
    assert await storage.subscriptions.matches(ids) == []


# --- the ledger -------------------------------------------------------------------------------


async def test_a_claim_is_had_once(storage: Storage) -> None:
    ids = await arrive(storage, news("One", "Syria"), news("Two", "Syria"), news("Three", "Syria"))
    target, other = f"dm:{ALICE}", f"here:{CHANNEL}:{ALICE}"
    # The ids newly claimed, in the order given, each once.
    assert await storage.subscriptions.claim(target, [ids[1], ids[0], ids[1]]) == [ids[1], ids[0]]
    assert await storage.subscriptions.claim(target, [ids[1], ids[0]]) == []
    assert await storage.subscriptions.claim(target, [ids[2], ids[0]]) == [ids[2]]
    assert await storage.subscriptions.claim(target, ids) == []
    # Another target's ledger is its own.
    assert await storage.subscriptions.claim(other, ids) == ids
    assert await storage.subscriptions.claim(target, []) == []


async def test_the_ledger_notices_and_state_survive_a_restart(open_archive: OpenArchive) -> None:
    async with await open_archive("ledger") as storage:
        ids = await arrive(storage, news("One", "Syria"), news("Two", "Syria"))
        assert await storage.subscriptions.claim(f"dm:{ALICE}", ids) == ids
        await storage.subscriptions.add_notice(ALICE, "Your DMs are closed")
        await storage.subscriptions.set_state("alerts.after_event_id", str(ids[-1]))
    async with await open_archive("ledger") as storage:
        assert await storage.subscriptions.claim(f"dm:{ALICE}", ids) == []
        assert await storage.subscriptions.take_notice(ALICE) == "Your DMs are closed"
        assert await storage.subscriptions.state("alerts.after_event_id") == str(ids[-1])


# --- notices and state ------------------------------------------------------------------------


async def test_notices_are_taken_once_none_replacing_another(storage: Storage) -> None:
    assert await storage.subscriptions.take_notice(ALICE) is None
    await storage.subscriptions.add_notice(ALICE, "First")
    await storage.subscriptions.add_notice(ALICE, "Second")
    await storage.subscriptions.add_notice(BOB, "For Bob")
    assert await storage.subscriptions.take_notice(ALICE) == "First\n\nSecond"
    assert await storage.subscriptions.take_notice(ALICE) is None
    assert await storage.subscriptions.take_notice(BOB) == "For Bob"
    assert await storage.subscriptions.take_notice(BOB) is None


async def test_of_two_processes_taking_a_notice_at_once_one_gets_it(
    storage: Storage, other: Storage
) -> None:
    await storage.subscriptions.add_notice(ALICE, "Your DMs are closed")
    taken = await asyncio.gather(
        storage.subscriptions.take_notice(ALICE), other.subscriptions.take_notice(ALICE)
    )
    assert taken.count("Your DMs are closed") == 1 and taken.count(None) == 1


async def test_state_is_set_and_replaced(storage: Storage) -> None:
    assert await storage.subscriptions.state("alerts.after_event_id") is None
    await storage.subscriptions.set_state("alerts.after_event_id", "12")
    await storage.subscriptions.set_state("alerts.after_event_id.shard-0-of-2", "7")
    await storage.subscriptions.set_state("alerts.after_event_id", "40")
    assert await storage.subscriptions.state("alerts.after_event_id") == "40"
    assert await storage.subscriptions.state("alerts.after_event_id.shard-0-of-2") == "7"
    assert await storage.subscriptions.state("alerts") is None


async def test_an_event_merged_away_before_its_claim_is_not_claimed(storage: Storage) -> None:
    """A sweep matched an event, then an import folded it into another (the archive's page
    of the same story, naming its key as an older one): claiming it claims the others."""
    await arrive(storage, history("Before the news", "Syria"))
    subscription = await subscribe(storage, ALICE, "Syria")
    feed_news = news("Rebels take the airport of Kalehe", "Syria")
    ids = await arrive(storage, feed_news, news("Another story", "Syria"))
    archive_page = PageRecord(
        key=make_key(DAY, "rebels-seize-kalehe-airport"),
        date=DAY,
        headline="Rebels seize Kalehe airport",
        entities=("Syria",),
    )
    (archived,) = await arrive(storage, archive_page)
    matched = await storage.subscriptions.matches(ids)
    assert pairs(matched) == {(subscription.id, ids[0]), (subscription.id, ids[1])}

    changes = PageRecord(
        key=archive_page.key,
        date=DAY,
        headline=archive_page.headline,
        entities=archive_page.entities,
        replaces=(feed_news.key,),
    )
    outcome = await storage.events.import_batch([changes])
    assert outcome.replaced == 1
    followed = await storage.events.get(ids[0])  # one event, the archive's: the old id
    assert followed is not None and followed.id == archived  # finds the one it joined
    merged = await storage.events.get_by_key(feed_news.key)
    assert merged is not None and merged.id == archived
    claimed = await storage.subscriptions.claim(subscription.target, [m.event.id for m in matched])
    assert claimed == [ids[1]]
