"""storage.postgres.tsquery: a parsed query as a tsquery literal, matching what the SQLite
index matches (storage.matching tests a text as FTS5 would find it)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage.matching import text_matcher
from storage.postgres.bm25 import Corpus, Positions, idf, score
from storage.postgres.textsearch import PAIRS, event_vector, index_tokens
from storage.postgres.tsquery import (
    Phrase,
    compile_text,
    contradicts_itself,
    counted_phrases,
    estimate,
    headline_words,
    ranking_phrases,
    stop_word_phrase,
)
from storage.query import parse_query

DAY = dt.date(2017, 6, 16)


def test_words_phrases_prefixes_exclusions_and_alternatives() -> None:
    # Whole words are only ever text: no weights, which the GIN index cannot check.
    assert compile_text("Russia Syria") == "('russia') & ('syria')"
    assert compile_text('"Islamic State"') == "('islamic' <-> 'state')"
    assert compile_text("sanc*") == "('sanc':*AB)"
    assert compile_text("iran OR syria") == "(('iran') | ('syria'))"
    assert compile_text("russia -syria") == "('russia') & !('syria')"
    assert compile_text("flood", weights="A") == "('flood':A)"
    # Words that may be period words (y2017, m201706) keep the text's weights.
    assert compile_text("y2021") == "('y2021':AB)"
    assert compile_text("-russia") is None
    assert compile_text("***") is None


def test_tokens_are_folded_and_quoted_as_the_index_holds_them() -> None:
    assert compile_text("Erdoğan") == "('erdogan')"
    assert compile_text("O'Brien") == "('o' <-> 'brien')"
    assert compile_text("蘋果") == compile_text("苹果") == "('苹果')"
    # A lone Chinese character is the start of a bigram.
    assert compile_text("叙") == "('叙':*AB)"


def test_in_a_row_is_for_two_latin_words_and_nothing_else() -> None:
    # The headline's word pairs in a row (textsearch.event_vector writes them with weight C).
    assert headline_words("river floods") == Phrase(("river_floods",))
    in_a_row = headline_words("the river flo", prefix_last=True)
    assert in_a_row is not None and in_a_row.tsquery(PAIRS) == "'the_river':C <-> 'river_flo':*C"
    assert headline_words("of the c", prefix_last=True) is None  # one letter typed
    for text in ("floods", "river -floods", "river OR floods", "riv* floods", "叙利亚 政府"):
        assert headline_words(text) is None, text


def test_query_shapes() -> None:
    assert contradicts_itself(parse_query("flood -Flood"))
    assert not contradicts_itself(parse_query("flood OR vote -flood"))
    assert stop_word_phrase(parse_query('"of the"'))
    assert not stop_word_phrase(parse_query('"of the" flood'))
    counted = counted_phrases(parse_query("Syria rus* the"))
    assert counted == [Phrase(("syria",)), Phrase(("rus",), prefix=True)]


def test_ranking_leaves_out_common_groups_and_words() -> None:
    query = parse_query('flood "vote of city"')
    common = {Phrase(("vote",))}
    assert ranking_phrases(query, common) == [Phrase(("flood",)), Phrase(("city",))]
    everything = {*common, Phrase(("flood",)), Phrase(("of",)), Phrase(("city",))}
    assert ranking_phrases(query, everything) is None
    assert ranking_phrases(parse_query("the"), set()) is None


def test_phrases_count_their_hits() -> None:
    tokens = index_tokens("River floods: the river flooded, river floods again")
    assert Phrase(("river", "floods")).count_in(tokens) == 2
    assert Phrase(("river", "flood"), prefix=True).count_in(tokens) == 3
    assert Phrase(("floods",)).count_in([]) == 0


def test_bm25_prefers_rare_words_headlines_and_short_texts() -> None:
    flood = [Phrase(("flood",))]
    corpus = Corpus(rows=100, average_length=10.0, idfs=(idf(100, 5),))

    def of(headline: str, summary: str = "") -> float:
        columns = (index_tokens(headline), index_tokens(summary))
        hits = [[p.count_in(tokens) for tokens in columns] for p in flood]
        return score(hits, corpus, (4.0, 1.0), sum(map(len, columns)) + 2)

    assert of("Flood in the north") < of("Storm", "Flood in the north")
    assert of("Flood") < of("Flood warnings issued for the whole of the northern region")
    assert idf(100, 90) == 1e-6  # a word in most rows still counts a little


def test_a_query_is_estimated_from_its_words_counts() -> None:
    counts = {Phrase(("flood",)): 40, Phrase(("river",)): 500, Phrase(("rain",)): 10}
    counts |= {Phrase(("riv",), prefix=True): 5001}

    def of(text: str) -> tuple[int | None, float | None]:
        guess = estimate(parse_query(text), counts, cap=5000, events=1000)
        return guess.bound, guess.likely

    assert of("flood") == (40, 40.0)
    assert of("flood river") == (40, 20.0)  # as if independent: 1000 * 0.04 * 0.5
    assert of("flood OR rain") == (50, 50.0)
    assert of("river -flood") == (500, 480.0)
    assert of('"river flood"') == (40, None)  # a phrase may be in none of them
    assert of('"river flood" OR rain') == (50, 10.0)  # likely: the word's
    assert of("riv*") == (None, None)  # counted beyond the cap: not known
    assert of("riv* rain") == (10, 10.0)  # the group known bounds the query
    assert of("the") == (None, None)  # stop words are not counted


async def test_positions_in_a_vector_count_as_its_tokens(conn: asyncpg.Connection) -> None:
    """bm25 on PostgreSQL counts a phrase's hits from the positions in the vector, as
    PostgreSQL writes it out; they are the hits in the texts' tokens."""
    texts = [
        ("River floods: the river flooded", "river floods again, and the river floods"),
        ("叙利亚政府军收复阿勒颇", "叙利亚 政府军"),
        ("O'Brien in Ankara", "Erdoğan meets O'Brien; o brien"),
        ("Syria Syria Syria", ""),
    ]
    phrases = [
        Phrase(("river",)),
        Phrase(("river", "floods")),
        Phrase(("river", "flood"), prefix=True),
        Phrase(("flood",), prefix=True),
        Phrase(("syria",)),
        Phrase(("叙利",)),
        Phrase(("叙利", "利亚")),
        Phrase(("o", "brien")),
        Phrase(("erdogan",)),
        Phrase(("missing",)),
    ]
    positions = Positions(phrases)
    for headline, summary in texts:
        vector = await conn.fetchval(
            "SELECT $1::tsvector::text", event_vector(headline, summary, DAY)
        )
        held = positions.of(vector)
        columns = (index_tokens(headline), index_tokens(summary))
        for phrase in phrases:
            expected = [phrase.count_in(tokens) for tokens in columns]
            assert phrase.hits_at(held, "AB") == expected, (headline, phrase)


