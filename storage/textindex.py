"""Text preparation for the full-text index and for name matching.

Chinese is read in simplified characters wherever texts are compared (folded names, index
tokens, searches): the archive's Chinese edition writes some names both ways (蘋果公司,
苹果公司), and they are one name.

FTS5's unicode61 tokenizer splits on spaces and punctuation, which Chinese and Japanese do
not use between words: a whole clause would become one token and a search for 叙利亚 would
find nothing. So before text reaches the index, every run of CJK characters is rewritten as
its overlapping bigrams plus its last character (叙利亚军 -> "叙利 利亚 亚军 军"). A query is
rewritten the same way and searched as a phrase, which matches exactly where the characters
are adjacent in the text; a one-character query matches as a prefix of the bigrams or as the
final unigram. All text is folded first (fold_text), so every backend's index holds the same
tokens: SQLite's unicode61 tokenizer only splits what it is given.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from fractions import Fraction
from functools import cache, lru_cache
from itertools import pairwise
from typing import Final

import opencc

# Han (incl. extensions and compatibility ideographs), kana and Hangul syllables.
_CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0002ffff"  # extensions B and later
)
CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_RANGES}])\\s+(?=[{_CJK_RANGES}])")
_WORD = re.compile(r"[^\W_]+")
_SUPPLEMENTARY = re.compile("[\U00010000-\U0010ffff]")
# ASCII letters and digits kept, every other byte a space (_ascii_words).
_ASCII_WORD_BYTES = bytes(b if chr(b).isascii() and chr(b).isalnum() else 0x20 for b in range(256))


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def cjk_tokens(run: str) -> list[str]:
    """Bigrams of a CJK run plus its last character: what the index holds for it."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def join_cjk_words(text: str) -> str:
    """Text without the spaces between two Chinese (or Japanese) characters: "中国 政府" ->
    "中国政府". People space words apart in a query; the archive's Chinese runs them
    together (such a space is rare in its Chinese edition)."""
    return _SPACE_BETWEEN_CJK.sub("", text)


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Chinese in simplified characters (OpenCC's t2s): 蘋果公司 -> 苹果公司. Names, index
    tokens and searches meet in one script, so either spelling finds the other."""
    return _to_simplified().convert(text) if has_cjk(text) else text


def segment_for_index(text: str | None) -> str:
    """Text as the full-text index takes it, on every backend: folded (fold_text), Chinese
    and Japanese runs as bigrams, and no word longer than MAX_TOKEN_CHARS (cut_long_words).
    SQLite's tokenizer then only splits it on spaces and punctuation."""
    if not text:
        return ""
    text = fold_text(text)
    if has_cjk(text):
        text = CJK_RUN.sub(lambda m: " " + " ".join(cjk_tokens(simplified(m.group(0)))) + " ", text)
    return cut_long_words(text)


# The longest word the index holds (and a query looks for): the rest of a longer run of
# letters is left out. Thai, Lao, Khmer and Burmese write a clause without spaces, one run
# of hundreds of letters, longer than a PostgreSQL lexeme may be (2,047 bytes).
MAX_TOKEN_CHARS: Final = 64
_LONG_WORD = re.compile(f"[^\\W_]{{{MAX_TOKEN_CHARS + 1},}}")


def cut_long_words(text: str) -> str:
    """Text with every word longer than MAX_TOKEN_CHARS cut to its first letters (Chinese
    and Japanese runs already cut into bigrams)."""
    if len(text) <= MAX_TOKEN_CHARS:
        return text
    return _LONG_WORD.sub(lambda m: m.group(0)[:MAX_TOKEN_CHARS], text)


@cache
def _combining_marks() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Every combining character (the accents NFKD splits off letters) as classes of
    ranges, those of the first 65,536 code points and the rest: removing them is then a
    regex pass, much faster than a loop in Python (search checks hundreds of texts),
    and the second class, slow to test, is only needed for the rare text with such
    characters. Built once, on first use, as it takes a moment."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if ranges and code == ranges[-1][1] + 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])

    def pattern(selected: list[list[int]]) -> re.Pattern[str]:
        return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in selected) + "]+")

    return pattern([r for r in ranges if r[0] <= 0xFFFF]), pattern(
        [r for r in ranges if r[0] > 0xFFFF]
    )


@cache
def query_word() -> re.Pattern[str]:
    """A word of typed text as the index finds it once folded: letters and digits, with the
    combining marks folding removes (Thai vowel signs, a Hindi virama) inside it, not
    between two words (กรุงเทพ is one word, as กรงเทพ is in the index)."""
    basic, supplementary = _combining_marks()
    marks = basic.pattern[:-2] + supplementary.pattern[1:-1]  # one class of both ranges
    return re.compile(f"[^\\W_](?:[^\\W_]|{marks})*")


# The dots written between the parts of a name (唐納·川普; 唐納‧川普 in Taiwan; a Big5 feed's
# •): one dot when folded. All are punctuation to the index, so its words do not change
# (Japanese ・ is not among them: the index reads it as katakana). Migrations SQLite 0017 and
# PostgreSQL 0012 fold stored names so; they list the same characters.
INTERPUNCTS: Final = "‧•∙⋅"
_ONE_INTERPUNCT: Final = dict.fromkeys(map(ord, INTERPUNCTS), ord("·"))


