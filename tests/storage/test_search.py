"""User text -> FTS5 expressions: always valid, and meaning what people expect."""

from __future__ import annotations

import random
import sqlite3

import pytest

from bot.ingest.archive import iter_archive_files, parse_file
from bot.services.imports import import_archive
from storage import Storage
from storage.models import PageRecord, SearchFilter
from storage.sqlite.fts import (
    build_match,
    phrase_match,
    phrase_matcher,
    short_prefixes,
)
from storage.textindex import CJK_RUN, fold_text, segment_for_index
from tests.conftest import TEST_DATA


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


def _chinese_headlines() -> list[str]:
    return [
        page.headline
        for path in iter_archive_files([TEST_DATA / "news-zh"])
        if isinstance(page := parse_file(path, path.read_bytes()), PageRecord)
    ]


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


async def test_search_finds_a_chinese_phrase_spaced_apart(storage: Storage) -> None:
    report = await import_archive(storage, [TEST_DATA / "news-zh"])
    assert report.ok, report.failed
    run = max((r for h in _chinese_headlines() for r in CJK_RUN.findall(h)), key=len)
    together = await storage.search.search(SearchFilter(text=f'"{run}"'), limit=10)
    spaced = await storage.search.search(
        SearchFilter(text=f'"{run[:2]} {run[2:4]}  {run[4:]}"'), limit=10
    )
    assert together and [h.event.id for h in spaced] == [h.event.id for h in together]
