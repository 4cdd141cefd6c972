"""Tagging a feed item with the known entities its headline and summary mention.

A feed item carries no entity links; :class:`EntityMatcher` finds the names (and aliases)
of the entities the archive knows in its text. The rules, measured by
``python -m benchmarks.tagging`` (figures in benchmarks/RESULTS.md):

Names
    Latin-script names are whole words, compared folded: case, accents, apostrophes
    ("Qa'im" = "Qaim") and hyphens ("Al-Qaeda" = "Al Qaeda" = "al-Qaeda") do not matter.
    Chinese and Japanese names are substrings, traditional and simplified characters
    alike (``storage.textindex.fold``). Short acronyms (US, UN, IT) must appear in capitals
    and one-word proper names (May, Amazon) capitalised, so that "us" or "may" tag nothing.
    One character (美) and bare numbers tag nothing.

Word forms
    A demonym or adjective tags its country ("Syrian refugees" -> Syria, "the Greek
    island" -> Greece), from the table shipped as ``bot/demonyms.tsv`` (its origin is in
    its header), capitalised. English plurals ("Syrians", "Houthi" for *Houthis*) and
    possessives ("Iran's", "Yemenis'") tag the name.

Longest name wins
    Matches are leftmost-longest and do not overlap ("New York City" tags that, not "New
    York"). A known name directly followed by a further capitalised word is part of a
    longer name the archive may not know ("United States Federal Reserve", "New York City
    Police"): it does not tag, unless the text names it elsewhere on its own ("Jr." and
    the like end a name, they do not extend it), or the capitalised words start a name the
    archive knows ("Russian President Vladimir Putin" is two names). A demonym that begins a longer unknown
    name ("Syrian Observatory for Human Rights") still tags its country; one that begins a
    longer *known* name ("Syrian army") does not: the archive links the army, not the
    country (measured: benchmarks/FINDINGS.md).

Generic words
    Some entity names are common words ("murder", "girl", "prisoner", 警察): the archive's
    headlines hold them as words far more often than they link them (at least 3 times,
    and link at most one mention in five). Such a *generic* name tags only when written
    capitalised, not first in the text, and on its own (not inside a longer capitalised name, as
    "Jr." always is); in Chinese, never. An alias is an explicit name and always tags.
    Whether a name is generic is learnt from the archive (:func:`generic_verdict` over
    ``storage.entities.headline_mentions``), once per name, by whoever builds the matcher
    (``judge``); a name not judged yet is not generic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal, Protocol

from storage.textindex import CJK_RUN, fold, has_cjk

Kind = Literal["name", "alias", "demonym"]

# A word, apostrophes inside it included ("Qa'im", "Iran's"); a hyphen separates words.
_WORD: Final = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*'?")
_APOSTROPHES: Final = re.compile(r"['’ʼ]")
# What may stand between two words of one name: "New York", "Al-Qaeda".
_JOINING: Final = frozenset({" ", "-", ""})
# Lower-case words that may sit inside a longer capitalised name ("Islamic State of Iraq").
CONNECTORS: Final = frozenset(
    {"of", "for", "the", "and", "on", "de", "du", "des", "al", "el", "bin", "ibn", "von", "van"}
)
# A generic name is one the archive's headlines hold, without linking it, at least this
# many times, and link at most this share of the times they hold it (generic_verdict).
GENERIC_MIN_UNLINKED: Final = 3
GENERIC_MAX_LINKED: Final = 0.2
# Capitalised words that end a person's name rather than begin a longer one.
NAME_SUFFIXES: Final = frozenset({"jr", "sr", "ii", "iii", "iv"})


@functools.lru_cache(maxsize=1 << 17)
def _word_key(word: str) -> tuple[str, bool]:
    """A word as names are compared: folded, without apostrophes or a possessive ending
    ("Iran's" -> "iran", "Qa'im" -> "qaim"); and whether it had a possessive ending.
    Words repeat across headlines, summaries and names: folding (NFKD) is the slow part."""
    possessive = False
    if word[-1:] in "'’ʼ":
        word, possessive = word[:-1], True  # "Yemenis'"
    elif len(word) > 2 and word[-2:-1] in "'’ʼ" and word[-1:] in "sS":
        word, possessive = word[:-2], True  # "Iran's"
    if "'" in word or "’" in word or "ʼ" in word:
        word = _APOSTROPHES.sub("", word)
    return fold(word), possessive


# A word of a text: (as written, its key (_word_key), whether only spaces or a hyphen stand
# between it and the word before). A tuple: a text has dozens, made for every item polled.
_Word = tuple[str, str, bool]


def _words(text: str) -> list[_Word]:
    """The Latin-script words of a text; CJK runs are cut out (they are matched as
    substrings), so "Trump访华" still has the word "Trump"."""
    words: list[_Word] = []
    append = words.append
    cjk = has_cjk(text)
    end = 0
    for match in _WORD.finditer(text):
        joined = text[end : match.start()] in _JOINING and end > 0
        end = match.end()
        token = match.group()
        if cjk and has_cjk(token):
            for part, piece in enumerate(CJK_RUN.split(token)):
                if piece:
                    key = _word_key(piece)[0]
                    if key:
                        append((piece, key, joined and part == 0))
            continue
        key = _word_key(token)[0]
        if key:
            append((token, key, joined))
    return words


def _capitalised(word: str) -> bool:
    return word[:1].isupper() or word[:1].isdigit()


def _case_rule(word: str, single_word: bool) -> str | None:
    """What a word of a name requires of the text's word: 'upper', 'capital' or nothing."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) >= 2 and all(ch.isupper() for ch in letters):
        # US, UN, IT must be written so; NATO, ISIS may also be written Nato, Isis.
        return "upper" if len(word) <= 3 else "capital"
    if single_word and word[:1].isupper():
        return "capital"  # May, Amazon: a proper noun, not the word "may"
    return None


