"""Whether a text holds a parsed query (storage.query), tested in Python, as the search
index would find it: for a few texts at a time (aliases, a digest's events, a pool of
headlines), where asking the database would mean finding every match first. Every
backend checks such texts with these same functions, so they agree."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from storage.query import Term, parse_phrase, parse_query
from storage.textindex import CJK_RUN, cjk_tokens, fold, fold_text, has_cjk, segment_for_index

_TOKEN = re.compile(r"[^\W_]+")


def text_matcher(text: str, *, prefix_last: bool = False) -> Callable[[str], bool]:
    """Whether a text matches the search text (parse_query(text, prefix_last=...))."""
    query = parse_query(text, prefix_last=prefix_last)
    return terms_matcher(query.required, query.excluded)


def phrase_matcher(text: str) -> Callable[[str], bool]:
    """Whether a text holds the whole text as one phrase (parse_phrase)."""
    forms = parse_phrase(text)
    return terms_matcher([forms], []) if forms else lambda found: False


def terms_matcher(
    required: Sequence[Sequence[Term]], excluded: Sequence[Term]
) -> Callable[[str], bool]:
    """A test that a text holds a term of each required group and no excluded term."""
    groups = [[_finder(term) for term in group] for group in required]
    unwanted = [_finder(term) for term in excluded]

    def holds(found: str) -> bool:
        folded = fold_text(found)
        return all(any(has(folded) for has in group) for group in groups) and not any(
            has(folded) for has in unwanted
        )

    return holds


def _finder(term: Term) -> Callable[[str], bool]:
    """A test of whether a folded text (fold_text) holds a term as FTS5 would find it: its
    words in a row, whole, the last one only as a start if the term is a prefix. Latin
    words are found by a regex in the text as it is, Chinese ones among the index's
    bigrams (segment_for_index)."""
    words = [fold(token) for token in term.tokens]
    if any(CJK_RUN.search(word) for word in words):
        run = _bigram_chain(words)
        if run is not None and (term.prefix or len(run) > 1):
            # The bigrams of one run of characters, in a row: the characters themselves
            # are in the text. Segmenting each text as the index does is much slower,
            # and headline autocomplete checks a pool of headlines.
            return lambda folded: run in folded
        needle = " " + " ".join(words) + ("" if term.prefix else " ")
        return lambda folded: needle in _index_words(folded)
    pattern = re.compile(r"[\W_]+".join(map(re.escape, words)))
    prefix = term.prefix

    def found(folded: str) -> bool:
        # The regex starts with a literal, which re finds fast; the word boundaries,
        # where a Chinese character counts as one, are checked at each hit.
        at = 0
        while hit := pattern.search(folded, at):
            start, end = hit.span()
            if not _joins(folded, start - 1) and (prefix or not _joins(folded, end)):
                return True
            at = start + 1
        return False

    return found


def _bigram_chain(words: list[str]) -> str | None:
    """The run of Chinese characters whose bigrams words are ("賴喇", "喇嘛" -> "賴喇嘛"), or
    None when they are not such a chain (Latin words, a run's closing unigram)."""
    run = words[0] + "".join(word[-1] for word in words[1:])
    if CJK_RUN.fullmatch(run) and cjk_tokens(run)[: len(words)] == words:
        return run
    return None


def _joins(text: str, at: int) -> bool:
    """Whether the character at `at` would continue a Latin word there."""
    return 0 <= at < len(text) and text[at].isalnum() and not has_cjk(text[at])


def _index_words(folded: str) -> str:
    """A folded text's index tokens, each with a space on both sides."""
    return " " + " ".join(_TOKEN.findall(segment_for_index(folded))) + " "
