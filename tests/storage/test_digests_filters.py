"""What a digest posts: its filters (an entity and its aliases, a category, words, a
language, all together) on the events that arrive after it was made, and on this day."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import DigestFilters, PortalItemRecord, PortalRevision
from tests.storage.digests_support import (
    DAY,
    NOW,
    OTHER_CHANNEL,
    _slug,
    fresh,
    headlines,
    history,
    make_digest,
    news,
)
from tests.storage.events_support import arrive, entity

# --- filters on new events -------------------------------------------------------------------


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


# --- on this day -----------------------------------------------------------------------------


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
