"""The synthetic archive held in memory, and the Markdown files and records made from it."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.corpus_pages import DayDraft, PageDraft, _day_parts, day_path, slugify
from benchmarks.corpus_text import (
    Sampler,
    Weighted,
    _Language,
    _made_up_words,
    _sentences,
    _TextModel,
    load_profile,
)
from bot.services.entities import apply_aliases
from storage import Storage
from storage.keys import make_key
from storage.models import DayEntryRecord, PageRecord

# Bump when the output for a given spec changes: cached corpora are keyed by it.
GENERATOR_VERSION = 2

START = dt.date(1990, 1, 1)
END = dt.date(2026, 12, 31)

HEAD_WORD_SHARE = 0.75  # the sample's words carry 3/4 of the text, a made-up tail the rest
MAX_TAIL_WORDS = 300_000
STORY_EVENTS = 25  # one story per 25 events
STORY_ZIPF_S = 0.8
CORE_INCLUDE = 0.8  # chance an event of a story names each of the story's core entities
STALE_LINK_FRACTION = 0.002  # Related links naming an older slug (README: "some"; unmeasured)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    events: int
    seed: int = 1990
    zh_fraction: float = 0.05

    @property
    def name(self) -> str:
        return f"corpus-{self.events}-s{self.seed}-zh{self.zh_fraction:g}-v{GENERATOR_VERSION}"


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
