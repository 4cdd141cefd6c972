"""Wikipedia's Current events portal: a day page's wikitext -> portal item records.

The wikitext is read with mwparserfromhell; this module decides only what its nodes mean.
Everything between ``<!-- All news items below this line -->`` and
``<!-- All news items above this line -->`` is read, in each layout the portal has used:

* ``{{Current events header|Y|M|D}}`` with ``;Heading`` categories and a closing ``|}``;
* ``{{Current events|year=…|month=…|day=…|content=`` … ``}}`` with ``'''Heading'''``;
* ``{{Current events|…|top=yes}}`` … ``{{Current events|…|bottom=yes}}``.

Rules
    A bullet with child bullets is a topic (a story line); a leaf bullet is an event, dated by
    its page, filed under its heading (its category) and its chain of topics, the first of
    which is its story. A leaf that shows nothing but links (``*[[Russian invasion of
    Ukraine]]``) is a topic whose items were moved or are still to come, not an event.
    Bullets nested deeper than MAX_NESTING are read at that depth. An event's headline is
    the text a reader sees: link labels, not targets; emphasis quote marks (as MediaWiki
    reads them, an unclosed ``'''`` too), templates, ``<ref>``s, comments and tags removed
    (but for a few templates that only wrap words: ``{{nowrap}}``, ``{{lang}}``, ``{{ill}}``,
    ``{{convert}}``); entities decoded, zero-width characters dropped, whitespace collapsed;
    its external links (the sources) cut out. Its entities are the link targets of the item
    and of its topics (``File:``, ``Category:`` and interwiki links are not entities). Its
    sources are its external links in order, each named by its label without parentheses and
    quote marks. An item without a source is still an event.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeGuard
from urllib.parse import urlsplit

import mwparserfromhell
from mwparserfromhell.nodes import (
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Node,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode

from bot.ingest.archive import slugify
from storage.keys import make_key
from storage.models import PortalItemRecord, SourceRecord

BELOW_MARKER: Final = "All news items below this line"
ABOVE_MARKER: Final = "All news items above this line"

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_LIST_MARKUP: Final = frozenset({"*", "#", ":", ";"})
_EMPHASIS: Final = frozenset({"''", "'''"})
# Tags whose content is not part of the sentence a reader sees.
_DROPPED_TAGS: Final = frozenset({"ref", "references", "gallery", "math", "score", "timeline"})
_LINE_BREAK_TAGS: Final = frozenset({"br", "hr"})
_MEDIA_AND_TAGS: Final = frozenset({"file", "image", "media", "category"})
# Templates that show one of their parameters as it is: {{nowrap|…}}, {{lang|fr|…}},
# {{ill|Title|de|…}} (the index of the positional parameter shown).
_WRAPPERS: Final = {
    "nowrap": 0,
    "nobr": 0,
    "lang": -1,
    "transl": -1,
    "ill": 0,
    "interlanguage link": 0,
}
# Templates that link their first parameter, an article of this wiki (which may not exist yet).
_LINKING_TEMPLATES: Final = frozenset({"ill", "interlanguage link"})
# Links that do not lead to an article: media, categories, and the wiki's other namespaces.
_NOT_ARTICLES: Final = frozenset(
    {
        "file",
        "image",
        "media",
        "category",
        "template",
        "help",
        "portal",
        "wikipedia",
        "wp",
        "project",
        "special",
        "user",
        "talk",
        "draft",
        "module",
        "mediawiki",
        "timedtext",
        "book",
    }
)
# Interwiki prefixes to Wikimedia's other projects; language prefixes are matched below.
_INTERWIKI: Final = frozenset(
    {
        "w",
        "wikt",
        "wiktionary",
        "n",
        "wikinews",
        "q",
        "wikiquote",
        "s",
        "wikisource",
        "b",
        "wikibooks",
        "v",
        "wikiversity",
        "voy",
        "wikivoyage",
        "c",
        "commons",
        "m",
        "meta",
        "metawikimedia",
        "species",
        "wikispecies",
        "d",
        "wikidata",
        "mw",
        "mediawikiwiki",
        "phab",
        "foundation",
        "wmf",
        "outreach",
        "incubator",
    }
)
# A lower-case language prefix as the portal writes interwiki links: [[fr:Paris]], [[zh-yue:…]].
_LANGUAGE_PREFIX: Final = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]+)*")
_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_EMPTY_PARENS: Final = re.compile(r"\(\s*[,;/]?\s*\)")
_SPACE_BEFORE_PUNCTUATION: Final = re.compile(r"\s+([.,;:!?])(?=[\s\"'”’)\]]|$)")
_QUOTES: Final = "\"'“”‘’«»"
# Two or more apostrophes: emphasis markup as MediaWiki reads it (doQuotes), perhaps with
# apostrophes of the text before it. A single apostrophe is always text.
_APOSTROPHE_RUN: Final = re.compile(r"('{2,})")
# Bullets nested deeper than this are read at this depth, as siblings of the deepest topics.
# Real day pages nest 2 to 4 deep (a story, a sub-story, the item). A vandal's hundred-deep
# list would otherwise give each of its items a hundred topics, and cost a parsed node per
# list marker: 100,000 of them in a 110 KB page take mwparserfromhell seconds.
MAX_NESTING: Final = 8
_DEEP_LIST: Final = re.compile(rf"^[*#:;]{{{MAX_NESTING + 1},}}", re.MULTILINE)


class PortalFormatError(ValueError):
    """A day page whose news items cannot be found or read; says why."""


@dataclass(frozen=True, slots=True)
class PortalEdition:
    """One language's Current events portal: how its day pages are titled."""

    language: str
    prefix: str  # the day pages' common title prefix

    def title(self, date: dt.date) -> str:
        """The day page's title: ``Portal:Current events/2017 May 5`` (no padding)."""
        return f"{self.prefix}{date.year} {_MONTHS[date.month - 1]} {date.day}"


