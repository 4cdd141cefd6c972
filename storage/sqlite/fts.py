"""A parsed query (storage.query) -> a safe FTS5 MATCH expression.

FTS5 has a query language of its own (quotes, ``*``, ``NEAR(``, ``AND``/``OR``/``NOT``,
column filters, parentheses); passed through raw, ordinary text such as ``U.S.`` or
``"Islamic State`` is a syntax error. So user text is parsed by storage.query.parse_query
and every term is quoted here. The functions taking text parse it first; compile_match
takes a SearchQuery.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import replace

# Tested in Python (backend-neutral); callers of this module import them from here too.
from storage.matching import terms_matcher
from storage.query import (
    MAX_QUERY_CHARS,
    OPERATORS,
    STOP_WORDS,
    SearchQuery,
    Term,
    ends_with_one_cjk,
    folded_tokens,
    parse_phrase,
    parse_query,
    typing_a_word,
)
from storage.search_rules import COUNTED_TOKENS, EVENT_WEIGHTS
from storage.textindex import (
    CJK_RUN,
    has_cjk,
    word_pairs,
)
from storage.words import without_letter_typed, word_starts

# A date range needing more period words than this is most of the archive: not narrowed.
MAX_PERIOD_TOKENS = 24

# Relevance in event_search: headline words weigh more; the filter columns not at all.
EVENT_RANK = f"bm25(event_search, {EVENT_WEIGHTS[0]}, {EVENT_WEIGHTS[1]}, 0.0, 0.0)"
# The longest prefix event_search indexes (prefix = '2 3', migration 0006). For a longer one
# ("russ*"), FTS5 merges the events of every word starting so before returning the first,
# slow for a common start. Searches and autocomplete look it up by its
# first three letters instead (cut=INDEXED_PREFIX) and check what is found (prefix_check).
INDEXED_PREFIX = 3

_TOKEN = re.compile(r"[^\W_]+")


def _expression(term: Term) -> str:
    phrase = quoted(term.tokens)
    return phrase + "*" if term.prefix else phrase


def quoted(tokens: Sequence[str]) -> str:
    """Query tokens as an FTS5 phrase, folded as the index holds text (folded_tokens:
    unicode61 alone would keep fullwidth forms, Greek accents and ß)."""
    return '"' + " ".join(folded_tokens(tokens)) + '"'


def _cut(term: Term, letters: int | None) -> Term:
    """The term with a prefix longer than `letters` cut to them: a superset (not for an
    excluded term, where it would exclude more). The term itself when nothing is cut."""
    last = term.tokens[-1]
    if letters is None or not term.prefix or term.negated or len(last) <= letters:
        return term
    if CJK_RUN.match(last):
        return term
    return replace(term, tokens=(*term.tokens[:-1], last[:letters]))


def _token_expressions(term: Term) -> list[str]:
    """Each token on its own (the last as a prefix if the term is one), the first
    COUNTED_TOKENS of them: the term is found in at most as many events as its rarest
    token. A long Chinese run is a token per character, and each counted is a lookup."""
    tokens = folded_tokens(term.tokens)
    last = len(tokens) - 1
    return [
        f'"{token}"*' if term.prefix and index == last else f'"{token}"'
        for index, token in enumerate(tokens[:COUNTED_TOKENS])
    ]


def _groups(text: str, *, prefix_last: bool = False, cut: int | None = None) -> list[list[Term]]:
    """parse_query's groups for text, prefixes longer than `cut` cut (_cut)."""
    return _cut_groups(parse_query(text, prefix_last=prefix_last), cut)


def _cut_groups(query: SearchQuery, cut: int | None) -> list[list[Term]]:
    return [[_cut(term, cut) for term in group] for group in query.groups]


def _all_of(
    groups: Sequence[Sequence[Term]], expression: Callable[[Term], str] = _expression
) -> str:
    parts = []
    for group in groups:
        alternatives = [expression(term) for term in group]
        parts.append(
            alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
        )
    return " AND ".join(parts)


def build_match(text: str, *, prefix_last: bool = False, cut: int | None = None) -> str | None:
    """A MATCH expression for user text, or None when it holds nothing to search for."""
    return compile_match(parse_query(text, prefix_last=prefix_last), cut=cut)


