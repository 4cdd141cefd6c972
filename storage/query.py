"""What people type in a search -> a parsed query, the same for every storage backend.

Search text is never handed to a database's query language as is (there, ordinary text
such as ``U.S.`` or ``"Islamic State`` may be a syntax error). It is cut into terms here,
and only a small, forgiving syntax is honoured on top:

- words are all required; ``"a phrase"`` must appear as written (an unclosed quote runs to
  the end); ``word*`` matches a prefix; ``-word`` (or ``NOT word``) excludes; ``OR`` between
  two terms accepts either. Anything else is plain text.

A term's tokens are those the search index holds for it (storage.textindex), as typed:
Latin words, Chinese and Japanese runs as character bigrams in simplified characters,
Korean as syllable bigrams; folded_tokens folds them as the index is folded. Each
backend compiles a SearchQuery to its own language (storage.sqlite.fts for FTS5).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage.textindex import (
    CJK_RUN,
    MAX_TOKEN_CHARS,
    cjk_tokens,
    fold,
    join_cjk_words,
    query_word,
    simplified,
)

MAX_QUERY_CHARS = 500
MAX_TERMS = 16

_TOKEN = re.compile(r"[^\W_]+")
# The operators a query may use between terms (see parse_query).
OR_WORDS = frozenset({"OR", "|"})
AND_WORDS = frozenset({"AND", "&&"})
NOT_WORDS = frozenset({"NOT"})
OPERATORS = OR_WORDS | AND_WORDS | NOT_WORDS
_USER_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# Chinese lists words with a comma or an enumeration comma and no space (叙利亚，俄罗斯,
# 叙利亚、俄罗斯): beside a Chinese character, these separate words as a space does.
_CJK_LIST_MARK = re.compile(r"(?<=[\u3400-\u9fff])[,，、;；]|[,，、;；](?=[\u3400-\u9fff])")


# The commonest English words. Each is in most events of a big archive, so it narrows
# nothing, and ranking by it costs a count of every event that has it. A query of several
# words leaves them out (not from "a phrase", a prefix or a -word); a query of nothing else
# is answered newest first, unranked.
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has",
    "have", "he", "his", "in", "is", "it", "its", "of", "on", "or", "s", "she", "t", "that",
    "the", "their", "they", "this", "to", "was", "were", "will", "with",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Term:
    """One thing to find (or, negated, to leave out): its tokens in a row, the last one
    only as a start when it is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False
    negated: bool = False
    quoted: bool = False  # typed in quotes: a phrase, and never left out as a stop word

    @property
    def of_stop_words(self) -> bool:
        """Only stop words, whole ("the", "in the"; not "th*")."""
        return not self.prefix and all(fold(token) in STOP_WORDS for token in self.tokens)

    @property
    def is_stop_word(self) -> bool:
        """One stop word as typed, which a query of other words can do without."""
        return self.of_stop_words and len(self.tokens) == 1 and not (self.negated or self.quoted)

    @property
    def is_short_prefix(self) -> bool:
        """A prefix ending in one letter or digit ("s*", "al-a*"; one Chinese character is
        a word): it matches almost every event, and finding them all is slow."""
        last = self.tokens[-1]
        return self.prefix and len(last) == 1 and not CJK_RUN.fullmatch(last)

    def written(self) -> str:
        """The term written back, its tokens as typed ("al-a*" -> "al a*")."""
        return " ".join(self.tokens) + ("*" if self.prefix else "")


class Problem(enum.Enum):
    """Why a query cannot be searched."""

    NOTHING_TO_FIND = "nothing to find"  # no word at all ("", "***", "AND")
    ONLY_EXCLUSIONS = "only exclusions"  # "-Russia": what to leave out, but not what to find
    SHORT_PREFIX = "short prefix"  # "s*": see Term.is_short_prefix
    TOO_MANY_WORDS = "too many words"  # more than MAX_TERMS, stop words aside


