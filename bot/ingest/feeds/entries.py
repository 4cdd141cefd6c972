"""Entry records (FeedEntry, ParsedFeed) and the rules that make them from raw entries.

What a news reader expects, whatever the format:

* identity: the GUID/Atom id; else the link; else ``"sha256:" + sha256(title, date)``.
  When several GUID-less entries of one document share a link (a "news.html" page used
  as every item's link), the link cannot tell them apart, so those entries fall back to
  the hash, with the link mixed in. Likewise a GUID that several entries of one document
  share while differing in link or title (a CMS that puts the site's address in every
  ``<guid>``) identifies none of them: they are told apart as GUID-less entries are, and
  the document's warning says so. The same entry repeated whole keeps its GUID.
* An entry with neither a title nor a link is skipped: there is nothing to show or to
  point to. An entry with a link but no title (micro-blog style items) is titled from
  the first sentence / first words of its summary; if it has no summary either, it is
  skipped too.
* Duplicate identities within one document: the first occurrence wins.
* language: what the feed declares for the entry, as written ("de-DE", "zh-Hant"): the
  entry's own (``<dc:language>`` on an item, ``xml:lang`` on an entry or its title, summary
  or content, a JSON Feed item's ``language``), else the feed's (``<language>`` or
  ``<dc:language>`` of an RSS channel, ``xml:lang`` on an Atom feed or its title, a JSON
  Feed's ``language``); None when it declares none. Which edition that makes an item is
  bot.ingest.language's.
* A link never carries a login (``user:password@``), nor the token of the feed's URL (a
  link "#a1" or "" resolves against the URL without it): links are shown to everyone, and
  the login and token of a private feed's URL are the fetch's alone.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from bot.ingest.feeds.credentials import without_credentials
from bot.ingest.feeds.html_text import _clean_text, cut_at_sentence
from storage.redaction import without_secret_values

__all__ = ["FeedEntry", "ParsedFeed", "entry_identity"]


@dataclass
class FeedEntry:
    identity: str
    title: str
    summary: str
    link: str | None
    published: datetime | None
    categories: list[str] = field(default_factory=list)
    language: str | None = None  # as the feed declares it (see the module docstring)


@dataclass
class ParsedFeed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    warning: str | None
    """Set when the document had problems but was parsed anyway (feedparser's bozo
    exception, or a repair done before parsing)."""


_SUMMARY_LIMIT: Final = 600
_TITLE_LIMIT: Final = 300
_HEADLINE_FROM_SUMMARY_LIMIT: Final = 120
_LANGUAGE_LIMIT: Final = 64  # a language tag is short; a longer value is kept cut


def entry_identity(
    *,
    guid: str | None,
    link: str | None,
    title: str,
    published: datetime | str | None,
    link_is_shared: bool = False,
) -> str:
    """Stable identity of an entry across fetches: GUID, else link, else a hash.

    The hash is ``"sha256:" + hex(sha256(title, date))``; the date is the parsed UTC
    timestamp, or the raw date text when it did not parse. When ``link_is_shared`` (several
    GUID-less entries in one document point to the same page) the link is not an identity
    and is mixed into the hash instead.
    """
    guid = (guid or "").strip()
    if guid:
        return guid
    link = (link or "").strip()
    if link and not link_is_shared:
        return link
    if isinstance(published, datetime):
        date_text = published.astimezone(UTC).isoformat()
    else:
        date_text = (published or "").strip()
    material = "\n".join([title.strip(), date_text, link])
    return "sha256:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


def _detail_type(item: Mapping[str, Any], key: str) -> str | None:
    detail = item.get(key)
    if isinstance(detail, Mapping):
        value = detail.get("type")
        return value if isinstance(value, str) else None
    return None


def _absolute_link(link: Any, base: str) -> str | None:
    """An absolute http(s) link, resolved against ``base``; None for anything else
    (javascript:, mailto:, garbage)."""
    if not isinstance(link, str):
        return None
    link = link.strip()
    if not link:
        return None
    try:
        absolute = urljoin(base, link)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _plain_get(entry: Mapping[str, Any], key: str) -> Any:
    # FeedParserDict.get maps missing published* keys to updated* with a
    # DeprecationWarning; reading the dict directly keeps our own fallback explicit.
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _published(entry: Mapping[str, Any]) -> datetime | None:
    """When the entry was published, at the UTC offset its feed wrote (whose day it is: an
    item of 08:00 +13:00 is of that day in New Zealand, the day before in UTC); in UTC when
    the offset cannot be read from the raw text."""
    for key in ("published", "updated", "created"):
        value = _plain_get(entry, f"{key}_parsed")
        if isinstance(value, time.struct_time | tuple) and len(value) >= 6:
            try:
                # feedparser normalises to UTC struct_time; timegm reads it as UTC.
                moment = datetime.fromtimestamp(calendar.timegm(tuple(value)[:9]), tz=UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                return None
            local = _with_offset(_plain_get(entry, key))
            # Only when the raw text is the instant feedparser read (not another reading);
            # feedparser's instant itself, which identities hash, at the text's offset.
            if local is not None and abs(local - moment) < _SAME_MOMENT:
                return moment.astimezone(local.tzinfo)
            return moment
    return None


_SAME_MOMENT: Final = timedelta(seconds=1)  # feedparser drops fractions of a second


def _with_offset(raw: Any) -> datetime | None:
    """The raw date text as an aware datetime at its own offset: RFC 822 (RSS) or ISO 8601
    (Atom); None for any other form, or one without an offset."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    parsed: datetime | None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None  # "-0000" and naive times say no offset
    return parsed


