"""User text -> FTS5 expressions: always valid, and meaning what people expect."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from storage import Storage
from storage.matching import phrase_matcher
from storage.sqlite.db import connect_plain
from storage.sqlite.fts import (
    any_word_match,
    build_match,
    headline_phrase,
    period_match,
    phrase_match,
    short_prefixes,
)
from storage.textindex import CJK_RUN, fold_text, segment_for_index, word_pairs
from tests.storage.test_headline_pairs import _found, _page
from tests.storage.test_search import _chinese_headlines

ROWS = [
    "Russia strikes Islamic State targets in Syria",
    "The U.S. Senate passes sanctions against Russia and Iran",
    "Erdoğan meets Putin in Sochi",
    "叙利亚政府军收复代尔祖尔",
    "美国总统唐纳德·特朗普表态",
    "NEAR the border, AND beyond",
    "庆祝建国35周年，纪念，华表",
]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.executemany(
        "INSERT INTO t(rowid, body) VALUES (?, ?)",
        [(i, segment_for_index(r)) for i, r in enumerate(ROWS)],
    )
    return conn


def matches(conn: sqlite3.Connection, text: str, prefix_last: bool = False) -> set[int]:
    expression = build_match(text, prefix_last=prefix_last)
    if expression is None:
        return set()
    return {row[0] for row in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,))}


CASES = [
    ("russia", {0, 1}),
    ("Russia Syria", {0}),
    ('"islamic state"', {0}),
    ('"state islamic"', set()),
    ("russia -syria", {1}),
    ("russia NOT syria", {1}),
    ("iran OR syria", {0, 1}),
    ("sanc*", {1}),
    ("U.S.", {1}),
    ("erdogan", {2}),  # accents do not matter
    ("叙利亚", {3}),
    ("叙利", {3}),
    ("利亚政府", {3}),
    ("叙", {3}),
    ("尔", {3}),  # the last character of a run
    ("特朗普", {4}),
    ("朗特", set()),
    ("NEAR", {5}),
    ("建国35周年", {6}),  # CJK runs and digits in one word
    ("国35", {6}),
    ("纪念，华表", {6}),
    ("35周", {6}),
    ("AND", set()),  # an operator alone is nothing to search for
    ("NEAR( border", {5}),
    ("border,beyond", set()),  # joined by punctuation: a phrase, as written
    ("border, beyond", {5}),
    ('beyond "the border', {5}),  # an unclosed quote runs to the end
    ('"border the', set()),
    ("Russia in", {0, 1}),  # a stop word is left out when other words remain
    ("the Senate", {1}),
    ('Russia "in"', {0}),  # quoted, it is required
    ("the", {1, 5}),  # stop words alone are searched for
    ("the -border", {1}),
    # Chinese words spaced apart in a phrase: run together, as Chinese is written...
    ('"叙利亚 政府军"', {3}),
    ('叙利亚 -"利亚 政府"', set()),
    # ...or apart, by punctuation as here, as written.
    ('"唐纳德 特朗普"', {4}),
    ('美国 -"唐纳德 特朗普"', set()),
    ('"利亚 政府" OR 华表', {3, 6}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_queries_mean_what_people_expect(
    fts: sqlite3.Connection, text: str, expected: set[int]
) -> None:
    assert matches(fts, text) == expected


def test_prefix_last_is_for_typing(fts: sqlite3.Connection) -> None:
    assert matches(fts, "Russia str", prefix_last=True) == {0}
    assert matches(fts, "Russia str ", prefix_last=True) == set()


def test_random_text_never_breaks_fts(fts: sqlite3.Connection) -> None:
    rng = random.Random(7)
    alphabet = list("abcXYZ 019\"*()^:-+.,;'\\/{}[]~|&!?<>=%$#@叙利亚 \t\nORANDNOTNEAR")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for prefix_last in (False, True):
            expression = build_match(text, prefix_last=prefix_last)
            if expression is not None:
                fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()
        if loose := any_word_match(text):
            fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (loose,)).fetchall()


def _pair_rows(path: Path, phrase: str) -> list[int]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT rowid FROM headline_pairs WHERE headline_pairs MATCH ? ORDER BY rowid",
            (phrase,),
        )
        return [row[0] for row in rows]


async def test_the_pairs_follow_a_changed_or_deleted_headline(
    storage: Storage, tmp_path: Path
) -> None:
    await storage.events.import_batch(
        [_page(0, "Dam bursts near the river"), _page(1, "Dam inspected")]
    )
    path = tmp_path / "chronicle.db"
    assert _pair_rows(path, '"dam_bursts"') == [1]
    await storage.events.import_batch([_page(0, "Dam holds firm")])  # the same key
    assert _pair_rows(path, '"dam_bursts"') == []
    assert _pair_rows(path, '"dam_holds holds_firm"') == [1]
    assert await _found(storage, "dam holds") == ["Dam holds firm"]
    with closing(connect_plain(path)) as db:
        db.execute("DELETE FROM events WHERE id = 1")
    assert _pair_rows(path, '"dam_holds"') == []


def _headline_index(headlines: list[str]) -> sqlite3.Connection:
    """An FTS5 table of the headlines, rowid = their position, indexed as events are."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61')")
    conn.executemany(
        "INSERT INTO t(rowid, body) VALUES (?, ?)",
        [(i, segment_for_index(fold_text(h))) for i, h in enumerate(headlines)],
    )
    return conn


