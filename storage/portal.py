"""The Current events portal: day pages read, the items they list, resolved titles, polls.

Portal items become ordinary events (``origin = 'wikipedia'``) in the same tables as the
archive and feeds. What this module adds is the rule that keeps them one event each,
whatever editors do to a page and whichever source told of the event first:

Matching (``match_items``, a pure decision made before anything is written)
    Each item of a revision is matched to at most one event of its day, in this order:

    1. the same key (the date and the slug of the headline, as the archive names events;
       an older key of the event counts);
    2. a shared source URL (the most shared first);
    3. a similar headline (folded-token Jaccard): at least ``EDIT_SIMILARITY`` against an
       item the page listed before or an archive event (an edit: a typo fixed, a clause
       added), at least ``SAME_STORY`` against a feed's event (the same story told twice).

    An unmatched item is a new event. An item the page listed before that no item of the
    new revision matches was removed: it is kept, marked removed, and no longer offered to
    digests and alerts; it is restored if it comes back.

Updating
    An event the portal made is the item: an edit rewrites its headline, story, category,
    sources and entities in place (same id: what was announced stays announced), and a new
    key keeps the old one findable. An archive or feed event the portal also lists is
    enriched only: it gains the item's new sources and entities, and keeps its own text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import aiosqlite

from storage.db import Database, chunked, placeholders
from storage.events import EventRepository
from storage.feeds import from_timestamp, to_timestamp
from storage.models import PortalItemRecord
from storage.textindex import headline_tokens

EDIT_SIMILARITY = Fraction(3, 5)
SAME_STORY = Fraction(4, 5)  # as feeds join an event (storage.feeds.NEAR_DUPLICATE)
MIN_TOKENS = 3  # shorter headlines are too generic to tell an edit from another item


# --- views ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalDayState:
    """A day page as last read."""

    date: dt.date
    title: str
    page_url: str
    revision_id: int | None  # None: the page does not exist
    revision_at: dt.datetime | None
    items: int
    error: str | None
    fetched_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PortalPoll:
    """The live poll's health and schedule."""

    baseline_done: bool = False
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PortalRevision:
    """One revision of a day page, parsed: what apply_day stores."""

    date: dt.date
    title: str
    page_url: str
    revision_id: int
    revision_at: dt.datetime | None
    items: tuple[PortalItemRecord, ...]


@dataclass(slots=True)
class DayOutcome:
    """What storing one revision did, by event id."""

    created: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)  # of the created ones
    updated: list[int] = field(default_factory=list)  # an edit, or new sources or entities
    unchanged: int = 0
    removed: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)  # removed before, listed again


