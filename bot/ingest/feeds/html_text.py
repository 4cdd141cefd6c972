"""HTML fragments to plain one-line text, and cutting text at a sentence end."""

from __future__ import annotations

import html
import html.entities
import re
from html.parser import HTMLParser
from typing import Final

__all__ = ["cut_at_sentence", "html_to_text"]

# Elements whose boundaries separate words/sentences in rendered text.
_BLOCK_TAGS: Final = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# Elements whose content is never text a reader sees.
_SKIP_TAGS: Final = frozenset({"script", "style", "noscript", "template", "iframe"})
# Characters that only get in the way in a one-line text: invisible format characters
# (zero-width space, BOM, soft hyphen) are dropped; C0/C1 control characters become spaces
# (they sometimes stand between words) and are then folded like any whitespace.
# ZWJ/ZWNJ stay: emoji and several scripts (Persian, Urdu, Indic) need them.
CONTROLS_AS_SPACES: Final[dict[int, str | None]] = {
    cp: " " for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)]
}
_INVISIBLE: Final[dict[int, str | None]] = {
    **CONTROLS_AS_SPACES,
    0x200B: None,
    0xFEFF: None,
    0xAD: None,
}


def _fold(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and friends: a separator, never the start of a skipped region.
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)
            self.length += len(data)


def html_to_text(s: str | None, *, max_chars: int | None = None) -> str:
    """Plain text of an HTML fragment: tags removed (script/style content too), entities
    decoded, block boundaries kept as spaces, whitespace folded to single spaces.

    ``max_chars`` stops parsing once that much text has been collected (the result may be
    somewhat longer); summaries only need the first few hundred characters of articles
    that can be megabytes long.
    """
    if not s:
        return ""
    if "<" not in s and "&" not in s:
        return _fold(s)
    parser = _TextExtractor()
    step = 8192
    for start in range(0, len(s), step):
        parser.feed(s[start : start + step])
        if max_chars is not None and parser.length > max_chars + 200:
            break
    parser.close()
    return _fold("".join(parser.parts))


# Known HTML tag names: a text/plain title is only treated as HTML if it contains one, so
# "x<y" or "Why <T> matters" survive while "<b>Breaking</b>" loses its markup (and a
# "<script>" its content).
_LOOKS_LIKE_HTML: Final = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|cite|code|del|div|em|font|h[1-6]|hr|i|iframe|img|"
    r"ins|li|noscript|ol|p|pre|q|s|script|small|span|strike|strong|style|sub|sup|table|td|"
    r"template|th|tr|u|ul)\b[^<>]*>",
    re.IGNORECASE,
)
# A named reference still there once the text is decoded, and not HTML's, is one no text
# defines (an entity of the document's DTD that the parser dropped, as a billion laughs'
# "&lol9;"); one glued to a word ("AT&T;") is left as written.
_UNDEFINED_REFERENCE: Final = re.compile(r"(?<![0-9A-Za-z])&[A-Za-z][\w.-]*;")


def _clean_text(
    value: str | None, content_type: str | None, *, max_chars: int | None = None
) -> str:
    if not value:
        return ""
    if content_type == "text/plain" and not _LOOKS_LIKE_HTML.search(value):
        # Plain text can still carry (often double-) escaped entities: "&amp;quot;".
        text = _fold(html.unescape(value))
    else:
        text = html_to_text(value, max_chars=max_chars)
    return _fold(_UNDEFINED_REFERENCE.sub(_undefined_dropped, text)) if "&" in text else text


def _undefined_dropped(found: re.Match[str]) -> str:
    # An HTML entity left over was escaped twice on purpose ("&amp;quot;"): kept.
    return found.group(0) if found.group(0)[1:] in html.entities.html5 else ""


_SENTENCE_END: Final = re.compile(r"[.!?…。！？]+[\"'”’»」』)\]）]*")
_CJK_STOPS: Final = frozenset("。！？")
_TRAILING_JUNK: Final = " ,;:-–—/([{“‘«"


def cut_at_sentence(text: str, limit: int = 600) -> str:
    """Shorten ``text`` to at most ``limit`` characters.

    Prefer the end of the last complete sentence that fits, when it keeps at least half
    of the allowance; otherwise cut after the last whole word and add "…". A sentence end
    is terminal punctuation followed by the end of text, or by a space and a character
    that is not lowercase ("e.g. this" is not a sentence end). Scripts written without
    spaces (Chinese, Japanese) end sentences with 。！？ directly and may be cut between
    characters, which is how their words are separated anyway.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit < 2:
        return "…"[:limit]
    best = 0
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        end = match.end()
        if end > limit:
            break
        if _is_sentence_boundary(text, match.group(), end):
            best = end
    if best >= limit // 2:
        return text[:best]
    window = text[: limit - 1]  # room for the ellipsis
    # If the character after the window is a space, the window ends on a whole word.
    cut = len(window) if text[limit - 1].isspace() else window.rfind(" ")
    if cut >= limit // 2:
        return window[:cut].rstrip(_TRAILING_JUNK) + "…"
    # No usable word boundary (one enormous token, or a script without spaces): hard cut.
    return window.rstrip(_TRAILING_JUNK) + "…"


def _is_sentence_boundary(text: str, punct: str, end: int) -> bool:
    if end >= len(text):
        return True
    if punct[0] in _CJK_STOPS:
        return True
    if not text[end].isspace():
        return False
    rest = text[end:].lstrip()
    return bool(rest) and not rest[0].islower()