def _satisfies(rule: str | None, word: str) -> bool:
    if rule is None:
        return True
    if rule == "upper":
        return all(ch.isupper() for ch in word if ch.isalpha())
    return word[:1].isupper()


def _singulars(key: str) -> tuple[str, ...]:
    """What a plural-looking word may be the plural of: "syrians" -> "syrian"."""
    if len(key) < 4 or not key.endswith("s") or key.endswith("ss"):
        return ()
    if key.endswith("ies"):
        return (key[:-3] + "y", key[:-1])
    if key.endswith("es"):
        return (key[:-1], key[:-2])
    return (key[:-1],)


# --- demonyms --------------------------------------------------------------------------


def default_demonym_file() -> Path:
    return Path(str(resources.files("bot") / "demonyms.tsv"))


@functools.cache
def demonym_table(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Folded country name (any of its names) -> its demonyms, from ``bot/demonyms.tsv``."""
    table: dict[str, list[str]] = {}
    for line in (path or default_demonym_file()).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        demonym, *countries = (part.strip() for part in line.split("\t"))
        for country in countries:
            if country:
                table.setdefault(fold(country), []).append(demonym)
    return {country: tuple(demonyms) for country, demonyms in table.items()}


def demonyms_of(name: str) -> tuple[str, ...]:
    """The demonyms of a country known by this name ("Syria" -> "Syrian"); () otherwise."""
    return demonym_table().get(fold(name), ())


# --- generic names ---------------------------------------------------------------------


class Mention(Protocol):
    """A headline holding a name (storage.entities.HeadlineMention)."""

    @property
    def headline(self) -> str: ...

    @property
    def linked(self) -> bool: ...


def word_use(name: str, headline: str) -> bool:
    """Whether a headline holds the name as a common word: in Chinese, at all; in Latin
    script, in lower case or inside a longer capitalised name ("Andal Ampatuan Jr.")."""
    if has_cjk(name):
        return fold(name) in fold(headline)
    name_keys = [w[1] for w in _words(name)]
    if not name_keys:
        return False
    words = _words(headline)
    size = len(name_keys)
    for i in range(len(words) - size + 1):
        if [w[1] for w in words[i : i + size]] != name_keys:
            continue
        span = words[i : i + size]
        if not all(_capitalised(w[0]) for w in span if w[1] not in CONNECTORS):
            return True
        if _inside_longer_name(words, i, i + size):
            return True
    return False


def generic_from_counts(unlinked_word_uses: int, linked: int) -> bool:
    """The rule of generic_verdict, on its counts."""
    return unlinked_word_uses >= GENERIC_MIN_UNLINKED and linked <= GENERIC_MAX_LINKED * (
        linked + unlinked_word_uses
    )


def generic_verdict(name: str, mentions: Iterable[Mention]) -> bool:
    """Whether a name is a common word by the archive's own use of it: its headlines hold
    it as a word (word_use) without linking it at least GENERIC_MIN_UNLINKED times, and
    link it at most one time in five (GENERIC_MAX_LINKED)."""
    unlinked = linked = 0
    for mention in mentions:
        if mention.linked:
            linked += 1
        elif word_use(name, mention.headline):
            unlinked += 1
    return generic_from_counts(unlinked, linked)


def _inside_longer_name(words: Sequence[_Word], start: int, end: int) -> bool:
    """Whether words[start:end] has a capitalised word joined to it on either side."""
    if end < len(words) and words[end][2] and _capitalised(words[end][0]):
        return True
    if start > 0 and words[start][2]:
        before = words[start - 1]
        return _capitalised(before[0]) and before[1] not in CONNECTORS
    return False


def _extends_right(words: Sequence[_Word], end: int) -> bool:
    """Whether a capitalised word (not a connector) follows words[:end] directly: the
    name ending there is the start of a longer one ("United States Federal Reserve")."""
    if end >= len(words):
        return False
    following = words[end]
    return (
        following[2]
        and _capitalised(following[0])
        and following[1] not in CONNECTORS
        and following[1] not in NAME_SUFFIXES
    )


# --- the matcher -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WordName:
    keys: tuple[str, ...]
    rules: tuple[str | None, ...]
    name: str  # the folded name judged generic or not
    canonical: str
    kind: Kind
    events: int


@dataclass(frozen=True, slots=True)
class _CjkName:
    folded: str
    canonical: str
    kind: Kind
    events: int


class EntityMatcher:
    """Finds known entity names (and aliases) in text, fast enough for ~100k names.

    Latin-script names are whole words. One-word names are found by one dict lookup per
    word of the text; longer names by the lengths of the names that start with the text's
    next two words, then one lookup per length: a common start ("United States", "New
    York") does not make every mention of it compare against hundreds of names. CJK names
    are substrings, indexed by their first three characters (two for two-character names).
    Built once (``add_many``) and extended with what is new; ``canonical`` lets an alias
    tag the entity it stands for. The module's docstring has the rules.
    """

    def __init__(self, demonyms: Mapping[str, Sequence[str]] | None = None) -> None:
        self._single: dict[str, list[_WordName]] = {}
        # Longer names: the lengths of those starting with a pair of words, longest first;
        # and the names by all their words.
        self._multi_sizes: dict[tuple[str, str], list[int]] = {}
        self._multi: dict[tuple[str, ...], list[_WordName]] = {}
        self._cjk2: dict[str, list[_CjkName]] = {}
        self._cjk3: dict[str, list[_CjkName]] = {}
        self._dirty_single: set[str] = set()
        self._dirty_multi: set[tuple[str, ...]] = set()
        self._dirty_cjk: set[str] = set()
        self._known: set[tuple[str, str]] = set()
        self._demonyms = demonym_table() if demonyms is None else demonyms
        self._generic: dict[str, bool] = {}
        self.last_entity_id = 0  # the newest entity row loaded (see FeedService)

    def __len__(self) -> int:
        return len(self._known)

    def add(self, name: str, canonical: str | None = None, *, events: int = 0) -> None:
        """A name that tags ``canonical`` (itself by default); ``events``: how many events
        the entity has, which decides between two entities whose names fold alike."""
        name = " ".join(name.split())
        canonical = canonical or name
        kind: Kind = "alias" if fold(name) != fold(canonical) else "name"
        self._add(name, canonical, kind, events)
        for demonym in self._demonyms.get(fold(name), ()):
            self._add(demonym, canonical, "demonym", events)

    def _add(self, name: str, canonical: str, kind: Kind, events: int) -> None:
        folded_name = fold(name)
        if not folded_name or (folded_name, canonical) in self._known:
            return
        if has_cjk(name):
            # One character (美, 日) would tag nearly everything.
            if len(folded_name) < 2:
                return
            self._known.add((folded_name, canonical))
            cjk = _CjkName(folded_name, canonical, kind, events)
            if len(folded_name) == 2:
                self._cjk2.setdefault(folded_name, []).append(cjk)
                self._dirty_cjk.add(folded_name)
            else:
                prefix = folded_name[:3]
                self._cjk3.setdefault(prefix, []).append(cjk)
                self._dirty_cjk.add(prefix)
            return
        words = _words(name)
        if not words:
            return
        if len(words) == 1 and (len(words[0][1]) < 2 or words[0][1].isdigit()):
            return  # "A", "124": numbers and letters are not names in running text
        self._known.add((folded_name, canonical))
        single = len(words) == 1
        entry = _WordName(
            keys=tuple(w[1] for w in words),
            rules=tuple(
                "capital" if kind == "demonym" else _case_rule(w[0], single) for w in words
            ),
            name=folded_name,
            canonical=canonical,
            kind=kind,
            events=events,
        )
        if single:
            key = entry.keys[0]
            self._single.setdefault(key, []).append(entry)
            self._dirty_single.add(key)
            # "Houthis" is also written "Houthi" ("Houthi rebels"), "Philippines" "Philippine".
            if kind != "demonym" and len(key) >= 5 and _singulars(key)[:1] == (key[:-1],):
                self._single.setdefault(key[:-1], []).append(entry)
                self._dirty_single.add(key[:-1])
        else:
            sizes = self._multi_sizes.setdefault((entry.keys[0], entry.keys[1]), [])
            if len(entry.keys) not in sizes:
                sizes.append(len(entry.keys))
                sizes.sort(reverse=True)
            self._multi.setdefault(entry.keys, []).append(entry)
            self._dirty_multi.add(entry.keys)

    def add_many(self, names: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        for name in names:
            self.add(name)
        for alias, canonical in (aliases or {}).items():
            self.add(alias, canonical)

    # --- generic names ---------------------------------------------------------------

    def judge(self, name: str, generic: bool) -> None:
        """Record whether a name is a common word (see generic_verdict)."""
        self._generic[fold(name)] = generic

    def judged(self, name: str) -> bool:
        return fold(name) in self._generic

    def _is_generic(self, name: str, kind: Kind, unjudged: list[str] | None) -> bool:
        if kind != "name":
            return False  # an alias is explicit; a demonym is capitalised and stands alone
        verdict = self._generic.get(name)
        if verdict is None:
            if unjudged is not None:
                unjudged.append(name)
            return False
        return verdict

    # --- finding ---------------------------------------------------------------------

    def _sort_dirty(self) -> None:
        # The first name that fits at a position wins: of one-word names that fold alike,
        # the name itself before a demonym, then the most events; of longer names (their
        # lengths tried longest first) and of Chinese ones, the longest, then the most events.
        order = {"name": 0, "alias": 1, "demonym": 2}
        for key in self._dirty_single:
            self._single[key].sort(key=lambda n: (order[n.kind], -n.events, n.canonical))
        for keys in self._dirty_multi:
            self._multi[keys].sort(key=lambda n: (-n.events, n.canonical))
        for prefix in self._dirty_cjk:
            table = self._cjk3 if prefix in self._cjk3 else self._cjk2
            table[prefix].sort(key=lambda n: (-len(n.folded), -n.events, n.canonical))
        self._dirty_single.clear()
        self._dirty_multi.clear()
        self._dirty_cjk.clear()

    def find(self, *texts: str, unjudged: list[str] | None = None) -> list[str]:
        """Canonical names mentioned in the texts, in order of first mention, each once.
        ``unjudged`` collects the names used as common words whose verdict is unknown
        (they tag, for now): judge them and find again."""
        self._sort_dirty()
        found: dict[str, str] = {}
        for text in texts:
            if not text:
                continue
            for name in self._find_words(text, unjudged):
                found.setdefault(fold(name), name)
            if (self._cjk2 or self._cjk3) and has_cjk(text):
                for name in self._find_cjk(fold(text), unjudged):
                    found.setdefault(fold(name), name)
        return list(found.values())

    def _find_words(self, text: str, unjudged: list[str] | None) -> list[str]:
        words = _words(text)
        out: list[str] = []
        i = 0
        match = self._name_at(words, 0) if words else None
        while i < len(words):
            if match is None:
                i += 1
                match = self._name_at(words, i) if i < len(words) else None
                continue
            end = i + len(match.keys)
            # The name that follows decides this one's (_tags), then is the next match.
            following = self._name_at(words, end) if end < len(words) else None
            if self._tags(match, words, i, end, unjudged, followed_by_name=following is not None):
                out.append(match.canonical)
            i, match = end, following
        return out

    def _name_at(self, words: list[_Word], i: int) -> _WordName | None:
        """The longest known name written at words[i:], if any."""
        key = words[i][1]
        if i + 1 < len(words):
            for size in self._multi_sizes.get((key, words[i + 1][1]), ()):
                if i + size > len(words):
                    continue
                keys = tuple(w[1] for w in words[i : i + size])
                match = next(
                    (n for n in self._multi.get(keys, ()) if self._cased(n, words, i)), None
                )
                if match is not None:
                    return match
        return self._single_at(words, i, key)

    def _single_at(self, words: list[_Word], i: int, key: str) -> _WordName | None:
        for name in self._single.get(key, ()):
            if self._cased(name, words, i):
                return name
        if key[-1] != "s":
            return None
        for singular in _singulars(key):  # "Syrians", "Kurds", "Americans"
            for name in self._single.get(singular, ()):
                if self._cased(name, words, i):
                    return name
        return None

    def _tags(
        self,
        name: _WordName,
        words: list[_Word],
        start: int,
        end: int,
        unjudged: list[str] | None,
        *,
        followed_by_name: bool,
    ) -> bool:
        """Whether a name found at words[start:end] tags: not the start of a longer
        capitalised name (unless a known name follows), and, if a common word, written as
        a name on its own."""
        if name.kind == "demonym":
            return True
        if _extends_right(words, end) and not followed_by_name:
            return False
        span = words[start:end]
        as_written = all(_capitalised(w[0]) for w in span if w[1] not in CONNECTORS)
        # A headline's first word is capitalised whatever it is ("Murder charges ...").
        if as_written and start > 0 and not _inside_longer_name(words, start, end):
            return True
        return not self._is_generic(name.name, name.kind, unjudged)

    @staticmethod
    def _cased(name: _WordName, words: list[_Word], start: int) -> bool:
        return all(_satisfies(rule, words[start + k][0]) for k, rule in enumerate(name.rules))

    def _find_cjk(self, folded_text: str, unjudged: list[str] | None) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(folded_text) - 1:
            step = 1
            candidates = [
                *self._cjk3.get(folded_text[i : i + 3], ()),
                *self._cjk2.get(folded_text[i : i + 2], ()),
            ]
            for name in candidates:
                if folded_text.startswith(name.folded, i):
                    if not self._is_generic(name.folded, name.kind, unjudged):
                        out.append(name.canonical)
                    step = len(name.folded)
                    break
            i += step
        return out
