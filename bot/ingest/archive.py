"""The Markdown archive (thecontext.net layout) -> storage records.

Every format variant described in ``data/README.md`` is read here: singular and plural
Sources headings, ``Formats:`` preambles (a line or a list), ``### Changes:`` lists before
or after Related, ``##### Story`` lines, HTML entities, wiki quote leftovers, entity names
with ", 2017" in them, and the Chinese edition's headings. A page is recognised by its
content, not its file name, so the seed files (``000_*.txt``) import like archive files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.feeds.html_text import CONTROLS_AS_SPACES
from bot.ingest.files import FileRefused, read_bounded
from bot.ingest.language import detected_language
from storage.keys import key_date, make_key, parse_key, split_key
from storage.models import (
    DayEntryRecord,
    PageRecord,
    RelatedRecord,
    SourceRecord,
    pickled_as_values,
)
from storage.textindex import has_cjk
from storage.variant_markup import resolve_variants

_PAGE_DATE = re.compile(r"^###\s*\[\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*\]\(([^)]*)\)\s*$")
_DAY_DATE = re.compile(r"^##\s*\[\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*\]\(([^)]*)\)\s*$")
_STORY = re.compile(r"^#####(?:\s+(.*?))?\s*$")
_HEADLINE = re.compile(r"^#\s+(.*?)\s*$")
_SECTION = re.compile(r"^###\s+(.+?)\s*$")
_DAY_END = re.compile(r"^##\s*\[")  # "## [Previous Day...]", "## [前一天...]", the next day

_SOURCE_ITEM = re.compile(r"^\[(.*?)\]\((\S+?)\)(?:\s*\[IMG\]\((\S+?)\))?$")
# Greedy text: a headline may itself contain "]" (seen in the Chinese edition).

_CONTEXT = re.compile(r"^(?:Context|消息)\s*[:：]\s*(.*?)\s*$")
_INDEX_ENTRY = re.compile(r"^###\s*\[(.*)\]\((\S+?)\)\s*$")
_WIKI_QUOTES = re.compile(r"'{2,}")
_YEAR = re.compile(r"^\d{4}$")

_SOURCES = {"source", "sources", "信息来源", "信息來源"}
_RELATED = {"related", "有关", "有關"}
_CHANGES = {"changes"}
_IGNORED = {"formats"}

SLUG_LIMIT_EN = 140
SLUG_LIMIT_ZH = 60


class ArchiveFormatError(ValueError):
    """A file that is not a readable archive page or day index; says where and why."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


@pickled_as_values
@dataclass(frozen=True, slots=True)
class ParsedDay:
    date: dt.date
    entries: tuple[DayEntryRecord, ...]


@pickled_as_values
@dataclass(frozen=True, slots=True)
class CutShort:
    """A page that ends mid-line (the generator ends every file with a line break): what it
    says of its event is kept as an incomplete event, and the page reported as suspect."""

    path: str
    entry: DayEntryRecord
    reason: str


def clean_text(text: str) -> str:
    """Decode HTML entities, drop wiki quote marks, resolve Chinese variant markup, fold
    whitespace and control characters."""
    if "&" in text:
        # Twice: some pages carry double-escaped entities ("&amp;rsquo;").
        text = html.unescape(html.unescape(text))
    if "''" in text:
        text = _WIKI_QUOTES.sub("", text)
    text = resolve_variants(text)  # shared with the upgrade that cleans older imports
    if not text.isprintable():  # a quick look first: most text holds no control character
        # They become spaces, as in a feed's text: they sometimes stand between words, and a
        # terminal obeys them (ESC sequences retitle or clear it).
        text = text.translate(CONTROLS_AS_SPACES)
    return " ".join(text.split())


def split_entities(context: str) -> tuple[str, ...]:
    """Split a Context list on ", ", keeping names such as 'Japanese general election, 2017'."""
    names: list[str] = []
    for part in context.replace("，", ", ").split(", "):
        part = clean_text(part)
        if not part:
            continue
        if _YEAR.match(part) and names:
            names[-1] = f"{names[-1]}, {part}"
        else:
            names.append(part)
    return tuple(dict.fromkeys(names))


