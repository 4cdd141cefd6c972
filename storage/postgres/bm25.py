"""bm25 as SQLite's FTS5 computes it (its bm25() with column weights), for PostgreSQL: so
that a search ranks its matches in the order the SQLite backend gives. ts_rank and
ts_rank_cd know neither how rare a word is in the archive (bm25's IDF) nor bm25's length
normalisation; computed here from how many times each phrase is in each column of a row,
the score is FTS5's, given the counts of the archive (rows, average length, rows holding
each phrase). An event's hits are read from the positions in its vector (Positions)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from storage.postgres.textsearch import lexeme
from storage.postgres.tsquery import TEXT, Phrase
from storage.search_rules import BM25_B, BM25_K1, EVENT_WEIGHTS

# FTS5 gives a phrase in at least half the rows this IDF rather than a negative one.
MIN_IDF = 1e-6


def idf(rows: int, holding: int) -> float:
    """How rare a phrase is: `holding` of `rows` hold it."""
    value = math.log((rows - holding + 0.5) / (holding + 0.5))
    return value if value > 0 else MIN_IDF


@dataclass(frozen=True, slots=True)
class Corpus:
    """What bm25 needs of the whole index: its rows, their average length in tokens, and
    the IDF of each phrase ranked by."""

    rows: int
    average_length: float
    idfs: tuple[float, ...]


def score(
    hits: Sequence[Sequence[int]], corpus: Corpus, weights: Sequence[float], length: int
) -> float:
    """FTS5's bm25 of a row (negative, better when lower): `hits` are how many times each
    phrase ranked by is in each of its columns, whose hits weigh as `weights` say, and
    `length` is all its tokens."""
    total = 0.0
    average = corpus.average_length or 1.0
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average)
    for counts, phrase_idf in zip(hits, corpus.idfs, strict=True):
        freq = sum(w * n for n, w in zip(counts, weights, strict=True))
        # Grouped as FTS5 groups it, so that equal scores there are equal here.
        total += phrase_idf * ((freq * (BM25_K1 + 1.0)) / (freq + norm))
    return -total


# What bm25 needs of event e: its length, the tokens of its vector (migration 0009) and its
# entities, which SQLite's index holds as words of a column bm25 weighs at 0 (migration
# 0005); and its vector, as text, where Positions finds the words ranked by (cheaper than
# unnesting it in SQL, or than splitting its texts again).
EVENT_COLUMNS = (
    "coalesce(e.search_tokens, 0)"
    " + (SELECT count(*) FROM event_entities l WHERE l.event_id = e.id) AS length,"
    " e.search::text AS vector"
)


class Positions:
    """Where the words of some phrases are in a vector's text ('word':3A,17B ...)."""

    def __init__(self, phrases: Sequence[Phrase]):
        words = {t for p in phrases for t in (p.tokens[:-1] if p.prefix else p.tokens)}
        starts = {p.tokens[-1] for p in phrases if p.prefix and p.tokens}
        alternatives = [re.escape(lexeme(w)[1:-1]) for w in sorted(words)]
        alternatives += [re.escape(lexeme(w)[1:-1]) + "(?:[^']|'')*" for w in sorted(starts)]
        self._item = re.compile("'(" + "|".join(alternatives or ["(?!)"]) + ")':([0-9A-D,]+)")

    def of(self, vector: str) -> dict[str, list[tuple[int, str]]]:
        """Each word's positions and their weights (D, the default, is not written)."""
        held: dict[str, list[tuple[int, str]]] = {}
        for match in self._item.finditer(vector):
            word = match.group(1).replace("''", "'")
            held[word] = [
                (int(p.rstrip("ABCD")), p[-1] if p[-1] in "ABCD" else "D")
                for p in match.group(2).split(",")
            ]
        return held


def event_score(
    phrases: Sequence[Phrase], positions: Positions, corpus: Corpus, row: asyncpg.Record
) -> float:
    """bm25 of an event (a row with EVENT_COLUMNS): how many times each phrase is in its
    headline and in its summary, and its length."""
    held = positions.of(row["vector"])
    hits = [p.hits_at(held, TEXT) for p in phrases]
    return score(hits, corpus, EVENT_WEIGHTS, row["length"])
