"""How well are feed items tagged with entities? A self-evaluation on the archive itself.

    python -m benchmarks.tagging                                   # both editions
    python -m benchmarks.tagging ../shared/data/news-zh --write --label after
    python -m benchmarks.tagging --speed 1000000                    # the matcher's speed

Leave one day out: the archive given is imported (``chronicle import``: the project's
parser, its aliases) into a temporary SQLite file; then, day by day, each complete event
of the day is treated as a new feed item (its headline and summary only) and tagged by
the matcher (``bot.services.tagging``) built from the names of every *other* day (names
and aliases, and what their headlines say of common words), as the bot's feed poller
builds it from the archive. The tags are scored against the event's own entity links:

- precision, recall, F1, overall and by language. Recall counts the links other days
  could have taught (the entity is linked on another day); links no other day names are
  counted apart ("unteachable");
- misses and false tags by class: *word form* (a demonym, plural or possessive of the
  name is in the text), *variant* (hyphen/space, apostrophes, accents, "al-"), *partial
  name* (the tag's words are inside a longer capitalised name in the text), *generic
  word* (the name is in the text only in lower case), *not in the text* (nothing there
  names it: the bound of any matcher that reads names), *other*; with examples;
- related@10: whether the top 10 related events (the project's rule,
  ``storage.postings.rank_shared``, over the posting keys of every other day's events) hold
  an event of the same story (the same ``#####`` story line, or linked by the archive's
  own Related list either way), with the tags and with the true entities.

``--write`` appends the figures to benchmarks/RESULTS.md with the command.
``--speed N`` times building the matcher from the names of the N-event synthetic corpus
(``benchmarks.corpus``) and tagging all its headlines.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.services import tagging
from bot.services.imports import import_archive
from bot.services.tagging import EntityMatcher
from storage import Storage, open_storage
from storage.models import HeadlineMention, KnownName, LinkedEvent
from storage.postings import rank_shared
from storage.textindex import fold, has_cjk

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_PATHS = (DATA / "news", DATA / "news-zh")
RESULTS = Path(__file__).with_name("RESULTS.md")
MISS_CLASSES = ("word form", "variant", "written as is", "not in the text")
FALSE_CLASSES = ("partial name", "generic word", "word form", "named, not linked")
RELATED_K = 10


# --- the data --------------------------------------------------------------------------


@dataclass
class Archive:
    names: list[KnownName]
    events: list[LinkedEvent]
    related: dict[int, set[int]]  # the archive's own Related links, both ways (event ids)
    mentions: dict[str, list[HeadlineMention]]  # folded name -> its headlines

    @property
    def by_id(self) -> dict[int, LinkedEvent]:
        return {e.id: e for e in self.events}


async def load(storage: Storage, *, with_mentions: bool) -> Archive:
    names = await storage.entities.names()
    events: list[LinkedEvent] = []
    while batch := await storage.entities.linked_events(
        after_id=events[-1].id if events else 0, limit=5000
    ):
        events.extend(batch)
    ids = {e.key: e.id for e in events}
    related: dict[int, set[int]] = defaultdict(set)
    for event in events:
        if not event.complete:
            continue
        for key, _shared in await storage.events.archive_related(event.id):
            other = ids.get(key)
            if other is not None and other != event.id:
                related[event.id].add(other)
                related[other].add(event.id)
    mentions: dict[str, list[HeadlineMention]] = {}
    if with_mentions:
        for known in names:
            folded = fold(known.name)
            if folded not in mentions:
                mentions[folded] = await storage.entities.headline_mentions(known.name)
    return Archive(names, events, dict(related), mentions)


async def import_into(db: Path, paths: Sequence[Path]) -> None:
    async with await open_storage(db) as storage:
        report = await import_archive(storage, [str(p) for p in paths])
        print(f"imported {report.files:,} files into {db}", file=sys.stderr)


# --- one day at a time ------------------------------------------------------------------


@dataclass
class Usage:
    """How the archive's headlines use a name, for the generic verdict of any day: the
    counts over all days and each day's part (tagging.generic_verdict, less one day)."""

    unlinked: int = 0
    linked: int = 0
    by_day: dict[dt.date, tuple[int, int]] = field(default_factory=dict)

    def generic(self, day: dt.date) -> bool:
        unlinked, linked = self.by_day.get(day, (0, 0))
        return tagging.generic_from_counts(self.unlinked - unlinked, self.linked - linked)