def slugify(headline: str, lang: str) -> str:
    """The slug the archive generator gives a headline (checked on all sample files).

    English: every non-ASCII character became "a" (Shinzō -> shinza), every other
    non-alphanumeric a dash; cut at 140, dashes collapsed. Chinese edition: ASCII dots and
    commas dropped, case kept, other punctuation a dash; cut at 60 before anything else.
    """
    if lang == "zh":
        text = re.sub(r"[.,]", "", headline[:SLUG_LIMIT_ZH])
        text = re.sub(r"[\W_]", "-", text)
    else:
        text = "".join(ch if ord(ch) < 128 else "a" for ch in headline).lower()
        text = re.sub(r"[^a-z0-9]", "-", text)[:SLUG_LIMIT_EN]
    return re.sub(r"-+", "-", text).strip("-")


def _date(groups: tuple[str, ...], path: str, line: int) -> dt.date:
    year, month, day = (int(g) for g in groups[:3])
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ArchiveFormatError(
            path, f"invalid date {groups[0]}-{groups[1]}-{groups[2]} in the date heading", line
        ) from None


def _lang(text: str) -> str:
    if "/zh/news/" in text or "### 信息来源" in text or "### 有关" in text:
        return "zh"
    return "en"


def _section_name(title: str) -> str:
    return title.rstrip(":：").strip().lower()


def parse_file(path: str | Path, data: bytes) -> PageRecord | ParsedDay | CutShort:
    """Parse one archive file: an event page or a day index, whatever its name."""
    name = str(path)
    if not data.strip():
        raise ArchiveFormatError(name, "empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArchiveFormatError(
            name, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines):
        if _PAGE_DATE.match(line):
            page = _parse_page(name, lines, number, text)
            return page if text.endswith(("\n", "\r")) else _cut_short(name, page, lines[-1])
        if _DAY_DATE.match(line):
            return _parse_day(name, lines, text)
        if _HEADLINE.match(line):
            break
    raise ArchiveFormatError(
        name,
        "no date heading: an event page starts with '### [YYYY-MM-D](...)' and a day index "
        "with '## [YYYY-MM-D](...)'",
    )


def _cut_short(path: str, page: PageRecord, last_line: str) -> CutShort:
    last = " ".join(last_line.split())
    return CutShort(
        path,
        DayEntryRecord(
            page.key,
            page.date,
            page.headline,
            page.summary or None,
            page.entities,
            page.story,
            page.lang,
        ),
        f"ends mid-line ({last[-40:]!r}): cut short? kept as an incomplete event",
    )


def _parse_page(path: str, lines: list[str], start: int, text: str) -> PageRecord:
    lang = _lang(text)
    date = _date(_PAGE_DATE.match(lines[start]).groups(), path, start + 1)  # type: ignore[union-attr]
    story: str | None = None
    headline: str | None = None
    summary_lines: list[str] = []
    sections: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if headline is None:
            if match := _STORY.match(line):
                story = clean_text(match.group(1) or "") or None
            elif match := _HEADLINE.match(line):
                headline = clean_text(match.group(1))
                if not headline:
                    raise ArchiveFormatError(path, "the headline is empty", number + 1)
            elif line.strip():
                raise ArchiveFormatError(
                    path, f"expected the '# headline' line, found {line.strip()[:60]!r}", number + 1
                )
            continue
        # String tests before regular expressions: this loop runs for every line of a
        # million pages.
        if line.startswith("###") and (match := _SECTION.match(line)):
            current = _section_name(match.group(1))
            sections.setdefault(current, [])
            continue
        if current is None:
            summary_lines.append(line)
        elif (item := _list_item(line)) is not None:
            sections[current].append((number + 1, item))
    if headline is None:
        raise ArchiveFormatError(path, "no '# headline' line after the date heading")
    if lang == "en" and has_cjk(headline) and detected_language(headline, "") == "zh":
        # A Chinese page without Chinese headings or links (some 2019 pages): its headline
        # decides, as a feed item's declaring no language does (Japanese and Korean are not
        # Chinese, nor is an English headline giving a name in characters in brackets).
        lang = "zh"

    sources = tuple(_sources(path, sections))
    related = tuple(_related(path, sections, lang))
    changes = [(key, note) for key, note in _changes(path, sections)]
    summary = _summary(summary_lines)
    own_key = _own_key(path, date, headline, lang, changes)
    replaces = tuple(dict.fromkeys(k for k, _ in changes if k != own_key))
    entities = tuple(dict.fromkeys(name for item in related for name in item.shared))
    return PageRecord(
        key=own_key,
        date=date,
        headline=headline,
        summary=summary,
        story=story,
        lang=lang,
        sources=sources,
        related=tuple(r for r in related if r.key != own_key),
        entities=entities,
        replaces=replaces,
        version=page_version(text, date, related, changes),
    )