ENGLISH: Final = PortalEdition(language="en", prefix="Portal:Current events/")
EDITIONS: Final = {edition.language: edition for edition in (ENGLISH,)}


@dataclass(frozen=True, slots=True)
class PortalDay:
    """What one day page says: its items in page order, and what could not be read."""

    date: dt.date
    items: tuple[PortalItemRecord, ...]
    warnings: tuple[str, ...] = ()


# --- the page's regions -------------------------------------------------------------------


def _is_marker(node: Node, marker: str) -> bool:
    return isinstance(node, Comment) and str(node.contents).strip() == marker


def _template_name(template: Template) -> str:
    return " ".join(str(template.name).replace("_", " ").split()).lower()


def _is_current_events(node: Node, *names: str) -> TypeGuard[Template]:
    return isinstance(node, Template) and _template_name(node) in names


def _param(template: Template, name: str) -> str:
    return str(template.get(name).value).strip() if template.has(name) else ""


def _news_region(code: Wikicode) -> tuple[list[Node], list[str]]:
    """The nodes holding the news items, and warnings about how they were found."""
    containers: list[Wikicode] = [code]
    for template in code.filter_templates(recursive=False):
        if _is_current_events(template, "current events") and template.has("content"):
            containers.append(template.get("content").value)
    for container in containers:
        nodes = list(container.nodes)
        below = next((i for i, n in enumerate(nodes) if _is_marker(n, BELOW_MARKER)), None)
        if below is None:
            continue
        above = next(
            (i for i, n in enumerate(nodes) if i > below and _is_marker(n, ABOVE_MARKER)), None
        )
        if above is None:
            return nodes[below + 1 :], [f"no '<!-- {ABOVE_MARKER} -->' marker: read to the end"]
        return nodes[below + 1 : above], []
    # No markers: the content parameter, else what follows the header template.
    if len(containers) > 1:
        return list(containers[1].nodes), [f"no '<!-- {BELOW_MARKER} -->' marker"]
    nodes = list(code.nodes)
    for index, node in enumerate(nodes):
        if _is_current_events(node, "current events header") or (
            _is_current_events(node, "current events") and _param(node, "top") == "yes"
        ):
            rest = nodes[index + 1 :]
            end = next(
                (
                    i
                    for i, n in enumerate(rest)
                    if _is_current_events(n, "current events") and _param(n, "bottom") == "yes"
                ),
                len(rest),
            )
            return rest[:end], [f"no '<!-- {BELOW_MARKER} -->' marker"]
    raise PortalFormatError(
        f"no news items: neither the '<!-- {BELOW_MARKER} -->' marker"
        " nor a {{Current events}} template"
    )


