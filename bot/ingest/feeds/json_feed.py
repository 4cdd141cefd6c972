"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into the same entry records.

A JSON object whose ``version`` starts with ``https://jsonfeed.org/version/``
(``http://`` is accepted too) and that has an ``items`` list. Items become the same
records with the same entry rules as RSS: identity from ``id``, link from ``url`` else
``external_url``, summary from ``summary`` else ``content_text`` else ``content_html``,
date from ``date_published`` else ``date_modified``, categories from ``tags``. Other
JSON, and broken JSON, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from bot.ingest.feeds.entries import ParsedFeed, _absolute_link, _build_entries
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import _http_date
from bot.ingest.feeds.html_text import _clean_text

# The spec says https; a reader loses nothing by accepting the http spelling as well.
_JSON_FEED_VERSIONS: Final = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def _parse_json_feed(
    body: bytes, url: str, notes: list[str], secrets: frozenset[str] = frozenset()
) -> ParsedFeed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # JSON is UTF-8 (RFC 8259); a few bad bytes are no reason to lose the feed.
        text = body.decode("utf-8-sig", "replace")
        notes.append(
            f"the JSON is not valid UTF-8 ({exc.reason} at byte {exc.start});"
            " replaced the undecodable bytes"
        )
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FeedError(
            "not_a_feed", "the response is JSON nested too deeply to read, not a feed"
        ) from None
    except ValueError as exc:
        what = "the JSON Feed" if "jsonfeed.org" in text[:4096] else "the response"
        raise FeedError("not_a_feed", f"{what} is broken JSON ({exc}) and cannot be read") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.strip().startswith(_JSON_FEED_VERSIONS):
        raise FeedError(
            "not_a_feed",
            "the response is JSON but not a JSON Feed"
            ' (it has no "version" starting with https://jsonfeed.org/version/)',
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not_a_feed", f'the JSON Feed ({version.strip()}) has no "items" list')
    raw_entries = [_json_feed_item(item, url) for item in items if isinstance(item, dict)]
    skipped = len(items) - len(raw_entries)
    if skipped:
        what = "not a JSON object" if skipped == 1 else "not JSON objects"
        notes.append(f"skipped {skipped} of the {len(items)} items: {what}")
    entries = _build_entries(
        raw_entries, url, notes, secrets, feed_language=_json_text(doc, "language")
    )
    return ParsedFeed(
        title=_clean_text(_json_text(doc, "title"), "text/plain") or None,
        link=_absolute_link(doc.get("home_page_url"), url),
        entries=entries,
        warning="; ".join(notes) or None,
    )


def _json_text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def _json_feed_item(item: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A JSON Feed item in the shape feedparser gives entries, so that one set of entry
    rules (:func:`_build_entries`) serves every format."""
    raw: dict[str, Any] = {}
    identity = item.get("id")
    if isinstance(identity, int | float) and not isinstance(identity, bool):
        identity = str(identity)  # the spec: a reader coerces a numeric id to a string
    if isinstance(identity, str):
        raw["id"] = identity
    for key in ("url", "external_url"):
        link = _absolute_link(item.get(key), base_url)
        if link is not None:
            raw["link"] = link
            break
    title = _json_text(item, "title")
    if title is not None:
        raw["title"], raw["title_detail"] = title, {"type": "text/plain"}
    for key, kind in (
        ("summary", "text/plain"),
        ("content_text", "text/plain"),
        ("content_html", "text/html"),
    ):
        value = _json_text(item, key)
        if value is not None and value.strip():
            raw["summary"], raw["summary_detail"] = value, {"type": kind}
            break
    dates = [
        text
        for text in (_json_text(item, "date_published"), _json_text(item, "date_modified"))
        if text and text.strip()
    ]
    if dates:
        raw["published"] = dates[0]  # the raw text, for the identity hash when unreadable
        for text in dates:
            moment = _rfc3339(text)
            if moment is not None:
                raw["published_parsed"] = moment.utctimetuple()
                break
    language = _json_text(item, "language")
    if language is not None:
        raw["language"] = language
    tags = item.get("tags")
    if isinstance(tags, list):
        raw["tags"] = [{"term": tag} for tag in tags if isinstance(tag, str)]
    return raw


def _rfc3339(text: str) -> datetime | None:
    """An RFC 3339 date (JSON Feed's) as aware UTC; RFC 822 dates, which some generators
    write anyway, are read too. None when it is neither."""
    text = text.strip()
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text.upper())  # "t"/"z" are allowed lowercase
    except ValueError:
        moment = _http_date(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        # RFC 3339 requires an offset; a date without one is UTC far more often than not.
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