def fold_text(text: str) -> str:
    """Case- and accent-insensitive form of a text: 'Erdoğan' and 'erdogan' fold alike, and
    so do a name's dots (INTERPUNCTS), 'Straße' and 'strasse', 'Αθήνα' and 'αθηνα', and
    fullwidth forms and plain ones ('ＧＤＰ', '５'). Names are compared so, and the index of
    every backend holds text so (segment_for_index)."""
    if text.isascii():
        return " ".join(text.lower().split())
    text = text.translate(_ONE_INTERPUNCT)
    decomposed = unicodedata.normalize("NFKD", simplified(text).casefold())
    basic, supplementary = _combining_marks()
    stripped = basic.sub("", decomposed)
    if _SUPPLEMENTARY.search(stripped):
        stripped = supplementary.sub("", stripped)
    # Composed again: NFKD splits a Hangul syllable into letters (jamo), which no index
    # reads as Korean; composed, 대검찰청 is a run of syllables, cut into bigrams as Chinese is.
    return " ".join(unicodedata.normalize("NFC", stripped).split())


fold = lru_cache(maxsize=1 << 17)(fold_text)  # names repeat across millions of links


def headline_tokens(headline: str) -> frozenset[str]:
    """The folded words of a headline; Chinese and Japanese runs as character bigrams."""
    folded = fold(headline)
    if folded.isascii():
        return frozenset(_ascii_words(folded))
    tokens: set[str] = set()
    for word in _WORD.findall(folded):
        pos = 0
        for run in CJK_RUN.finditer(word):
            if run.start() > pos:
                tokens.add(word[pos : run.start()])
            chars = run.group(0)
            # Bigrams only: the trailing unigram the search index adds says nothing here.
            tokens.update(cjk_tokens(chars)[:-1] if len(chars) > 1 else [chars])
            pos = run.end()
        if pos < len(word):
            tokens.add(word[pos:])
    return frozenset(tokens)


def _ascii_words(text: str) -> list[str]:
    """_WORD.findall(text) for ASCII text, faster: headlines are split for every
    event imported."""
    return text.encode().translate(_ASCII_WORD_BYTES).decode().split()


# Two headlines whose folded-token Jaccard is at least this tell the same story (feeds join
# such an event; the portal's rule uses it across days and for feeds' events).
NEAR_DUPLICATE = Fraction(4, 5)


def any_script(text: str) -> bool:
    """Whether text is in Chinese (or Japanese) and in another alphabet both, or in neither
    (digits): a suggestion in any script suits it."""
    return has_cjk(text) == any(c.isalpha() and not has_cjk(c) for c in text)


def same_script(typed: str, suggestion: str) -> bool:
    """Whether a suggestion is written as the typed text is: Chinese (or Japanese) for a
    Chinese query, no Chinese for a Latin one (an English name is no help to someone
    typing Chinese, nor a Chinese headline that quotes two English words)."""
    return any_script(typed) or has_cjk(suggestion) == has_cjk(typed)


def at_least_as_similar(a: frozenset[str], b: frozenset[str], threshold: Fraction) -> bool:
    """Whether the Jaccard index of a and b (0 for two empty sets) is at least threshold,
    in integers. Sizes too far apart are ruled out first: the index is at most the smaller
    size over the larger."""
    num, den = threshold.numerator, threshold.denominator
    small, large = sorted((len(a), len(b)))
    if not large or small * den < num * large:
        return False
    return len(a & b) * den >= num * len(a | b)


# What separates two runs of words in word_pairs(): a token no pair can be, so that a phrase
# of pairs never spans a break ("a b 中文 b c" must not hold "a b c").
PAIR_BREAK = "_"


def word_pairs(text: str | None) -> str:
    """Each two words that follow each other in a text, as one token ("syria_ministry"),
    for the headline_pairs index (migration 0008). Words in a row in a headline are then
    a phrase of pairs there: a few rare tokens, found at once, where the same phrase in
    event_search means walking every event holding each of its words. Chinese and
    Japanese runs break the chain (their bigrams already are pairs). Words are cut as the
    index cuts them (cut_long_words)."""
    if not text:
        return ""
    folded = fold_text(text)
    tokens: list[str] = []
    for chain in [folded] if folded.isascii() else CJK_RUN.split(folded):
        chain = cut_long_words(chain)
        words = _ascii_words(chain) if chain.isascii() else _WORD.findall(chain)
        if len(words) > 1:
            if tokens:
                tokens.append(PAIR_BREAK)
            tokens.extend(map("_".join, pairwise(words)))
    return " ".join(tokens)


def period_tokens(date: str) -> str:
    """The event_search `period` column for a date: its year and its month as words
    (2017-06-16 -> "y2017 m201706"), so that a search within dates is an intersection of
    doclists in FTS5, not a walk over every match of a common word."""
    return f"y{date[:4]} m{date[:4]}{date[5:7]}"