def _raw_date(entry: Mapping[str, Any]) -> str | None:
    for key in ("published", "updated", "created"):
        value = _plain_get(entry, key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _summary_source(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary, _detail_type(entry, "summary_detail")
    for content in entry.get("content") or []:
        if isinstance(content, Mapping) and isinstance(content.get("value"), str):
            return content["value"], content.get("type")
    return None, None


def _language_tag(value: Any) -> str | None:
    """A declared language as written, or None for none (an empty ``xml:lang=""`` says
    "unknown")."""
    if not isinstance(value, str):
        return None
    return value.strip()[:_LANGUAGE_LIMIT] or None


def declared_language(item: Mapping[str, Any]) -> str | None:
    """The language an entry (or, given the feed's metadata, a feed) declares: its own
    ``language`` (RSS ``<language>``/``<dc:language>``, Atom ``xml:lang`` on the feed, JSON
    Feed), else the ``xml:lang`` of its title, summary or content, as feedparser gives them."""
    own = _language_tag(item.get("language"))
    if own is not None:
        return own
    details = [item.get(key) for key in ("title_detail", "summary_detail", "subtitle_detail")]
    details += list(item.get("content") or [])
    for detail in details:
        if isinstance(detail, Mapping) and (tag := _language_tag(detail.get("language"))):
            return tag
    return None


def _categories(entry: Mapping[str, Any]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in entry.get("tags") or []:
        if not isinstance(tag, Mapping):
            continue
        term = _clean_text(tag.get("term") or tag.get("label"), None)
        key = term.casefold()
        if term and key not in seen:
            seen.add(key)
            out.append(term)
    return out


def _build_entries(
    raw_entries: Iterable[Mapping[str, Any]],
    base_url: str,
    notes: list[str],
    secrets: frozenset[str] = frozenset(),
    feed_language: str | None = None,
) -> list[FeedEntry]:
    """The document's entries by the rules above; what the operator should know of them
    (a GUID that identifies nothing) is added to ``notes``. ``secrets``: the values of the
    feed URL's token-like parameters, which no item's link or identity keeps.
    ``feed_language``: the language the feed declares, for entries that declare none."""
    prepared: list[tuple[Mapping[str, Any], str | None, str | None]] = []
    for raw in raw_entries:
        guid = raw.get("id") if isinstance(raw.get("id"), str) else None
        if guid:
            # A permalink GUID may carry the token too; the entry's identity keeps none (as
            # the upgrade that took it out of stored identities left them).
            guid = without_secret_values(guid, secrets) or guid
        link = _absolute_link(raw.get("link"), base_url)
        if link is not None:
            # A login in an item's link (an xml:base that carries one) is shown to everyone,
            # and so is the feed's token a private feed writes into its items' links.
            link = without_credentials(link)
            link = without_secret_values(link, secrets) or link
        prepared.append((raw, guid.strip() if guid else None, link))
    # A GUID that entries differing in link or title share identifies none of them; the
    # same entry repeated whole (an identical copy) keeps it, and collapses below.
    variants: defaultdict[str, set[tuple[str | None, Any]]] = defaultdict(set)
    for raw, guid, link in prepared:
        if guid:
            variants[guid].add((link, raw.get("title")))
    shared = {guid for guid, seen in variants.items() if len(seen) > 1}
    if shared:
        sharing = sum(1 for _, guid, _ in prepared if guid in shared)
        example = repr(next(iter(shared))[:100])
        which = f"the GUID {example}" if len(shared) == 1 else f"{len(shared)} GUIDs ({example}, …)"
        notes.append(f"{sharing} entries that differ share {which}; told apart by their links")
    prepared = [(raw, None if guid in shared else guid, link) for raw, guid, link in prepared]
    # Links shared by several GUID-less entries cannot identify any one of them.
    link_counts = Counter(link for _, guid, link in prepared if link and not guid)

    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw, guid, link in prepared:
        title = _clean_text(raw.get("title"), _detail_type(raw, "title_detail"))
        summary_raw, summary_type = _summary_source(raw)
        # Parse a little more than needed: sentence search looks back from the limit.
        summary_text = _clean_text(summary_raw, summary_type, max_chars=_SUMMARY_LIMIT * 2)
        if not title:
            if not link or not summary_text:
                continue  # nothing to call it, or nowhere to send the reader
            title = cut_at_sentence(summary_text, _HEADLINE_FROM_SUMMARY_LIMIT)
        title = cut_at_sentence(title, _TITLE_LIMIT)
        summary = cut_at_sentence(summary_text, _SUMMARY_LIMIT)
        if summary.casefold() == title.casefold():
            summary = ""  # feeds that repeat the headline as the description
        published = _published(raw)
        identity = entry_identity(
            guid=guid,
            link=link,
            title=title,
            published=published if published is not None else _raw_date(raw),
            link_is_shared=link is not None and link_counts[link] > 1,
        )
        if identity in seen:
            continue
        seen.add(identity)
        entries.append(
            FeedEntry(
                identity=identity,
                title=title,
                summary=summary,
                link=link,
                published=published,
                categories=_categories(raw),
                language=declared_language(raw) or feed_language,
            )
        )
    return entries
