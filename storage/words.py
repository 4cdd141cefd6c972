"""The words of typed text, read the same way by every backend: a last letter typed alone,
the distinct words of a text, the starts of words a "did you mean" looks for. Pure text
functions: each backend turns their answers into its own index's language."""

from __future__ import annotations

import re

from storage.query import MAX_QUERY_CHARS, MAX_TERMS, STOP_WORDS, tokens
from storage.textindex import CJK_RUN, fold, has_cjk

_TOKEN = re.compile(r"[^\W_]+")
# The letters of a word a "did you mean" keeps: its start, as the words typed are misspelt.
WORD_START_LETTERS = 4


def without_letter_typed(text: str) -> str | None:
    """Text without its last character when that is one letter or digit starting a word
    ("iraq's", "al-a", "中A", "least a"), else None. As the start of a word, one letter
    matches thousands of words, which an index merges before returning a single event (slow
    in a large archive), and it says little: what comes before it is
    looked up instead, as typed so far."""
    # The last two characters tell. A regex anchored at the end would try every start in a
    # long pasted text (an option may be as long as Discord allows).
    body = text[:-1] if text.endswith("*") else text
    if not _latin_word_character(body[-1:]):
        return None
    before = body[-2:-1]
    return None if _latin_word_character(before) else body[:-1]


def _latin_word_character(character: str) -> bool:
    """Whether a character is a letter or digit of a word that is not Chinese (Chinese runs
    are indexed as bigrams: one character is a word)."""
    return _TOKEN.match(character) is not None and not has_cjk(character)


def distinct_words(text: str) -> list[str]:
    """The tokens of text of two letters or more (or Chinese), each once (as folded)."""
    words: dict[str, str] = {}
    for token in tokens(text[:MAX_QUERY_CHARS]):
        if len(token) >= 2 or CJK_RUN.fullmatch(token):
            words.setdefault(fold(token), token)
    return list(words.values())


def word_starts(text: str) -> list[str]:
    """The starts of words a looser lookup finds any of, each as a prefix ("did you
    mean"): a Latin word's first letters, a Chinese token whole."""
    return [
        t if CJK_RUN.match(t) else t[:WORD_START_LETTERS] for t in distinct_words(text)[:MAX_TERMS]
    ]


def suggestion_words(text: str) -> list[str]:
    """The words of text worth suggesting events by: distinct, two letters or more (or
    Chinese), no stop words."""
    return [w for w in distinct_words(text) if fold(w) not in STOP_WORDS][:MAX_TERMS]
