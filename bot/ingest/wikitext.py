"""What a reader sees of wikitext: its text, the articles its links name, its sources.

The text is what the page shows: link labels, not targets; emphasis quote marks (as MediaWiki
reads them, an unclosed ``'''`` too), templates, ``<ref>``s, comments and tags removed (but
for a few templates that only wrap words: ``{{nowrap}}``, ``{{lang}}``, ``{{ill}}``,
``{{convert}}``); entities decoded, zero-width characters dropped, whitespace collapsed; its
external links (the sources) cut out. Its entities are its link targets (``File:``,
``Category:`` and interwiki links are not entities). Its sources are its external links in
order, each named by its label without parentheses and quote marks; an item with none has
the URLs its footnotes' citation templates give.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from mwparserfromhell.nodes import (
    ExternalLink,
    Heading,
    HTMLEntity,
    Node,
    Tag,
    Template,
    Text,
    Wikilink,
)

from storage.models import SourceRecord

EMPHASIS: Final = frozenset({"''", "'''"})
# Tags whose content is not part of the sentence a reader sees.
_DROPPED_TAGS: Final = frozenset({"ref", "references", "gallery", "math", "score", "timeline"})
_LINE_BREAK_TAGS: Final = frozenset({"br", "hr"})
_MEDIA_AND_TAGS: Final = frozenset({"file", "image", "media", "category"})
# Templates that show one of their parameters as it is: {{nowrap|…}}, {{lang|fr|…}},
# {{ill|Title|de|…}} (the index of the positional parameter shown).
WRAPPERS: Final = {
    "nowrap": 0,
    "nobr": 0,
    "lang": -1,
    "transl": -1,
    "ill": 0,
    "interlanguage link": 0,
}
# Templates that link their first parameter, an article of this wiki (which may not exist yet).
LINKING_TEMPLATES: Final = frozenset({"ill", "interlanguage link"})
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
            if shows_no_text(str(node.title)):
                continue  # an image, a category tag or a link to another language's page
            if node.text is not None:
                out.append(render(node.text.nodes))
            else:
                out.append(render(node.title.nodes).lstrip(":"))
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if node.wiki_markup in EMPHASIS or (
                tag not in _DROPPED_TAGS and tag not in _LINE_BREAK_TAGS
            ):
                if node.contents is not None:
                    out.append(render(node.contents.nodes))
            elif tag in _LINE_BREAK_TAGS:
                out.append(" ")
        elif isinstance(node, Heading):
            out.append(render(node.title.nodes))
        elif isinstance(node, Template):
            out.append(template_text(node))
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


def shows_no_text(target: str) -> bool:
    """Whether a wikilink puts no words in the sentence: ``[[File:…]]`` (an image),
    ``[[Category:…]]`` and ``[[fr:…]]`` (page tags) do; ``[[:Category:…]]`` does not."""
    target = target.strip()
    if target.startswith(":") or ":" not in target:
        return False
    prefix = target.split(":", 1)[0].strip()
    if prefix.lower() in _INTERWIKI:  # [[voy:Paris|…]]: a link to a sister project, shown
        return False
    return prefix.lower() in _MEDIA_AND_TAGS or bool(_LANGUAGE_PREFIX.fullmatch(prefix))


def template_name(template: Template) -> str:
    return " ".join(str(template.name).replace("_", " ").split()).lower()


def template_text(template: Template) -> str:
    """Templates are removed, but for the few that only wrap words a reader sees."""
    name = template_name(template)
    positional = [p for p in template.params if not p.showkey]
    if name in WRAPPERS and positional:
        return render(positional[WRAPPERS[name]].value.nodes)
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
            if node.wiki_markup in EMPHASIS or tag not in _DROPPED_TAGS:
                found.update(dict.fromkeys(link_entities(node.contents.nodes)))
        elif isinstance(node, Template):
            name = template_name(node)
            positional = [p for p in node.params if not p.showkey]
            if name in LINKING_TEMPLATES and positional:
                if (entity := link_entity(str(positional[0].value))) is not None:
                    found.setdefault(entity)
            elif name in WRAPPERS and positional:  # {{nowrap|[[Sea of Japan]]}}
                shown = positional[WRAPPERS[name]].value.nodes
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
    """The item's external links, in order, each URL once (bare URLs included). An item
    whose only sources are citation templates in footnotes (``<ref>{{cite news|url=…}}``)
    has those: a footnote beside a link of the item's own repeats it (the portal's
    convention is the bracketed link), so then it is not read."""
    nodes = list(nodes)
    return _external_links(nodes) or list(_citations(nodes).values())


def _external_links(nodes: Iterable[Node]) -> list[SourceRecord]:
    found: dict[str, SourceRecord] = {}
    for node in nodes:
        if isinstance(node, ExternalLink):
            url = _web_url(str(node.url))
            if url is None:
                continue
            label = render(node.title.nodes) if node.title is not None else ""
            found.setdefault(url, SourceRecord(name=publisher(label, url), url=url))
        elif isinstance(node, Tag) and node.contents is not None:
            # In emphasis, <small>, and a <ref> too: the item's links wherever they are.
            for source in _external_links(node.contents.nodes):
                found.setdefault(source.url, source)
    return list(found.values())


# The citation templates' parameters naming the publisher, in the order they are preferred.
_CITATION_PUBLISHERS: Final = ("work", "website", "newspaper", "agency", "publisher")


def _citations(nodes: Iterable[Node]) -> dict[str, SourceRecord]:
    """The URLs of the citation templates ({{cite web}}, {{cite news}}, {{citation}}…)
    among some nodes, in tags included, each once."""
    found: dict[str, SourceRecord] = {}
    for node in nodes:
        if isinstance(node, Template):
            name = template_name(node)
            if not (name.startswith("cite ") or name == "citation") or not node.has("url"):
                continue
            url = _web_url(str(node.get("url").value))
            if url is None:
                continue
            named = (
                render(node.get(key).value.nodes) for key in _CITATION_PUBLISHERS if node.has(key)
            )
            label = next((name for name in named if name.strip()), "")
            found.setdefault(url, SourceRecord(name=publisher(label, url), url=url))
        elif isinstance(node, Tag) and node.contents is not None:
            for url, source in _citations(node.contents.nodes).items():
                found.setdefault(url, source)
    return found


def _web_url(written: str) -> str | None:
    """A link's URL when it is a web address (protocol-relative ones read as https)."""
    url = written.strip()
    if not url.lower().startswith(("http://", "https://", "//")):
        return None
    return "https:" + url if url.startswith("//") else url