@pytest.fixture
async def conn(server: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(server)
    try:
        yield connection
    finally:
        await connection.close()


HEADLINES = [
    "Russia vetoes a resolution on Syria",
    "Rust belt towns vote",
    "The U.S. and al-Assad's forces",
    "Erdoğan meets O'Brien in Ankara",
    "叙利亚政府军收复阿勒颇",
    "蘋果公司推出新款iPhone。",
    "建国35周年",
    "Floods in the river valley; river floods again",
    "Plan y2021 announced",
]
QUERIES = [
    "russia",
    "russ*",
    "rus* -syria",
    '"on Syria"',
    "vote OR veto*",
    "U.S.",
    "al-Assad",
    "erdogan",
    "o'brien ankara",
    "叙利亚",
    "叙",
    "政府军",
    '"叙利亚 政府军"',
    "苹果公司",
    "iphone",
    "建国35周年",
    "river floods",
    '"river floods"',
    "y2021",
    "m202105",
    "the",
    '"in the"',
    "floods -valley",
]


async def test_the_tsquery_matches_what_the_sqlite_index_matches(conn: asyncpg.Connection) -> None:
    for text in QUERIES:
        query = compile_text(text)
        assert query is not None
        holds = text_matcher(text)
        for headline in HEADLINES:
            found = await conn.fetchval(
                "SELECT $1::tsvector @@ $2::tsquery", event_vector(headline, "", DAY), query
            )
            expected = holds(headline) and text not in {"m202105"}
            assert found == expected, (text, headline)


async def test_period_words_and_summary_are_apart(conn: asyncpg.Connection) -> None:
    vector = event_vector("Flood warning", "Rain in the north", dt.date(2021, 5, 4))
    for text, weights, expected in [
        ("flood", "A", True),
        ("rain", "A", False),
        ("rain", "AB", True),
        ('"warning rain"', "AB", False),  # a phrase never runs from headline into summary
        ("y2021", "AB", False),
        ("m202105", "AB", False),
    ]:
        query = compile_text(text, weights=weights)
        assert await conn.fetchval("SELECT $1::tsvector @@ $2::tsquery", vector, query) == (
            expected
        ), (text, weights)


async def test_random_text_compiles_to_a_valid_tsquery(conn: asyncpg.Connection) -> None:
    rng = random.Random(7)
    alphabet = list("abcXYZ 019\"*()^:-+.,;'\\/{}[]~|&!?<>=%$#@叙利亚 \t\nORANDNOTNEAR")
    vector = event_vector("abc XYZ 019 叙利亚 or and", "", DAY)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for prefix_last in (False, True):
            query = compile_text(text, prefix_last=prefix_last)
            if query is not None:
                await conn.fetchval("SELECT $1::tsvector @@ $2::tsquery", vector, query)
