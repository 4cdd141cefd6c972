"""A deterministic synthetic archive of N events, shaped like the real one.

    python -m benchmarks.corpus --events 100000 --out /tmp/corpus        # Markdown files
    python -m benchmarks.corpus --events 100000 --db /tmp/corpus.db      # straight into SQLite

Everything is drawn from ``benchmarks/profile.json`` (measured on ../shared/data by
``benchmarks/profile_data.py``) with one seed, so the same arguments always give the same
archive, byte for byte:

- headline and summary lengths, word frequencies (the sample's words by their counts, and a
  made-up Zipf tail so that a large archive has rare words too), sources per event with
  their publishers and cover images, the share of events with a summary, format variants
  (``Formats:`` preambles, ``### Source:``/``### Sources:``, ``### Changes:`` lists with older
  slugs, ``##### Story`` lines, HTML entities);
- entities per event, with a long tail: the head of the popularity curve is the sample's own
  (ranked counts of the Chinese edition, which is complete enough to have one), continued
  as Zipf s=1 up to one entity per 12 links, so at 1M events a few entities are in tens of
  thousands of events and the median one in a handful;
- stories: most events belong to a story (a cluster of core entities over a stretch of
  time), which is what makes Related items share 2-4 entities, as in the sample;
- Related lists of 5 or 10 (Chinese: 0-10) items whose contexts are the shared entities,
  ordered as each edition's generator did (English: most shared first, then the date path
  compared as text; Chinese: newest first). Items are the best of a bounded candidate pool
  (story neighbours and a few events of each entity), not of the whole archive: computing
  the exact rule for a million events is what the benchmark measures Chronicle doing;
- dates spread over 1990-2026 (later years a little busier), about 5% Chinese events
  (the Chinese edition's names and character bigrams) in ``news-zh/``;
- day ``index.md`` files listing every event of the day with its story, and its summary
  or, without one, its full ``_Context:_`` entity list (the Chinese edition lists neither).

Two outputs from one model: Markdown files in the archive layout (``news/YYYY/MM/D/<slug>.md``
and ``index.md``; ``news-zh/...``), and the very records parsing those files gives, imported
through ``Storage`` and ``EventRepository.import_batch`` in large batches (no files, no
parsing: for speed). Both go through files/records in the order ``chronicle import`` reads
them, so the two databases hold the same archive.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import datetime as dt
import hashlib
import html
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from bot.services.entities import apply_aliases
from storage import Storage, open_storage
from storage.keys import make_key
from storage.models import DayEntryRecord, PageRecord, RelatedRecord, SourceRecord

PROFILE_PATH = Path(__file__).with_name("profile.json")
# Bump when the output for a given spec changes: cached corpora are keyed by it.
GENERATOR_VERSION = 2

START = dt.date(1990, 1, 1)
END = dt.date(2026, 12, 31)
SLUG_LIMIT_EN = 140  # bot.ingest.archive.slugify's limits, repeated: the archive's layout
SLUG_LIMIT_ZH = 60

HEAD_WORD_SHARE = 0.75  # the sample's words carry 3/4 of the text, a made-up tail the rest
MAX_TAIL_WORDS = 300_000
LINKS_PER_ENTITY = 12  # entity count = links / 12: median entity in ~3 events at 1M
STORY_EVENTS = 25  # one story per 25 events
STORY_ZIPF_S = 0.8
CORE_INCLUDE = 0.8  # chance an event of a story names each of the story's core entities
STALE_LINK_FRACTION = 0.002  # Related links naming an older slug (README: "some"; unmeasured)
ANNOUNCED_PER_DAY = 300  # a day of feed entries, for the 'new' digests (see announced_pages)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    events: int
    seed: int = 1990
    zh_fraction: float = 0.05

    @property
    def name(self) -> str:
        return f"corpus-{self.events}-s{self.seed}-zh{self.zh_fraction:g}-v{GENERATOR_VERSION}"


class Sampler:
    """Integers from a histogram {value: count}."""

    def __init__(self, histogram: dict[str, int]):
        self.values = [int(v) for v in histogram]
        self.cum: list[float] = []
        total = 0.0
        for count in histogram.values():
            total += count
            self.cum.append(total)

    def __call__(self, rng: random.Random) -> int:
        return self.values[bisect.bisect(self.cum, rng.random() * self.cum[-1])]

    @property
    def mean(self) -> float:
        weights = [b - a for a, b in zip([0.0, *self.cum], self.cum, strict=False)]
        return sum(v * w for v, w in zip(self.values, weights, strict=True)) / self.cum[-1]


class Weighted:
    """Items drawn by weight (bisect over cumulative weights: fast for large lists)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]):
        self.items = list(items)
        self.cum: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            self.cum.append(total)

    def index(self, rng: random.Random) -> int:
        return bisect.bisect(self.cum, rng.random() * self.cum[-1])

    def __call__(self, rng: random.Random) -> Any:
        return self.items[self.index(rng)]

    def many(self, rng: random.Random, k: int) -> list[Any]:
        return rng.choices(self.items, cum_weights=self.cum, k=k)


