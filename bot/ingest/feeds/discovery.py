"""HTML pages served instead of a feed: their title, and the feeds they advertise.

An HTML page is named by its title, decoded with the page's own charset (BOM, else the
HTTP header, else ``<meta charset>`` / ``<meta http-equiv="Content-Type">``, else UTF-8).
The feeds it advertises (``<link rel="alternate">`` of type RSS, Atom or JSON Feed,
resolved against ``<base href>`` or the page's URL) are carried by the refusal in
:attr:`FeedError.feed_links`, for discovery when a feed is added; ``application/json``
links come last, since that type also labels documents that are not feeds (e.g.
WordPress's REST API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

from bot.ingest.feeds.charsets import decode_html_head
from bot.ingest.feeds.entries import _absolute_link
from bot.ingest.feeds.html_text import _fold

_HTML_MARKER: Final = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|title|meta|div|p|h[1-6]|table|script)\b",
    re.IGNORECASE,
)
_FEED_ROOT: Final = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF|rdf)\b")
# Feed links sit in <head>; the rest of a long page is not read for them.
_HTML_SCAN_BYTES: Final = 512 * 1024
_FEED_LINK_TYPES: Final = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Some JSON Feeds are advertised as plain JSON, but WordPress and others label documents
# that are not feeds (their REST API) so too: such links come after the feed types.
_JSON_LINK_TYPE: Final = "application/json"


@dataclass(frozen=True)
class _HtmlPage:
    title: str
    feed_links: tuple[str, ...]

    def refusal(self) -> str:
        named = "the response is an HTML page" + (f" ({self.title!r})" if self.title else "")
        if self.feed_links:
            return f"{named}, not a feed; the page advertises the feed {self.feed_links[0]}"
        return f"{named}, not an RSS, Atom or JSON feed, and the page advertises no feed"


class _HeadScanner(HTMLParser):
    """What a refusal and discovery need from an HTML page: its first <title>, its
    <base href> and its <link rel="alternate"> feed links in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []  # (type, href)
        self._in_title = False
        self._titled = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "title" and not self._titled:
            self._in_title = True
        elif tag == "base" and self.base is None and values.get("href", "").strip():
            self.base = values["href"].strip()
        elif tag == "link" and "alternate" in values.get("rel", "").lower().split():
            mime = values.get("type", "").split(";")[0].strip().lower()
            href = values.get("href", "").strip()
            if href and (mime in _FEED_LINK_TYPES or mime == _JSON_LINK_TYPE):
                self.links.append((mime, href))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title, self._titled = False, True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def _html_page(body: bytes, content_type: str | None, url: str) -> _HtmlPage | None:
    """The page's title and advertised feeds, or None if the body is not an HTML page."""
    head = body[:65536]
    mime = (content_type or "").split(";")[0].strip().lower()
    is_html = _HTML_MARKER.search(head) and not _FEED_ROOT.search(head)
    if not is_html and mime not in ("text/html", "application/xhtml+xml"):
        return None
    scanner = _HeadScanner()
    scanner.feed(decode_html_head(body[:_HTML_SCAN_BYTES], content_type))
    base = _absolute_link(scanner.base, url) or url
    ordered = sorted(scanner.links, key=lambda link: link[0] == _JSON_LINK_TYPE)  # stable
    links = (_absolute_link(href, base) for _, href in ordered)
    feed_links = tuple(dict.fromkeys(link for link in links if link is not None))
    return _HtmlPage(_fold("".join(scanner.title))[:100], feed_links)