_NOTED_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def page_version(
    text: str,
    date: dt.date,
    related: Iterable[RelatedRecord],
    changes: Sequence[tuple[str, str]],
) -> str:
    """How new a version of an event page is, as text that sorts so: the latest date it
    knows of (the events its Related and Changes lists link, the times its Changes list
    notes), then its format's generation (a "Formats:" line came in August 2017, a
    "### Formats:" list later), then how many changes it lists. A page is rewritten as the
    archive learns of later events; its Related list is cut at 5 in some versions and at 10
    in others, so its length tells nothing."""
    known = [date, *(item.date for item in related)]
    for key, note in changes:
        if (linked := key_date(key)) is not None:
            known.append(linked)
        for match in _NOTED_DATE.finditer(note):
            with contextlib.suppress(ValueError):
                known.append(dt.date(*(int(part) for part in match.groups())))
    head = text.lstrip()[:200]
    generation = 2 if head.startswith("### Formats") else 1 if head.startswith("Formats:") else 0
    return f"{max(known).isoformat()} {generation} {len(changes):04d}"


def _list_item(line: str) -> str | None:
    """The text of a numbered list item ("12. text"), or None."""
    line = line.strip()
    dot = line.find(".")
    if dot <= 0 or not line[:dot].isdigit():
        return None
    return line[dot + 1 :].strip() or None


