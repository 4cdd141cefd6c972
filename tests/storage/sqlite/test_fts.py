"""User text -> FTS5 expressions: always valid, and meaning what people expect."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter
from storage.sqlite.db import connect_plain
from storage.sqlite.fts import (
    any_word_match,
    build_match,
)
from storage.textindex import segment_for_index

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


START = dt.date(2020, 1, 1)


def _page(n: int, headline: str, **fields: Any) -> PageRecord:
    date = START + dt.timedelta(days=n)
    return PageRecord(key=make_key(date, f"e-{n}"), date=date, headline=headline, **fields)


async def _found(storage: Storage, text: str, **filters: Any) -> list[str]:
    hits = await storage.search.search(SearchFilter(text=text, **filters), limit=10)
    return [hit.event.headline for hit in hits]


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
