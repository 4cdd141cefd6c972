"""How search ranks without letting bm25 count every event of a common word: by the rare
words only, or, when every word is common, headline matches first and newest first. And
what is suggested when nothing matches."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from contextlib import closing

import pytest

import storage.sqlite.entities as storage_entities
import storage.sqlite.search as storage_search
from bot.services.imports import import_archive
from storage import Storage
from storage.keys import make_key
from storage.models import DayEntryRecord, PageRecord, SearchFilter
from storage.sqlite.event_rows import edition
from storage.sqlite.fts import few_matches_likely, lone_character, ranking_match, token_expressions
from storage.sqlite.search import SQLiteSearch
from storage.textindex import CJK_RUN, has_cjk, simplified
from storage.words import without_letter_typed
from tests.conftest import TEST_DATA
from tests.storage.test_entity_suggest import _archive
from tests.storage.test_languages import KOHL_ZH
from tests.storage.test_search_ranking import _found, _page
from tests.storage.test_search_scale import _matches, _pages
from tests.support.reads import ONE_LETTER_PREFIX, text_parameters


@pytest.fixture
def common_above_three(monkeypatch: pytest.MonkeyPatch) -> None:
    """A word in more than three events is common: a small archive behaves as a big one."""
    monkeypatch.setattr(storage_search, "COMMON_TERM_EVENTS", 3)


async def _chinese_characters(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    """Every character of the Chinese sample's headlines, imported; the scans that find one
    (SQLiteSearch._newest_holding) are counted in the list returned."""
    report = await import_archive(storage, [TEST_DATA / "news-zh"])
    assert report.ok, report.failed
    headlines = [r[0] for r in await storage.db.fetchall("SELECT headline FROM events")]
    holding = SQLiteSearch._newest_holding
    scanned: list[str] = []

    async def spy(
        self: SQLiteSearch,
        character: str,
        limit: int,
        *,
        in_summary: bool = False,
        language: str | None = None,
    ) -> list[tuple[int, str, str]] | None:
        rows = await holding(self, character, limit, in_summary=in_summary, language=language)
        if rows is not None:
            scanned.append(character)
        return rows

    monkeypatch.setattr(SQLiteSearch, "_newest_holding", spy)
    return sorted({c for h in headlines for run in CJK_RUN.findall(h) for c in run}), scanned


@pytest.mark.usefixtures("common_above_three")
@pytest.mark.parametrize("headline_checks", [100, 0], ids=["checked here", "by FTS5"])
async def test_common_words_alone_list_headline_matches_first_then_newest(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, headline_checks: int
) -> None:
    """Few matches have their headlines checked in Python, many by FTS5: the same order."""
    monkeypatch.setattr(storage_search, "HEADLINE_CHECKS", headline_checks)
    pages = [
        _page(0, "Flood in the north", "Rivers rose."),
        _page(1, "Election day", "A flood of voters came."),
        _page(2, "Flood warning", "Rain."),
        _page(3, "Market news", "Shares fell after the flood."),
        _page(4, "Storm", "Wind and rain."),
        _page(5, "Flood relief", "Aid arrived."),
    ]
    await storage.events.import_batch(pages)
    assert await _found(storage, "flood", limit=10) == [
        "Flood relief",
        "Flood warning",
        "Flood in the north",  # headlines, newest first
        "Market news",
        "Election day",  # then the summaries, newest first
    ]
    assert await _found(storage, "flood", limit=2, offset=2) == [
        "Flood in the north",
        "Market news",
    ]


async def test_a_letter_starting_a_word_is_not_looked_up_as_its_start(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Autocomplete of "iraq's" or "al-a": FTS5 would merge every word starting with "s" or
    "a" (a second at a million events). What is typed before it is looked up, and the
    headlines holding the whole text as typed still come first."""
    await storage.events.import_batch(
        [
            _page(0, "Iraq's parliament meets"),
            _page(1, "Al-Assad meets the envoy"),
            _page(2, "Iraq and Syria sign a deal"),
            _page(3, "Al Jazeera reports from Iraq"),
            _page(4, "Syria's army advances"),
            _page(5, "U.S. and Iraq talks"),
        ]
    )
    asked = text_parameters(storage, monkeypatch)

    async def typed(text: str) -> list[str]:
        return [b.headline for b in await storage.search.suggest_headlines(text)]

    assert (await typed("iraq's"))[0] == "Iraq's parliament meets"
    assert set(await typed("iraq's")) == {
        "Iraq's parliament meets",
        "Iraq and Syria sign a deal",
        "Al Jazeera reports from Iraq",
        "U.S. and Iraq talks",
    }
    assert await typed("al-a") == ["Al-Assad meets the envoy", "Al Jazeera reports from Iraq"]
    assert await typed("al-as") == ["Al-Assad meets the envoy"]
    # After punctuation a word is whole: "u.s." is not a start of "u.s.a...".
    assert await typed("u.s.") == ["U.S. and Iraq talks"]
    assert await typed("syria's a") == ["Syria's army advances"]
    assert asked, "the spy saw no reads"
    assert not [m for m in asked if ONE_LETTER_PREFIX.search(m)]


