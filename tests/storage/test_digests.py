"""News channels on a real SQLite file: what a digest posts (its filters on new events and
on this day), each item exactly once, several digests per channel, live digests, server
settings, and a database from before brought to the new schema by its migration."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from storage import Storage
from storage.keys import make_key
from storage.models import (
    Digest,
    DigestFilters,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
)
from tests.storage.conftest import RawSQL

DAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
GUILD, CHANNEL, OTHER_CHANNEL, USER = 1, 10, 11, 100
SLOT = "2026-12-07"
EVERYTHING = DigestFilters()


def _slug(headline: str) -> str:
    return "-".join(re.sub(r"[^\w\s]", "", headline.lower()).split())


def news(
    headline: str, *entities: str, lang: str = "en", summary: str = "", date: dt.date = DAY
) -> PageRecord:
    """A feed's item: news to announce, its categories among its entities."""
    return PageRecord(
        key=make_key(date, _slug(headline)),
        date=date,
        headline=headline,
        summary=summary,
        lang=lang,
        entities=entities,
        origin="feed",
        announce=True,
    )


def history(headline: str, date: dt.date, *entities: str, lang: str = "en") -> PageRecord:
    """An archive page: history, never announced."""
    return PageRecord(
        key=make_key(date, _slug(headline)),
        date=date,
        headline=headline,
        lang=lang,
        entities=entities,
    )


async def arrive(storage: Storage, *pages: PageRecord) -> list[int]:
    """Import pages; their event ids, in order."""
    await storage.events.import_batch(pages)
    ids = []
    for page in pages:
        event = await storage.events.get_by_key(page.key)
        assert event is not None
        ids.append(event.id)
    return ids


async def make_digest(
    storage: Storage,
    filters: DigestFilters = EVERYTHING,
    *,
    channel: int = CHANNEL,
    kind: str = "new",
    every: str = "daily",
    time: dt.time = dt.time(9),
    role_id: int | None = None,
    publish: bool = False,
) -> Digest:
    digest, _ = await storage.digests.upsert(
        guild_id=GUILD,
        channel_id=channel,
        kind=kind,
        every=every,
        time=time,
        timezone="Europe/Berlin",
        filters=filters,
        role_id=role_id,
        publish=publish,
        created_by=USER,
        now=NOW,
    )
    return digest


async def fresh(storage: Storage, digest: Digest) -> Digest:
    again = await storage.digests.get(digest.id)
    assert again is not None
    return again


async def headlines(storage: Storage, digest: Digest, *, language: str = "all") -> list[str]:
    """What the digest would post now (read as stored: its watermark may have moved)."""
    found = await storage.digests.new_events(await fresh(storage, digest), language=language)
    return [e.brief.headline for e in found.events]


async def entity(storage: Storage, name: str) -> int:
    found = await storage.entities.find(name)
    assert found is not None, name
    return found[0]


# --- 1. filters on new events -----------------------------------------------------------------


async def test_an_entity_filter_takes_the_events_naming_it_or_its_aliases(
    storage: Storage,
) -> None:
    await arrive(storage, history("Older news", dt.date(2015, 1, 1), "Islamic State", "Syria"))
    await storage.entities.alias("ISIL", "Islamic State")
    islamic_state = await entity(storage, "Islamic State")
    assert await entity(storage, "isil") == islamic_state  # an alias means its canonical entity
    digest = await make_digest(storage, DigestFilters(entity_ids=(islamic_state,)))
    assert digest.entity_names == ("Islamic State",)
    everything = await make_digest(storage, channel=OTHER_CHANNEL)

    ids = await arrive(
        storage,
        news("ISIL claims an attack in Raqqa", "ISIL", "Syria"),
        news("Islamic State loses ground near Mosul", "Islamic State", "Iraq"),
        news("Syria holds talks in Geneva", "Syria"),
        news("Markets rally in Tokyo", "Japan"),
    )
    found = await storage.digests.new_events(digest)
    assert [e.brief.headline for e in found.events] == [
        "ISIL claims an attack in Raqqa",
        "Islamic State loses ground near Mosul",
    ]
    assert found.covers_to == ids[-1]  # read past the events that did not pass
    assert len(await headlines(storage, everything)) == 4  # no filter: everything

    # Until it moves, the digest reads the same events again; once moved, never.
    assert len((await storage.digests.new_events(digest)).events) == 2
    await storage.digests.advance(digest.id, found.covers_to)
    assert (await fresh(storage, digest)).last_event_id == ids[-1]
    again = await storage.digests.new_events(await fresh(storage, digest))
    assert again.events == [] and again.covers_to == ids[-1]
    await storage.digests.advance(digest.id, ids[0])  # never backwards
    assert (await fresh(storage, digest)).last_event_id == ids[-1]

    # An event arriving later under the alias's name still comes.
    (later,) = await arrive(storage, news("ISIL retreats from Raqqa", "isil"))
    assert await headlines(storage, digest) == ["ISIL retreats from Raqqa"]
    assert (await storage.digests.new_events(await fresh(storage, digest))).covers_to == later


