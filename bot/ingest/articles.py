"""Full article texts -> ArticleRecord, and how well one matches an event.

The texts come as pasted from news sites, so their shape varies: a section name run into
the title on the first line (seed 003), or a ``date YYYY-MM-DD Section`` line, photo
captions, the title and a byline (seed 004). The title is found as the first line that
stands alone as a paragraph and reads like a headline; the date is an ISO date or a
written one ("June 16, 2017", "16 June 2017") near the top.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bot.ingest.files import FileRefused, read_bounded
from storage.models import ArticleRecord

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WRITTEN_DATE = re.compile(
    rf"\b(?:({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})|(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}}))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "from",
        "this",
        "was",
        "were",
        "are",
        "has",
        "have",
        "had",
        "its",
        "his",
        "her",
        "their",
        "they",
        "them",
        "not",
        "but",
        "will",
        "would",
        "said",
        "says",
        "say",
        "been",
        "being",
        "into",
        "over",
        "after",
        "before",
        "about",
        "which",
        "while",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "than",
        "then",
        "also",
        "such",
        "may",
        "might",
        "can",
        "could",
        "should",
        "other",
        "others",
        "more",
        "most",
        "some",
        "any",
        "all",
        "one",
        "two",
        "three",
        "new",
        "out",
        "off",
        "per",
        "via",
        "our",
        "your",
        "you",
        "she",
        "him",
        "how",
        "why",
        "yet",
        "according",
    ]
)
HEADER_LINES = 12
# A news article's text is tens of kB; a file larger than this is not one.
MAX_ARTICLE_BYTES = 1024 * 1024
# An archive page's date heading and headline, as bot.ingest.archive reads them.
_ARCHIVE_PAGE = re.compile(r"^##+\s*\[\d{4}-\d{1,2}-\d{1,2}\]\(/(?:zh/)?news/", re.M)


class ArticleFormatError(ValueError):
    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _looks_like_title(line: str) -> bool:
    words = line.split()
    return 4 <= len(words) <= 40 and not line.endswith((".", "…")) and not line.startswith("(")


def find_date(text: str) -> dt.date | None:
    """A full date near the top of the text (ISO, or written out with a year)."""
    head = "\n".join(text.split("\n")[:HEADER_LINES])
    for candidate in (head, text):
        if match := _ISO_DATE.search(candidate):
            try:
                return dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                pass
        if match := _WRITTEN_DATE.search(candidate):
            month_name, day, year = (
                (match[1], match[2], match[3]) if match[1] else (match[5], match[4], match[6])
            )
            try:
                return dt.date(int(year), _MONTHS[month_name.lower()], int(day))
            except ValueError:
                pass
    return None


def read_article_file(path: str | Path) -> bytes:
    """A file's bytes, if it can be an article text: a regular file (a link to one is
    followed) of at most MAX_ARTICLE_BYTES, read no further than that. ArticleFormatError
    says why not, so that a device (/dev/zero), a pipe or a huge file is refused at once
    rather than read to the end."""
    name = str(path)
    try:
        return read_bounded(Path(path), MAX_ARTICLE_BYTES, _too_large)
    except FileRefused as refused:
        reason = refused.reason
        if refused.kind == "folder":
            reason = "is a folder: name the article files in it"
        elif refused.kind == "special":
            reason += ": not read"
        raise ArticleFormatError(name, reason) from None


def _too_large(size: int) -> str:
    return (
        f"{size / 1024 / 1024:.1f} MB, more than the {MAX_ARTICLE_BYTES // 1024 // 1024} MB"
        " an article's text can be: not read"
    )


def parse_article(path: str, data: bytes) -> ArticleRecord:
    """An article text: its title, its date when it gives one, and the story below the title."""
    if (nul := data.find(b"\0")) != -1:
        raise ArticleFormatError(
            path, f"binary data, not an article's text (a NUL byte at offset {nul})"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _ARCHIVE_PAGE.search(text[:2000]):
        raise ArticleFormatError(
            path,
            "this is an archive event page, not an article's text: import it with"
            " `chronicle import`",
        )
    paragraphs = _paragraphs(text)
    if not paragraphs:
        raise ArticleFormatError(path, "empty file")
    title = None
    title_index = 0
    for index, paragraph in enumerate(paragraphs):
        if len(paragraph) == 1 and _looks_like_title(paragraph[0]):
            title, title_index = paragraph[0], index
            # "Middle East Russian airstrike ..." followed by "Russian airstrike ...": the
            # first carries a section name in front of the real title.
            if index + 1 < len(paragraphs):
                following = paragraphs[index + 1][0]
                if (
                    following != title
                    and title.endswith(following)
                    and _looks_like_title(following)
                ):
                    title, title_index = following, index + 1
            break
    if title is None:
        first = paragraphs[0][0]
        title = first if len(first) <= 200 else first[:200].rsplit(" ", 1)[0] + "…"
    # Captions and bylines around the title are not the story; what follows it is.
    body = paragraphs[title_index + 1 :] or paragraphs
    publisher = None
    if body and _is_byline(body[0]):
        publisher = body[0][0]
        body = body[1:]
    if body and _CREDIT.match(body[-1][0]) and len(body) > 1:
        body = body[:-1]
    if publisher is None and body and (dateline := _DATELINE.match(body[0][0])):
        publisher = dateline.group(1).strip()
    return ArticleRecord(
        title=title,
        text="\n\n".join("\n".join(p) for p in body),
        publisher=publisher,
        published=find_date(text),
        file_name=path,
    )


# "Associated Press" alone, perhaps over "Updated: 4:04 AM ET | Originally published: ...".
_BYLINE_NAME = re.compile(r"^(?:By\s+)?[A-Z][\w&.'’-]*(?:\s+[A-Z&][\w&.'’-]*){0,5}$")
_TIMESTAMP_LINE = re.compile(r"^(?:Updated|Published|Originally published|Posted)\b", re.I)
# "ERBIL, Kurdistan Region (Kurdistan24) – ..." names its publisher; "(MOSCOW) —" a city.
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]+,[^()]{0,60}\(([^()]{2,40})\)\s*[–—-]")
_CREDIT = re.compile(r"^(?:Editing|Reporting|Additional reporting|Writing) by\b", re.I)


def _is_byline(paragraph: list[str]) -> bool:
    """A paragraph that names who wrote or published the story, not a sentence of it."""
    first, *rest = paragraph
    return bool(_BYLINE_NAME.match(first)) and all(_TIMESTAMP_LINE.match(line) for line in rest)


def lead(text: str, limit: int = 300) -> str:
    """The opening of the story: its first paragraphs of some length (not captions)."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    story = [p for p in paragraphs if len(p.split()) >= 12] or paragraphs
    opening = " ".join(story[:2])
    if len(opening) <= limit:
        return opening
    return opening[: limit - 1].rsplit(" ", 1)[0] + "…"


