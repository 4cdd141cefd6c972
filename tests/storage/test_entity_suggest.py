"""Entity-name autocomplete: names starting with what is typed, the entities with the most
events first, whether the names are few enough to order or the popularity index is walked."""

from __future__ import annotations

import datetime as dt

import pytest

import storage.sqlite.entities as storage_entities
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.support.reads import ONE_LETTER_PREFIX, text_parameters


async def _archive(storage: Storage) -> None:
    """Sea Shepherd (alias "Shepherds of the Sea") in 45 events, Saint k in k + 1 (k < 40),
    Tallinn and Le Saint in a few."""
    pages = []
    for n in range(45):
        date = dt.date(2021, 1, 1) + dt.timedelta(days=n)
        named = ["Sea Shepherd", *(f"Saint {k}" for k in range(n, 40))]
        named += ["Tallinn", "Le Saint"] if n % 9 == 0 else []
        pages.append(PageRecord(make_key(date, f"e{n}"), date, f"Event {n}", entities=tuple(named)))
    await storage.events.import_batch(pages)
    await storage.entities.alias("Shepherds of the Sea", "Sea Shepherd")


@pytest.mark.parametrize("names_to_order", [1000, 5])  # order them all; walk by popularity
async def test_names_starting_so_come_most_events_first(
    storage: Storage, names_to_order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_entities, "NAMES_TO_ORDER", names_to_order)
    await _archive(storage)
    got = await storage.entities.suggest("s", limit=5)
    assert [(n.name, n.canonical, n.event_count) for n in got] == [
        ("Sea Shepherd", "Sea Shepherd", 45),
        ("Shepherds of the Sea", "Sea Shepherd", 45),  # an alias counts its entity's events
        ("Saint 39", "Saint 39", 40),
        ("Saint 38", "Saint 38", 39),
        ("Saint 37", "Saint 37", 38),
    ]
    got = await storage.entities.suggest("sh", limit=3)  # then names with a word so
    assert [(n.name, n.canonical) for n in got] == [
        ("Shepherds of the Sea", "Sea Shepherd"),
        ("Sea Shepherd", "Sea Shepherd"),
    ]


async def test_a_last_letter_alone_is_not_looked_up_as_a_word(storage: Storage) -> None:
    await _archive(storage)
    got = await storage.entities.suggest("le s")  # "Le Saint" starts so
    assert [n.name for n in got] == ["Le Saint"]
    got = await storage.entities.suggest("Tallinn S")  # no name starts so; "Tallinn" does
    assert [n.name for n in got] == ["Tallinn"]


async def test_a_letter_starting_a_word_inside_a_name_is_not_looked_up_as_its_start(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Bashar al-A" types an "a" that would start thousands of words: the names holding
    the words before it are suggested, without asking FTS5 for every word starting so."""
    date = dt.date(2021, 1, 1)
    await storage.events.import_batch(
        [PageRecord(make_key(date, "e"), date, "Talks", entities=("Bashar al-Assad", "Bashar"))]
    )
    asked = text_parameters(storage, monkeypatch)
    got = await storage.entities.suggest("Bashar al-A")
    assert [n.name for n in got] == ["Bashar al-Assad"]
    got = await storage.entities.suggest("assad's")
    assert [n.name for n in got] == ["Bashar al-Assad"]
    assert asked, "the spy saw no reads"
    assert not [m for m in asked if ONE_LETTER_PREFIX.search(m)]


@pytest.mark.parametrize("names_to_order", [1000, 5])
async def test_names_with_a_word_come_most_events_first_aliases_too(
    storage: Storage, names_to_order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_entities, "NAMES_TO_ORDER", names_to_order)
    await _archive(storage)
    await storage.entities.alias("Holy Saint 39", "Saint 39")
    got = await storage.entities.suggest("the sain", limit=4)  # no name starts so
    assert [(n.name, n.canonical, n.event_count) for n in got] == [
        ("Holy Saint 39", "Saint 39", 40),
        ("Saint 39", "Saint 39", 40),
        ("Saint 38", "Saint 38", 39),
        ("Saint 37", "Saint 37", 38),
    ]
    got = await storage.entities.suggest("-39 sain", limit=2)  # not 39, nor its alias
    assert [n.name for n in got] == ["Saint 38", "Saint 37"]
