"""A parsed query (storage.query) -> a PostgreSQL tsquery literal, and what ranking needs
of it.

The literal is cast with ``$n::tsquery``, never handed to to_tsquery or plainto_tsquery:
PostgreSQL's parser would split and drop characters by the server's locale, and the index
(storage.postgres.textsearch) holds Chronicle's own tokens. So every token is folded as the
index folds text and quoted (textsearch.lexeme); ``&`` joins groups, ``|`` alternatives,
``<->`` the tokens of a phrase, ``:*`` makes a prefix and ``!`` excludes. Each lexeme is
limited to the weights it may match in: headline (A) and summary (B) for what people type,
so that the period words (D: y2017, m201706) are never found as text.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

from storage.postgres.textsearch import HEADLINE, SUMMARY, lexeme
from storage.query import (
    MAX_QUERY_CHARS,
    OPERATORS,
    STOP_WORDS,
    SearchQuery,
    Term,
    folded_tokens,
    parse_query,
    typing_a_word,
)
from storage.search_rules import COUNTED_TOKENS
from storage.textindex import has_cjk, word_pairs
from storage.words import without_letter_typed

_TOKEN = re.compile(r"[^\W_]+")
# The weights of the text people search: headline and summary, never the period words.
TEXT = HEADLINE + SUMMARY
# What a period word (textsearch.event_vector's y2017, m201706) may look like.
_PERIOD_WORD = re.compile(r"[ym][0-9]*")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A term's tokens as the index holds them (folded), the last one only as a start
    when it is a prefix: what a tsquery phrase matches, and what bm25 counts."""

    tokens: tuple[str, ...]
    prefix: bool = False

    def tsquery(self, weights: str = TEXT, *, in_a_row: bool = True) -> str:
        """The phrase as a tsquery; with in_a_row False, its words anywhere."""
        if weights == TEXT and self.text_alone:
            weights = ""
        last = len(self.tokens) - 1
        marks = [("*" if self.prefix and i == last else "") + weights for i in range(last + 1)]
        return (" <-> " if in_a_row else " & ").join(
            lexeme(token) + (f":{mark}" if mark else "")
            for token, mark in zip(self.tokens, marks, strict=True)
        )

    @property
    def text_alone(self) -> bool:
        """Whether only text (weights A, B) can hold the phrase, so that its tsquery needs
        no weights, which the GIN index cannot check (every match read again): whole words
        are never a headline's pair (which holds an underscore) and, unless shaped like one,
        never a period word. A prefix may start a pair ("o'brien" is the pair "obrien_...",
        not the words "o" and "brien")."""
        return not self.prefix and not any(_PERIOD_WORD.fullmatch(t) for t in self.tokens)

    def count_in(self, tokens: Sequence[str]) -> int:
        """How many times the phrase is in a text's tokens (index_tokens)."""
        size = len(self.tokens)
        if not size:
            return 0
        head, last = self.tokens[:-1], self.tokens[-1]
        found = 0
        for start in range(len(tokens) - size + 1):
            end = tokens[start + size - 1]
            if (end.startswith(last) if self.prefix else end == last) and all(
                tokens[start + i] == token for i, token in enumerate(head)
            ):
                found += 1
        return found

    def hits_at(self, positions: Mapping[str, Sequence[tuple[int, str]]], weights: str) -> list[int]:
        """How many times the phrase is in each column (weight) of a vector, given the
        positions of its words there (search.words_at): as count_in over each column's
        tokens, since a column's tokens have consecutive positions."""
        size = len(self.tokens)
        found = [0] * len(weights)
        if not size:
            return found
        last = self.tokens[-1]

        def at(index: int) -> set[tuple[int, str]]:
            if self.prefix and index == size - 1:
                return {p for word, ps in positions.items() if word.startswith(last) for p in ps}
            return set(positions.get(self.tokens[index], ()))

        following = [at(i) for i in range(1, size)]
        for position, weight in at(0):
            column = weights.find(weight)
            if column >= 0 and all(
                (position + i, weight) in held for i, held in enumerate(following, start=1)
            ):
                found[column] += 1
        return found


def phrase(term: Term) -> Phrase:
    return Phrase(folded_tokens(term.tokens), term.prefix)


def _alternatives(group: Sequence[Term], weights: str) -> str:
    parts = [f"({phrase(term).tsquery(weights)})" for term in group]
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def compile_query(query: SearchQuery, weights: str = TEXT) -> str | None:
    """The tsquery of a parsed query, each lexeme limited to `weights`; None when it holds
    nothing to find."""
    required = query.required
    if not required:
        return None
    parts = [_alternatives(group, weights) for group in required]
    parts += [f"!({phrase(term).tsquery(weights)})" for term in query.excluded]
    return " & ".join(parts)


def words_anywhere(query: SearchQuery) -> str | None:
    """The tsquery of a query's groups to find with the words of each phrase anywhere, not
    in a row: what a vector can still say of a phrase past its last position (MAX_POSITION:
    every later word is there), the phrase itself checked in the text. None when the query
    holds no phrase."""
    terms = [term for group in query.required for term in group]
    if not any(len(phrase(term).tokens) > 1 for term in terms):
        return None
    parts = []
    for group in query.required:
        alternatives = [f"({phrase(term).tsquery(in_a_row=False)})" for term in group]
        parts.append(alternatives[0] if len(alternatives) == 1 else f"({' | '.join(alternatives)})")
    return " & ".join(parts)


