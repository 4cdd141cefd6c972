"""Measure the real archive once; write the distributions the corpus generator draws from.

    python -m benchmarks.profile_data                       # ../shared/data -> benchmarks/profile.json
    python -m benchmarks.profile_data --data DIR --out FILE

The real sample is small (41 English event pages with 317 Related items, 3 complete English
days, and the whole Chinese edition: 4,256 events), so the profile keeps whole histograms
where the sample is the distribution (headline lengths, sources per event, Related sizes) and
fitted curves where the generator must extrapolate to a million events (Zipf exponents of
words and entities, Heaps' law for how the vocabulary grows). Files are read with the
product's own parser, so "entities of an event" means exactly what an import would link.

The result is committed (benchmarks/profile.json), so generating a corpus never needs
../shared; re-run this only when the sample data or the parser changes.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.ingest.archive import (
    ArchiveFormatError,
    CutShort,
    ParsedDay,
    iter_archive_files,
    parse_file,
)
from storage.keys import key_date
from storage.models import DayEntryRecord, PageRecord
from storage.textindex import CJK_RUN

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "profile.json"

# English words (with inner apostrophes and hyphens) and numbers, as the generator emits them.
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]|\d[\d,.]*\d|\d")
_NUMBER = re.compile(r"^\d[\d,.]*$")

TOP_WORDS = 6000
TOP_BIGRAMS = 7000
TOP_ZH_STARTS = 400
TOP_ZH_ENTITIES = 2500
TOP_PUBLISHERS = 120


def _histogram(values: Iterable[int]) -> dict[str, int]:
    """{value: count} with string keys (JSON), sorted by value."""
    counts = Counter(values)
    return {str(k): counts[k] for k in sorted(counts)}


def _fit_power_law(counts: Sequence[int], first: int = 1, last: int | None = None) -> float:
    """Least-squares slope of log(count) against log(rank): the Zipf exponent s."""
    ranked = sorted((c for c in counts if c > 0), reverse=True)
    last = min(last or len(ranked), len(ranked))
    points = [(math.log(r), math.log(ranked[r - 1])) for r in range(first, last + 1)]
    if len(points) < 2:
        return 1.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return round(-num / den, 4) if den else 1.0


def _fit_heaps(tokens: Sequence[str]) -> dict[str, float]:
    """V(n) = K * n^beta over the running vocabulary of a token stream (log-log fit)."""
    seen: set[str] = set()
    points: list[tuple[float, float]] = []
    step = max(1, len(tokens) // 200)
    for n, token in enumerate(tokens, start=1):
        seen.add(token)
        if n % step == 0 and n >= 100:
            points.append((math.log(n), math.log(len(seen))))
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    beta = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum(
        (x - mean_x) ** 2 for x, _ in points
    )
    k = math.exp(mean_y - beta * mean_x)
    return {"k": round(k, 4), "beta": round(beta, 4), "tokens": len(tokens), "types": len(seen)}


def _read_tree(root: Path) -> tuple[list[PageRecord], list[DayEntryRecord], dict[str, str]]:
    """Every event page and day-index entry under root (README.md copies skipped), and the
    raw text of each event page (for format-variant counts the records do not keep)."""
    pages: list[PageRecord] = []
    entries: list[DayEntryRecord] = []
    raw: dict[str, str] = {}
    for path in iter_archive_files([root]):
        if path.name == "README.md":
            continue  # identical copies of index.md, or the site's front page
        data = path.read_bytes()
        try:
            parsed = parse_file(path, data)
        except ArchiveFormatError as exc:
            print(f"skipped {exc}", file=sys.stderr)
            continue
        if isinstance(parsed, ParsedDay):
            entries.extend(parsed.entries)
        elif isinstance(parsed, CutShort):
            # As an import keeps it: an incomplete event, the page reported as suspect.
            print(f"suspect {parsed.path}: {parsed.reason}", file=sys.stderr)
            entries.append(parsed.entry)
        else:
            pages.append(parsed)
            raw[parsed.key] = data.decode("utf-8-sig")
    return pages, entries, raw


def _entity_links(
    pages: Sequence[PageRecord], entries: Sequence[DayEntryRecord]
) -> dict[str, set[str]]:
    """Entities by event key, exactly as an import links them: a page's own Related
    contexts, the contexts other pages' Related items give it, and index Context lists."""
    links: dict[str, set[str]] = collections.defaultdict(set)
    for page in pages:
        links[page.key].update(page.entities)
        for item in page.related:
            links[item.key].update(item.shared)
    for entry in entries:
        links[entry.key].update(entry.entities)
    return links