# --- matching -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event of the item's day that an item may be: its text as last listed (or its
    headline), its source URLs, and whether a portal page listed it or a feed made it."""

    event_id: int
    keys: frozenset[str]
    text: str
    urls: frozenset[str]
    listed: bool
    from_feed: bool


def match_items(
    items: Sequence[PortalItemRecord], candidates: Sequence[Candidate]
) -> dict[int, int]:
    """Item position -> the event it is, by the rule in this module's docstring. Each event
    is matched once; the items left out are new."""
    matched: dict[int, int] = {}
    taken: set[int] = set()

    def take(position: int, event_id: int) -> None:
        matched[position] = event_id
        taken.add(event_id)

    by_key = {key: c.event_id for c in candidates for key in c.keys}
    for item in items:
        event_id = by_key.get(item.key)
        if event_id is not None and event_id not in taken:
            take(item.position, event_id)

    # Shared sources: the pairs sharing most first, listed events before others, then id.
    pairs: list[tuple[int, bool, int, int]] = []
    for item in items:
        if item.position in matched:
            continue
        urls = {s.url for s in item.sources}
        for candidate in candidates:
            shared = len(urls & candidate.urls)
            if shared:
                pairs.append((-shared, not candidate.listed, candidate.event_id, item.position))
    for _, _, event_id, position in sorted(pairs):
        if position not in matched and event_id not in taken:
            take(position, event_id)

    # Similar headlines: the most similar pairs first.
    scored: list[tuple[Fraction, int, int]] = []
    tokens = {c.event_id: headline_tokens(c.text) for c in candidates}
    for item in items:
        if item.position in matched:
            continue
        mine = headline_tokens(item.headline)
        if len(mine) < MIN_TOKENS:
            continue
        for candidate in candidates:
            theirs = tokens[candidate.event_id]
            if len(theirs) < MIN_TOKENS:
                continue
            similarity = Fraction(len(mine & theirs), len(mine | theirs))
            bar = SAME_STORY if candidate.from_feed and not candidate.listed else EDIT_SIMILARITY
            if similarity >= bar:
                scored.append((-similarity, candidate.event_id, item.position))
    for _, event_id, position in sorted(scored):
        if position not in matched and event_id not in taken:
            take(position, event_id)
    return matched


# --- the repository -------------------------------------------------------------------------


@dataclass(slots=True)
class _DayEvent:
    """An event of the day being stored, as read in its transaction."""

    key: str
    headline: str
    origin: str
    complete: bool
    keys: set[str] = field(default_factory=set)  # its key and the keys that name it
    urls: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.keys.add(self.key)

    @property
    def owned(self) -> bool:
        """The portal's own events, and stubs it completes, are the item itself."""
        return self.origin == "wikipedia" or not self.complete


def _iso(date: dt.date) -> str:
    return date.isoformat()


def _day_state(row: aiosqlite.Row) -> PortalDayState:
    fetched_at = from_timestamp(row["fetched_at"])
    assert fetched_at is not None  # NOT NULL
    return PortalDayState(
        date=dt.date.fromisoformat(row["date"]),
        title=row["title"],
        page_url=row["page_url"],
        revision_id=row["revision_id"],
        revision_at=from_timestamp(row["revision_at"]),
        items=row["items"],
        error=row["error"],
        fetched_at=fetched_at,
    )


