"""Several digests per channel: one per kind and filters (its canonical filter key), paused,
set again, listed and removed; the live digests; and a digest's entity moved by a merge."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.models import DigestFilters
from tests.storage.digests_support import (
    CHANNEL,
    GUILD,
    NOW,
    OTHER_CHANNEL,
    USER,
    fresh,
    headlines,
    history,
    make_digest,
    news,
)
from tests.storage.events_support import arrive, entity

# --- several digests per channel -------------------------------------------------------------


async def test_a_channel_holds_one_digest_per_kind_and_filters(storage: Storage) -> None:
    await arrive(storage, history("Old", dt.date(2015, 1, 1), "Italy", "Japan"))
    italy, japan = await entity(storage, "Italy"), await entity(storage, "Japan")
    both = DigestFilters(entity_ids=(italy, japan), words="climate  change")
    first, created = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=CHANNEL,
        kind="new",
        time=dt.time(9),
        timezone="Europe/Berlin",
        filters=both,
        created_by=USER,
        now=NOW,
    )
    assert created and first.every == "daily" and first.role_id is None and not first.publish
    assert first.entity_names == ("Italy", "Japan")
    everything = await make_digest(storage)
    on_this_day = await make_digest(storage, both, kind="onthisday")
    elsewhere = await make_digest(storage, both, channel=OTHER_CHANNEL)
    in_chinese = await make_digest(
        storage, DigestFilters(entity_ids=(italy, japan), words="climate change", language="zh")
    )
    assert len({first.id, everything.id, on_this_day.id, elsewhere.id, in_chinese.id}) == 5

    assert await storage.digests.pause(first.id, "Missing Access")
    assert not await storage.digests.pause(first.id, "again")  # told once
    paused = await fresh(storage, first)
    assert paused.paused and paused.paused_reason == "Missing Access" and paused.paused_at

    # The same filters, the entities in another order and the words spaced otherwise: the
    # one digest, its schedule, role and publishing replaced, and resumed.
    same = DigestFilters(entity_ids=(japan, italy), words=" climate change ")
    assert same.key == both.key
    again, created = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=CHANNEL,
        kind="new",
        every="hourly",
        time=dt.time(0, 15),
        timezone="Asia/Tokyo",
        filters=same,
        role_id=42,
        publish=True,
        created_by=USER + 1,
        now=NOW,
    )
    assert not created and again.id == first.id
    assert (again.every, again.time, again.timezone, again.role_id, again.publish) == (
        "hourly",
        dt.time(0, 15),
        "Asia/Tokyo",
        42,
        True,
    )
    assert not again.paused and again.paused_at is None and again.created_by == USER + 1
    assert again.entity_names == ("Italy", "Japan")

    listed = await storage.digests.for_guild(GUILD)
    assert sorted(d.id for d in listed) == sorted(
        [first.id, everything.id, on_this_day.id, elsewhere.id, in_chinese.id]
    )
    assert [d.id for d in await storage.digests.all()] == sorted(d.id for d in listed)
    assert await storage.digests.for_guild(GUILD + 1) == []

    removed = await storage.digests.remove(first.id)
    assert removed is not None and removed.id == first.id
    assert await storage.digests.get(first.id) is None
    assert await storage.digests.remove(first.id) is None
    assert first.id not in [d.id for d in await storage.digests.for_guild(GUILD)]
    # Made again, it is a new digest that starts from now.
    remade = await make_digest(storage, both)
    assert remade.id not in (first.id, everything.id)


def test_the_filter_key_is_canonical() -> None:
    assert DigestFilters().key == ""
    assert DigestFilters(entity_ids=(3, 1, 3)).key == DigestFilters(entity_ids=(1, 3)).key
    assert DigestFilters(words="a  b\tc ").key == DigestFilters(words="a b c").key
    assert (
        DigestFilters(category="Armed conflicts").key
        == DigestFilters(category="armed CONFLICTS").key
    )
    distinct = {
        DigestFilters().key,
        DigestFilters(entity_ids=(1,)).key,
        DigestFilters(category="1").key,
        DigestFilters(words="1").key,
        DigestFilters(language="en").key,
        DigestFilters(language="zh").key,
        DigestFilters(words="-b a").key,
        DigestFilters(words="a -b").key,
    }
    assert len(distinct) == 8


async def test_resuming_a_channel_resumes_its_paused_digests_only(storage: Storage) -> None:
    """A channel that refused one digest paused them all; resumed, they all resume."""
    first = await make_digest(storage, DigestFilters(words="floods"))
    second = await make_digest(storage, DigestFilters(words="harvest"), every="live")
    running = await make_digest(storage, DigestFilters(words="election"))
    elsewhere = await make_digest(storage, channel=OTHER_CHANNEL)
    for digest in (first, second, elsewhere):
        assert await storage.digests.pause(digest.id, "Missing Access")
    assert await storage.digests.resume_channel(CHANNEL) == sorted([first.id, second.id])
    assert [(await fresh(storage, d)).paused for d in (first, second, running, elsewhere)] == [
        False,
        False,
        False,
        True,
    ]
    assert await storage.digests.resume_channel(CHANNEL) == []  # nothing left to resume


# --- live digests ----------------------------------------------------------------------------


async def test_live_lists_the_live_digests_not_paused(storage: Storage) -> None:
    live = await make_digest(storage, every="live")
    paused = await make_digest(storage, DigestFilters(words="x"), every="live")
    await make_digest(storage, DigestFilters(words="y"), every="hourly")
    await make_digest(storage, DigestFilters(words="z"))
    elsewhere = await make_digest(storage, channel=OTHER_CHANNEL, every="live")
    await storage.digests.pause(paused.id, "Missing Access")
    assert [d.id for d in await storage.digests.live()] == [live.id, elsewhere.id]
    # Set again, it is live again.
    await make_digest(storage, DigestFilters(words="x"), every="live")
    assert [d.id for d in await storage.digests.live()] == [live.id, paused.id, elsewhere.id]
    # Made daily, it is not.
    await make_digest(storage, every="daily")
    assert [d.id for d in await storage.digests.live()] == [paused.id, elsewhere.id]


# --- merges ----------------------------------------------------------------------------------


async def test_a_merge_moves_a_digest_s_entity(storage: Storage) -> None:
    await arrive(
        storage,
        history("Old one", dt.date(2015, 1, 1), "ISIS"),
        history("Old two", dt.date(2015, 1, 2), "Islamic State", "Syria"),
    )
    isis, islamic_state = await entity(storage, "ISIS"), await entity(storage, "Islamic State")
    syria = await entity(storage, "Syria")
    digest = await make_digest(storage, DigestFilters(entity_ids=(isis,)))
    both = await make_digest(storage, DigestFilters(entity_ids=(isis, islamic_state, syria)))

    await storage.entities.merge("ISIS", "Islamic State")
    moved = await fresh(storage, digest)
    assert moved.filters.entity_ids == (islamic_state,)
    assert moved.entity_names == ("Islamic State",)
    joined = await fresh(storage, both)
    assert sorted(joined.filters.entity_ids) == sorted((islamic_state, syria))
    assert joined.entity_names == ("Islamic State", "Syria")

    await arrive(
        storage,
        news("ISIS attacks a checkpoint", "ISIS"),
        news("Islamic State loses a town", "Islamic State"),
        news("Weather in Paris", "France"),
    )
    expected = ["ISIS attacks a checkpoint", "Islamic State loses a town"]
    assert await headlines(storage, digest) == expected

    # Set again as it now reads, it is the same digest, not a second one.
    again = await make_digest(storage, DigestFilters(entity_ids=(islamic_state,)), role_id=5)
    assert again.id == digest.id and again.role_id == 5
    assert len(await storage.digests.for_guild(GUILD)) == 2