def compile_match(query: SearchQuery, *, cut: int | None = None) -> str | None:
    """A MATCH expression for a parsed query, prefixes longer than `cut` letters cut to
    them (see INDEXED_PREFIX); None when it holds nothing to find."""
    groups = _cut_groups(query, cut)
    positive = [g for g in groups if not g[0].negated]
    negative = [g[0] for g in groups if g[0].negated]
    if not positive:
        return None
    expression = _all_of(positive)
    for term in negative:
        expression = f"({expression}) NOT {_expression(term)}"
    return expression


def excluded_match(text: str) -> str | None:
    """A MATCH expression for any of the terms text excludes (words, prefixes, phrases, as
    typed: never cut), or None when it excludes none: what leaves an event out when its
    own text or any of its articles holds it."""
    excluded = parse_query(text).excluded
    return " OR ".join(_expression(term) for term in excluded) if excluded else None


def contradicts_itself(text: str) -> bool:
    """Whether a word to find is also excluded ("flood -flood"): nothing can match, and
    FTS5 would read every event holding the word to find that out."""
    groups = parse_query(text).groups
    excluded = {_expression(g[0]) for g in groups if g[0].negated}
    return any(len(g) == 1 and _expression(g[0]) in excluded for g in groups if not g[0].negated)


def few_matches_likely(text: str, *, prefix_last: bool = False) -> bool:
    """Whether the match of text is likely to be a few hundred events at most: two words
    or more to find, all of them, none a prefix or one of alternatives; or one quoted phrase
    of two words or more, not all stop words, in each of its alternatives or forms ("中国
    政府": run together, or as written). In the benchmark's searches of a large archive,
    the matches of one word, or of a prefix, mostly were more than SEARCH_WINDOW; these
    seldom were (see SQLiteSearch._newest_matches)."""
    positive = parse_query(text, prefix_last=prefix_last).required
    if any(term.prefix for group in positive for term in group):
        return False
    if len(positive) == 1:
        return all(t.quoted and len(t.tokens) >= 2 and not t.of_stop_words for t in positive[0])
    return len(positive) >= 2 and all(len(group) == 1 for group in positive)


def lone_character(text: str, *, prefix_last: bool = False) -> str | None:
    """The one Chinese (or Japanese) character that is all text looks for, as the start of
    a word: FTS5 finds it as every bigram that starts with it or the unigram closing a run.
    The index holds text as written (segment_for_index; unicode61 folds no CJK character),
    so a text holds that match exactly when the character is in it."""
    groups = parse_query(text, prefix_last=prefix_last).groups
    if len(groups) != 1 or len(groups[0]) != 1:
        return None
    term = groups[0][0]  # a prefix: parse_query makes one Chinese character at the end one
    if not term.negated and len(term.tokens) == 1 and ends_with_one_cjk(term.tokens):
        return term.tokens[0]
    return None


def stop_word_phrase(text: str) -> bool:
    """Whether every word to find is a stop word and one is a phrase ("of the"): FTS5
    must check the positions of both words in nearly every event to find one."""
    positive = [term for term in parse_query(text).terms if not term.negated]
    return all(t.of_stop_words for t in positive) and any(len(t.tokens) > 1 for t in positive)


def token_expressions(text: str, *, cut: int | None = None) -> list[str]:
    """The tokens of the words to find, as expressions to count (see ranking_match)."""
    found = [
        expression
        for group in _groups(text, cut=cut)
        for term in group
        if not (term.negated or term.of_stop_words)
        for expression in _token_expressions(term)
    ]
    return list(dict.fromkeys(found))


