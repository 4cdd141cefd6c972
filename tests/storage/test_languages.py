"""Lookups in one edition of the archive: English ('en'), Chinese ('zh'), or both ('all')."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing

import pytest

import storage.sqlite.search as storage_search
from bot.services.imports import import_archive
from storage import Storage
from storage.models import SearchFilter
from storage.sqlite.event_rows import edition
from storage.textindex import has_cjk
from tests.conftest import SAMPLE_NEWS, SEED_PAGES, TEST_DATA

# The Chinese edition's 2017-06-16, a day the English sample has too (Helmut Kohl in both).
ZH_06_16 = TEST_DATA / "news-zh-06-16"
KOHL_ZH = "曾长期担任德国总理的赫尔穆特·科尔因病逝世，享年87岁"


@pytest.fixture
async def editions(storage: Storage) -> Storage:
    report = await import_archive(
        storage, [SAMPLE_NEWS, *SEED_PAGES, TEST_DATA / "news-zh", ZH_06_16]
    )
    assert report.ok, report.failed
    return storage


async def langs(storage: Storage, ids: list[int]) -> set[str]:
    rows = await storage.db.fetchall(
        "SELECT DISTINCT lang FROM events WHERE id IN (SELECT value FROM json_each(?))",
        (str(ids),),
    )
    return {row[0] for row in rows}


def test_a_language_is_an_edition_or_none() -> None:
    assert edition("en") == "en" and edition("zh") == "zh"
    assert edition("all") is None and edition(None) is None
    with pytest.raises(ValueError, match="en, zh or all"):
        edition("fr")


async def test_on_this_day_shows_one_edition_or_both(editions: Storage) -> None:
    both = await editions.events.on_this_day(6, 16)
    english = await editions.events.on_this_day(6, 16, language="en")
    chinese = await editions.events.on_this_day(6, 16, language="zh")
    assert await editions.events.on_this_day(6, 16, language="all") == both
    assert english and not any(has_cjk(b.headline) for b in english)
    assert "Former German Chancellor Helmut Kohl dies at the age of 87." in [
        b.headline for b in english
    ]
    assert chinese and all(has_cjk(b.headline) for b in chinese)
    assert KOHL_ZH in [b.headline for b in chinese]
    assert await langs(editions, [b.id for b in english]) == {"en"}
    assert await langs(editions, [b.id for b in chinese]) == {"zh"}
    # Both editions, each in the order of the whole: nothing lost, nothing added.
    assert sorted(b.id for b in both) == sorted(b.id for b in english + chinese)
    assert [b for b in both if b in english] == english
    # Paged and bounded by year like the whole.
    assert await editions.events.on_this_day(6, 16, language="zh", limit=1, offset=1) == [
        chinese[1]
    ]
    before = await editions.events.on_this_day(6, 16, before_year=2017, language="zh")
    assert before and all(b.date.year < 2017 for b in before)


async def test_search_by_words_keeps_the_edition(
    editions: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = editions.search.search
    # "SpaceX" is in one Chinese headline only; "Helmut Kohl" in English ones only.
    (spacex,) = await search(SearchFilter("SpaceX"))
    assert await search(SearchFilter("SpaceX", language="zh")) == [spacex]
    assert await search(SearchFilter("SpaceX", language="en")) == []
    assert await search(SearchFilter("Helmut Kohl", language="zh")) == []
    kohl = await search(SearchFilter("Helmut Kohl"))
    assert await search(SearchFilter("Helmut Kohl", language="en")) == kohl
    assert await search(SearchFilter("科尔", language="en")) == []
    assert KOHL_ZH in [h.event.headline for h in await search(SearchFilter("科尔", language="zh"))]
    # "news" is in a few events of each; with a window of one match, it grows until the
    # edition's own are found.
    everything = await search(SearchFilter("news"), limit=50)
    monkeypatch.setattr(storage_search, "SEARCH_WINDOW", 1)
    for language in ("en", "zh"):
        hits = await search(SearchFilter("news", language=language), limit=50)
        assert await langs(editions, [h.event.id for h in hits]) == {language}
        assert {h.event.id for h in hits} == {
            h.event.id for h in everything if has_cjk(h.event.headline) == (language == "zh")
        }


async def test_search_by_dates_and_entity_keeps_the_edition(editions: Storage) -> None:
    day = dt.date(2017, 6, 16)
    chinese = await editions.search.search(SearchFilter(since=day, until=day, language="zh"))
    assert KOHL_ZH in [h.event.headline for h in chinese]
    assert await langs(editions, [h.event.id for h in chinese]) == {"zh"}
    english = await editions.search.search(
        SearchFilter(since=day, until=day, language="en"), limit=50
    )
    assert len(english) == 9 and await langs(editions, [h.event.id for h in english]) == {"en"}
    found = await editions.entities.find("Islamic State")
    assert found is not None
    ids = (found[0],)
    assert await editions.search.search(SearchFilter(entity_ids=ids, language="zh")) == []
    assert await editions.search.search(
        SearchFilter(entity_ids=ids, language="en")
    ) == await editions.search.search(SearchFilter(entity_ids=ids))


async def test_autocomplete_suggests_the_editions_headlines(editions: Storage) -> None:
    suggest = editions.search.suggest_headlines
    for typed in ("", "helmut", "former german", "Ko", "科", "德国", "SpaceX"):
        both = await suggest(typed, limit=25)
        for language in ("en", "zh"):
            mine = await suggest(typed, limit=25, language=language)
            assert all(has_cjk(b.headline) == (language == "zh") for b in mine), typed
            # The edition's own, in the order of both (as many as both had of them).
            of_mine = [b for b in both if has_cjk(b.headline) == (language == "zh")]
            assert mine[: len(of_mine)] == of_mine, (typed, language)
        assert await suggest(typed, limit=25, language="all") == both
    assert [b.headline for b in await suggest("helmut", language="en")]
    assert await suggest("helmut", language="zh") == []
    assert await suggest("科", language="en") == []
    assert KOHL_ZH in [b.headline for b in await suggest("科尔", language="zh")]


async def test_did_you_mean_suggests_the_editions_events(editions: Storage) -> None:
    closest = editions.search.closest
    assert [b.headline for b in await closest("Helmutt Kohl", language="en")]
    assert await closest("Helmutt Kohl", language="zh") == []
    assert KOHL_ZH in [b.headline for b in await closest("科尔X", language="zh")]
    assert await closest("科尔X", language="en") == []
    # Digits are in no script: the language alone decides.
    assert [b.headline for b in await closest("1200")] == [
        b.headline for b in await closest("1200", language="zh")
    ]
    assert await closest("1200", language="en") == []


async def test_an_entitys_recent_events_keep_the_edition(editions: Storage) -> None:
    found = await editions.entities.find("德国总理")
    assert found is not None
    whole = await editions.entities.profile(found[0])
    assert whole.recent and all(has_cjk(b.headline) for b in whole.recent)
    assert await editions.entities.profile(found[0], language="zh") == whole
    english = await editions.entities.profile(found[0], language="en")
    assert english.recent == ()
    assert english.event_count == whole.event_count  # what it knows, in every language


async def test_a_language_keeps_the_lookups_on_their_indexes(editions: Storage) -> None:
    with closing(sqlite3.connect(editions.db.path)) as db:
        plans = {
            "on this day": db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM events e WHERE e.month_day = ?"
                " AND e.date < ? AND e.lang = ? ORDER BY e.date DESC, e.complete DESC, e.id",
                ("06-16", "9999-12-31", "en"),
            ).fetchall(),
            "entity": db.execute(
                "EXPLAIN QUERY PLAN SELECT e.id FROM event_entities f JOIN events e"
                " ON e.id = f.event_id WHERE f.entity_id IN (?) AND f.date >= ? AND f.date <= ?"
                " AND e.lang = ? ORDER BY f.date DESC, f.event_id DESC LIMIT 10",
                (1, "0000-00-00", "9999-99-99", "en"),
            ).fetchall(),
            "words": db.execute(
                "EXPLAIN QUERY PLAN SELECT s.rowid FROM event_search s JOIN events e"
                " ON e.id = s.rowid WHERE event_search MATCH ? AND s.rowid >= ? AND e.lang = ?"
                " ORDER BY s.rowid DESC LIMIT 500",
                ('"news"', 0, "zh"),
            ).fetchall(),
        }
    on_this_day = " / ".join(row[3] for row in plans["on this day"])
    assert "events_by_month_day" in on_this_day, on_this_day
    entity = " / ".join(row[3] for row in plans["entity"])
    assert "event_entities_by_entity" in entity and "TEMP B-TREE" not in entity, entity
    # Matches are walked newest first by FTS5, each event looked up by its id.
    words = [row[3] for row in plans["words"]]
    assert words[0].startswith("SCAN s VIRTUAL TABLE"), words
    assert "INTEGER PRIMARY KEY" in words[1] and "TEMP B-TREE" not in " ".join(words), words