def _revision(*items: PortalItemRecord) -> PortalRevision:
    return PortalRevision(
        DAY,
        "Portal:Current events/2026 December 7",
        "https://en.wikipedia.org/wiki/Portal:Current_events/2026_December_7",
        1,
        NOW,
        items,
    )


def _portal_item(headline: str, category: str, position: int) -> PortalItemRecord:
    return PortalItemRecord(
        key=make_key(DAY, _slug(headline)),
        date=DAY,
        headline=headline,
        category=category,
        topics=(),
        entities=(),
        sources=(),
        position=position,
    )


async def test_a_category_is_the_portal_s_heading_or_a_feed_s_category(storage: Storage) -> None:
    await arrive(storage, history("Old tech news", dt.date(2015, 1, 1), "Technology"))
    await storage.entities.alias("Tech", "Technology")
    conflicts = await make_digest(storage, DigestFilters(category="armed CONFLICTS and attacks"))
    technology = await make_digest(storage, DigestFilters(category="technology"))
    by_alias = await make_digest(storage, DigestFilters(category="Tech"))
    assert conflicts.filters.category == "armed CONFLICTS and attacks"

    outcome = await storage.portal.apply_day(
        "en",
        _revision(
            _portal_item("Rebels attack a convoy near Goma", "Armed conflicts and attacks", 0),
            _portal_item("A central bank raises rates", "Business and economy", 1),
        ),
        announce=True,
        now=NOW,
    )
    assert len(outcome.announced) == 2
    await arrive(
        storage,
        news("A new phone is unveiled", "Technology", "Apple"),
        news("A chip maker opens a plant", "tech"),  # the alias: its canonical entity
        news("A football final is played", "Sport"),
    )
    assert await headlines(storage, conflicts) == ["Rebels attack a convoy near Goma"]
    both = ["A new phone is unveiled", "A chip maker opens a plant"]
    assert await headlines(storage, technology) == both
    assert await headlines(storage, by_alias) == both
    assert await storage.digests.categories("arm") == ["Armed conflicts and attacks"]
    assert await storage.digests.has_category("armed conflicts and attacks")
    assert not await storage.digests.has_category("Armed")  # a prefix is no category
    assert await storage.digests.categories("econ") == ["Business and economy"]


async def test_words_are_read_as_search_reads_them(storage: Storage) -> None:
    def words(text: str) -> DigestFilters:
        return DigestFilters(words=text)

    phrase = await make_digest(storage, words('"central Italy"'))
    excluded = await make_digest(storage, words("earthquake -Japan"))
    either = await make_digest(storage, words("flooding OR drill"))
    prefix = await make_digest(storage, words("earth*"))
    summary = await make_digest(storage, words("rivers"))
    await arrive(
        storage,
        news("Earthquake strikes central Italy", "Italy"),
        news("Flooding hits northern Italy", "Italy", summary="Rivers burst their banks."),
        news("Earthquake drill held in Japan", "Japan"),
        news("Central bank of Italy cuts rates", "Italy"),
        news("Earthworks begin on a new railway", "Railways"),
    )
    assert await headlines(storage, phrase) == ["Earthquake strikes central Italy"]
    assert await headlines(storage, excluded) == ["Earthquake strikes central Italy"]
    assert await headlines(storage, either) == [
        "Flooding hits northern Italy",
        "Earthquake drill held in Japan",
    ]
    assert await headlines(storage, prefix) == [
        "Earthquake strikes central Italy",
        "Earthquake drill held in Japan",
        "Earthworks begin on a new railway",
    ]
    assert await headlines(storage, summary) == ["Flooding hits northern Italy"]


async def test_a_language_takes_its_edition_or_both(storage: Storage) -> None:
    digest = await make_digest(storage)
    await arrive(
        storage,
        news("An election is held in Taiwan", "Taiwan"),
        news("台湾举行选举", "台湾", lang="zh"),
    )
    assert await headlines(storage, digest, language="en") == ["An election is held in Taiwan"]
    assert await headlines(storage, digest, language="zh") == ["台湾举行选举"]
    assert await headlines(storage, digest, language="all") == [
        "An election is held in Taiwan",
        "台湾举行选举",
    ]


async def test_filters_together_must_all_pass(storage: Storage) -> None:
    await arrive(storage, history("Old", dt.date(2015, 1, 1), "Italy", "Japan", "Disasters"))
    filters = DigestFilters(
        entity_ids=(await entity(storage, "Italy"),),
        category="Disasters",
        words="earthquake",
        language="en",
    )
    digest = await make_digest(storage, filters)
    assert digest.filters == filters
    ids = await arrive(
        storage,
        news("Earthquake strikes central Italy", "Italy", "Disasters"),
        news("Earthquake felt in Rome", "Italy"),  # no category
        news("Flooding in Italy", "Italy", "Disasters"),  # not the words
        news("Earthquake 意大利中部发生地震", "Italy", "Disasters", lang="zh"),  # the language
        news("Earthquake in Japan", "Japan", "Disasters"),  # not the entity
    )
    found = await storage.digests.new_events(digest, language="en")
    assert [e.brief.headline for e in found.events] == ["Earthquake strikes central Italy"]
    assert found.covers_to == ids[-1]

    # The preview of a digest not made yet reads the last day's events with the same filters.
    preview = await storage.digests.new_events_for_preview(
        None, filters, language="en", now=dt.datetime.now(dt.UTC)
    )
    assert [e.brief.headline for e in preview] == ["Earthquake strikes central Italy"]
    assert (
        await storage.digests.new_events_for_preview(
            None, filters, language="en", now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
        )
        == []
    )