@dataclass(frozen=True, slots=True)
class QueryProblem:
    kind: Problem
    terms: tuple[str, ...] = ()  # the terms at fault, written back (Term.written)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Groups of alternatives: an event must hold a term of every group that is not
    negated, and none of the negated ones (a negated group is one term, never an
    alternative)."""

    groups: tuple[tuple[Term, ...], ...] = ()
    beyond: tuple[str, ...] = ()  # what was typed past the MAX_TERMS-th word, as typed

    @property
    def required(self) -> tuple[tuple[Term, ...], ...]:
        """The groups to find, each of alternatives."""
        return tuple(group for group in self.groups if not group[0].negated)

    @property
    def excluded(self) -> tuple[Term, ...]:
        """The terms to leave out."""
        return tuple(group[0] for group in self.groups if group[0].negated)

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(term for group in self.groups for term in group)

    def short_prefixes(self) -> tuple[str, ...]:
        """The prefixes ending in one letter, found or excluded, written back."""
        return tuple(term.written() for term in self.terms if term.is_short_prefix)

    def problem(self) -> QueryProblem | None:
        """Why this query cannot be searched, or None when it can."""
        if self.beyond:
            return QueryProblem(Problem.TOO_MANY_WORDS, self.beyond)
        if not self.groups:
            return QueryProblem(Problem.NOTHING_TO_FIND)
        if not self.required:
            return QueryProblem(Problem.ONLY_EXCLUSIONS)
        if short := self.short_prefixes():
            return QueryProblem(Problem.SHORT_PREFIX, short)
        return None


def tokens(text: str) -> list[str]:
    """Index tokens for a piece of text, the way storage.textindex.segment_for_index and a
    tokenizer splitting on punctuation make them, as typed: folded_tokens folds them as the
    index holds them.

    A CJK run becomes its bigrams; the unigram the index adds after each run is kept when
    something follows the run in the same phrase (it sits between them in the index too),
    and left out at the end, where the text's run may go on.
    """
    word = _TOKEN if text.isascii() else query_word()
    pieces: list[tuple[bool, str]] = []  # (is CJK, text)
    for token in word.findall(text):
        pos = 0
        for run in CJK_RUN.finditer(token):
            pieces.extend((False, t) for t in word.findall(token[pos : run.start()]))
            pieces.append((True, run.group(0)))
            pos = run.end()
        pieces.extend((False, t) for t in word.findall(token[pos:]))
    found: list[str] = []
    for index, (is_cjk, piece) in enumerate(pieces):
        if not is_cjk:
            found.append(piece[:MAX_TOKEN_CHARS])
            continue
        piece = simplified(piece)  # as the index holds it
        if index < len(pieces) - 1:
            found.extend(cjk_tokens(piece))
        else:
            found.extend(cjk_tokens(piece)[:-1] if len(piece) > 1 else [piece])
    return found


def folded_tokens(term_tokens: Sequence[str]) -> tuple[str, ...]:
    """Query tokens as every backend's index holds them: folded (case, accents, fullwidth
    forms, Chinese script: storage.textindex.fold) and split again where folding made a
    separator, as segment_for_index folds a whole text before it is split."""
    found: list[str] = []
    for token in term_tokens:
        found.extend(_TOKEN.findall(fold(token)) or [token.lower()])
    return tuple(found)


def phrase_forms(text: str) -> list[tuple[str, ...]]:
    """The tokens of a phrase as written and, when it spaces Chinese words apart, first
    with them run together as Chinese is written: "中国 政府" finds "中国政府", and
    "唐纳德 特朗普" still finds "唐纳德·特朗普"."""
    written = tuple(tokens(text))
    joined = join_cjk_words(text)
    return [tuple(tokens(joined)), written] if joined != text else [written]


def typing_a_word(text: str) -> bool:
    """Whether text ends inside a word, which is then still being typed and looked up as a
    start. After a space, a quote or other punctuation ("U.S.", "al-") the word is whole."""
    return _TOKEN.match(text.rstrip("*")[-1:]) is not None


def ends_with_one_cjk(term_tokens: tuple[str, ...]) -> bool:
    """Whether the last token is one Chinese (or Japanese) character, which the index
    holds only as the start of a bigram or a run's closing unigram: found as a prefix."""
    return len(term_tokens[-1]) == 1 and CJK_RUN.fullmatch(term_tokens[-1]) is not None