def ranking_match(text: str, common: Container[str], *, cut: int | None = None) -> str | None:
    """The words of `text` to rank by: a MATCH expression of its groups that hold no
    common term (a term is common when it is made of stop words or all its tokens are in
    `common`; a group of alternatives when any of them is). None when every group is
    common: see COMMON_TERM_EVENTS. Excluded words are left out; the full match filters.

    A phrase holding common words is ranked by its rare ones: bm25 counts every event
    holding each phrase it ranks by, and for `"Act be of Rawa and"` that is a walk through
    every event holding all five words; the events it ranks
    hold the phrase already."""

    def is_common(term: Term) -> bool:
        return term.of_stop_words or all(t in common for t in _token_expressions(term))

    def rank_expression(term: Term) -> str:
        tokens = folded_tokens(term.tokens)
        rare = [
            expression
            for token, expression in zip(tokens, _token_expressions(term), strict=False)
            if expression not in common and token not in STOP_WORDS
        ]
        if not rare or len(rare) == len(tokens):
            return _expression(term)
        return rare[0] if len(rare) == 1 else "(" + " AND ".join(rare) + ")"

    rare = [
        group
        for group in _groups(text, cut=cut)
        if not group[0].negated and not any(is_common(term) for term in group)
    ]
    return _all_of(rare, rank_expression) if rare else None


def short_prefixes(text: str) -> list[str]:
    """Prefix terms ending in one letter ("s*", "al-a*", "turkey's*"): FTS5 merges every
    word starting with that letter before returning a single event, slow in a large
    archive even after "al" or "turkey", so search asks for more."""
    return list(parse_query(text).short_prefixes())


def in_text(match: str) -> str:
    """An event_search expression limited to the text columns (a user typing "y2017" or
    "e12" must not match the filter columns' words)."""
    return f"{{headline summary}} : ({match})"


def entities_match(entity_ids: Sequence[int]) -> str:
    """An event_search expression for the events linked to any of these entities (the
    `entities` column: a superset, the links themselves are checked too)."""
    return "entities : (" + " OR ".join(f'"e{i}"' for i in entity_ids) + ")"


def period_match(since: dt.date, until: dt.date) -> str | None:
    """An event_search expression for the events from `since` to `until`, month by month
    (whole years as one word): a superset, the exact days are filtered by date. None when
    it would take more than MAX_PERIOD_TOKENS words."""
    words: list[str] = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        if month == 1 and (year < until.year or until.month == 12):
            words.append(f'"y{year}"')
            year += 1
        else:
            words.append(f'"m{year}{month:02d}"')
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if len(words) > MAX_PERIOD_TOKENS:
            return None
    return "period : (" + " OR ".join(words) + ")" if words else None


def headline_phrase(text: str, *, prefix_last: bool = False) -> str | None:
    """A headline_pairs expression (migration 0008) for the headlines holding the words
    of text in a row, the last one only as a start while typing (prefix_last). None
    unless text is two Latin words or more and nothing else to honour (no OR, -word or
    prefix: Chinese has no pairs, see word_pairs), or when the word being typed is one
    letter ("of the c": FTS5 would merge every pair "the_c...", slower than "the_co")."""
    text = text[:MAX_QUERY_CHARS]
    terms = text.replace('"', " ").split()
    if has_cjk(text) or any(t in OPERATORS or t.startswith("-") or "*" in t for t in terms):
        return None
    pairs = word_pairs(text)
    if not pairs:
        return None
    if not prefix_last or not typing_a_word(text):
        return f'"{pairs}"'
    if without_letter_typed(text) is not None:
        return None
    return f'"{pairs}"*'


def phrase_match(text: str) -> str | None:
    """The whole text as one phrase (its last word a prefix while typing)."""
    forms = parse_phrase(text)
    return _all_of([forms]) if forms else None


def prefix_check(text: str, *, prefix_last: bool = False) -> Callable[[str], bool] | None:
    """For build_match(text, prefix_last=..., cut=INDEXED_PREFIX): a test of whether a text
    found by it holds the whole prefixes. None when nothing was cut: every match is one."""
    groups = parse_query(text, prefix_last=prefix_last).groups
    checked = [g for g in groups if any(_cut(t, INDEXED_PREFIX) is not t for t in g)]
    return terms_matcher(checked, []) if checked else None


def any_word_match(text: str) -> str | None:
    """A looser expression (any word, each as a prefix), for 'did you mean' suggestions."""
    starts = word_starts(text)
    return " OR ".join(quoted([start]) + "*" for start in starts) if starts else None