def compile_text(text: str, *, prefix_last: bool = False, weights: str = TEXT) -> str | None:
    """The tsquery of user text (parse_query), or None when it holds nothing to find."""
    return compile_query(parse_query(text, prefix_last=prefix_last), weights)


def any_of(phrases: Sequence[Phrase], weights: str = TEXT) -> str:
    """A tsquery matching any of the phrases."""
    return " | ".join(f"({p.tsquery(weights)})" for p in phrases)


def contradicts_itself(query: SearchQuery) -> bool:
    """Whether a term to find, alone in its group, is also excluded ("flood -flood"):
    nothing can match."""
    excluded = {phrase(term) for term in query.excluded}
    return any(len(group) == 1 and phrase(group[0]) in excluded for group in query.required)


def stop_word_phrase(query: SearchQuery) -> bool:
    """Whether every word to find is a stop word and one is a phrase ("of the")."""
    positive = [term for group in query.required for term in group]
    return all(t.of_stop_words for t in positive) and any(len(t.tokens) > 1 for t in positive)


def headline_words(text: str, *, prefix_last: bool = False) -> Phrase | None:
    """The phrase of pairs (weight PAIRS) of the headlines holding the words of text in a
    row (storage.sqlite's headline_pairs: every word, stop words too, punctuation and
    quotes aside), the last one only as a start while typing (prefix_last). None unless
    text is two Latin words or more and nothing else to honour (no OR, -word or prefix;
    Chinese has no pairs), or when the word being typed is one letter."""
    text = text[:MAX_QUERY_CHARS]
    terms = text.replace('"', " ").split()
    if has_cjk(text) or any(t in OPERATORS or t.startswith("-") or "*" in t for t in terms):
        return None
    pairs = word_pairs(text).split()
    if not pairs:
        return None
    prefix = prefix_last and typing_a_word(text)
    if prefix and without_letter_typed(text) is not None:
        return None
    # Words in a row are the headline's pairs in a row (textsearch.event_vector).
    return Phrase(tuple(pairs), prefix)


def counted_phrases(query: SearchQuery) -> list[Phrase]:
    """Each token of the words to find on its own (the last as a prefix if the term is
    one), the first COUNTED_TOKENS of each term: a term is in at most as many events as
    its rarest token, and is common when all of them are (ranking_phrases)."""
    found = [
        token
        for group in query.required
        for term in group
        if not term.of_stop_words
        for token in _token_phrases(term)
    ]
    return list(dict.fromkeys(found))


def _token_phrases(term: Term) -> list[Phrase]:
    tokens = phrase(term).tokens
    last = len(tokens) - 1
    return [
        Phrase((token,), term.prefix and index == last)
        for index, token in enumerate(tokens[:COUNTED_TOKENS])
    ]


@dataclass(frozen=True, slots=True)
class Estimate:
    """How many events a query finds, from the counts of its words (counted_phrases):
    `bound` at most (the group of terms with the fewest, each term by its rarest word), and
    `likely` as if words were independent (None for a phrase: a phrase of common words may
    be in a handful of events)."""

    bound: int | None
    likely: float | None


def estimate(
    query: SearchQuery, counts: Mapping[Phrase, int], *, cap: int, events: int
) -> Estimate:
    """The Estimate of a query in an archive of `events`; a prefix counted beyond `cap`, or
    a term of stop words, is not known, and a group holding one is left out. A group's
    likely matches are its words' (a phrase's may be none); a group of phrases alone makes
    the query's not known."""
    bound: int | None = None
    likely: float | None = float(events)
    for group in query.required:
        total = 0
        words = 0
        for term in group:
            known = [
                n
                for t in _token_phrases(term)
                if (n := counts.get(t)) is not None and (n <= cap or not t.prefix)
            ]
            if term.of_stop_words or not known:
                break
            total += min(known)
            if len(phrase(term).tokens) == 1:
                words += min(known)
        else:
            bound = total if bound is None else min(bound, total)
            if not words:
                likely = None
            elif likely is not None and events:
                likely *= min(words, events) / events
    if bound is None:
        return Estimate(None, None)
    for term in query.excluded:
        tokens = _token_phrases(term)
        if likely is not None and events and len(tokens) == 1 and tokens[0] in counts:
            likely *= 1 - min(counts[tokens[0]], events) / events
    return Estimate(bound, likely)


def ranking_phrases(query: SearchQuery, common: Container[Phrase]) -> list[Phrase] | None:
    """The phrases bm25 ranks by: those of the groups holding no common term (made of stop
    words, or every token counted in `common`), a phrase holding common words by its rare
    tokens alone. None when every group is common: headline matches first, then newest.
    As storage.sqlite.fts.ranking_match, whose phrases they are."""

    def is_common(term: Term) -> bool:
        return term.of_stop_words or all(t in common for t in _token_phrases(term))

    def rank_phrases(term: Term) -> list[Phrase]:
        whole = phrase(term)
        rare = [
            token
            for token in _token_phrases(term)
            if token not in common and token.tokens[0] not in STOP_WORDS
        ]
        if not rare or len(rare) == len(whole.tokens):
            return [whole]
        return rare

    found = [
        p
        for group in query.required
        if not any(is_common(term) for term in group)
        for term in group
        for p in rank_phrases(term)
    ]
    return found or None