def _summary(lines: list[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(clean_text(" ".join(current)))
            current = []
    return "\n\n".join(p for p in paragraphs if p)


def _sources(path: str, sections: dict[str, list[tuple[int, str]]]) -> Iterator[SourceRecord]:
    for title, items in sections.items():
        if title not in _SOURCES:
            continue
        for number, item in items:
            match = _SOURCE_ITEM.match(item)
            if not match:
                raise ArchiveFormatError(
                    path, f"source item is not '[Publisher](url)': {item[:80]!r}", number
                )
            name, url, image = match.groups()
            name = clean_text(name)
            is_image = name.casefold() in ("cover image", "img")
            yield SourceRecord(name=name or url, url=url.strip(), is_image=is_image)
            if image:
                yield SourceRecord(name="Cover Image", url=image.strip(), is_image=True)


def _split_link_item(item: str) -> tuple[str, str, str | None] | None:
    """'[text](link) _tail_' -> (text, link, tail). The text may hold "]" and the tail ")"."""
    tail = None
    if item.endswith("_"):
        start = item.rfind(") _")
        if start > 0:
            tail = item[start + 3 : -1]
            item = item[: start + 1]
    item = item.rstrip()
    middle = item.rfind("](")
    if not item.startswith("[") or middle < 0 or not item.endswith(")"):
        return None
    link = item[middle + 2 : -1]
    if not link or " " in link:
        return None
    return item[1:middle], link, tail


def _link_items(
    path: str, sections: dict[str, list[tuple[int, str]]], wanted: set[str]
) -> Iterator[tuple[int, str, str, str | None]]:
    for title, items in sections.items():
        if title not in wanted:
            continue
        for number, item in items:
            parts = _split_link_item(item)
            if parts is None:
                raise ArchiveFormatError(
                    path, f"list item is not '[headline](link) _..._': {item[:80]!r}", number
                )
            text, link, tail = parts
            yield number, clean_text(text), link, tail


def _related(
    path: str, sections: dict[str, list[tuple[int, str]]], lang: str
) -> Iterator[RelatedRecord]:
    seen: set[str] = set()
    for number, headline, link, tail in _link_items(path, sections, _RELATED):
        found = split_key(link)
        if found is None:
            raise ArchiveFormatError(path, f"related link is not an event path: {link!r}", number)
        date, key = found[0], make_key(*found)
        if key in seen:
            continue
        seen.add(key)
        shared: tuple[str, ...] = ()
        if tail and (context := _CONTEXT.match(tail.strip())):
            shared = split_entities(context.group(1))
        yield RelatedRecord(key=key, date=date, headline=headline, shared=shared)


def _changes(path: str, sections: dict[str, list[tuple[int, str]]]) -> Iterator[tuple[str, str]]:
    for number, _headline, link, tail in _link_items(path, sections, _CHANGES):
        key = parse_key(link)
        if key is None:
            raise ArchiveFormatError(path, f"change link is not an event path: {link!r}", number)
        yield key, (tail or "").strip()


def _own_key(
    path: str, date: dt.date, headline: str, lang: str, changes: list[tuple[str, str]]
) -> str:
    # The archive path is the key's origin; a file elsewhere (a seed document, a download)
    # gets the key its headline would give, unless its Changes list names the current one.
    from_path = parse_key(path.replace("\\", "/"))
    if from_path and key_date(from_path) == date:
        return from_path
    for key, note in changes:
        if "current version" in note.casefold() and key_date(key) == date:
            return key
    return make_key(date, slugify(headline, lang))


def _parse_day(path: str, lines: list[str], text: str) -> ParsedDay:
    lang = _lang(text)
    entries: list[DayEntryRecord] = []
    day: dt.date | None = None
    story: str | None = None
    pending: tuple[str, str, dt.date] | None = None  # key, headline, date
    body: list[str] = []
    first_day: dt.date | None = None

    def flush() -> None:
        nonlocal pending, body
        if pending is None:
            return
        key, headline, date = pending
        entities: tuple[str, ...] = ()
        summary_parts: list[str] = []
        for line in body:
            stripped = line.strip()
            context = _CONTEXT.match(stripped[1:-1].strip()) if len(stripped) > 1 else None
            if stripped.startswith("_") and stripped.endswith("_") and context:
                entities = split_entities(context.group(1))
                continue
            summary_parts.append(stripped)
        summary = clean_text(" ".join(summary_parts)) or None
        entries.append(DayEntryRecord(key, date, headline, summary, entities, story, lang))
        pending, body = None, []

    for number, line in enumerate(lines, start=1):
        if match := _DAY_DATE.match(line):
            flush()
            day = _date(match.groups(), path, number)
            first_day = first_day or day
            story = None
            continue
        if day is None:
            continue  # a Formats preamble
        if _DAY_END.match(line):
            flush()
            day = None
            continue
        if match := _STORY.match(line):
            flush()
            story = clean_text(match.group(1) or "") or None
            continue
        if match := _INDEX_ENTRY.match(line):
            flush()
            headline, link = clean_text(match.group(1)), match.group(2)
            found = split_key(link)
            key, date = (make_key(*found), found[0]) if found else (None, None)
            if key is None or date is None:
                raise ArchiveFormatError(
                    path, f"index entry link is not an event path: {link!r}", number
                )
            pending = (key, headline, date)
            continue
        if pending is not None and line.strip():
            body.append(line)
        elif pending is not None and body:
            flush()
    flush()
    assert first_day is not None  # _parse_day is only called when a day heading exists
    return ParsedDay(date=first_day, entries=tuple(entries))


ARCHIVE_SUFFIXES = (".md", ".txt")


def iter_archive_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named on the command line, and every .md/.txt entry under named folders (in
    path order, folder by folder; links to folders are not followed). An entry named like
    an archive file that is not one (a link to nothing, a link to a folder, a device) is
    yielded too, so that reading it reports why it was not imported."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from map(Path, _archive_files_under(str(path)))
        else:
            yield path


def _archive_files_under(folder: str) -> list[str]:
    # os.scandir knows files from folders without a stat each: Path.rglob and is_file()
    # stat every file, which on a large archive held parsing back noticeably.
    found: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = os.scandir(current)
        except OSError:
            found.append(current)  # read as a file, it reports why it cannot be read
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif (
                    not entry.name.startswith(".")
                    and os.path.splitext(entry.name)[1].lower() in ARCHIVE_SUFFIXES
                ):
                    found.append(entry.path)
    found.sort(key=lambda p: p.split(os.sep))  # as Paths sort: part by part
    return found


MAX_FILE_BYTES = 1024 * 1024  # an archive page is a few kB; a day index, tens


def read_archive_file(path: Path) -> bytes:
    """A file's bytes, if it can be an archive file: a regular file (a link to one is
    followed) of at most MAX_FILE_BYTES, read no further than that. ArchiveFormatError
    says why not."""
    name = str(path)
    try:
        return read_bounded(path, MAX_FILE_BYTES, _too_large)
    except FileRefused as refused:
        if refused.kind != "folder":
            raise ArchiveFormatError(name, refused.reason) from None
    try:
        os.listdir(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ArchiveFormatError(
            name, f"cannot read this folder ({reason}): its files were not imported"
        ) from None
    what = "a link to a folder (not followed)" if path.is_symlink() else "a folder"
    raise ArchiveFormatError(name, f"is {what}, named like an archive file")


def _too_large(size: int) -> str:
    return (
        f"{size / 1024 / 1024:.1f} MB, more than the {MAX_FILE_BYTES // 1024 // 1024} MB an"
        " archive file can be: not read"
    )