# --- lines --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    markup: str = ""  # the list markers that open it: "**", ";", ...
    nodes: list[Node] = field(default_factory=list)

    def visible(self) -> bool:
        return any(not _is_blank(node) for node in self.nodes)


def _is_blank(node: Node) -> bool:
    return isinstance(node, Comment) or (isinstance(node, Text) and not str(node).strip())


def _lines(nodes: Iterable[Node]) -> Iterator[_Line]:
    """The region's logical lines. Line breaks are in text nodes only: a template or a
    <ref> spanning lines stays one node of its line, as the wiki renders it."""
    line = _Line()
    for node in nodes:
        if isinstance(node, Tag) and node.wiki_markup in _LIST_MARKUP and not line.visible():
            line.markup += str(node.wiki_markup)
            continue
        if isinstance(node, Text) and "\n" in node.value:
            first, *others = node.value.split("\n")
            if first:
                line.nodes.append(Text(first))
            for piece in others:
                yield line
                line = _Line()
                if piece:
                    line.nodes.append(Text(piece))
            continue
        line.nodes.append(node)
    yield line


def _heading(line: _Line) -> str | None:
    """The category a line opens: ``;Heading``, a line in bold alone, or ``== Heading ==``."""
    if line.markup == ";":
        return clean(render(line.nodes)) or None
    visible = [node for node in line.nodes if not _is_blank(node)]
    if not line.markup and len(visible) == 1:
        node = visible[0]
        if isinstance(node, Tag) and node.wiki_markup == "'''":
            return clean(render(node.contents.nodes)) or None
        if isinstance(node, Heading):
            return clean(render(node.title.nodes)) or None
    return None


# --- text, links and sources --------------------------------------------------------------