class PortalRepository:
    def __init__(self, db: Database, events: EventRepository):
        self.db = db
        self.events = events

    # --- day pages ----------------------------------------------------------------------

    async def revisions(self, wiki: str, dates: Sequence[dt.date]) -> dict[dt.date, int | None]:
        """The revision held for each of these days that was read (None: no such page)."""
        found: dict[dt.date, int | None] = {}
        for chunk in chunked([_iso(d) for d in dates]):
            rows = await self.db.fetchall(
                "SELECT date, revision_id FROM portal_days"
                f" WHERE wiki = ? AND date IN ({placeholders(len(chunk))})",
                (wiki, *chunk),
            )
            found.update((dt.date.fromisoformat(r[0]), r[1]) for r in rows)
        return found

    async def days(self, wiki: str, *, limit: int = 10) -> list[PortalDayState]:
        """The latest days read, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM portal_days WHERE wiki = ? ORDER BY date DESC LIMIT ?", (wiki, limit)
        )
        return [_day_state(row) for row in rows]

    async def record_missing(
        self, wiki: str, date: dt.date, title: str, page_url: str, *, now: dt.datetime
    ) -> None:
        """The day has no page (yet). What an earlier page listed stays as it was."""
        async with self.db.transaction() as conn:
            await self._upsert_day(conn, wiki, date, title, page_url, None, None, 0, None, now)

    async def record_read(self, wiki: str, dates: Sequence[dt.date], *, now: dt.datetime) -> None:
        """These days' pages were read again, their revision unchanged."""
        if not dates:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE portal_days SET fetched_at = ? WHERE wiki = ? AND date = ?",
                [(to_timestamp(now), wiki, _iso(date)) for date in dates],
            )

    async def record_unreadable(
        self, wiki: str, revision: PortalRevision, error: str, *, now: dt.datetime
    ) -> None:
        """A revision that could not be read: remembered with why (so it is not read again),
        while the events of the last readable one stay as they were."""
        async with self.db.transaction() as conn:
            await self._upsert_day(
                conn,
                wiki,
                revision.date,
                revision.title,
                revision.page_url,
                revision.revision_id,
                revision.revision_at,
                None,
                error,
                now,
            )

    @staticmethod
    async def _upsert_day(
        conn: aiosqlite.Connection,
        wiki: str,
        date: dt.date,
        title: str,
        page_url: str,
        revision_id: int | None,
        revision_at: dt.datetime | None,
        items: int | None,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO portal_days(wiki, date, title, page_url, revision_id, revision_at,"
            " items, error, fetched_at) VALUES (?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?)"
            " ON CONFLICT(wiki, date) DO UPDATE SET title = excluded.title,"
            " page_url = excluded.page_url, revision_id = excluded.revision_id,"
            " revision_at = excluded.revision_at, items = coalesce(?, items),"
            " error = excluded.error, fetched_at = excluded.fetched_at",
            (
                wiki,
                _iso(date),
                title,
                page_url,
                revision_id,
                to_timestamp(revision_at) if revision_at else None,
                items,
                error,
                to_timestamp(now),
                items,
            ),
        )

    async def apply_day(
        self, wiki: str, revision: PortalRevision, *, announce: bool, now: dt.datetime
    ) -> DayOutcome:
        """Store one revision of a day page in one transaction: its items matched to the
        events they are (match_items), new events made (announced if ``announce``), edits
        applied, removals marked."""
        outcome = DayOutcome()
        stamp = to_timestamp(now)
        date = _iso(revision.date)
        items = revision.items
        async with self.db.transaction() as conn:
            prior = {
                row["event_id"]: row
                for row in await conn.execute_fetchall(
                    "SELECT event_id, headline, sources, content_hash, position, removed_at"
                    " FROM portal_items WHERE wiki = ? AND date = ?",
                    (wiki, date),
                )
            }
            events = await self._day_events(conn, revision.date, items, prior)
            candidates = [
                Candidate(
                    event_id=event_id,
                    keys=frozenset(event.keys),
                    text=prior[event_id]["headline"] if event_id in prior else event.headline,
                    urls=frozenset(event.urls),
                    listed=event_id in prior,
                    from_feed=event.origin == "feed",
                )
                for event_id, event in events.items()
            ]
            matched = match_items(items, candidates)
            touched: set[int] = set()
            links: list[tuple[int, str]] = []
            listing: list[tuple[object, ...]] = []
            for item in items:
                event_id = matched.get(item.position)
                if event_id is None:
                    event_id = await self._create(conn, item, announce=announce, now=stamp)
                    outcome.created.append(event_id)
                    if announce:
                        outcome.announced.append(event_id)
                    changed = True
                else:
                    before = prior.get(event_id)
                    if before is not None and before["removed_at"] is not None:
                        outcome.restored.append(event_id)
                    if events[event_id].owned:
                        unchanged = (
                            before is not None and before["content_hash"] == item.content_hash
                        )
                        changed = not unchanged and await self._rewrite(
                            conn, event_id, events[event_id], item, now=stamp
                        )
                    else:
                        changed = await self._enrich(conn, event_id, events[event_id], item)
                    if changed:
                        outcome.updated.append(event_id)
                    else:
                        outcome.unchanged += 1
                if changed:
                    touched.add(event_id)
                    links.extend((event_id, name) for name in item.entities)
                listing.append(
                    (
                        wiki,
                        event_id,
                        date,
                        item.position,
                        item.headline,
                        json.dumps([s.url for s in item.sources]),
                        item.content_hash,
                    )
                )
            await conn.executemany(
                "INSERT INTO portal_items(wiki, event_id, date, position, headline, sources,"
                " content_hash, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
                " ON CONFLICT(wiki, event_id) DO UPDATE SET date = excluded.date,"
                " position = excluded.position, headline = excluded.headline,"
                " sources = excluded.sources, content_hash = excluded.content_hash,"
                " removed_at = NULL",
                listing,
            )
            await conn.executemany(
                "UPDATE events SET removed_at = NULL WHERE id = ? AND removed_at IS NOT NULL",
                [(event_id,) for event_id in outcome.restored],
            )
            listed_now = set(matched.values())
            gone = [
                event_id
                for event_id, row in prior.items()
                if event_id not in listed_now and row["removed_at"] is None
            ]
            outcome.removed = gone
            await conn.executemany(
                "UPDATE portal_items SET removed_at = ? WHERE wiki = ? AND event_id = ?",
                [(stamp, wiki, event_id) for event_id in gone],
            )
            # Only the events the portal made are its to mark; an archive event stays as
            # the archive has it.
            await conn.executemany(
                "UPDATE events SET removed_at = ? WHERE id = ? AND origin = 'wikipedia'",
                [(stamp, event_id) for event_id in gone],
            )
            await self.events.link_entities(conn, links, dates={i: date for i, _ in links})
            await self.events.refresh_weights(conn, touched)
            await self.events.pack_postings_in(conn)
            await self._upsert_day(
                conn,
                wiki,
                revision.date,
                revision.title,
                revision.page_url,
                revision.revision_id,
                revision.revision_at,
                len(items),
                None,
                now,
            )
        return outcome

    async def _day_events(
        self,
        conn: aiosqlite.Connection,
        date: dt.date,
        items: Sequence[PortalItemRecord],
        prior: Mapping[int, aiosqlite.Row],
    ) -> dict[int, _DayEvent]:
        """The events an item of the day may be: those the page listed, those its keys
        name, those sharing a source URL, and the day's other events."""
        key_ids = await self.events.event_ids(conn, [item.key for item in items])
        urls = sorted({s.url for item in items for s in item.sources})
        ids = set(prior) | set(key_ids.values())
        for chunk in chunked(urls):
            rows = await conn.execute_fetchall(
                "SELECT DISTINCT s.event_id FROM sources s JOIN events e ON e.id = s.event_id"
                f" WHERE s.url IN ({placeholders(len(chunk))}) AND e.date = ?"
                " AND s.is_image = 0",
                (*chunk, _iso(date)),
            )
            ids.update(row[0] for row in rows)
        rows = await conn.execute_fetchall(
            "SELECT id FROM events WHERE date = ? AND complete = 1", (_iso(date),)
        )
        ids.update(row[0] for row in rows)
        events: dict[int, _DayEvent] = {}
        for chunk in chunked(sorted(ids)):
            marks = placeholders(len(chunk))
            for row in await conn.execute_fetchall(
                f"SELECT id, key, headline, origin, complete FROM events WHERE id IN ({marks})",
                chunk,
            ):
                events[row["id"]] = _DayEvent(
                    row["key"], row["headline"], row["origin"], bool(row["complete"])
                )
            for row in await conn.execute_fetchall(
                f"SELECT event_id, url FROM sources WHERE event_id IN ({marks}) AND is_image = 0",
                chunk,
            ):
                events[row[0]].urls.add(row[1])
        for key, event_id in key_ids.items():
            events[event_id].keys.add(key)
        return events

    async def _create(
        self, conn: aiosqlite.Connection, item: PortalItemRecord, *, announce: bool, now: str
    ) -> int:
        key = await self.events.free_key(conn, item.key)
        cursor = await conn.execute(
            "INSERT INTO events(key, date, headline, summary, story, category, lang, complete,"
            " origin, announce, added_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?, 1,"
            " 'wikipedia', ?, ?, ?)",
            (
                key,
                _iso(item.date),
                item.headline,
                item.story,
                item.category,
                item.lang,
                int(announce),
                now,
                now,
            ),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        await conn.executemany(
            "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
            " VALUES (?, ?, ?, ?, 0, 0)",
            [(event_id, i, s.name, s.url) for i, s in enumerate(item.sources)],
        )
        return event_id

    async def _rewrite(
        self,
        conn: aiosqlite.Connection,
        event_id: int,
        event: _DayEvent,
        item: PortalItemRecord,
        *,
        now: str,
    ) -> bool:
        """The item's event takes what the item now says; whether anything changed."""
        cursor = await conn.execute(
            "UPDATE events SET headline = ?, story = ?, category = ?, lang = ?, complete = 1,"
            " origin = 'wikipedia', updated_at = ? WHERE id = ? AND NOT (headline = ?"
            " AND story IS ? AND category IS ? AND lang = ? AND complete = 1"
            " AND origin = 'wikipedia')",
            (
                item.headline,
                item.story,
                item.category,
                item.lang,
                now,
                event_id,
                item.headline,
                item.story,
                item.category,
                item.lang,
            ),
        )
        changed = cursor.rowcount > 0
        if event.key != item.key and not (await self.events.event_ids(conn, [item.key])):
            # A new headline, a new key; the old one goes on finding the event.
            await conn.execute("UPDATE events SET key = ? WHERE id = ?", (item.key, event_id))
            await conn.execute(
                "INSERT OR REPLACE INTO event_keys(key, event_id) VALUES (?, ?)",
                (event.key, event_id),
            )
            changed = True
        rows = await conn.execute_fetchall(
            "SELECT name, url, from_feed FROM sources WHERE event_id = ? AND is_image = 0"
            " ORDER BY position",
            (event_id,),
        )
        own = [(s.name, s.url) for s in item.sources]
        kept = [(r[0], r[1]) for r in rows if r[2] and r[1] not in {u for _, u in own}]
        if [(r[0], r[1]) for r in rows] != own + kept:
            await conn.execute("DELETE FROM sources WHERE event_id = ?", (event_id,))
            await conn.executemany(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                [
                    (event_id, i, name, url, int(i >= len(own)))
                    for i, (name, url) in enumerate(own + kept)
                ],
            )
            changed = True
        # Links the item no longer makes go, from an event the portal made; a stub it
        # completes keeps the entities archive Related lists gave it.
        if event.origin == "wikipedia" and await self.events.unlink_entities_except(
            conn, event_id, item.entities
        ):
            changed = True
        return changed or await self._gains_entities(conn, event_id, item.entities)

    async def _enrich(
        self,
        conn: aiosqlite.Connection,
        event_id: int,
        event: _DayEvent,
        item: PortalItemRecord,
    ) -> bool:
        """An archive or feed event the page also lists gains the item's new sources and
        entities, and the item's key; whether it gained anything."""
        new = [s for s in item.sources if s.url not in event.urls]
        if new:
            row = await (
                await conn.execute(
                    "SELECT COALESCE(MAX(position), -1) FROM sources WHERE event_id = ?",
                    (event_id,),
                )
            ).fetchone()
            last = row[0] if row else -1
            # from_feed: added by a live source, so a new version of the archive page keeps
            # them (see EventRepository._replace_sources_and_related).
            await conn.executemany(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES (?, ?, ?, ?, 0, 1)",
                [(event_id, last + 1 + i, s.name, s.url) for i, s in enumerate(new)],
            )
            event.urls.update(s.url for s in new)
        if item.key not in event.keys and not await self.events.event_ids(conn, [item.key]):
            await conn.execute(
                "INSERT INTO event_keys(key, event_id) VALUES (?, ?)", (item.key, event_id)
            )
        return bool(new) or await self._gains_entities(conn, event_id, item.entities)

    async def _gains_entities(
        self, conn: aiosqlite.Connection, event_id: int, names: Sequence[str]
    ) -> bool:
        """Whether linking these names would give the event an entity it lacks."""
        if not names:
            return False
        linked = await self.events.link_entities(conn, [(event_id, name) for name in names])
        return event_id in linked

    # --- titles -------------------------------------------------------------------------

    async def resolved_titles(self, wiki: str, titles: Sequence[str]) -> dict[str, str | None]:
        """Titles resolved before: title -> article (None: not an article)."""
        found: dict[str, str | None] = {}
        for chunk in chunked(sorted(set(titles))):
            rows = await self.db.fetchall(
                "SELECT title, target FROM portal_titles"
                f" WHERE wiki = ? AND title IN ({placeholders(len(chunk))})",
                (wiki, *chunk),
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    async def store_titles(
        self, wiki: str, resolved: Mapping[str, str | None], *, now: dt.datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT OR REPLACE INTO portal_titles(wiki, title, target, resolved_at)"
                " VALUES (?, ?, ?, ?)",
                [(wiki, title, target, to_timestamp(now)) for title, target in resolved.items()],
            )

    # --- the live poll ------------------------------------------------------------------

    async def poll_state(self, wiki: str) -> PortalPoll:
        row = await self.db.fetchone("SELECT * FROM portal_polls WHERE wiki = ?", (wiki,))
        if row is None:
            return PortalPoll()
        return PortalPoll(
            baseline_done=bool(row["baseline_done"]),
            last_attempt_at=from_timestamp(row["last_attempt_at"]),
            last_success_at=from_timestamp(row["last_success_at"]),
            last_error=row["last_error"],
            last_error_at=from_timestamp(row["last_error_at"]),
            consecutive_failures=row["consecutive_failures"],
            next_poll_at=from_timestamp(row["next_poll_at"]),
        )

    async def record_poll(
        self,
        wiki: str,
        *,
        at: dt.datetime,
        next_poll_at: dt.datetime,
        error: str | None = None,
        consecutive_failures: int = 0,
    ) -> None:
        """A poll's result: a success (no error) makes later polls news; a failure keeps
        its reason, and the last error stays on record after a success."""
        now = to_timestamp(at)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO portal_polls(wiki, baseline_done, last_attempt_at, last_success_at,"
                " last_error, last_error_at, consecutive_failures, next_poll_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(wiki) DO UPDATE SET"
                " baseline_done = max(baseline_done, excluded.baseline_done),"
                " last_attempt_at = excluded.last_attempt_at,"
                " last_success_at = coalesce(excluded.last_success_at, last_success_at),"
                " last_error = coalesce(excluded.last_error, last_error),"
                " last_error_at = coalesce(excluded.last_error_at, last_error_at),"
                " consecutive_failures = excluded.consecutive_failures,"
                " next_poll_at = excluded.next_poll_at",
                (
                    wiki,
                    int(error is None),
                    now,
                    None if error else now,
                    error,
                    now if error else None,
                    consecutive_failures,
                    to_timestamp(next_poll_at),
                ),
            )

    # --- for lookups ----------------------------------------------------------------------

    async def page_of(self, event_id: int) -> tuple[str, dt.date] | None:
        """(page URL, date) of the day page that lists (or listed) an event."""
        row = await self.db.fetchone(
            "SELECT d.page_url, d.date FROM portal_items i"
            " JOIN portal_days d ON d.wiki = i.wiki AND d.date = i.date"
            " WHERE i.event_id = ? ORDER BY i.removed_at IS NOT NULL LIMIT 1",
            (event_id,),
        )
        return (row[0], dt.date.fromisoformat(row[1])) if row else None

    async def counts(self) -> dict[str, int]:
        """wikipedia_days: day pages read; wikipedia_events: events a page lists now."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM portal_days WHERE revision_id IS NOT NULL),"
            " (SELECT COUNT(DISTINCT event_id) FROM portal_items WHERE removed_at IS NULL)"
        )
        assert row is not None
        return {"wikipedia_days": row[0], "wikipedia_events": row[1]}

    async def last_read(self) -> dt.datetime | None:
        """When any day page was last read (a poll or a pull)."""
        row = await self.db.fetchone("SELECT MAX(fetched_at) FROM portal_days")
        return from_timestamp(row[0]) if row else None