def _publishers(pages: Sequence[PageRecord]) -> list[list[Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    for page in pages:
        for source in page.sources:
            if source.is_image:
                continue
            host = urlsplit(source.url).hostname or "example.com"
            counts[(source.name, host)] += 1
    return [[name, host, n] for (name, host), n in counts.most_common(TOP_PUBLISHERS)]


def _image_hosts(pages: Sequence[PageRecord]) -> list[str]:
    hosts = Counter(
        urlsplit(s.url).hostname or "img.example.com"
        for p in pages
        for s in p.sources
        if s.is_image
    )
    return [h for h, _ in hosts.most_common(40)]


def _related_shape(pages: Sequence[PageRecord], raw: dict[str, str]) -> dict[str, Any]:
    after = total = 0
    for page in pages:
        for item in page.related:
            total += 1
            after += item.date > page.date
    with_changes = sum(1 for p in pages if "### Changes" in raw.get(p.key, ""))
    return {
        "sizes": _histogram(len(p.related) for p in pages),
        "shared_sizes": _histogram(len(r.shared) for p in pages for r in p.related),
        "later_fraction": round(after / total, 4) if total else 0.0,
        "changes_fraction": round(with_changes / len(pages), 4) if pages else 0.0,
        "older_slugs": _histogram(len(p.replaces) for p in pages if p.replaces),
    }


def _stale_link_fraction(pages: Sequence[PageRecord], entries: Sequence[DayEntryRecord]) -> float:
    """Related links into a complete day (one with an index) naming a slug that day's
    index does not list: an older version of the event's slug."""
    listed = {e.key for e in entries}
    days = {e.date for e in entries}
    inside = stale = 0
    for page in pages:
        for item in page.related:
            if item.date in days:
                inside += 1
                stale += item.key not in listed
    return round(stale / inside, 4) if inside else 0.0


def _english(root: Path) -> dict[str, Any]:
    pages, entries, raw = _read_tree(root)
    headlines: dict[str, str] = {}
    for page in pages:
        headlines[page.key] = page.headline
        for item in page.related:
            headlines.setdefault(item.key, item.headline)
    for entry in entries:
        headlines.setdefault(entry.key, entry.headline)
    summaries = [p.summary for p in pages if p.summary] + [
        e.summary for e in entries if e.summary and e.key not in {p.key for p in pages}
    ]

    stream: list[str] = []
    surface: dict[str, Counter[str]] = collections.defaultdict(Counter)
    numbers = 0
    for text in [*headlines.values(), *summaries]:
        for token in _EN_WORD.findall(text):
            if _NUMBER.match(token):
                numbers += 1
                stream.append("<num>")
                continue
            folded = token.lower().replace("’", "'")
            surface[folded][token.replace("’", "'")] += 1
            stream.append(folded)
    counts = Counter(t for t in stream if t != "<num>")
    words = [[surface[w].most_common(1)[0][0], n] for w, n in counts.most_common(TOP_WORDS)]
    # Syllable-ish chunks of real words: made-up tail words and names sound like the rest.
    chunks: Counter[str] = Counter()
    for word in counts:
        for chunk in re.findall(r"[^aeiouy]*[aeiouy]+(?:[^aeiouy]+$)?", word):
            if chunk.isalpha() and 1 < len(chunk) <= 5:
                chunks[chunk] += counts[word]

    links = _entity_links(pages, entries)
    entity_counts = Counter(name for names in links.values() for name in names)
    full_lists = [len(e.entities) for e in entries if e.entities]
    per_event = full_lists + [len(p.entities) for p in pages if p.entities]
    sentence_breaks = [h.count(". ") + 1 for h in headlines.values()]
    commas = sum(h.count(", ") for h in headlines.values())
    tokens_in_headlines = sum(len(h.split()) for h in headlines.values())
    headline_entity = sum(
        1 for p in pages if any(name.lower() in p.headline.lower() for name in p.entities)
    )
    return {
        "pages": len(pages),
        "distinct_headlines": len(headlines),
        "headline_words": _histogram(len(h.split()) for h in headlines.values()),
        "headline_sentences": _histogram(sentence_breaks),
        "comma_per_word": round(commas / tokens_in_headlines, 4),
        "number_fraction": round(numbers / len(stream), 4),
        "headline_names_fraction": round(headline_entity / len(pages), 4),
        "summary_fraction": round(sum(1 for p in pages if p.summary) / len(pages), 4),
        "summary_words": _histogram(len(s.split()) for s in summaries),
        "words": words,
        "word_zipf_s": _fit_power_law(list(counts.values()), 1, 1000),
        "heaps": _fit_heaps(stream),
        "syllables": [c for c, _ in chunks.most_common(300)],
        "entities": [[n, c] for n, c in entity_counts.most_common()],
        "entities_per_event": _histogram(per_event),
        "sources_per_event": _histogram(sum(1 for s in p.sources if not s.is_image) for p in pages),
        "cover_image_fraction": round(
            sum(1 for p in pages if any(s.is_image for s in p.sources)) / len(pages), 4
        ),
        "publishers": _publishers(pages),
        "image_hosts": _image_hosts(pages),
        "related": _related_shape(pages, raw)
        | {"stale_link_fraction": _stale_link_fraction(pages, entries)},
        "index_story_fraction": round(sum(1 for e in entries if e.story) / len(entries), 4),
        "index_summary_fraction": round(sum(1 for e in entries if e.summary) / len(entries), 4),
        "stories": sorted(
            {e.story for e in entries if e.story} | {p.story for p in pages if p.story}
        ),
        "formats": {
            "page_formats_line": round(
                sum(1 for t in raw.values() if t.lstrip().startswith("Formats:")) / len(raw), 4
            ),
            "page_formats_list": round(
                sum(1 for t in raw.values() if "### Formats" in t) / len(raw), 4
            ),
            "plural_sources": round(
                sum(1 for t in raw.values() if "### Sources:" in t) / len(raw), 4
            ),
            "page_story_line": round(sum(1 for p in pages if p.story) / len(pages), 4),
            "html_entity_fraction": round(
                sum(1 for t in raw.values() if re.search(r"&[a-z#0-9]+;", t)) / len(raw), 4
            ),
        },
    }


def _chinese(root: Path) -> dict[str, Any]:
    pages, entries, _raw = _read_tree(root)
    headlines = {p.key: p.headline for p in pages}
    for page in pages:
        for item in page.related:
            headlines.setdefault(item.key, item.headline)
    bigrams: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    run_lengths: list[int] = []
    for headline in headlines.values():
        runs = CJK_RUN.findall(headline)
        if runs and len(runs[0]) > 1:
            starts[runs[0][:2]] += 1
        for run in runs:
            run_lengths.append(len(run))
            bigrams.update(run[i : i + 2] for i in range(len(run) - 1))
    summaries = [p.summary for p in pages if p.summary]
    cjk_summaries = [s for s in summaries if CJK_RUN.search(s)]
    links = _entity_links(pages, entries)
    entity_counts = Counter(name for names in links.values() for name in names)
    # How fast new entities appear as the archive grows (events in date order).
    by_date = sorted(links, key=lambda key: (key_date(key) or dt.date.min, key))
    entity_stream = [name for key in by_date for name in sorted(links[key])]
    story_counts = Counter(p.story for p in pages if p.story)
    return {
        "pages": len(pages),
        "distinct_headlines": len(headlines),
        "headline_chars": _histogram(len(h) for h in headlines.values()),
        "cjk_run_chars": _histogram(run_lengths),
        "latin_in_headline_fraction": round(
            sum(1 for h in headlines.values() if re.search(r"[A-Za-z]{2,}", h)) / len(headlines), 4
        ),
        "bigrams": [[b, n] for b, n in bigrams.most_common(TOP_BIGRAMS)],
        "starts": [[b, n] for b, n in starts.most_common(TOP_ZH_STARTS)],
        "summary_fraction": round(len(summaries) / len(pages), 4),
        "summary_cjk_fraction": round(len(cjk_summaries) / max(1, len(summaries)), 4),
        "summary_chars": _histogram(len(s) for s in summaries),
        "entities": [[n, c] for n, c in entity_counts.most_common(TOP_ZH_ENTITIES)],
        "distinct_entities": len(entity_counts),
        "entity_zipf_s": _fit_power_law(list(entity_counts.values()), 1, 500),
        "entity_heaps": _fit_heaps(entity_stream),
        "linked_entities_per_event": _histogram(len(v) for v in links.values()),
        "events_with_links": len(links),
        "sources_per_event": _histogram(sum(1 for s in p.sources if not s.is_image) for p in pages),
        "cover_image_fraction": round(
            sum(1 for p in pages if any(s.is_image for s in p.sources)) / len(pages), 4
        ),
        "publishers": _publishers(pages),
        "related_sizes": _histogram(len(p.related) for p in pages),
        "story_fraction": round(sum(1 for p in pages if p.story) / len(pages), 4),
        "stories": [[s, n] for s, n in story_counts.most_common(600)],
    }


def build_profile(data: Path) -> dict[str, Any]:
    english = _english(data / "news")
    chinese = _chinese(data / "news-zh")
    return {
        "about": (
            "Distributions of the real archive sample, measured by benchmarks/profile_data.py;"
            " read by benchmarks/corpus.py. Histograms are {value: count}."
        ),
        "source": {"english": "news/", "chinese": "news-zh/"},
        "en": english,
        "zh": chinese,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_data", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not (args.data / "news").is_dir() or not (args.data / "news-zh").is_dir():
        parser.error(f"{args.data} has no news/ and news-zh/ folders")
    profile = build_profile(args.data)
    text = json.dumps(profile, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    en, zh = profile["en"], profile["zh"]
    print(
        f"wrote {args.out} ({len(text.encode()) / 1024:.0f} KB): English {en['pages']} pages,"
        f" {len(en['words'])} words (Zipf s={en['word_zipf_s']}, Heaps beta={en['heaps']['beta']}),"
        f" {len(en['entities'])} entities; Chinese {zh['pages']} pages, {len(zh['bigrams'])} bigrams,"
        f" {zh['distinct_entities']} entities (Zipf s={zh['entity_zipf_s']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
