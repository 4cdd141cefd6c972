"""Events as PostgreSQL's full text holds them: a tsvector built here, from the very tokens
the SQLite index receives (storage.textindex: folded, Chinese simplified and cut into
bigrams), so that a search finds the same events on both backends. The vector is written
as a tsvector literal, not through to_tsvector: PostgreSQL's own parser would split and
drop characters by the server's locale."""

from __future__ import annotations

import datetime as dt
import re

from storage.textindex import period_tokens, segment_for_index, word_pairs

_TOKEN = re.compile(r"[^\W_]+")
# tsvector positions stop at 16,383; a gap keeps a phrase from running across columns.
MAX_POSITION = 16383
COLUMN_GAP = 8
# Weights: headline A, summary B, the headline's word pairs C, period words D (the last two
# searched, never ranked).
HEADLINE, SUMMARY, PAIRS, PERIOD = "A", "B", "C", "D"


def index_tokens(text: str | None) -> list[str]:
    """The tokens of a text as the index holds them, in order (as SQLite's: folded, cut)."""
    return _TOKEN.findall(segment_for_index(text)) if text else []


def lexeme(token: str) -> str:
    """A token as a quoted tsvector or tsquery lexeme, taken as it is."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def event_vector(headline: str, summary: str, date: dt.date) -> str:
    """An event's tsvector literal: its headline and summary words with their positions,
    the pairs of words that follow each other in its headline ("syria_ministry", as
    SQLite's headline_pairs index holds them: words in a row are a phrase of a few rare
    pairs, found at once, where the phrase of its words means reading every event holding
    a common one), and the period words of its date (y2017 m201706)."""
    parts: list[str] = []
    position = 1
    for weight, text in ((HEADLINE, headline), (SUMMARY, summary)):
        for token in index_tokens(text):
            parts.append(f"{lexeme(token)}:{min(position, MAX_POSITION)}{weight}")
            position += 1
        position += COLUMN_GAP
    for token in period_tokens(date.isoformat()).split():
        parts.append(f"{lexeme(token)}:{min(position, MAX_POSITION)}{PERIOD}")
    # Pairs are numbered apart from the words: pairs in a row are a phrase of pairs.
    for number, pair in enumerate(word_pairs(headline).split(), start=1):
        parts.append(f"{lexeme(pair)}:{min(number, MAX_POSITION)}{PAIRS}")
    return " ".join(parts)


def article_vector(title: str, text: str) -> str:
    """An article's tsvector literal: its title (A) and text (B)."""
    parts: list[str] = []
    position = 1
    for weight, body in ((HEADLINE, title), (SUMMARY, text)):
        for token in index_tokens(body):
            parts.append(f"{lexeme(token)}:{min(position, MAX_POSITION)}{weight}")
            position += 1
        position += COLUMN_GAP
    return " ".join(parts)
