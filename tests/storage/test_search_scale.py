"""Search in a big archive: dates and entities through the index's own words (migration
0006), stop words left out or, alone, answered newest first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from storage import Storage, open_storage
from storage.keys import make_key
from storage.models import DayEntryRecord, PageRecord, SearchFilter
from storage.sqlite.fts import period_match
from tests.support.archives import archive_at_schema

WORDS = ["flood", "vote", "quake", "the", "summit", "strike"]


def _pages(count: int, seed: int = 3) -> list[PageRecord]:
    rng = random.Random(seed)
    pages = []
    for n in range(count):
        date = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
        words = " ".join(rng.sample(WORDS, 2))
        pages.append(PageRecord(key=make_key(date, f"e-{n}"), date=date, headline=f"{words} {n}"))
    return pages


@pytest.mark.parametrize(
    ("since", "until", "words"),
    [
        ("2020-03-15", "2020-05-02", '"m202003" OR "m202004" OR "m202005"'),
        ("2019-11-01", "2021-02-10", '"m201911" OR "m201912" OR "y2020" OR "m202101" OR "m202102"'),
        ("2020-01-01", "2020-12-31", '"y2020"'),
        ("2020-12-31", "2020-12-31", '"m202012"'),
    ],
)
def test_a_date_range_becomes_month_and_year_words(since: str, until: str, words: str) -> None:
    expression = period_match(dt.date.fromisoformat(since), dt.date.fromisoformat(until))
    assert expression == f"period : ({words})"


def test_a_range_of_most_of_the_archive_is_not_narrowed() -> None:
    assert period_match(dt.date(1990, 1, 1), dt.date(2026, 12, 31)) is None


async def test_search_within_dates_finds_exactly_the_events_in_range(
    storage: Storage,
) -> None:
    pages = _pages(600)
    await storage.events.import_batch(pages)
    ranges = [
        (dt.date(2020, 3, 15), dt.date(2020, 5, 2)),  # months
        (dt.date(2019, 11, 20), dt.date(2021, 2, 10)),  # months and a whole year
        (dt.date(2021, 6, 1), None),  # to the newest event
        (None, dt.date(2019, 2, 3)),  # from the oldest
        (dt.date(2010, 1, 1), dt.date(2030, 1, 1)),  # wider than the index narrows
    ]
    for since, until in ranges:
        for word in ["flood", "vote OR quake", "the -summit"]:
            hits = await storage.search.search(
                SearchFilter(text=word, since=since, until=until), limit=1000
            )
            got = {h.event.key for h in hits}
            expected = {
                p.key
                for p in pages
                if (since is None or p.date >= since)
                and (until is None or p.date <= until)
                and _matches(word, p.headline)
            }
            assert got == expected, (word, since, until)
            assert expected  # every case has something to find


def _matches(query: str, headline: str) -> bool:
    words = set(headline.split())
    if " OR " in query:
        return any(w in words for w in query.split(" OR "))
    if " -" in query:
        wanted, unwanted = query.split(" -")
        return wanted in words and unwanted not in words
    return query in words


async def test_period_words_are_not_searchable_text(
    storage: Storage,
) -> None:
    day = dt.date(2021, 5, 4)
    await storage.events.import_batch(
        [
            PageRecord(key=make_key(day, "a"), date=day, headline="Flood in the valley"),
            PageRecord(key=make_key(day, "b"), date=day, headline="Plan y2021 announced"),
        ]
    )
    for text in ["y2021", "m202105"]:
        hits = await storage.search.search(SearchFilter(text=text), limit=10)
        assert [h.event.headline for h in hits] == (
            ["Plan y2021 announced"] if text == "y2021" else []
        )
    hits = await storage.search.search(
        SearchFilter(text="y2021", since=dt.date(2021, 5, 1), until=dt.date(2021, 5, 31))
    )
    assert [h.event.headline for h in hits] == ["Plan y2021 announced"]


async def test_an_archive_indexed_before_periods_is_indexed_again(
    tmp_path: Path,
) -> None:
    """A database at schema 5 (no filter columns) is upgraded on open: its events are found
    by words, dates and entities, through the new index."""
    path = tmp_path / "old.db"
    archive_at_schema(
        path,
        5,
        [
            ("2020/03/1/a", "2020-03-01", "Flood in the north"),
            ("2020/07/1/b", "2020-07-01", "Flood in the south"),
        ],
    )
    with closing(sqlite3.connect(path)) as db:
        assert "period" not in {r[1] for r in db.execute("PRAGMA table_info(event_search)")}

    async with await open_storage(path) as storage:
        hits = await storage.search.search(
            SearchFilter(text="flood", since=dt.date(2020, 6, 1), until=dt.date(2020, 12, 31))
        )
        assert [h.event.headline for h in hits] == ["Flood in the south"]
        async with storage.db.transaction() as conn:
            await storage.events.link_entities(conn, [(1, "North")])  # after indexing
        north = (await storage.entities.find("North"))[0]
        hits = await storage.search.search(SearchFilter(text="flood", entity_ids=(north,)))
        assert [h.event.headline for h in hits] == ["Flood in the north"]
        with closing(sqlite3.connect(path)) as db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(event_search)")}
        assert "period" in columns


async def test_stop_words_alone_are_answered_newest_first(
    storage: Storage,
) -> None:
    pages = _pages(300)
    await storage.events.import_batch(pages)
    hits = await storage.search.search(SearchFilter(text="the"), limit=20)
    expected = sorted(
        (p for p in pages if "the" in p.headline.split()),
        key=lambda p: (p.date, p.key),
        reverse=True,
    )
    assert [h.event.date for h in hits] == [p.date for p in expected[:20]]
    phrase = await storage.search.search(SearchFilter(text='"the"'), limit=20)
    assert [h.event.id for h in phrase] == [h.event.id for h in hits]  # quoted: the same
    # With another word, the stop word is left out: the same events as the word alone.
    both = await storage.search.search(SearchFilter(text="the flood"), limit=1000)
    alone = await storage.search.search(SearchFilter(text="flood"), limit=1000)
    assert sorted(h.event.id for h in both) == sorted(h.event.id for h in alone) != []


async def test_search_by_entity_finds_exactly_the_linked_events(
    storage: Storage,
) -> None:
    """The index's entity words are kept by a trigger as links arrive after an event was
    indexed (a later day index, a feed): filtered search must match the links exactly."""
    rng = random.Random(11)
    names = [f"Entity {n}" for n in range(8)]
    pages = [
        dataclasses.replace(page, entities=tuple(rng.sample(names, rng.randint(0, 2))))
        for page in _pages(300)
    ]
    await storage.events.import_batch(pages)
    later = rng.sample(pages, 60)
    await storage.events.import_batch(
        [],
        [
            DayEntryRecord(p.key, p.date, p.headline, None, (*p.entities, rng.choice(names)), None)
            for p in later
        ],
    )
    with closing(sqlite3.connect(storage.db.path)) as db:
        links = db.execute(
            "SELECT ee.entity_id, e.key FROM event_entities ee JOIN events e ON e.id = ee.event_id"
        ).fetchall()
    keys_of: dict[int, set[str]] = {}
    for entity_id, key in links:
        keys_of.setdefault(entity_id, set()).add(key)
    headline_of = {p.key: p.headline for p in pages}
    assert len(keys_of) == len(names)
    for entity_id, keys in keys_of.items():
        for word in ["flood", "vote OR quake", "the"]:
            hits = await storage.search.search(
                SearchFilter(text=word, entity_ids=(entity_id,)), limit=1000
            )
            expected = {k for k in keys if _matches(word, headline_of[k])}
            assert {h.event.key for h in hits} == expected, (entity_id, word)