async def test_a_phrase_of_stop_words_is_looked_for_among_the_newest_events(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In headlines it is found anywhere (headline_pairs); in summaries only among the
    newest STOP_PHRASE_EVENTS events."""
    monkeypatch.setattr(storage_search, "STOP_PHRASE_EVENTS", 5)
    pages = [
        _page(n, f"Report {n} of the day")
        if n % 4 == 1
        else _page(n, f"Report {n}", "Late of the day." if n % 4 == 3 else "")
        for n in range(20)
    ]
    await storage.events.import_batch(pages)
    # Ids follow the order of import here: the newest five events are 15..19.
    assert await _found(storage, '"of the"', limit=20) == [
        *(f"Report {n} of the day" for n in (17, 13, 9, 5, 1)),
        "Report 19",
        "Report 15",
    ]
    hits = await storage.search.search(SearchFilter(text="of the"), limit=20)  # no phrase
    assert len(hits) == 10


@pytest.mark.parametrize("text", ["harbour cranes", '"cranes and ships"', '"港口 起重机"'])
@pytest.mark.parametrize("matches", [6, 30], ids=["fewer than the window", "more"])
async def test_words_found_together_are_the_newest_in_the_window(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, matches: int, text: str
) -> None:
    """Several words, or a phrase, are read oldest first (few matches are likely), then
    newest first when they outnumber the window: the newest of them are ranked either way."""
    monkeypatch.setattr(storage_search, "SEARCH_WINDOW", 8)
    pages = [_page(n, f"Harbour {n}", "Cranes and ships. 港口起重机。") for n in range(matches)]
    pages += [_page(100 + n, "Cranes alone", "No ships. 起重机，港口。") for n in range(3)]
    await storage.events.import_batch(pages)
    found = await _found(storage, text, limit=5)
    assert found == [f"Harbour {n}" for n in range(matches - 1, matches - 6, -1)]


async def test_a_chinese_character_typed_alone_is_suggested_as_fts5_finds_it(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A character common among the newest headlines is looked for in them, not through
    FTS5; the suggestions are the same, for every character of the Chinese sample."""
    characters, scanned = await _chinese_characters(storage, monkeypatch)
    monkeypatch.setattr(storage_search, "HEADLINE_POOL", 4)  # the sample's common characters
    suggested = {c: await storage.search.suggest_headlines(c, limit=4) for c in characters}
    assert len(scanned) >= 20, scanned
    monkeypatch.setattr(storage_search, "CHARACTER_SCAN", 0)
    for character in characters:
        through_fts5 = await storage.search.suggest_headlines(character, limit=4)
        assert suggested[character] == through_fts5, character
        # In either script: 為 is 为.
        assert all(simplified(character) in simplified(b.headline) for b in through_fts5)


@pytest.mark.usefixtures("common_above_three")
async def test_a_common_chinese_character_alone_is_searched_as_fts5_finds_it(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Search looks for a common character in the newest events' headlines and summaries,
    and checks which headlines hold it, without FTS5; it finds the same, in the same
    order, for every character of the Chinese sample, page after page."""
    characters, scanned = await _chinese_characters(storage, monkeypatch)
    # The newest events hold their Chinese in the summary only.
    chinese = [r[0] for r in await storage.db.fetchall("SELECT headline FROM events LIMIT 12")]
    await storage.events.import_batch(
        [_page(n, f"Report {n}", summary) for n, summary in enumerate(chinese)]
    )
    monkeypatch.setattr(storage_search, "SEARCH_WINDOW", 6)
    pages = [(0, 3), (3, 3)]
    found = {
        (c, p): await _found(storage, c, offset=p[0], limit=p[1]) for c in characters for p in pages
    }
    assert len(scanned) >= 20, scanned
    monkeypatch.setattr(storage_search, "CHARACTER_SCAN", 0)
    for character in characters:
        for page in pages:
            through_fts5 = await _found(storage, character, offset=page[0], limit=page[1])
            assert found[character, page] == through_fts5, (character, page)


async def langs(storage: Storage, ids: list[int]) -> set[str]:
    rows = await storage.db.fetchall(
        "SELECT DISTINCT lang FROM events WHERE id IN (SELECT value FROM json_each(?))",
        (str(ids),),
    )
    return {row[0] for row in rows}


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


def test_the_words_to_rank_by_are_the_rare_ones() -> None:
    assert token_expressions('Iraq "car bomb" -attack the mos*') == [
        '"iraq"',
        '"car"',
        '"bomb"',
        '"mos"*',
    ]
    common = {'"iraq"', '"car"'}
    # A phrase holding common words is ranked by its rare ones (bm25 would walk it all).
    assert ranking_match('Iraq "car bomb" -attack the', common) == '"bomb"'
    assert ranking_match('"car bomb blast"', common) == '("bomb" AND "blast")'
    assert ranking_match('"bomb blast"', common) == '"bomb blast"'  # no common word in it
    assert ranking_match('"car of the bomb" OR flood', common) == '("bomb" OR "flood")'
    assert ranking_match("Iraq's", set()) == '"iraq"'  # the stop word "s" is left out too
    assert ranking_match("Iraq OR flood car", common) is None  # each group has a common term
    assert ranking_match("Iraq flood", common) == '"flood"'
    assert ranking_match("the of", set()) is None  # stop words are never ranked by
    # A long Chinese run: its first bigrams tell enough (one count each).
    assert token_expressions("一二三四五六七八九十") == [
        f'"{a}{b}"' for a, b in zip("一二三四五六", "二三四五六七", strict=True)
    ]


def test_few_matches_are_likely_for_several_whole_words_all_required() -> None:
    assert few_matches_likely("general election")
    assert few_matches_likely('"car bomb" Iraq -attack')
    assert not few_matches_likely("election")
    assert not few_matches_likely("Iraq -attack")
    assert not few_matches_likely("Iraq OR Syria flood")
    assert not few_matches_likely("general elect*")
    assert not few_matches_likely("general elect", prefix_last=True)  # still being typed
    assert few_matches_likely("general elect ", prefix_last=True)
    # One quoted phrase: its words all found, in a row.
    assert few_matches_likely('"president of the united states"')
    assert few_matches_likely('"car bomb" -attack')
    assert not few_matches_likely('"of the"')  # in nearly every event: see stop_word_phrase
    assert not few_matches_likely('"bomb"')
    assert not few_matches_likely('"car bomb" OR truck')
    assert few_matches_likely('"car bomb" OR "truck bomb"')
    assert few_matches_likely('"中国 政府"')  # in either of its forms


async def test_term_counts_stop_at_the_cap(storage: Storage) -> None:
    await storage.events.import_batch([_page(n, f"flood {n}") for n in range(10)])
    counts = await storage.search.term_counts(['"flood"', '"9"', '"drought"'], cap=4)
    assert counts == {'"flood"': 5, '"9"': 1, '"drought"': 0}
    # A common word stays common; the others are counted again as events come.
    await storage.events.import_batch([_page(n, f"drought {n}") for n in range(10, 13)])
    counts = await storage.search.term_counts(['"drought"', '"flood"', '"9"'], cap=4)
    assert counts == {'"drought"': 3, '"flood"': 5, '"9"': 1}
    assert await storage.search.term_counts(['"flood"'], cap=20) == {'"flood"': 10}


@pytest.mark.usefixtures("common_above_three")
async def test_a_rare_word_ranks_the_matches_of_all_the_words(storage: Storage) -> None:
    pages = [_page(n, f"Flood report {n}", "Water everywhere.") for n in range(6)]
    pages += [
        _page(10, "Dam breaks after flood", "The levee held at first."),
        _page(11, "Flood news", "A dam upstream was opened, the dam keepers said."),
        _page(12, "Levee repaired", "Crews worked on the dam."),  # no "flood": not found
        _page(13, "Flood and dam", "Dam."),
    ]
    await storage.events.import_batch(pages)
    # Ranked by bm25 over "dam" (the common "flood" only filters): in the headline and the
    # summary, then in the headline of a longer one, then twice in a summary.
    assert await _found(storage, "flood dam", limit=10) == [
        "Flood and dam",
        "Dam breaks after flood",
        "Flood news",
    ]


@pytest.mark.parametrize(
    ("text", "shorter"),
    [
        ("iraq's", "iraq'"),
        ("al-a", "al-"),
        ("al-a*", "al-"),
        ("中A", "中"),
        ("least a", "least "),
        ("(2014-p", "(2014-"),
        ("a", ""),
        ("iraq", None),
        ("al-as", None),
        ("中", None),
        ("least ", None),
        ("u.s.", None),
    ],
)
def test_a_letter_typed_to_start_a_word_is_found(text: str, shorter: str | None) -> None:
    assert without_letter_typed(text) == shorter


@pytest.mark.parametrize(
    ("text", "character"),
    [("的", "的"), ("的 ", "的"), ("the 的", "的"), ('"的"', "的"), ("ガ", "ガ")]
    + [(text, None) for text in ("中國", "-的", "的 OR 中", "a 的 b", "e")],
)
def test_a_character_alone_is_one_chinese_character_all_text_looks_for(
    text: str, character: str | None
) -> None:
    assert lone_character(text, prefix_last=True) == character


def test_a_language_is_an_edition_or_none() -> None:
    assert edition("en") == "en" and edition("zh") == "zh"
    assert edition("all") is None and edition(None) is None
    with pytest.raises(ValueError, match="en, zh or all"):
        edition("fr")