def load_profile(path: Path = PROFILE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def slugify(headline: str, lang: str) -> str:
    """bot.ingest.archive.slugify, repeated here: the corpus is the archive generator's
    output, and must not change when Chronicle's parser does."""
    if lang == "zh":
        text = re.sub(r"[.,]", "", headline[:SLUG_LIMIT_ZH])
        text = re.sub(r"[\W_]", "-", text)
    else:
        text = "".join(ch if ord(ch) < 128 else "a" for ch in headline).lower()
        text = re.sub(r"[^a-z0-9]", "-", text)[:SLUG_LIMIT_EN]
    return re.sub(r"-+", "-", text).strip("-")


def day_path(date: dt.date) -> str:
    """YYYY/MM/D: the month padded, the day not (as the archive lays out folders)."""
    return f"{date.year:04d}/{date.month:02d}/{date.day}"


def _made_up_words(
    rng: random.Random, syllables: Sequence[str], count: int, taken: set[str]
) -> list[str]:
    words: list[str] = []
    attempts = 0
    while len(words) < count and attempts < count * 20:
        attempts += 1
        word = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        if 3 <= len(word) <= 16 and word not in taken:
            taken.add(word)
            words.append(word)
    return words


# --- the model ---------------------------------------------------------------------------


class _Language:
    """Everything one edition draws from: words, names, stories, sources."""

    def __init__(self, lang: str, profile: dict[str, Any], rng: random.Random, events: int):
        self.lang = lang
        en, zh = profile["en"], profile["zh"]
        self.entities_per_event = Sampler(en["entities_per_event"])
        links = max(1, round(events * self.entities_per_event.mean))
        self.entity_names, weights = self._entities(lang, profile, rng, links)
        self.entity_pick = Weighted(range(len(self.entity_names)), weights)
        mine = zh if lang == "zh" else en
        self.sources_per_event = Sampler(mine["sources_per_event"])
        self.cover_image = mine["cover_image_fraction"]
        self.publishers = Weighted(
            # As the parser will read them: wiki quote marks and entities already resolved.
            [
                (" ".join(html.unescape(name).replace("''", "").split()) or host, host)
                for name, host, _ in mine["publishers"]
            ],
            [n for _, _, n in mine["publishers"]],
        )
        self.image_hosts = en["image_hosts"]
        if lang == "zh":
            self.summary_fraction = zh["summary_fraction"]
            self.story_fraction = zh["story_fraction"]
            self.related_sizes = Sampler(zh["related_sizes"])
        else:
            self.summary_fraction = en["summary_fraction"]
            self.story_fraction = en["index_story_fraction"]
            self.related_sizes = Sampler(en["related"]["sizes"])

    @staticmethod
    def _entities(
        lang: str, profile: dict[str, Any], rng: random.Random, links: int
    ) -> tuple[list[str], list[float]]:
        """Names and popularity weights: the sample's ranked counts, then Zipf s=1."""
        shape = [count for _, count in profile["zh"]["entities"]]
        total = max(len(shape) // 4, links // LINKS_PER_ENTITY)
        if lang == "zh":
            head = [name for name, _ in profile["zh"]["entities"]]
        else:
            head = [name for name, _ in profile["en"]["entities"]]
        # The tail continues the head's curve from its last well-counted rank.
        anchor = max(1, len(shape) // 2)
        anchor_count = shape[anchor - 1]
        weights = [float(c) for c in shape[:total]]
        weights += [anchor_count * anchor / r for r in range(len(weights) + 1, total + 1)]
        names = list(head[:total])
        taken = {n.casefold() for n in names}
        make = _zh_name if lang == "zh" else _en_name
        model = _TextModel.get(profile)
        while len(names) < total:
            name = make(rng, model, len(names))
            if name.casefold() not in taken:
                taken.add(name.casefold())
                names.append(name)
        return names, weights


class _TextModel:
    """Words and character bigrams of the sample (shared by both editions)."""

    _cache: ClassVar[dict[int, _TextModel]] = {}

    def __init__(self, profile: dict[str, Any]):
        en, zh = profile["en"], profile["zh"]
        self.syllables = en["syllables"]
        self.head_words = [w for w, _ in en["words"]]
        self.head_counts = [float(n) for _, n in en["words"]]
        self.capitalised = [w for w in self.head_words if w[:1].isupper() and len(w) > 2]
        successors: dict[str, tuple[list[str], list[float]]] = {}
        for bigram, count in zh["bigrams"]:
            chars, cum = successors.setdefault(bigram[0], ([], []))
            chars.append(bigram[1])
            cum.append((cum[-1] if cum else 0.0) + count)
        self.successors = successors
        self.zh_starts = Weighted([b for b, _ in zh["starts"]], [n for _, n in zh["starts"]])
        self.zh_chars = [b[0] for b, _ in zh["bigrams"][:2000]]

    @classmethod
    def get(cls, profile: dict[str, Any]) -> _TextModel:
        key = id(profile)
        if key not in cls._cache:
            cls._cache[key] = cls(profile)
        return cls._cache[key]

    def zh_run(self, rng: random.Random, length: int) -> str:
        """Chinese text by a character Markov chain over the sample's bigrams."""
        text = self.zh_starts(rng)
        while len(text) < length:
            chars, cum = self.successors.get(text[-1], (None, None))
            if chars is None or cum is None or rng.random() < 0.08:
                text += rng.choice(self.zh_chars)
                continue
            text += chars[bisect.bisect(cum, rng.random() * cum[-1])]
        return text[:length]


def _en_name(rng: random.Random, model: _TextModel, serial: int) -> str:
    def word() -> str:
        return "".join(rng.choice(model.syllables) for _ in range(rng.choice((1, 2, 2, 3)))).title()

    kind = rng.random()
    if kind < 0.35:
        return f"{word()} {word()}"  # a person
    if kind < 0.55:
        return word() + rng.choice(("", "", " Province", " City", " River", " Island"))
    if kind < 0.75:
        return rng.choice(
            (
                f"{word()} {word()} Party",
                f"Ministry of {word()}",
                f"{word()} Liberation Front",
                f"{word()} Corporation",
                f"University of {word()}",
            )
        )
    if kind < 0.9:
        # Names with ", YYYY" are what splitting a Context list on ", " must not break.
        return f"{word()} general election, {rng.randint(1990, 2026)}"
    return f"{rng.randint(1990, 2026)} {word()} {rng.choice(('earthquake', 'floods', 'protests', 'crisis'))}"


def _zh_name(rng: random.Random, model: _TextModel, serial: int) -> str:
    base = model.zh_run(rng, rng.choice((2, 2, 3, 3, 4)))
    return base + rng.choice(("", "", "", "省", "市", "党", "公司", "大学", "事件", "选举"))


@dataclass(slots=True)
class _Story:
    name: str
    lang: str
    core: tuple[int, ...]
    center: int  # date ordinal
    span: int  # days
    members: list[int] = dataclasses.field(default_factory=list)  # by date


class Corpus:
    """The archive's skeleton (dates, headlines, keys, entities, stories) held in memory;
    pages, index files and records are made from it on demand, each from its own seed."""

    def __init__(
        self,
        spec: CorpusSpec,
        profile: dict[str, Any] | None = None,
        *,
        progress: Progress | None = None,
    ):
        self.spec = spec
        self.profile = profile or load_profile()
        self.model = _TextModel.get(self.profile)
        rng = random.Random(f"{spec.seed}:skeleton")
        n = spec.events
        n_zh = round(n * spec.zh_fraction) if n > 1 else 0
        self.langs = {
            "en": _Language("en", self.profile, rng, n - n_zh),
            "zh": _Language("zh", self.profile, rng, max(n_zh, 1)),
        }
        self._vocabulary(rng, n)
        en = self.profile["en"]
        self.headline_words = Sampler(en["headline_words"])
        self.headline_sentences = Sampler(en["headline_sentences"])
        self.summary_words = Sampler(en["summary_words"])
        self.zh_headline_chars = Sampler(self.profile["zh"]["headline_chars"])
        self.zh_summary_chars = Sampler(self.profile["zh"]["summary_chars"])

        self.lang: list[str] = []
        self.date: list[int] = []
        self.headline: list[str] = []
        self.key: list[str] = []
        self.entities: list[tuple[int, ...]] = []  # indices into the language's names
        self.story: list[int] = []  # index into self.stories, or -1
        self.stories: list[_Story] = []
        self._keys: set[str] = set()
        self._days_weight = self._day_weights()

        story_pickers = {
            lang: self._make_stories(rng, lang, n - n_zh if lang == "en" else n_zh)
            for lang in ("en", "zh")
        }
        for i in range(n):
            lang = "zh" if i >= n - n_zh else "en"
            self._event(rng, lang, story_pickers[lang])
            if progress and (i + 1) % 20_000 == 0:
                progress(i + 1, n)
        if progress:
            progress(n, n)
        self.postings: dict[tuple[str, int], list[int]] = {}
        for i, names in enumerate(self.entities):
            for e in names:
                self.postings.setdefault((self.lang[i], e), []).append(i)
        for story in self.stories:
            story.members.sort(key=lambda i: (self.date[i], i))
        for (lang, _), posting in self.postings.items():
            if lang == "zh":
                posting.sort(key=lambda j: (self.date[j], j))  # newest last, for related()
        self.days: dict[str, dict[int, list[int]]] = {"en": {}, "zh": {}}
        for i in range(n):
            self.days[self.lang[i]].setdefault(self.date[i], []).append(i)
        self._sorted_days = {lang: sorted(days) for lang, days in self.days.items()}

    # --- building the skeleton ----------------------------------------------------------

    def _vocabulary(self, rng: random.Random, events: int) -> None:
        heaps = self.profile["en"]["heaps"]
        tokens = events * (self.headline_words_mean() + 30)
        wanted = int(heaps["k"] * tokens ** heaps["beta"]) - len(self.model.head_words)
        tail = _made_up_words(
            rng,
            self.model.syllables,
            min(MAX_TAIL_WORDS, max(1000, wanted)),
            {w.lower() for w in self.model.head_words},
        )
        # The tail continues the head's ranks (Zipf s=1 from rank len(head) + 1), scaled so
        # that it carries HEAD_WORD_SHARE's complement of the text: its first words are about
        # as rare as the sample's rarest, not as common as "the".
        head_total = sum(self.model.head_counts)
        offset = len(self.model.head_words)
        harmonic = sum(1 / (offset + r) for r in range(1, len(tail) + 1))
        scale = head_total * (1 - HEAD_WORD_SHARE) / HEAD_WORD_SHARE / harmonic
        self.words = Weighted(
            self.model.head_words + tail,
            self.model.head_counts + [scale / (offset + r) for r in range(1, len(tail) + 1)],
        )
        self.tail_words = tail

    def headline_words_mean(self) -> float:
        return Sampler(self.profile["en"]["headline_words"]).mean

    def _day_weights(self) -> Weighted:
        """Every day of 1990-2026; later years a little busier (up to twice the events)."""
        first, last = START.toordinal(), END.toordinal()
        days = range(first, last + 1)
        return Weighted(days, [1.0 + (d - first) / (last - first) for d in days])

    def _make_stories(self, rng: random.Random, lang: str, events: int) -> Weighted | None:
        language = self.langs[lang]
        count = max(3, events // STORY_EVENTS)
        real = list(self.profile["en"]["stories"]) if lang == "en" else []
        weights = [1 / (r**STORY_ZIPF_S) for r in range(1, count + 1)]
        total = sum(weights)
        indices = []
        for rank in range(count):
            expected = events * language.story_fraction * weights[rank] / total
            core_size = rng.choice((3, 3, 4, 4, 5, 6))
            core = tuple(dict.fromkeys(language.entity_pick.index(rng) for _ in range(core_size)))
            name = real[rank] if rank < len(real) else language.entity_names[core[0]]
            center = self._days_weight(rng)
            span = int(min(7300, 20 + 4 * expected))
            indices.append(len(self.stories))
            self.stories.append(_Story(name, lang, core, center, span))
        return Weighted(indices, weights)

    def _event(self, rng: random.Random, lang: str, stories: Weighted | None) -> None:
        language = self.langs[lang]
        index = len(self.lang)
        story_index = -1
        if stories is not None and rng.random() < language.story_fraction:
            story_index = stories(rng)
        wanted = language.entities_per_event(rng)
        chosen: dict[int, None] = {}
        if story_index >= 0:
            story = self.stories[story_index]
            for e in story.core:
                if len(chosen) < wanted and rng.random() < CORE_INCLUDE:
                    chosen[e] = None
            date = story.center + rng.randint(-story.span // 2, story.span // 2)
            date = min(max(date, START.toordinal()), END.toordinal())
            story.members.append(index)
        else:
            date = self._days_weight(rng)
        for _ in range(wanted * 3):
            if len(chosen) >= wanted:
                break
            chosen[language.entity_pick.index(rng)] = None
        names = tuple(chosen)
        day = dt.date.fromordinal(date)
        headline = self._headline(rng, lang, names)
        key = make_key(day, slugify(headline, lang))
        serial = 2
        while key in self._keys or not key.rsplit("/", 1)[1]:
            headline = f"{headline.rstrip('.。')} ({serial})" + ("。" if lang == "zh" else ".")
            key = make_key(day, slugify(headline, lang))
            serial += 1
        self._keys.add(key)
        self.lang.append(lang)
        self.date.append(date)
        self.headline.append(headline)
        self.key.append(key)
        self.entities.append(names)
        self.story.append(story_index)

    def _sentence_words(self, rng: random.Random, count: int) -> list[str]:
        words = self.words.many(rng, count)
        for j in range(len(words)):
            if rng.random() < 0.02:
                words[j] = str(rng.choice((rng.randint(2, 500), rng.randint(1990, 2026))))
        return words

    def _headline(self, rng: random.Random, lang: str, entities: Sequence[int]) -> str:
        names = self.langs[lang].entity_names
        if lang == "zh":
            length = self.zh_headline_chars(rng)
            parts = [names[e] for e in entities[: rng.choice((1, 1, 2))]]
            text = "".join(parts) + self.model.zh_run(rng, max(2, length - sum(map(len, parts))))
            if rng.random() < self.profile["zh"]["latin_in_headline_fraction"]:
                cut = rng.randrange(1, len(text))
                text = text[:cut] + rng.choice(self.model.capitalised) + text[cut:]
            if len(text) > 12 and rng.random() < 0.5:
                cut = rng.randrange(4, len(text) - 4)
                text = text[:cut] + "，" + text[cut:]
            return text[: max(length, 6)] + "。"
        length = self.headline_words(rng)
        words = self._sentence_words(rng, length)
        shown = [names[e] for e in entities]
        if shown and rng.random() < self.profile["en"]["headline_names_fraction"]:
            for name in rng.sample(shown, min(len(shown), rng.choice((1, 1, 2)))):
                words.insert(rng.randrange(0, len(words) + 1), name)
        return _sentences(
            rng, words, self.headline_sentences(rng), self.profile["en"]["comma_per_word"]
        )

    # --- pages ---------------------------------------------------------------------------

    @property
    def events(self) -> int:
        return len(self.lang)

    def _rng(self, i: int, what: str) -> random.Random:
        return random.Random(f"{self.spec.seed}:{what}:{i}")

    def names_of(self, i: int) -> list[str]:
        names = self.langs[self.lang[i]].entity_names
        return [names[e] for e in self.entities[i]]

    def story_name(self, i: int) -> str | None:
        return self.stories[self.story[i]].name if self.story[i] >= 0 else None

    def date_of(self, i: int) -> dt.date:
        return dt.date.fromordinal(self.date[i])

    def summary(self, i: int) -> str:
        rng = self._rng(i, "summary")
        language = self.langs[self.lang[i]]
        if rng.random() >= language.summary_fraction:
            return ""
        if self.lang[i] == "zh" and rng.random() < self.profile["zh"]["summary_cjk_fraction"]:
            return self.model.zh_run(rng, self.zh_summary_chars(rng)) + "。"
        words = self._sentence_words(rng, self.summary_words(rng))
        return _sentences(rng, words, max(1, len(words) // 18), 0.05)

    def older_versions(self, i: int) -> list[tuple[str, str]]:
        """(headline, key) of the versions before the current one, if its page lists them."""
        rng = self._rng(i, "changes")
        if (
            self.lang[i] == "zh"
            or rng.random() >= self.profile["en"]["related"]["changes_fraction"]
        ):
            return []
        count = Sampler(self.profile["en"]["related"]["older_slugs"])(rng)
        versions: list[tuple[str, str]] = []
        words = self.headline[i].rstrip(".").split(" ")
        for _ in range(count):
            variant = list(words)
            for _ in range(rng.choice((1, 2))):
                variant[rng.randrange(len(variant))] = self.words(rng)
            headline = " ".join(variant) + "."
            key = make_key(self.date_of(i), slugify(headline, "en"))
            if key != self.key[i] and key not in {k for _, k in versions}:
                versions.append((headline, key))
        return versions

    def related(self, i: int) -> list[tuple[int, tuple[str, ...]]]:
        """(event, shared entity names) as the archive's Related list gives them."""
        rng = self._rng(i, "related")
        lang = self.lang[i]
        size = self.langs[lang].related_sizes(rng)
        mine = set(self.entities[i])
        if size == 0 or not mine:
            return []
        candidates: set[int] = set()
        if self.story[i] >= 0:
            members = self.stories[self.story[i]].members
            at = bisect.bisect_left(members, (self.date[i], i), key=lambda j: (self.date[j], j))
            candidates.update(members[max(0, at - 12) : at + 13])
            candidates.update(rng.choice(members) for _ in range(min(8, len(members))))
        for e in mine:
            posting = self.postings[(lang, e)]
            if lang == "zh":
                # Newest first only: the newest events of each entity are the candidates.
                candidates.update(posting[-size - 1 :])
            else:
                candidates.update(rng.choice(posting) for _ in range(min(4, len(posting))))
        candidates.discard(i)
        names = self.langs[lang].entity_names
        scored = []
        for j in candidates:
            shared = mine.intersection(self.entities[j])
            if shared:
                scored.append((j, tuple(sorted(names[e] for e in shared))))
        if lang == "zh":
            scored.sort(key=lambda item: (self.date[item[0]], self.key[item[0]]), reverse=True)
        else:
            # The English generator's order: shared count, then the date path as text.
            scored.sort(
                key=lambda item: (len(item[1]), day_path(self.date_of(item[0])), self.key[item[0]]),
                reverse=True,
            )
        return scored[:size]

    def draft(self, i: int) -> PageDraft:
        """Everything one event page says, in both forms (Markdown and record)."""
        rng = self._rng(i, "page")
        lang = self.lang[i]
        language = self.langs[lang]
        date = self.date_of(i)
        sources: list[tuple[str, str, str | None]] = []  # publisher, url, image url
        for n in range(language.sources_per_event(rng)):
            name, host = language.publishers(rng)
            slug = self.key[i].rsplit("/", 1)[1][:60] if lang == "en" else f"{i}-{n}"
            url = f"https://{host}/{date.year}/{date.month:02d}/{date.day:02d}/{slug}-{n}.html"
            image = None
            if n == 0 and rng.random() < language.cover_image:
                image = f"https://{rng.choice(language.image_hosts)}/img/{date.year}/{i}-{n}.jpg"
            sources.append((name, url, image))
        related = []
        for j, shared in self.related(i):
            key, headline = self.key[j], self.headline[j]
            if rng.random() < STALE_LINK_FRACTION:
                # A link naming an older slug: listed in the target's Changes (the import
                # folds it there) or nowhere (reconcile_stubs folds it by headline).
                older = self.older_versions(j) or [self._stale_version(j, rng)]
                headline, key = older[0]
            related.append((key, self.date_of(j), headline, shared))
        formats = self.profile["en"]["formats"]
        return PageDraft(
            index=i,
            key=self.key[i],
            lang=lang,
            date=date,
            headline=self.headline[i],
            summary=self.summary(i),
            story=self.story_name(i) if rng.random() < formats["page_story_line"] else None,
            sources=sources,
            related=related,
            changes=self.older_versions(i),
            formats_line=lang == "en" and rng.random() < formats["page_formats_line"],
            plural_sources=rng.random() < formats["plural_sources"],
            html_entities=rng.random() < formats["html_entity_fraction"],
        )

    def _stale_version(self, j: int, rng: random.Random) -> tuple[str, str]:
        if self.lang[j] == "zh":
            text = self.headline[j].rstrip("。")
            cut = rng.randrange(len(text))
            headline = text[:cut] + self.model.zh_run(rng, 1) + text[cut + 1 :] + "。"
        else:
            words = self.headline[j].rstrip(".").split(" ")
            words[rng.randrange(len(words))] = self.words(rng)
            headline = " ".join(words) + "."
        return headline, make_key(self.date_of(j), slugify(headline, self.lang[j]))

    # --- days ----------------------------------------------------------------------------

    def day_draft(self, lang: str, ordinal: int) -> DayDraft:
        rng = random.Random(f"{self.spec.seed}:day:{lang}:{ordinal}")
        events = self.days[lang][ordinal]
        # Events without a story first: a '#####' line sets the story of what follows it.
        events = sorted(
            events, key=lambda i: (self.story[i] >= 0, self.story_name(i) or "", self.key[i])
        )
        entries = []
        alphabetical = ordinal < dt.date(2017, 8, 1).toordinal()
        for i in events:
            summary = self.summary(i) if lang == "en" else ""
            names = self.names_of(i)
            context = (
                tuple(sorted(names) if alphabetical else names)
                if lang == "en" and not summary
                else ()
            )
            entries.append((i, self.story_name(i), summary, context))
        ordered = self._sorted_days[lang]
        at = bisect.bisect_left(ordered, ordinal)
        previous = ordered[at - 1] if at > 0 else ordinal - 1
        return DayDraft(
            lang=lang,
            date=dt.date.fromordinal(ordinal),
            previous=dt.date.fromordinal(previous),
            entries=entries,
            formats_line=lang == "en" and rng.random() < 0.3,
        )

    def file_order(self) -> Iterator[tuple[str, int, list[tuple[str, int | None]]]]:
        """(tree, day ordinal, [(file name, event or None for index.md)]) in the order
        ``chronicle import news news-zh`` reads them: tree by tree, then path parts as text
        (so day 10 comes before day 2), file names sorted within a day."""
        for lang, tree in (("en", "news"), ("zh", "news-zh")):
            days = sorted(self.days[lang], key=lambda d: _day_parts(dt.date.fromordinal(d)))
            for ordinal in days:
                files: list[tuple[str, int | None]] = [("index.md", None)]
                files += [
                    (self.key[i].rsplit("/", 1)[1] + ".md", i) for i in self.days[lang][ordinal]
                ]
                files.sort(key=lambda f: f[0])
                yield tree, ordinal, files

    # --- outputs -------------------------------------------------------------------------

    def write_markdown(self, root: Path, progress: Progress | None = None) -> int:
        """Write the archive under root (news/ and news-zh/); returns the number of files."""
        written = 0
        done = 0
        for tree, ordinal, files in self.file_order():
            folder = root / tree / day_path(dt.date.fromordinal(ordinal))
            folder.mkdir(parents=True, exist_ok=True)
            lang = "zh" if tree == "news-zh" else "en"
            for name, i in files:
                text = (
                    self.day_draft(lang, ordinal).markdown(self)
                    if i is None
                    else self.draft(i).markdown()
                )
                (folder / name).write_text(text, encoding="utf-8")
                written += 1
                if i is not None:
                    done += 1
                    if progress and done % 5000 == 0:
                        progress(done, self.events)
        if progress:
            progress(self.events, self.events)
        return written

    def records(self) -> Iterator[PageRecord | tuple[DayEntryRecord, ...]]:
        """What parsing the Markdown files gives, in the same order, without the files."""
        for tree, ordinal, files in self.file_order():
            lang = "zh" if tree == "news-zh" else "en"
            for _, i in files:
                yield (
                    self.day_draft(lang, ordinal).records(self)
                    if i is None
                    else self.draft(i).record()
                )

    async def write_database(
        self, storage: Storage, *, batch_pages: int = 5000, progress: Progress | None = None
    ) -> None:
        """Import the records straight through EventRepository.import_batch, in batches."""
        pages: list[PageRecord] = []
        days: list[DayEntryRecord] = []
        stubs: set[int] = set()
        done = 0

        async def flush() -> None:
            nonlocal pages, days
            outcome = await storage.events.import_batch(pages, days)
            stubs.update(outcome.created_incomplete - outcome.completed)
            pages, days = [], []

        for record in self.records():
            if isinstance(record, PageRecord):
                pages.append(record)
                if len(pages) >= batch_pages:
                    done += len(pages)
                    await flush()
                    if progress:
                        progress(done, self.events)
            else:
                days.extend(record)
        done += len(pages)
        await flush()
        # What import_archive does after its batches (kept in step with it: a test compares
        # the two databases): fold older-slug stubs, index what waits, apply aliases, pack
        # popular entities' events.
        await storage.events.reconcile_stubs(stubs)
        index_pending = getattr(storage.events, "index_pending", None)
        if index_pending is not None:
            await index_pending()
        await apply_aliases(storage)
        pack_postings = getattr(storage.events, "pack_postings", None)
        if pack_postings is not None:
            await pack_postings()
        if progress:
            progress(done, self.events)

    def describe(self) -> dict[str, Any]:
        """The shape of what was generated: what a reader of the results needs to know."""
        counts = sorted((len(p) for p in self.postings.values()), reverse=True)
        story_sizes = sorted((len(s.members) for s in self.stories), reverse=True)
        per_event = [len(e) for e in self.entities]
        return {
            "events": self.events,
            "zh_events": sum(1 for lang in self.lang if lang == "zh"),
            "days": len(self.days["en"]) + len(self.days["zh"]),
            "first": self.date_of(min(range(self.events), key=self.date.__getitem__)).isoformat()
            if self.events
            else None,
            "last": self.date_of(max(range(self.events), key=self.date.__getitem__)).isoformat()
            if self.events
            else None,
            "entities_used": len(counts),
            "entity_events_top5": counts[:5],
            "entity_events_median": counts[len(counts) // 2] if counts else 0,
            "entities_in_10k_plus_events": sum(1 for c in counts if c >= 10_000),
            "entities_per_event_mean": round(sum(per_event) / max(1, len(per_event)), 2),
            "stories": len(self.stories),
            "story_events_top3": story_sizes[:3],
            "vocabulary": len(self.words.items),
        }


def feed_pages(
    spec: CorpusSpec,
    day: dt.date,
    entity_names: Sequence[str],
    count: int = ANNOUNCED_PER_DAY,
    *,
    profile: dict[str, Any] | None = None,
    tag: str = "",
) -> list[PageRecord]:
    """A day of feed entries to announce (what 'new' digests cover), as a feed poll stores
    them: new events on `day`, announce set, tagged with entities the archive already has.

    entity_names should be drawn by popularity (e.g. random event_entities rows), so that
    the groups a 'new' digest makes look like a real day's.
    """
    profile = profile or load_profile()
    model = _TextModel.get(profile)
    rng = random.Random(f"{spec.seed}:feed:{day.isoformat()}:{tag}")
    words = Weighted(model.head_words, model.head_counts)
    per_event = Sampler(profile["en"]["entities_per_event"])
    pages = []
    for n in range(count):
        names = tuple(dict.fromkeys(rng.choice(entity_names) for _ in range(per_event(rng))))
        text = words.many(rng, rng.randint(8, 30))
        if names:
            text.insert(rng.randrange(len(text) + 1), names[0])
        headline = _sentences(rng, text, 1, 0.04)
        url = f"https://feeds.example/{day.isoformat()}/{tag}{n}"
        pages.append(
            PageRecord(
                key=make_key(day, f"feed-{tag}{n}-{slugify(headline, 'en')[:80]}"),
                date=day,
                headline=headline,
                story=names[0] if names and rng.random() < 0.4 else None,
                sources=(SourceRecord("Feed", url),),
                entities=names,
                origin="feed",
                announce=True,
            )
        )
    return pages


def _day_parts(date: dt.date) -> tuple[str, str, str]:
    return (f"{date.year:04d}", f"{date.month:02d}", str(date.day))


def _sentences(rng: random.Random, words: list[str], sentences: int, comma_rate: float) -> str:
    """Words -> text: capitalised sentences ending in '.', with the sample's comma rate."""
    if not words:
        return "News."
    sentences = max(1, min(sentences, len(words) // 4 or 1))
    cuts = sorted(rng.sample(range(1, len(words)), sentences - 1)) if sentences > 1 else []
    out: list[str] = []
    start = 0
    for end in [*cuts, len(words)]:
        chunk = words[start:end]
        if not chunk:
            continue
        chunk[0] = chunk[0][:1].upper() + chunk[0][1:]
        for j in range(len(chunk) - 1):
            if rng.random() < comma_rate:
                chunk[j] += ","
        out.append(" ".join(chunk) + ".")
        start = end
    return " ".join(out)


# --- one page in both forms -----------------------------------------------------------------


@dataclass(slots=True)
class PageDraft:
    index: int
    key: str
    lang: str
    date: dt.date
    headline: str
    summary: str
    story: str | None
    sources: list[tuple[str, str, str | None]]
    related: list[tuple[str, dt.date, str, tuple[str, ...]]]  # key, date, headline, shared
    changes: list[tuple[str, str]]  # older (headline, key), oldest first
    formats_line: bool
    plural_sources: bool
    html_entities: bool

    def _link(self, key: str) -> str:
        return ("/zh/news/" if self.lang == "zh" else "/news/") + key + ".md"

    def _detected_lang(self) -> str:
        # The parser tells a Chinese page by its headings and links; one with neither
        # sources nor related items reads as English (so the record must say so too).
        return "zh" if self.lang == "zh" and (self.sources or self.related) else "en"

    def markdown(self) -> str:
        zh = self.lang == "zh"
        path = day_path(self.date)
        lines: list[str] = []
        if self.formats_line:
            base = f"/news/{self.key}"
            lines += [
                "",
                f"Formats: [HTML]({base}.html)  [JSON]({base}.json)  [XML]({base}.xml)  ",
                "",
            ]
        lines += [
            f"### [{self.date.year}-{self.date.month:02d}-{self.date.day}](/news/{path}/index.md)",
            "",
        ]
        if self.story:
            lines.append(f"##### {self.story}")
        lines.append(f"# {self.headline} ")
        lines.append("")
        if self.summary:
            summary = self.summary
            if self.html_entities:
                summary = summary.replace("'", "&#x27;")  # the parser decodes it back
            lines += [summary, "", "", ""]
        else:
            lines += ["", "", "", ""]
        if self.sources:
            heading = "信息来源" if zh else ("Sources" if self.plural_sources else "Source")
            lines += [f"### {heading}:", ""]
            for n, (name, url, image) in enumerate(self.sources, start=1):
                if zh:
                    lines.append(f"{n}. [{name}]({url})" + (f" [IMG]({image})" if image else ""))
                else:
                    lines.append(f"{n}. [{name}]({url})")
                    if image:
                        lines.append(f"{n}. [Cover Image]({image})")
            lines.append("")
        if self.changes:
            lines += ["### Changes:", ""]
            for n, (headline, key) in enumerate(self.changes):
                stamp = f"{self.date.isoformat()} {8 + n:02d}:{17 * n % 60:02d}:05"
                note = "First version" if n == 0 else "Update"
                lines.append(f"1. [{headline} ]({self._link(key)}) _{stamp} ({note})_")
            lines.append(f"1. [{self.headline} ]({self._link(self.key)}) _(Current version)_")
            lines.append("")
        if self.related:
            lines += ["### 有关:" if zh else "### Related:", ""]
            word = "消息" if zh else "Context"
            for n, (key, _, headline, shared) in enumerate(self.related, start=1):
                lines.append(f"{n}. [{headline} ]({self._link(key)}) _{word}: {', '.join(shared)}_")
            lines.append("")
        return "\n".join(lines) + "\n"

    def record(self) -> PageRecord:
        sources: list[SourceRecord] = []
        for name, url, image in self.sources:
            sources.append(SourceRecord(name, url))
            if image:
                sources.append(SourceRecord("Cover Image", image, True))
        related: list[RelatedRecord] = []
        seen: set[str] = set()
        for key, date, headline, shared in self.related:
            if key not in seen:  # the parser keeps the first item naming a key
                seen.add(key)
                related.append(RelatedRecord(key=key, date=date, headline=headline, shared=shared))
        entities = tuple(dict.fromkeys(name for item in related for name in item.shared))
        return PageRecord(
            key=self.key,
            date=self.date,
            headline=self.headline,
            summary=self.summary,
            story=self.story,
            lang=self._detected_lang(),
            sources=tuple(sources),
            related=tuple(r for r in related if r.key != self.key),
            entities=entities,
            replaces=tuple(dict.fromkeys(k for _, k in self.changes if k != self.key)),
        )


@dataclass(slots=True)
class DayDraft:
    lang: str
    date: dt.date
    previous: dt.date
    entries: list[tuple[int, str | None, str, tuple[str, ...]]]  # event, story, summary, context
    formats_line: bool

    def markdown(self, corpus: Corpus) -> str:
        prefix = "/zh/news/" if self.lang == "zh" else "/news/"
        path = day_path(self.date)
        lines: list[str] = []
        if self.formats_line:
            lines += [
                f"Formats: [HTML]({path}/index.html)  [JSON]({path}/index.json)  [XML]({path}/index.xml)  ",
                "",
            ]
        lines += [
            f"## [{self.date.year}-{self.date.month:02d}-{self.date.day}]({prefix}{path}/index.md)",
            "",
        ]
        story: str | None = None
        for i, entry_story, summary, context in self.entries:
            if entry_story != story and entry_story is not None:
                lines.append(f"##### {entry_story}")
                story = entry_story
            lines.append(f"### [{corpus.headline[i]} ]({prefix}{corpus.key[i]}.md)")
            if summary:
                lines += [summary, ""]
            elif context:
                word = "消息" if self.lang == "zh" else "Context"
                lines += [f"_{word}: {', '.join(context)}_", ""]
            elif self.lang == "en":
                lines.append("")
        previous = "前一天..." if self.lang == "zh" else "Previous Day..."
        lines.append(f"## [{previous}]({prefix}{day_path(self.previous)}/index.md)")
        return "\n".join(lines) + "\n"

    def records(self, corpus: Corpus) -> tuple[DayEntryRecord, ...]:
        out = []
        story: str | None = None
        for i, entry_story, summary, context in self.entries:
            if entry_story is not None:
                story = entry_story
            out.append(
                DayEntryRecord(
                    key=corpus.key[i],
                    date=self.date,
                    headline=corpus.headline[i],
                    summary=summary or None,
                    entities=context,
                    story=story,
                    lang="zh" if self.lang == "zh" else "en",
                )
            )
        return tuple(out)


# --- caching ---------------------------------------------------------------------------------


def fingerprint(spec: CorpusSpec) -> str:
    """Changes whenever the generated archive would: the spec, the version, the profile."""
    digest = hashlib.sha256(PROFILE_PATH.read_bytes()).hexdigest()[:12]
    return f"{spec.name}-p{digest}"


def schema_fingerprint() -> str:
    """A digest of Chronicle's migrations (they are edited in place during development)."""
    digest = hashlib.sha256()
    for entry in sorted(resources.files("storage.sqlite.migrations").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            digest.update(entry.name.encode() + entry.read_bytes())
    return digest.hexdigest()[:12]


def ensure_markdown(
    spec: CorpusSpec, workdir: Path, progress: Progress | None = None, corpus: Corpus | None = None
) -> tuple[Path, dict[str, Any]]:
    """The corpus's Markdown tree under workdir, generated once (a marker file records a
    finished write, so an interrupted one is redone)."""
    root = workdir / fingerprint(spec) / "archive"
    marker = root / ".complete.json"
    if marker.exists():
        return root, json.loads(marker.read_text())
    corpus = corpus or Corpus(spec)
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    files = corpus.write_markdown(root, progress)
    meta = corpus.describe() | {"files": files}
    marker.write_text(json.dumps(meta, indent=1))
    return root, meta


async def ensure_database(
    spec: CorpusSpec, workdir: Path, progress: Progress | None = None, corpus: Corpus | None = None
) -> tuple[Path, dict[str, Any], float]:
    """The corpus imported straight into a database, built once: (path, shape, seconds the
    build took, 0 when it came from the cache)."""
    # Keyed by the schema too: a database built by older migrations is not this one.
    path = workdir / fingerprint(spec) / f"direct-{schema_fingerprint()}.db"
    marker = path.with_suffix(".complete.json")
    if marker.exists() and path.exists():
        return path, json.loads(marker.read_text()), 0.0
    if path.parent.exists():  # older schemas' databases: gigabytes at a million events
        for stale in path.parent.glob("direct-*"):
            stale.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    corpus = corpus or Corpus(spec)
    started = time.perf_counter()
    storage = await open_storage(path)
    try:
        await corpus.write_database(storage, progress=progress)
    finally:
        await storage.close()
    seconds = time.perf_counter() - started
    meta = corpus.describe() | {"seconds": seconds}
    marker.write_text(json.dumps(meta, indent=1))
    return path, meta, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1990)
    parser.add_argument("--zh-fraction", type=float, default=0.05)
    parser.add_argument("--out", type=Path, help="write the Markdown archive under this folder")
    parser.add_argument("--db", type=Path, help="import the corpus into this SQLite file")
    args = parser.parse_args(argv)
    if args.out is None and args.db is None:
        parser.error("say where: --out FOLDER and/or --db FILE")
    spec = CorpusSpec(args.events, args.seed, args.zh_fraction)

    def show(done: int, total: int) -> None:
        print(f"\r  {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    corpus = Corpus(spec, progress=show)
    print(f"\rmodel built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(corpus.describe(), indent=1))
    if args.out:
        files = corpus.write_markdown(args.out, show)
        print(f"\rwrote {files:,} files under {args.out}", file=sys.stderr)
    if args.db:

        async def build() -> None:
            async with await open_storage(args.db) as storage:
                await corpus.write_database(storage, progress=show)

        asyncio.run(build())
        print(f"\rimported into {args.db}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
