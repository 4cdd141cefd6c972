"""Unseen entries as the items storage keeps: their events' keys, dates, entities, and
whether each is news or history (the "Never a flood" rules of the package docstring)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from bot.ingest.archive import slugify
from bot.ingest.feeds.entries import FeedEntry
from bot.ingest.language import item_language
from bot.services.feeds.categories import clean_categories, section_labels
from bot.services.feeds.links import without_tracking
from bot.services.feeds.rules import FeedRules
from bot.services.tagging import EntityMatcher
from storage.keys import make_key
from storage.models import EntryText, Feed, FeedItem
from storage.textindex import fold

MAX_ENTITIES: Final = 25
FUTURE_SLACK: Final = dt.timedelta(days=1)  # entries dated later than this are dated "now"


def feed_items(
    feed: Feed,
    entries: Sequence[FeedEntry],
    unseen: Sequence[FeedEntry],
    at: dt.datetime,
    *,
    rules: FeedRules,
    matcher: EntityMatcher,
) -> tuple[list[FeedItem], str | None]:
    """Unseen entries as items to store, with the announce decision (see the package
    docstring) and why anything was kept as history."""
    moments = [_moment(entry, at) for entry in unseen]
    announce = [True] * len(unseen)
    reason: str | None = None
    if not feed.baseline_done:
        # Newest first; entries without a date count as seen now, i.e. newest.
        order = sorted(range(len(unseen)), key=lambda i: moments[i], reverse=True)
        keep = set(order[: feed.backfill])
        announce = [i in keep for i in range(len(unseen))]
        reason = "first fetch of the feed" + (f" (newest {len(keep)} announced)" if keep else "")
    elif len(unseen) > rules.flood_cap:
        announce = [False] * len(unseen)
        reason = f"{len(unseen)} unseen entries at once (more than {rules.flood_cap})"
    elif feed.consecutive_failures >= rules.comeback_failures:
        announce = [False] * len(unseen)
        reason = f"back after {feed.consecutive_failures} failed attempts"
    elif feed.last_success_at is not None:
        cutoff = feed.last_success_at - rules.age_margin
        announce = [moment >= cutoff for moment in moments]
        old = announce.count(False)
        if old:
            counted = "1 entry" if old == 1 else f"{old} entries"
            reason = f"{counted} dated before {cutoff:%Y-%m-%d %H:%M} UTC"

    # A link several entries share (a feed pointing every item to one page) or a bare
    # home page cannot tell stories apart.
    # Links are compared and stored without their tracking parameters (.links).
    link_counts = Counter(without_tracking(entry.link) for entry in entries if entry.link)
    sections = section_labels(entries)
    items: list[FeedItem] = []
    for entry, moment, news in zip(unseen, moments, announce, strict=True):
        date = moment.date()
        lang = _language(entry)
        slug = _slug(entry.title, lang) or "entry"
        link = without_tracking(entry.link) if entry.link else None
        items.append(
            FeedItem(
                identity=entry.identity,
                key=make_key(date, slug),
                date=date,
                headline=entry.title,
                summary=entry.summary,
                lang=lang,
                link=link,
                entities=_entities(entry, sections, matcher),
                announce=news,
                link_identifies=link is not None
                and link_counts[link] == 1
                and urlsplit(link).path not in ("", "/"),
            )
        )
    return items, reason


def entry_texts(
    entries: Sequence[FeedEntry],
    document: Sequence[FeedEntry] = (),
    *,
    matcher: EntityMatcher | None = None,
) -> list[EntryText]:
    """What these entries (seen before) say now, as storage compares it with their events;
    with a matcher, the names each mentions too (``document``: every entry of the
    document, whose shared labels are sections, not entities)."""
    sections = section_labels(document) if matcher is not None else set()
    return [
        EntryText(
            identity=entry.identity,
            headline=entry.title,
            summary=entry.summary,
            lang=_language(entry),
            entities=_entities(entry, sections, matcher) if matcher is not None else (),
        )
        for entry in entries
    ]


def _slug(title: str, lang: str) -> str:
    """The event key's slug: the archive generator's, except for a headline written mostly
    beyond ASCII (Cyrillic, Greek, Japanese, Arabic), which keeps its letters as the Chinese
    edition's slugs do: the generator made each of them an "a" ("aaaaa-aaaaaa")."""
    letters = [ch for ch in title if ch.isalpha()]
    if lang != "zh" and 2 * sum(not ch.isascii() for ch in letters) > len(letters):
        return slugify(title, "zh").lower()
    return slugify(title, lang)


def _language(entry: FeedEntry) -> str:
    """The entry's edition: as its feed declares it, unless its text plainly says otherwise
    (bot.ingest.language)."""
    return item_language(entry.title, entry.summary, entry.language)


def _entities(entry: FeedEntry, sections: set[str], matcher: EntityMatcher) -> tuple[str, ...]:
    """The entry's entities: its categories that name one, and the known names it mentions."""
    entities = clean_categories(entry.categories, sections)
    entities += matcher.find(entry.title, entry.summary)
    return tuple(_unique_names(entities)[:MAX_ENTITIES])


def _moment(entry: FeedEntry, at: dt.datetime) -> dt.datetime:
    """When the entry happened: its date, at the offset its feed gave (the item's day is the
    feed's day), else now in UTC; a date far in the future is a broken clock on the server,
    not news from tomorrow, and one before 1971 is a placeholder (Unix time 0, year 1), not
    news from then."""
    published = entry.published
    if published is None or published > at + FUTURE_SLACK or published.year < 1971:
        return at.astimezone(dt.UTC)
    return published


def _unique_names(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        key = fold(name)
        if key and key not in seen:
            seen.add(key)
            out.append(name)
    return out