async def test_a_new_digest_starts_from_now_and_skips_history(storage: Storage) -> None:
    await arrive(storage, news("Before the digest", "Italy"))
    digest = await make_digest(storage)
    await arrive(
        storage,
        history("An archive page", dt.date(2001, 9, 11), "Italy"),
        news("After the digest", "Italy"),
    )
    assert await headlines(storage, digest) == ["After the digest"]


# --- 2. exactly once --------------------------------------------------------------------------


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


# --- 3. several digests per channel -----------------------------------------------------------


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


# --- 4. live digests --------------------------------------------------------------------------


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


# --- 5. on this day ---------------------------------------------------------------------------


async def test_on_this_day_takes_the_filters(storage: Storage) -> None:
    await arrive(
        storage,
        history("Earthquake strikes Italy", dt.date(2016, 6, 16), "Italy", "Europe", "Quakes"),
        history("Italy wins a match", dt.date(2015, 6, 16), "Italy"),
        history("意大利发生地震", dt.date(2014, 6, 16), "意大利", lang="zh"),
        history("Japan holds an election", dt.date(2013, 6, 16), "Japan", "Asia"),
        history("Another day in Italy", dt.date(2016, 6, 17), "Italy"),
        history("A later earthquake in Italy", dt.date(2021, 6, 16), "Italy"),
    )
    best = storage.digests.on_this_day_best
    everything = await best(6, 16, before_year=2020, limit=10)
    assert [e.headline for e in everything] == [
        "Earthquake strikes Italy",
        "Japan holds an election",
        "Italy wins a match",
        "意大利发生地震",
    ]
    english = await best(6, 16, before_year=2020, limit=10, language="en")
    assert "意大利发生地震" not in [e.headline for e in english] and len(english) == 3
    chinese = await best(6, 16, before_year=2020, limit=10, language="zh")
    assert [e.headline for e in chinese] == ["意大利发生地震"]
    italy = DigestFilters(entity_ids=(await entity(storage, "Italy"),))
    assert [e.headline for e in await best(6, 16, before_year=2020, limit=10, filters=italy)] == [
        "Earthquake strikes Italy",
        "Italy wins a match",
    ]
    assert [e.headline for e in await best(6, 16, before_year=2020, limit=1, filters=italy)] == [
        "Earthquake strikes Italy"
    ]
    quakes = DigestFilters(words="earthquake OR 地震")
    assert [e.headline for e in await best(6, 16, before_year=2020, limit=10, filters=quakes)] == [
        "Earthquake strikes Italy",
        "意大利发生地震",
    ]
    assert [
        e.headline
        for e in await best(6, 16, before_year=2020, limit=10, filters=quakes, language="zh")
    ] == ["意大利发生地震"]
    no_match = DigestFilters(entity_ids=(await entity(storage, "Japan"),), words="earthquake")
    assert await best(6, 16, before_year=2020, limit=10, filters=no_match) == []
    by_category = DigestFilters(category="quakes")  # a category is an entity of the event too
    assert [
        e.headline for e in await best(6, 16, before_year=2020, limit=10, filters=by_category)
    ] == ["Earthquake strikes Italy"]


# --- 6. a database from before, and merges ----------------------------------------------------


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


# --- 7. server settings -----------------------------------------------------------------------


async def test_server_settings_keep_a_timezone_and_a_language(storage: Storage) -> None:
    unset = await storage.settings.get(GUILD)
    assert (unset.timezone, unset.language) == (None, None)
    await storage.settings.set_language(GUILD, "zh")  # a language without a timezone
    assert (await storage.settings.get(GUILD)).language == "zh"
    assert (await storage.settings.get(GUILD)).timezone is None
    await storage.settings.set_timezone(GUILD, "Asia/Shanghai")
    await storage.settings.set_language(GUILD, "all")
    settings = await storage.settings.get(GUILD)
    assert (settings.timezone, settings.language) == ("Asia/Shanghai", "all")
    await storage.settings.set_timezone(GUILD, "Europe/Paris")
    assert (await storage.settings.get(GUILD)).language == "all"  # kept
    with pytest.raises(ValueError, match="language"):
        await storage.settings.set_language(GUILD, "fr")
    assert (await storage.settings.get(GUILD)).language == "all"
    assert (await storage.settings.get(GUILD + 1)).timezone is None
