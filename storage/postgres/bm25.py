"""bm25 as SQLite's FTS5 computes it (its bm25() with column weights), for PostgreSQL: so
that a search ranks its matches in the order the SQLite backend gives. ts_rank and
ts_rank_cd know neither how rare a word is in the archive (bm25's IDF) nor bm25's length
normalisation; computed here from how many times each phrase is in each column of a row,
the score is FTS5's, given the counts of the archive (rows, average length, rows holding
each phrase)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from storage.search_rules import BM25_B, BM25_K1

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
