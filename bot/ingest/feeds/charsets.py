"""Which character encoding a feed's or an HTML page's bytes are in.

The encoding half of :func:`bot.ingest.feeds.parse.parse_feed` (its module docstring states
the rules): what to tell feedparser when a declared encoding cannot be the bytes', and how to
read the head of an HTML page that is refused as a feed (for its title and feed links).
Pure functions of bytes and a Content-Type header.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

__all__ = ["charset_for_feedparser", "decode_html_head"]

_XML_DECLARED_ENCODING: Final = re.compile(rb"\A<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_CHARSET_PARAM: Final = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET: Final = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)

_XML_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16's, whose BOM it starts with
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _header_charset(content_type: str | None) -> str | None:
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label.strip()).name
    except (LookupError, ValueError):
        return None


def _ascii_based(codec: str) -> bool:
    try:
        return "<?xml".encode(codec) == b"<?xml"
    except (LookupError, UnicodeError):  # a transform such as rot13 is no text encoding
        return False


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# A document counts as UTF-8 with a few bad bytes when its valid multi-byte characters
# outnumber its invalid sequences by this much. Legacy text is practically never valid
# UTF-8: in the captured legacy feeds (ISO-8859-1, windows-1251, KOI8-R, GB2312, EUC-KR,
# Shift JIS) chance UTF-8 characters are at most a third of the invalid sequences.
_MOSTLY_UTF8_RATIO: Final = 2


def _mostly_utf8(body: bytes) -> tuple[bytes, str] | None:
    """Bytes that are UTF-8 but for a few invalid sequences (a CMS that cut a string
    inside a character): the bytes with each invalid sequence replaced by U+FFFD, and a
    note saying so. None when the bytes are valid UTF-8, or not mostly UTF-8."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
    else:
        return None
    text = body.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - body.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - invalid
    if invalid <= 0 or valid < _MOSTLY_UTF8_RATIO * invalid:
        return None
    sequences = (
        "1 invalid UTF-8 sequence" if invalid == 1 else f"{invalid:,} invalid UTF-8 sequences"
    )
    where = f"at byte {first:,}" if invalid == 1 else f"the first at byte {first:,}"
    return text.encode("utf-8"), f"{sequences} ({where}) replaced with U+FFFD"


def _web_big5(body: bytes) -> str | None:
    """Big5 as the web reads it: Python's big5 lacks characters every Taiwan feed uses (裏,
    恒, 碁) and fails on them, when a browser reads Big5 as Microsoft's cp950 extended with
    Hong Kong's characters (WHATWG's Encoding Standard). cp950 first (Taiwan), then
    Big5-HKSCS (Hong Kong); None when neither reads the bytes."""
    for codec in ("cp950", "big5hkscs"):
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def charset_for_feedparser(
    body: bytes, content_type: str | None, notes: list[str]
) -> tuple[bytes, str | None]:
    """The body and the charset feedparser is given: the HTTP header's (None: feedparser
    then reads the XML declaration, else UTF-8), or the bytes' own encoding when the
    declared one cannot be theirs. Bytes read as UTF-8 that are UTF-8 but for a few
    invalid sequences come back with those replaced by U+FFFD (feedparser would re-read
    the whole document in a legacy encoding). Each override and repair is noted; the rules
    are in :mod:`bot.ingest.feeds.parse`'s docstring."""
    header = _header_charset(content_type)
    where = "the HTTP header" if header else "the XML declaration"
    mark, bom = next(((m, c) for m, c in _XML_BOMS if body.startswith(m)), (b"", None))
    match = _XML_DECLARED_ENCODING.match(body[len(mark) :])
    declared = header or (match.group(1).decode("ascii", "replace").strip() if match else "")
    codec = _codec(declared) if declared else None
    if bom is not None:
        # A BOM is the one declaration that cannot disagree with the bytes. (feedparser
        # would let an XML declaration override a UTF-8 BOM.)
        if codec is not None and codec.split("-")[:2] != bom.split("-")[:2]:
            notes.append(
                f"the byte order mark says {bom}, but {where} says {declared}; read it as {bom}"
            )
        return _as_utf8(body, bom, notes) if bom == "utf-8" else (body, bom)
    if codec is None or codec in ("utf-8", "utf-8-sig"):
        # UTF-8 (declared or by default) or an unknown label: bytes that are not even
        # mostly UTF-8 are feedparser's to fall back from, and it says so.
        return _as_utf8(body, header, notes)
    utf8 = _is_utf8(body)
    repaired = None if utf8 else _mostly_utf8(body)
    if not _ascii_based(codec) and body.lstrip(b" \t\r\n").startswith(b"<"):
        # "<" in UTF-16 or EBCDIC is not the byte "<": the declaration is wrong (typically
        # a .NET writer's encoding="utf-16" on a document saved as UTF-8).
        actual = "utf-8" if utf8 or repaired else _single_byte_codec(body)
        notes.append(
            f"{where} says {declared}, but the document is in an ASCII-based encoding;"
            f" read it as {actual.upper() if actual == 'utf-8' else actual}"
        )
    elif not body.isascii() and (utf8 or repaired):
        notes.append(f"{where} says {declared}, but the bytes are UTF-8; read them as UTF-8")
        actual = "utf-8"
    elif codec == "big5" and (text := _web_big5(body)) is not None:
        return text.encode("utf-8"), "utf-8"
    else:
        return body, header
    if repaired is not None:
        notes.append(repaired[1])
        return repaired[0], actual
    return body, actual


def _as_utf8(body: bytes, charset: str | None, notes: list[str]) -> tuple[bytes, str | None]:
    """``body`` to be read as UTF-8: repaired (and noted) if it is mostly UTF-8, else as
    it is, with ``charset``."""
    repaired = _mostly_utf8(body)
    if repaired is None:
        return body, charset
    notes.append(repaired[1])
    return repaired[0], "utf-8"


def _single_byte_codec(body: bytes) -> str:
    try:
        body.decode("windows-1252")
    except UnicodeDecodeError:
        return "iso-8859-1"  # decodes any byte
    return "windows-1252"


# --- HTML pages ---------------------------------------------------------------------------

# The labels browsers read differently from Python (the WHATWG Encoding standard): GB2312
# pages are GBK in practice, and Latin-1 pages use windows-1252's extra characters.
_HTML_CODEC_ALIASES: Final = {
    "big5": "cp950",  # see _web_big5
    "big5-tw": "cp950",
    "csbig5": "cp950",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
}

_HTML_BOMS: Final = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_html_head(head: bytes, content_type: str | None) -> str:
    """The start of an HTML page as text, in the page's own charset: a BOM, else the HTTP
    header's charset, else <meta charset> / <meta http-equiv="Content-Type"> (the HTML
    standard's order), else UTF-8. A charset the bytes do not decode in is passed over."""
    bom = next((codec for mark, codec in _HTML_BOMS if head.startswith(mark)), None)
    meta = _META_CHARSET.search(head[:65536])
    labels = (bom, _header_charset(content_type), meta.group(1).decode("ascii") if meta else None)
    for label in labels:
        codec = _codec(_HTML_CODEC_ALIASES.get(label.lower(), label)) if label else None
        if codec is None:
            continue
        try:
            # final=False: the head may be cut inside a multi-byte character.
            return codecs.getincrementaldecoder(codec)().decode(head, final=False)
        except (UnicodeDecodeError, LookupError, TypeError):
            continue
    return head.decode("utf-8", "replace")