def _stem(word: str) -> str:
    # Just enough to make "strikes"/"strike" and "killed"/"kill" meet.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in (m.casefold() for m in _WORD.findall(text)) if w not in _STOPWORDS}


def match_score(
    article: ArticleRecord, headline: str, summary: str, event_date: dt.date, *, window_days: int
) -> float:
    """How well an article matches an event, 0..1.

    The mean of two shares: of the event's content words (headline counted twice) that the
    article uses, and of the article's title and opening words that the event uses; a
    short, generic headline cannot score high on the second. A bonus when the article's
    date is the event's, a penalty when it is outside the window.
    """
    article_words = content_words(f"{article.title}\n{article.text}")
    opening_words = content_words(f"{article.title}\n{lead(article.text)}")
    headline_words = content_words(headline)
    summary_words = content_words(summary) - headline_words
    event_words = headline_words | summary_words
    weight = 2 * len(headline_words) + len(summary_words)
    if weight == 0 or not opening_words:
        return 0.0
    event_share = (
        2 * len(headline_words & article_words) + len(summary_words & article_words)
    ) / weight
    article_share = len(opening_words & event_words) / len(opening_words)
    score = (event_share + article_share) / 2
    if article.published is not None:
        gap = abs((article.published - event_date).days)
        if gap == 0:
            score += 0.1
        elif gap > window_days:
            score -= 0.3
    return max(0.0, min(1.0, score))
