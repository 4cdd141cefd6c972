"""The corpus's raw material: the measured profile, weighted draws, made-up words and names."""

from __future__ import annotations

import bisect
import html
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

PROFILE_PATH = Path(__file__).with_name("profile.json")

LINKS_PER_ENTITY = 12  # entity count = links / 12: median entity in ~3 events at 1M


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