def test_chinese_phrases_are_checked_as_fts5_finds_them() -> None:
    """phrase_matcher (what autocomplete orders by) agrees with FTS5 on real Chinese
    headlines, for runs typed whole or still being typed, one character to four."""
    headlines = _chinese_headlines()
    conn = _headline_index(headlines)
    rng = random.Random(5)
    checked = 0
    for headline in rng.sample(headlines, 30):
        run = max(CJK_RUN.findall(headline), key=len)
        for size in (1, 2, 3, 4):
            start = rng.randrange(max(1, len(run) - size + 1))
            for typed in (run[start : start + size], run[start : start + size] + " "):
                expression = build_match(typed, prefix_last=True)
                assert expression is not None
                found = {
                    r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,))
                }
                holds = phrase_matcher(typed)
                assert {i for i, h in enumerate(headlines) if holds(h)} == found, typed
                checked += 1
    assert checked == 240


def test_huge_text_is_bounded() -> None:
    expression = build_match("word " * 5000)
    assert expression is not None and len(expression) < 1000


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("s*", ["s*"]),
        ("Islamic S* -a*", ["S*", "a*"]),  # as typed
        ("st*", []),
        ('"islamic s*"', []),  # in quotes, * is no operator: "s" itself
        ("al-a*", ["al a*"]),  # a word's last part
        ("Iraq turkey's*", ["turkey s*"]),
        ("中A*", ["中 A*"]),
        ("中*", []),  # one Chinese character is a word
        ("s", []),  # the letter itself, not a prefix
    ],
)
def test_one_letter_prefixes_are_found(text: str, short: list[str]) -> None:
    assert short_prefixes(text) == short


def test_chinese_words_spaced_apart_are_found_run_together() -> None:
    """People space Chinese words apart ("中国 政府"); headlines run them together. A quoted
    phrase typed so finds its headline, and phrase_matcher agrees with FTS5 on it."""
    headlines = _chinese_headlines()
    conn = _headline_index(headlines)

    def found(expression: str | None) -> set[int]:
        assert expression is not None
        return {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,))}

    rng = random.Random(11)
    runs = [(i, run) for i, h in enumerate(headlines) for run in CJK_RUN.findall(h) if len(run) > 3]
    for index, run in rng.sample(runs, 30):
        cut = rng.randrange(1, len(run))
        spaced = f"{run[:cut]} {run[cut:]}"
        assert index in found(build_match(f'"{spaced}"')), spaced
        holds = phrase_matcher(spaced)
        assert index in found(phrase_match(spaced)) and holds(headlines[index]), spaced
        assert {i for i, h in enumerate(headlines) if holds(h)} == found(phrase_match(spaced))


def test_pairs_are_neighbouring_words_and_stop_at_chinese() -> None:
    assert word_pairs("Syria's Ministry of Défense") == "syria_s s_ministry ministry_of of_defense"
    # A Chinese run breaks the chain: "b" and "c" are not neighbours of "a".
    assert word_pairs("a b 中国 c d") == "a_b _ c_d"
    assert word_pairs("One") == word_pairs("") == word_pairs(None) == ""
    # ASCII text takes a shorter way to the same words.
    assert word_pairs("U.S. troops: 2,000 strong_men") == (
        "u_s s_troops troops_2 2_000 000_strong strong_men"
    )


@pytest.mark.parametrize(
    ("text", "prefix_last", "expected"),
    [
        ("River floods", False, '"river_floods"'),
        ('"river floods" north', False, '"river_floods floods_north"'),
        ("river flo", True, '"river_flo"*'),
        ("river ", True, None),  # one word
        ("the river f", True, None),  # one letter typed: too short to look up
        ("the river fl", True, '"the_river river_fl"*'),
        ("river OR floods", False, None),
        ("river -floods", False, None),
        ("riv* floods", False, None),
        ("长江 floods river", False, None),
    ],
)
def test_a_headline_phrase_is_only_plain_words(
    text: str, prefix_last: bool, expected: str | None
) -> None:
    assert headline_phrase(text, prefix_last=prefix_last) == expected


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
