"""The archive's layout and pages: slugs, day folders, event pages, day indexes, feed entries."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from benchmarks.corpus_text import Sampler, Weighted, _sentences, _TextModel, load_profile
from storage.keys import make_key
from storage.models import DayEntryRecord, PageRecord, RelatedRecord, SourceRecord


class Seeded(Protocol):
    """What the pages need of a corpus's spec (benchmarks.corpus_model.CorpusSpec)."""

    @property
    def seed(self) -> int: ...


class Headlines(Protocol):
    """What a day's index needs of the corpus (benchmarks.corpus_model.Corpus): each
    event's headline and key, by its number."""

    headline: list[str]
    key: list[str]


SLUG_LIMIT_EN = 140  # bot.ingest.archive.slugify's limits, repeated: the archive's layout
SLUG_LIMIT_ZH = 60

ANNOUNCED_PER_DAY = 300  # a day of feed entries, for the 'new' digests (see announced_pages)


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


def feed_pages(
    spec: Seeded,
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

    def markdown(self, corpus: Headlines) -> str:
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

    def records(self, corpus: Headlines) -> tuple[DayEntryRecord, ...]:
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