# Fullwidth ASCII (U+FF01-FF5E) and the ideographic space, as a Chinese or Japanese keyboard
# types them, to ASCII: one character for one, so words split where they split in the index.
# The quotation marks a Chinese keyboard (“…”, 「…」, 『…』) or a phone's smart punctuation
# types are a phrase's quotes too. The invisible characters a word copied from a web page
# can hold (soft hyphen, zero-width space, word joiner, BOM) are dropped, as they are from
# every text the archive holds.
_FULLWIDTH: dict[int, int | None] = (
    {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    | {0x3000: 0x20}
    | dict.fromkeys(map(ord, "“”「」『』｢｣"), ord('"'))
    | dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
)


def typed_text(text: str) -> str:
    """What was typed, with fullwidth letters ("ＲＵＳＳＩＡ") and signs as plain ones,
    typographic quotation marks as the search syntax's, and invisible characters dropped."""
    return text if text.isascii() else text.translate(_FULLWIDTH)


def parse_query(text: str, *, prefix_last: bool = False) -> SearchQuery:
    """User text -> a SearchQuery. Stop words are left out when other words remain. With
    prefix_last (autocomplete), a last word still being typed is a prefix."""
    text = _CJK_LIST_MARK.sub(" ", typed_text(text[:MAX_QUERY_CHARS]))
    groups: list[list[Term]] = []
    pending_or = False
    negate_next = False
    raw_terms = list(_USER_TERM.finditer(text))
    for index, match in enumerate(raw_terms):
        minus, quoted, bare = match.groups()
        negated = negate_next or bool(minus)
        negate_next = False
        if bare is not None:
            if bare in OR_WORDS:
                pending_or = bool(groups)
                continue
            if bare in AND_WORDS:
                continue
            if bare in NOT_WORDS:
                negate_next = True
                continue
            if bare.startswith("-") and len(bare) > 1:
                negated, bare = True, bare[1:]
            prefix = bare.endswith("*")
            forms = [tuple(tokens(bare))]
        else:
            prefix, forms = False, phrase_forms(quoted)
        if not forms[0]:
            continue
        is_last = index == len(raw_terms) - 1
        if prefix_last and is_last and bare is not None and typing_a_word(text):
            prefix = True
        alternatives = [
            Term(
                form,
                prefix=prefix or ends_with_one_cjk(form),
                negated=negated,
                quoted=bare is None,
            )
            for form in forms
        ]
        if pending_or and not negated and groups and not groups[-1][0].negated:
            groups[-1].extend(alternatives)
        elif negated:
            groups.extend([term] for term in alternatives)  # each form excluded
        else:
            groups.append(alternatives)
        pending_or = False
        if sum(not (len(g) == 1 and g[0].is_stop_word) for g in groups) > MAX_TERMS:
            beyond = tuple(m.group(0) for m in raw_terms[index:])
            return SearchQuery(tuple(tuple(group) for group in groups[:-1]), beyond)
    telling = [g for g in groups if not (len(g) == 1 and g[0].is_stop_word)]
    kept = telling if any(not g[0].negated for g in telling) else groups
    return SearchQuery(tuple(tuple(group) for group in kept))


def parse_phrase(text: str) -> tuple[Term, ...]:
    """The whole text as one phrase, in each of its forms (phrase_forms): alternatives,
    the last word a prefix while typing (and one Chinese character always, as in
    parse_query). Empty when text holds no word."""
    text = typed_text(text[:MAX_QUERY_CHARS])
    typing = typing_a_word(text)
    forms = [form[:MAX_TERMS] for form in phrase_forms(text) if form]
    return tuple(Term(form, prefix=typing or ends_with_one_cjk(form)) for form in forms)