def render(nodes: Iterable[Node]) -> str:
    """The text a reader sees of some nodes, before clean(): no targets, templates, refs,
    comments or external links (sources are taken apart by sources())."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.value)
        elif isinstance(node, HTMLEntity):
            out.append(node.normalize())
        elif isinstance(node, Wikilink):
            if _shows_no_text(str(node.title)):
                continue  # an image, a category tag or a link to another language's page
            if node.text is not None:
                out.append(render(node.text.nodes))
            else:
                out.append(render(node.title.nodes).lstrip(":"))
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if node.wiki_markup in _EMPHASIS or (
                tag not in _DROPPED_TAGS and tag not in _LINE_BREAK_TAGS
            ):
                if node.contents is not None:
                    out.append(render(node.contents.nodes))
            elif tag in _LINE_BREAK_TAGS:
                out.append(" ")
        elif isinstance(node, Heading):
            out.append(render(node.title.nodes))
        elif isinstance(node, Template):
            out.append(_template_text(node))
        # Comments, external links and anything else: not in the text.
    return "".join(out)


def clean(text: str) -> str:
    """Entities decoded, zero-width characters dropped, whitespace collapsed, and what the
    removals left behind tidied: empty parentheses, a space before punctuation."""
    if "&" in text:
        text = html.unescape(text)
    text = _strip_emphasis(text.translate(_ZERO_WIDTH))
    text = " ".join(text.split())
    text = _EMPTY_PARENS.sub("", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    return " ".join(text.split())


def _strip_emphasis(text: str) -> str:
    """Text without the emphasis markup MediaWiki's doQuotes reads in each line, where
    mwparserfromhell left it as text (an unclosed ``'''``): runs of two (italic), three (bold)
    and five apostrophes go; of a run of four, one apostrophe is text, of a longer run all but
    five. When a line has an odd number of both italic and bold runs, one bold run is read
    as an apostrophe and an italic (the first after a one-letter word, else the first after
    a longer word, else the first after a space). A single apostrophe is a word's: O'Brien,
    rock 'n' roll, the Smiths'."""
    if "''" not in text:
        return text
    return "\n".join(_strip_line_emphasis(line) for line in text.split("\n"))


def _strip_line_emphasis(line: str) -> str:
    parts = _APOSTROPHE_RUN.split(line)  # text, run, text, run, ..., text
    italics = bold = 0
    for i in range(1, len(parts), 2):
        run = len(parts[i])
        extra = run - 5 if run > 5 else 1 if run == 4 else 0
        if extra:
            parts[i - 1] += "'" * extra
            parts[i] = parts[i][extra:]
        italics += len(parts[i]) != 3
        bold += len(parts[i]) != 2
    if italics % 2 and bold % 2:
        single = multi = space = None
        for i in range(1, len(parts), 2):
            if len(parts[i]) != 3:
                continue
            before = parts[i - 1]
            if before.endswith(" "):
                space = i if space is None else space
            elif before[-2:-1] == " ":
                single = i
                break
            elif multi is None:
                multi = i
        chosen = next((i for i in (single, multi, space) if i is not None), None)
        if chosen is not None:
            parts[chosen - 1] += "'"
    return "".join(parts[0::2])


def _shows_no_text(target: str) -> bool:
    """Whether a wikilink puts no words in the sentence: ``[[File:…]]`` (an image),
    ``[[Category:…]]`` and ``[[fr:…]]`` (page tags) do; ``[[:Category:…]]`` does not."""
    target = target.strip()
    if target.startswith(":") or ":" not in target:
        return False
    prefix = target.split(":", 1)[0].strip()
    if prefix.lower() in _INTERWIKI:  # [[voy:Paris|…]]: a link to a sister project, shown
        return False
    return prefix.lower() in _MEDIA_AND_TAGS or bool(_LANGUAGE_PREFIX.fullmatch(prefix))


def _template_text(template: Template) -> str:
    """Templates are removed, but for the few that only wrap words a reader sees."""
    name = _template_name(template)
    positional = [p for p in template.params if not p.showkey]
    if name in _WRAPPERS and positional:
        return render(positional[_WRAPPERS[name]].value.nodes)
    if name in ("convert", "cvt") and len(positional) >= 2:
        value, unit = (" ".join(str(p.value).split()) for p in positional[:2])
        return f"{value} {unit}"
    return ""


def link_entity(target: str) -> str | None:
    """The entity a wikilink names: its target with ``_`` read as a space, the first letter
    upper-cased and a ``#section`` dropped; None for media, categories, other namespaces,
    interwiki links and links within the page."""
    title = html.unescape(target).translate(_ZERO_WIDTH).replace("_", " ")
    title = title.split("#", 1)[0]
    title = " ".join(title.split()).lstrip(":").strip()
    if not title or "{" in title or "<" in title or "[" in title:
        return None
    if ":" in title:
        prefix = title.split(":", 1)[0].strip()
        lowered = prefix.lower()
        if (
            lowered in _NOT_ARTICLES
            or lowered.endswith(" talk")  # User talk:, Wikipedia talk:, ...
            or lowered in _INTERWIKI
            or _LANGUAGE_PREFIX.fullmatch(prefix)
        ):
            return None
    return title[0].upper() + title[1:]


def link_entities(nodes: Iterable[Node]) -> list[str]:
    """The entities the wikilinks among some nodes name, in order, each once (links inside
    a label or emphasis included; templates and refs are not read)."""
    found: dict[str, None] = {}
    for node in nodes:
        if isinstance(node, Wikilink):
            entity = link_entity(str(node.title))
            if entity is not None:
                found.setdefault(entity)
            if node.text is not None:
                found.update(dict.fromkeys(link_entities(node.text.nodes)))
        elif isinstance(node, Tag) and node.contents is not None:
            tag = str(node.tag).strip().lower()
            if node.wiki_markup in _EMPHASIS or tag not in _DROPPED_TAGS:
                found.update(dict.fromkeys(link_entities(node.contents.nodes)))
        elif isinstance(node, Template):
            name = _template_name(node)
            positional = [p for p in node.params if not p.showkey]
            if name in _LINKING_TEMPLATES and positional:
                if (entity := link_entity(str(positional[0].value))) is not None:
                    found.setdefault(entity)
            elif name in _WRAPPERS and positional:  # {{nowrap|[[Sea of Japan]]}}
                shown = positional[_WRAPPERS[name]].value.nodes
                found.update(dict.fromkeys(link_entities(shown)))
    return list(found)


def publisher(label: str, url: str) -> str:
    """A source's name: its label without parentheses and quote marks ("AFP via FMT" stays
    as written), else the site's host name."""
    name = clean(label)
    while len(name) >= 2 and name[0] == "(" and name[-1] == ")":
        name = name[1:-1].strip()
    name = name.strip(_QUOTES + " ")
    if name:
        return name
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def sources(nodes: Iterable[Node]) -> list[SourceRecord]:
    """The item's external links, in order, each URL once (bare URLs included)."""
    found: dict[str, SourceRecord] = {}
    for node in nodes:
        if isinstance(node, ExternalLink):
            url = str(node.url).strip()
            if not url.lower().startswith(("http://", "https://", "//")):
                continue
            if url.startswith("//"):
                url = "https:" + url
            label = render(node.title.nodes) if node.title is not None else ""
            found.setdefault(url, SourceRecord(name=publisher(label, url), url=url))
        elif isinstance(node, Tag) and node.contents is not None:
            # In emphasis, <small>, and a <ref> too: the item's links wherever they are.
            for source in sources(node.contents.nodes):
                found.setdefault(source.url, source)
    return list(found.values())


# --- the page -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Bullet:
    depth: int
    nodes: list[Node]
    category: str | None
    topics: list[_Bullet]  # the bullets it is nested in, outermost first
    children: int = 0
    # Read once, whether the bullet is an item or the topic of many: its text and entities.
    text: str = field(init=False)
    entities: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.text = clean(render(self.nodes))
        self.entities = link_entities(self.nodes)


def _names_only(nodes: Iterable[Node]) -> bool:
    """Whether some nodes show nothing but wikilinks, with at most spaces and punctuation
    between them: ``[[Russian invasion of Ukraine]]``, a topic line, not a sentence. An
    external link (a source), a footnote or a word outside the links makes it more."""
    linked = False
    for node in nodes:
        if _is_blank(node):
            continue
        if isinstance(node, Wikilink):
            linked = linked or not _shows_no_text(str(node.title))
        elif isinstance(node, Text | HTMLEntity):
            if _has_words(render([node])):
                return False
        elif isinstance(node, Tag) and node.wiki_markup in _EMPHASIS:  # '''[[Topic]]'''
            if node.contents is None or not _names_only(node.contents.nodes):
                return False
            linked = True
        elif isinstance(node, Template):
            name = _template_name(node)
            positional = [p for p in node.params if not p.showkey]
            if name in _LINKING_TEMPLATES and positional:  # {{ill|…}}: a link
                linked = True
            elif name in _WRAPPERS and positional:  # {{nowrap|[[Sea of Japan]]}}
                if not _names_only(positional[_WRAPPERS[name]].value.nodes):
                    return False
                linked = True
            elif _has_words(_template_text(node)):
                return False
        else:
            return False
    return linked


def _has_words(text: str) -> bool:
    return any(character.isalnum() for character in text)


def _cap_nesting(wikitext: str) -> tuple[str, int]:
    """The wikitext with every line's list markup cut to MAX_NESTING markers, and how many
    lines were cut. A cut line of bullets is read at depth MAX_NESTING; a line whose markup
    held a ':' or ';' keeps one, and stays a line that is not a bullet."""

    def cut(match: re.Match[str]) -> str:
        markup = match.group()
        kept = markup[:MAX_NESTING]
        if set(markup) <= {"*", "#"} or not set(kept) <= {"*", "#"}:
            return kept
        return kept + ":"

    return _DEEP_LIST.subn(cut, wikitext)


def parse_day(date: dt.date, wikitext: str, *, language: str = "en") -> PortalDay:
    """The news items of one day page. PortalFormatError when there are none to be found
    (a page that is not a Current events day page); an empty day is not an error."""
    wikitext, deep = _cap_nesting(wikitext)
    code = mwparserfromhell.parse(wikitext)
    region, warnings = _news_region(code)
    if deep:
        warnings.append(
            f"{deep} line{'s' if deep > 1 else ''} nested more than {MAX_NESTING} deep"
            f" read at depth {MAX_NESTING}"
        )
    bullets: list[_Bullet] = []
    open_bullets: list[_Bullet] = []
    category: str | None = None
    for line in _lines(region):
        heading = _heading(line)
        if heading is not None:
            category, open_bullets = heading, []
            continue
        depth = len(line.markup) if line.markup and set(line.markup) <= {"*", "#"} else 0
        if not depth or not line.visible():
            continue
        while open_bullets and open_bullets[-1].depth >= depth:
            open_bullets.pop()
        bullet = _Bullet(depth, line.nodes, category, topics=list(open_bullets))
        if open_bullets:
            open_bullets[-1].children += 1
        bullets.append(bullet)
        open_bullets.append(bullet)

    items: list[PortalItemRecord] = []
    keys: dict[str, int] = {}
    bare_topics: list[_Bullet] = []
    for bullet in bullets:
        if bullet.children:
            continue
        headline = bullet.text
        if not headline:
            warnings.append(f"an item with no text was skipped: {_excerpt(bullet.nodes)}")
            continue
        if _names_only(bullet.nodes):  # a topic whose items were moved or are still to come
            bare_topics.append(bullet)
            continue
        entities: dict[str, None] = {}
        for part in [*bullet.topics, bullet]:
            entities.update(dict.fromkeys(part.entities))
        key = make_key(date, slugify(headline, language) or "item")
        keys[key] = keys.get(key, 0) + 1
        if keys[key] > 1:  # the same words twice on one page: two items all the same
            key = f"{key}-{keys[key]}"
        items.append(
            PortalItemRecord(
                key=key,
                date=date,
                headline=headline,
                category=bullet.category,
                topics=tuple(topic.text for topic in bullet.topics if topic.text),
                entities=tuple(entities),
                sources=tuple(sources(bullet.nodes)),
                position=len(items),
                lang=language,
            )
        )
    if len(bare_topics) == 1:
        warnings.append(
            f"a topic line with no items under it was skipped: {_excerpt(bare_topics[0].nodes)}"
        )
    elif bare_topics:
        warnings.append(
            f"{len(bare_topics)} topic lines with no items under them were skipped, the first:"
            f" {_excerpt(bare_topics[0].nodes)}"
        )
    return PortalDay(date, tuple(items), tuple(warnings))


def _excerpt(nodes: Sequence[Node]) -> str:
    text = " ".join("".join(str(n) for n in nodes).split())
    return text[:80] + ("…" if len(text) > 80 else "")