def usages(archive: Archive) -> dict[str, Usage]:
    out: dict[str, Usage] = {}
    for known in archive.names:
        folded = fold(known.name)
        if folded in out:
            continue
        usage = out[folded] = Usage()
        for mention in archive.mentions.get(folded, ()):
            linked = int(mention.linked)
            unlinked = int(not linked and tagging.word_use(known.name, mention.headline))
            usage.unlinked += unlinked
            usage.linked += linked
            was = usage.by_day.get(mention.date, (0, 0))
            usage.by_day[mention.date] = (was[0] + unlinked, was[1] + linked)
    return out


def day_matcher(
    archive: Archive, vocabulary: set[int], day: dt.date, usage: dict[str, Usage]
) -> EntityMatcher:
    """The matcher as the feed poller builds it, from what days other than ``day`` know:
    their names and aliases, and their headlines' use of each name (generic or not)."""
    matcher = EntityMatcher()
    for known in archive.names:
        if known.entity_id in vocabulary:
            matcher.add(known.name, known.canonical, events=known.event_count)
            folded = fold(known.name)
            if not matcher.judged(known.name) and folded in usage:
                matcher.judge(known.name, usage[folded].generic(day))
    return matcher


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    unteachable: int = 0
    events: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.unteachable += other.unteachable
        self.events += other.events

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    misses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    false: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[tuple[str, str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    related_tags: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    related_true: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    seconds: float = 0.0


_LATIN_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CAPITALISED_RUN = re.compile(
    r"(?:[A-Z][\w.'’-]*)(?:\s+(?:(?:of|for|the|and|de|al|el|on)\s+)*[A-Z][\w.'’-]*)*"
)


def _variant_key(text: str) -> str:
    """Folded, with hyphens and apostrophes gone and words joined by single spaces."""
    folded = fold(text).replace("-", " ").replace("'", "").replace("’", "").replace("ʻ", "")
    return " " + " ".join(_LATIN_WORD.findall(folded)) + " "


def classify_miss(name_forms: Sequence[str], text: str) -> str:
    """Why an entity linked to an event was not tagged in its text (name_forms: its
    canonical name and aliases)."""
    if any(has_cjk(form) for form in name_forms):
        folded = fold(text)
        return "written as is" if any(fold(f) in folded for f in name_forms) else "not in the text"
    words = " " + " ".join(_LATIN_WORD.findall(fold(text))) + " "
    if any(f" {' '.join(_LATIN_WORD.findall(fold(f)))} " in words for f in name_forms):
        return "written as is"  # a case rule, a longer name or a generic verdict took it
    variant = _variant_key(text)
    if any(_variant_key(f) in variant for f in name_forms):
        return "variant"
    for form in name_forms:
        key = _variant_key(form).strip()
        if not key:
            continue
        stems = {key, key.removesuffix("s"), key.removesuffix("es")}
        for demonym in tagging_demonyms(form):
            stems.add(_variant_key(demonym).strip())
        for stem in stems:
            if stem and re.search(rf"\b{re.escape(stem)}(?:s|es|n|an|ian|i|ish)?\b", variant):
                return "word form"
    return "not in the text"


def tagging_demonyms(name: str) -> list[str]:
    """The demonyms the shipped table gives for a country name (none before the table)."""
    table = getattr(tagging, "demonyms_of", None)
    return list(table(name)) if table is not None else []


def classify_false(name_forms: Sequence[str], text: str, unlinked_share: float) -> str:
    """Why a tag the event does not link was given: a shorter name inside a longer
    capitalised one, a word the archive's headlines mostly hold without linking it (or
    written in lower case only), a word form, or a name the text does hold that the
    archive did not link to this event."""
    cjk = any(has_cjk(form) for form in name_forms)
    if not cjk:
        for form in name_forms:
            key = _variant_key(form).strip()
            for run in _CAPITALISED_RUN.findall(text):
                run_key = _variant_key(run).strip()
                if key and f" {key} " in f" {run_key} " and len(run_key) > len(key):
                    return "partial name"
    if unlinked_share > 0.5:
        return "generic word"
    if not cjk:
        words = _LATIN_WORD.findall(text)
        for form in name_forms:
            name_words = _LATIN_WORD.findall(form)
            if name_words:
                first = fold(name_words[0])
                written = [w for w in words if fold(w) == first]
                if written and all(w[:1].islower() for w in written):
                    return "generic word"
        variant = _variant_key(text)
        if not any(_variant_key(f) in variant for f in name_forms):
            return "word form"
    return "named, not linked"


def evaluate(
    archive: Archive,
    *,
    examples: int = 3,
    progress: bool = True,
) -> Report:
    started = time.perf_counter()
    report = Report()
    by_day: dict[dt.date, list[LinkedEvent]] = defaultdict(list)
    for event in archive.events:
        by_day[event.date].append(event)
    # entity id -> days it is linked on; event id -> posting keys (date << 32 | id)
    entity_days: dict[int, Counter[dt.date]] = defaultdict(Counter)
    postings: dict[int, list[int]] = defaultdict(list)
    for event in archive.events:
        day_key = int(event.date.strftime("%Y%m%d")) << 32
        for entity_id in event.entity_ids:
            entity_days[entity_id][event.date] += 1
            postings[entity_id].append(day_key | event.id)
    arrays = {e: np.array(sorted(k), dtype="<i8") for e, k in postings.items()}
    canonical_ids: dict[str, int] = {}
    names_of: dict[int, list[str]] = defaultdict(list)
    for known in archive.names:
        canonical_ids.setdefault(fold(known.name), known.entity_id)
        names_of[known.entity_id].append(known.name)
    for known in archive.names:  # a canonical name means its own entity
        if known.name == known.canonical:
            canonical_ids[fold(known.name)] = known.entity_id
    canonical_name = {k.entity_id: k.canonical for k in archive.names}
    story_members: dict[tuple[str, str], set[int]] = defaultdict(set)
    for event in archive.events:
        if event.story:
            story_members[(event.lang, event.story)].add(event.id)
    # Of each entity's names, the share of headlines holding one that do not link it.
    unlinked: dict[int, float] = {}
    for entity_id, names in names_of.items():
        rows = [m for n in names for m in archive.mentions.get(fold(n), ())]
        if len(rows) >= 3:
            unlinked[entity_id] = sum(not m.linked for m in rows) / len(rows)
    usage = usages(archive)
    rng = random.Random(28)
    days = sorted(d for d, evs in by_day.items() if any(e.complete for e in evs))
    for number, day in enumerate(days, start=1):
        scored = [e for e in by_day[day] if e.complete]
        vocabulary = {e for e, seen in entity_days.items() if len(seen) > (day in seen)}
        matcher = day_matcher(archive, vocabulary, day, usage)
        for event in scored:
            lang = event.lang
            counts = report.counts[lang]
            counts.events += 1
            text = f"{event.headline}\n{event.summary}"
            tags = matcher.find(event.headline, event.summary)
            tagged = {canonical_ids.get(fold(t), -1) for t in tags}
            tagged.discard(-1)
            gold = set(event.entity_ids)
            teachable = gold & vocabulary
            counts.unteachable += len(gold - vocabulary)
            counts.tp += len(tagged & teachable)
            for entity_id in sorted(teachable - tagged):
                counts.fn += 1
                why = classify_miss(names_of[entity_id], text)
                report.misses[lang][why] += 1
                _example(
                    report, rng, examples, (lang, "miss", why), canonical_name[entity_id], event
                )
            for entity_id in sorted(tagged - gold):
                counts.fp += 1
                why = classify_false(names_of[entity_id], text, unlinked.get(entity_id, 0.0))
                report.false[lang][why] += 1
                _example(
                    report, rng, examples, (lang, "false", why), canonical_name[entity_id], event
                )
            same_story = set(archive.related.get(event.id, ()))
            if event.story:
                same_story |= story_members[(lang, event.story)]
            same_story = {i for i in same_story if archive_date(archive, i) != day}
            if not same_story:
                continue
            for ids, tally in ((tagged, report.related_tags), (gold, report.related_true)):
                top = _related(arrays, ids, event.id, day)
                tally[lang][0] += bool(set(top) & same_story)
                tally[lang][1] += 1
        if progress and (number % 100 == 0 or number == len(days)):
            print(f"\r  {number:,}/{len(days):,} days", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    report.seconds = time.perf_counter() - started
    return report


_DATES: dict[int, dict[int, dt.date]] = {}


def archive_date(archive: Archive, event_id: int) -> dt.date:
    dates = _DATES.get(id(archive))
    if dates is None:
        dates = _DATES[id(archive)] = {e.id: e.date for e in archive.events}
    return dates[event_id]


def _related(
    arrays: dict[int, np.ndarray], entity_ids: Iterable[int], event_id: int, day: dt.date
) -> list[int]:
    parts = [arrays[e] for e in entity_ids if e in arrays]
    if not parts:
        return []
    keys = np.concatenate(parts)
    day_bits = int(day.strftime("%Y%m%d"))
    keys = keys[(keys >> 32) != day_bits]  # the day's own events are all "new" too
    return rank_shared(keys, exclude=event_id, want=RELATED_K)


def _example(
    report: Report,
    rng: random.Random,
    limit: int,
    where: tuple[str, str, str],
    name: str,
    event: LinkedEvent,
) -> None:
    kept = report.examples[where]
    line = f"{name} ← “{_short(event.headline)}”"
    if len(kept) < limit:
        kept.append(line)
    elif rng.random() < 0.2:
        kept[rng.randrange(limit)] = line


def _short(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- output ------------------------------------------------------------------------------


def render(report: Report, *, command: str, label: str) -> str:
    langs = sorted(report.counts)
    total = Counts()
    for lang in langs:
        total.add(report.counts[lang])
    out = [
        f"### Entity tagging, {label}: run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`{command}` ({report.seconds:.1f} s; Python {platform.python_version()}).",
        "",
        "| edition | events | precision | recall | F1 | misses | false tags | unteachable links |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lang, counts in [*((lang, report.counts[lang]) for lang in langs), ("all", total)]:
        out.append(
            f"| {lang} | {counts.events:,} | {counts.precision:.3f} | {counts.recall:.3f} |"
            f" **{counts.f1:.3f}** | {counts.fn:,} | {counts.fp:,} | {counts.unteachable:,} |"
        )
    out += [
        "",
        "| edition | related@10 with the tags | with the true entities | events with a same-story event |",
        "| --- | ---: | ---: | ---: |",
    ]
    for lang in langs:
        hits, count = report.related_tags[lang]
        true_hits, _ = report.related_true[lang]
        if count:
            out.append(f"| {lang} | {hits / count:.1%} | {true_hits / count:.1%} | {count:,} |")
    for what, table, classes in (
        ("misses", report.misses, MISS_CLASSES),
        ("false tags", report.false, FALSE_CLASSES),
    ):
        out += ["", f"| {what} | " + " | ".join(classes) + " |"]
        out.append("| --- | " + " | ".join("---:" for _ in classes) + " |")
        for lang in langs:
            out.append(f"| {lang} | " + " | ".join(f"{table[lang][c]:,}" for c in classes) + " |")
    out += ["", "Examples (entity ← headline):", ""]
    for (lang, kind, why), lines in sorted(report.examples.items()):
        if why in ("not in the text",):
            continue
        shown = "; ".join(lines)
        out.append(f"- {lang}, {'missed' if kind == 'miss' else 'false tag'}, {why}: {shown}")
    return "\n".join(out) + "\n"


# --- speed -------------------------------------------------------------------------------


_BASELINE_HEADER = """
from __future__ import annotations
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from storage.textindex import CJK_RUN, fold, has_cjk
"""


def baseline_matcher(revision: str) -> type:
    """EntityMatcher as it was at a git revision, to time both on one corpus: its module
    (bot/services/tagging.py), or before that its section of bot/services/feeds.py ("---
    matching entity names") run alone, so that the rest of that file's imports do not have
    to exist any more."""
    root = Path(__file__).resolve().parents[1]
    for path in ("bot/services/tagging.py", "bot/services/feeds.py"):
        shown = subprocess.run(
            ["git", "show", f"{revision}:{path}"], cwd=root, capture_output=True, text=True
        )
        source = shown.stdout
        if shown.returncode != 0 or "class EntityMatcher" not in source:
            continue
        if path.endswith("feeds.py"):
            section = source.index("# --- matching entity names")
            source = _BASELINE_HEADER + source[section : source.index("\n# Labels", section)]
        module = types.ModuleType(f"baseline_matcher_{revision}")
        sys.modules[module.__name__] = module
        exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
        return module.EntityMatcher
    raise SystemExit(f"no EntityMatcher at {revision}")


def _time_matcher(matcher_type: type, names: Sequence[str], headlines: Sequence[str]) -> str:
    started = time.perf_counter()
    matcher = matcher_type()
    for name in names:
        matcher.add(name)
    build = time.perf_counter() - started
    started = time.perf_counter()
    tags = 0
    for headline in headlines:
        tags += len(matcher.find(headline))
    find = time.perf_counter() - started
    return (
        f"{len(names):,} names loaded in {build:.1f} s; {len(headlines):,} headlines tagged"
        f" in {find:.1f} s ({find / len(headlines) * 1e6:.1f} µs each), {tags:,} tags"
    )


def speed(events: int, baseline: str | None) -> str:
    from benchmarks.corpus_model import Corpus, CorpusSpec

    started = time.perf_counter()
    corpus = Corpus(CorpusSpec(events))
    built = time.perf_counter() - started
    names = [name for language in corpus.langs.values() for name in language.entity_names]
    lines = [f"{events:,}-event corpus (its model built in {built:.0f} s)"]
    if baseline:
        lines.append(
            f"- at {baseline}: " + _time_matcher(baseline_matcher(baseline), names, corpus.headline)
        )
    lines.append("- now: " + _time_matcher(EntityMatcher, names, corpus.headline))
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tagging",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="archive folders or files")
    parser.add_argument("--db", type=Path, help="an imported database to reuse (made if absent)")
    parser.add_argument("--examples", type=int, default=3, metavar="N")
    parser.add_argument("--speed", type=int, metavar="EVENTS", help="time the matcher instead")
    parser.add_argument(
        "--baseline", metavar="REV", help="with --speed: time this git revision's too"
    )
    parser.add_argument("--write", action="store_true", help="append to benchmarks/RESULTS.md")
    parser.add_argument("--label", default="now", help="what the run is (before, after)")
    args = parser.parse_args(argv)
    given = list(argv if argv is not None else sys.argv[1:])
    if "--db" in given:  # a cache of the import, not part of what is measured
        at = given.index("--db")
        del given[at : at + 2]
    command = shlex.join(["python", "-m", "benchmarks.tagging", *given])
    if args.speed:
        timed = speed(args.speed, args.baseline)
        text = f"### Entity tagging speed, {args.label}\n\n`{command}`: {timed}\n"
    else:
        paths = args.paths or list(DEFAULT_PATHS)
        text = asyncio.run(_run(paths, args.db, args.examples, command.strip(), args.label))
    print(text)
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + text)
    return 0


async def _run(
    paths: Sequence[Path], db: Path | None, examples: int, command: str, label: str
) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = db or Path(folder) / "tagging.db"
        if not path.exists():
            await import_into(path, paths)
        async with await open_storage(path) as storage:
            archive = await load(storage, with_mentions=True)
    report = evaluate(archive, examples=examples)
    return render(report, command=command, label=label)


if __name__ == "__main__":
    sys.exit(main())
