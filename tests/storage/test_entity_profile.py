"""What EntityRepository tells about an entity and its names: /entity's profile (counts,
dates, latest events in a language, companions, aliases), the names a feed's name matcher
loads (names), whether headlines use a name as a name (headline_mentions), and the events
with their links that tagging is measured on (linked_events)."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import Storage
from storage.keys import make_key
from storage.models import (
    EventBrief,
    PageRecord,
    PortalItemRecord,
    PortalRevision,
    RelatedRecord,
    SourceRecord,
)
from tests.storage.events_support import arrive, entity


def page(
    date: dt.date,
    headline: str,
    *entities: str,
    lang: str = "en",
    sources: tuple[SourceRecord, ...] = (),
    related: tuple[RelatedRecord, ...] = (),
    summary: str = "",
    story: str | None = None,
) -> PageRecord:
    return PageRecord(
        key=make_key(date, f"{lang}-" + headline.lower().replace(" ", "-")),
        date=date,
        headline=headline,
        summary=summary,
        story=story,
        lang=lang,
        entities=entities,
        sources=sources,
        related=related,
    )


async def brief(storage: Storage, event_id: int) -> EventBrief:
    event = await storage.events.get(event_id)
    assert event is not None
    return event.brief


D = dt.date


async def test_a_profile_counts_dates_latest_events_and_companions(storage: Storage) -> None:
    photo = SourceRecord("Photo", "https://img.example/1.jpg", is_image=True)
    text = SourceRecord("BBC", "https://bbc.example/1")
    ids = await arrive(
        storage,
        page(D(2014, 6, 10), "Mosul falls", "Islamic State", "Iraq", "Mosul"),
        page(D(2015, 5, 17), "Ramadi falls", "Islamic State", "Iraq", "Ramadi"),
        page(
            D(2017, 7, 9),
            "Mosul is retaken",
            "Islamic State",
            "Iraq",
            "Mosul",
            sources=(photo, text),
        ),
        page(D(2017, 7, 9), "Same day, later id", "Islamic State", "Syria"),
        page(D(2016, 1, 1), "Not about it", "Iraq", "Mosul"),
        page(D(2016, 3, 1), "伊斯兰国的一则新闻", "Islamic State", "Syria", lang="zh"),
    )
    state = await entity(storage, "Islamic State")
    profile = await storage.entities.profile(state)
    assert (profile.name, profile.event_count) == ("Islamic State", 5)
    assert (profile.first_date, profile.last_date) == (D(2014, 6, 10), D(2017, 7, 9))
    # Newest first; on one date, the newer event first.
    assert [b.id for b in profile.recent] == [ids[3], ids[2], ids[5], ids[1], ids[0]]
    assert profile.recent[1] == await brief(storage, ids[2])
    assert profile.recent[1].url == text.url  # its first source that is not an image
    # Companions: most events together first, then by name.
    assert profile.co_entities == (("Iraq", 3), ("Mosul", 2), ("Syria", 2), ("Ramadi", 1))
    assert profile.aliases == ()
    assert profile.co_entities_window is None  # every event counted

    limited = await storage.entities.profile(state, recent=2, co_entities=2)
    assert [b.id for b in limited.recent] == [ids[3], ids[2]]
    assert limited.co_entities == (("Iraq", 3), ("Mosul", 2))
    assert limited.event_count == 5

    # A language keeps the latest events of that edition; counts and dates are every
    # edition's.
    chinese = await storage.entities.profile(state, language="zh")
    assert [b.id for b in chinese.recent] == [ids[5]]
    assert (chinese.event_count, chinese.first_date, chinese.co_entities) == (
        5,
        D(2014, 6, 10),
        profile.co_entities,
    )
    english = await storage.entities.profile(state, language="en")
    assert [b.id for b in english.recent] == [ids[3], ids[2], ids[1], ids[0]]
    assert await storage.entities.profile(state, language="all") == profile

    with pytest.raises(KeyError):
        await storage.entities.profile(max(ids) + 1000)


async def test_a_profile_after_aliases_and_merges(storage: Storage) -> None:
    ids = await arrive(
        storage,
        page(D(2014, 6, 10), "One", "ISIL", "Iraq"),
        page(D(2015, 6, 10), "Two", "Islamic State", "Syria"),
        page(D(2016, 6, 10), "Three", "Daesh", "ISIL", "Syria"),
    )
    await storage.entities.alias("ISIL", "Islamic State")
    await storage.entities.merge("Daesh", "Islamic State")
    state = await entity(storage, "Islamic State")
    assert await entity(storage, "daesh") == state
    profile = await storage.entities.profile(state)
    assert (profile.name, profile.event_count) == ("Islamic State", 3)
    assert (profile.first_date, profile.last_date) == (D(2014, 6, 10), D(2016, 6, 10))
    assert [b.id for b in profile.recent] == ids[::-1]
    assert profile.co_entities == (("Syria", 2), ("Iraq", 1))
    assert sorted(profile.aliases) == ["Daesh", "ISIL"]
    # The companions' own profiles see one entity, not three.
    syria = await storage.entities.profile(await entity(storage, "Syria"))
    assert syria.co_entities == (("Islamic State", 2),)


async def test_a_profile_of_an_entity_without_events(storage: Storage) -> None:
    await storage.entities.alias("Levant", "Greater Syria")  # both names new
    empty = await storage.entities.profile(await entity(storage, "Greater Syria"))
    assert (empty.name, empty.event_count, empty.first_date, empty.last_date) == (
        "Greater Syria",
        0,
        None,
        None,
    )
    assert (empty.recent, empty.co_entities, empty.aliases) == ((), (), ("Levant",))


async def test_names_in_id_order_with_their_canonical_entity(storage: Storage) -> None:
    await arrive(
        storage,
        page(D(2015, 1, 1), "One", "Islamic State", "Syria"),
        page(D(2015, 1, 2), "Two", "Islamic State", "ISIL"),
    )
    names = await storage.entities.names()
    assert [n.name for n in names] == ["Islamic State", "Syria", "ISIL"]  # as they came
    assert [n.id for n in names] == sorted(n.id for n in names)
    by_name = {n.name: n for n in names}
    assert (by_name["Islamic State"].canonical, by_name["Islamic State"].event_count) == (
        "Islamic State",
        2,
    )
    assert by_name["Islamic State"].entity_id == by_name["Islamic State"].id
    assert by_name["ISIL"].event_count == 1
    last = names[-1].id
    assert await storage.entities.names(after_id=last) == []

    # An alias is a name of its canonical entity; a new name comes after the last loaded.
    await storage.entities.alias("ISIL", "Islamic State")
    await storage.entities.alias("Daesh", "Islamic State")
    state = await entity(storage, "Islamic State")
    names = await storage.entities.names()
    by_name = {n.name: n for n in names}
    assert (by_name["ISIL"].entity_id, by_name["ISIL"].canonical) == (state, "Islamic State")
    assert by_name["ISIL"].event_count == by_name["Islamic State"].event_count == 2
    newer = await storage.entities.names(after_id=last)
    assert [(n.name, n.entity_id, n.canonical) for n in newer] == [
        ("Daesh", state, "Islamic State")
    ]


async def test_headline_mentions_newest_first_and_whether_linked(storage: Storage) -> None:
    ids = await arrive(
        storage,
        page(D(2015, 1, 1), "Police arrest a suspect in the murder of a journalist", "Police"),
        page(D(2016, 1, 1), "The Murder Capital release an album", "The Murder Capital"),
        page(D(2017, 1, 1), "A murder trial opens in Oslo", "Oslo"),
        page(D(2018, 1, 1), "Capital murder charges are filed", "Texas"),
        page(D(2019, 1, 1), "Murderers are sentenced", "Oslo"),
        page(
            D(2020, 1, 1),
            "An album, not the band's",
            "The Murder Capital",
            summary="The murder capital of the world",
        ),
    )
    mentions = await storage.entities.headline_mentions("murder")
    # Only headlines, whole words, case ignored; newest first; no entity is named so.
    assert [(m.date, m.headline, m.linked) for m in mentions] == [
        (D(2018, 1, 1), "Capital murder charges are filed", False),
        (D(2017, 1, 1), "A murder trial opens in Oslo", False),
        (D(2016, 1, 1), "The Murder Capital release an album", False),
        (D(2015, 1, 1), "Police arrest a suspect in the murder of a journalist", False),
    ]
    assert len(await storage.entities.headline_mentions("murder", limit=2)) == 2

    # A name of several words: them in a row; linked when the event links the entity.
    band = await storage.entities.headline_mentions("the murder capital")
    assert [(m.headline, m.linked) for m in band] == [("The Murder Capital release an album", True)]
    assert [m.headline for m in await storage.entities.headline_mentions("Oslo")] == [
        "A murder trial opens in Oslo"
    ]
    await storage.entities.alias("Christiania", "Oslo")  # a name of Oslo: Oslo's links
    assert await storage.entities.headline_mentions("Christiania") == []
    assert await storage.entities.headline_mentions("...") == []
    assert ids  # imported


async def test_linked_events_in_id_order_with_their_links(storage: Storage) -> None:
    stub = page(D(2015, 1, 9), "Known only from a link")
    ids = await arrive(
        storage,
        page(
            D(2015, 1, 1),
            "One",
            "Syria",
            "Iraq",
            summary="First.",
            story="Civil war",
            related=(RelatedRecord(stub.key, stub.date, stub.headline, ("Syria",)),),
        ),
        page(D(2015, 1, 2), "二", lang="zh"),
        page(D(2015, 1, 3), "Three", "ISIL", "Iraq"),
    )
    the_stub = await storage.events.get_by_key(stub.key)
    assert the_stub is not None
    await storage.entities.alias("ISIL", "Islamic State")
    syria, iraq, state = [await entity(storage, n) for n in ("Syria", "Iraq", "Islamic State")]

    linked = await storage.entities.linked_events()
    assert [e.id for e in linked] == sorted([*ids, the_stub.id])
    first = next(e for e in linked if e.id == ids[0])
    assert (first.key, first.date, first.lang, first.complete) == (
        make_key(D(2015, 1, 1), "en-one"),
        D(2015, 1, 1),
        "en",
        True,
    )
    assert (first.story, first.headline, first.summary) == ("Civil war", "One", "First.")
    assert first.entity_ids == tuple(sorted([syria, iraq]))
    by_id = {e.id: e for e in linked}
    assert by_id[ids[1]].entity_ids == () and by_id[ids[1]].lang == "zh"
    assert by_id[ids[2]].entity_ids == tuple(sorted([state, iraq]))  # the canonical entity
    assert not by_id[the_stub.id].complete

    # In pages: after an id, at most `limit`.
    assert await storage.entities.linked_events(limit=2) == linked[:2]
    assert await storage.entities.linked_events(after_id=linked[1].id) == linked[2:]
    assert await storage.entities.linked_events(after_id=linked[-1].id) == []


async def test_linked_events_leave_out_events_taken_off_the_portal(storage: Storage) -> None:
    day, now = D(2024, 1, 8), dt.datetime(2024, 1, 8, 18, tzinfo=dt.UTC)

    def item(headline: str, position: int) -> PortalItemRecord:
        return PortalItemRecord(
            make_key(day, headline.lower().replace(" ", "-")),
            day,
            headline,
            None,
            (),
            ("Ecuador",),
            (),
            position,
        )

    def revision(number: int, *items: PortalItemRecord) -> PortalRevision:
        return PortalRevision(
            day,
            "Portal:Current events/2024 January 8",
            "https://en.wikipedia.org/wiki/Portal:Current_events/2024_January_8",
            number,
            now,
            items,
        )

    kept = item("Ecuador declares a state of emergency after a prison escape", 0)
    dropped = item("A curfew is announced in Quito as gangs take hostages", 1)
    first = await storage.portal.apply_day(
        "en", revision(1, kept, dropped), announce=False, now=now
    )
    second = await storage.portal.apply_day("en", revision(2, kept), announce=False, now=now)
    assert len(first.created) == 2 and len(second.removed) == 1
    linked = await storage.entities.linked_events()
    assert [e.id for e in linked] == [i for i in first.created if i not in second.removed]
