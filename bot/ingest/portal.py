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
    the text a reader sees of it, its entities are the articles it and its topics link to,
    and its sources are its external links (bot.ingest.wikitext reads all three). An item
    without a source is still an event.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeGuard

import mwparserfromhell
from mwparserfromhell.nodes import (
    Comment,
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
from bot.ingest.wikitext import (
    EMPHASIS,
    LINKING_TEMPLATES,
    WRAPPERS,
    clean,
    link_entities,
    render,
    shows_no_text,
    sources,
    template_name,
    template_text,
)
from storage.keys import make_key
from storage.models import PortalItemRecord

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
# Bullets nested deeper than this are read at this depth, as siblings of the deepest topics.
# Real day pages nest 2 to 4 deep (a story, a sub-story, the item). A vandal's hundred-deep
# list would otherwise give each of its items a hundred topics, and cost a parsed node per
# list marker (benchmarks.portal_parse; FINDINGS, "Portal day pages").
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
# Its API; the command line's settings name it without loading the HTTP client.
DEFAULT_API_URL: Final = "https://en.wikipedia.org/w/api.php"
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


def _is_current_events(node: Node, *names: str) -> TypeGuard[Template]:
    return isinstance(node, Template) and template_name(node) in names


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
            linked = linked or not shows_no_text(str(node.title))
        elif isinstance(node, Text | HTMLEntity):
            if _has_words(render([node])):
                return False
        elif isinstance(node, Tag) and node.wiki_markup in EMPHASIS:  # '''[[Topic]]'''
            if node.contents is None or not _names_only(node.contents.nodes):
                return False
            linked = True
        elif isinstance(node, Template):
            name = template_name(node)
            positional = [p for p in node.params if not p.showkey]
            if name in LINKING_TEMPLATES and positional:  # {{ill|…}}: a link
                linked = True
            elif name in WRAPPERS and positional:  # {{nowrap|[[Sea of Japan]]}}
                if not _names_only(positional[WRAPPERS[name]].value.nodes):
                    return False
                linked = True
            elif _has_words(template_text(node)):
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
