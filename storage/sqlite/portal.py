"""The Current events portal: day pages read, the items they list, resolved titles, polls.

Portal items become ordinary events (``origin = 'wikipedia'``) in the same tables as the
archive and feeds. Which event an item is, is storage.portal_match's rule; this module
stores what the rule decided, in one transaction a revision:

* An unmatched item is a new event (announced, if the caller says it is news and the
  revision brings no more than ``flood_cap`` of them).
* An event the portal made is the item: an edit rewrites its headline, story, category,
  date, sources and entities in place (the same id: what was announced stays announced),
  and a new key keeps the old one findable. The links and sources an edit removes go; what
  feeds added, and what the archive said of a stub the portal completed, stays.
* An archive or feed event the portal also lists is enriched only: it gains the item's new
  sources and entities (and its category, if it had none), and keeps its own text.
* An item the page listed before that no item of the new revision matches was removed: it
  is kept, marked removed, and no longer offered to digests and alerts (an archive event
  stays as the archive has it); it is restored if it comes back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import aiosqlite

from storage.models import DayOutcome, PortalDayState, PortalItemRecord, PortalPoll, PortalRevision
from storage.portal_match import Listing, match_items
from storage.portal_rules import Change, DayEvent, Listed, change, unlisted
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.times import from_timestamp, to_timestamp


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
    def __init__(self, db: Database):
        self.db = db

    # --- day pages ----------------------------------------------------------------------

    async def revisions(self, wiki: str, dates: Sequence[dt.date]) -> dict[dt.date, PortalDayState]:
        """Each of these days that was read, as last read: its revision (None: no such page)
        and, for a revision that could not be read, why (``error``)."""
        found: dict[dt.date, PortalDayState] = {}
        for chunk in chunked([d.isoformat() for d in dates]):
            rows = await self.db.fetchall(
                "SELECT * FROM portal_days"
                f" WHERE wiki = ? AND date IN ({placeholders(len(chunk))})",
                (wiki, *chunk),
            )
            found.update((day.date, day) for day in map(_day_state, rows))
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
                [(to_timestamp(now), wiki, date.isoformat()) for date in dates],
            )

    async def record_unreadable(
        self, wiki: str, revision: PortalRevision, error: str, *, now: dt.datetime
    ) -> None:
        """A revision that could not be read: remembered with why (so it is not read again),
        while the events of the last readable one stay as they were."""
        async with self.db.transaction() as conn:
            await self._upsert_revision(conn, wiki, revision, None, error, now)

    @classmethod
    async def _upsert_revision(
        cls,
        conn: aiosqlite.Connection,
        wiki: str,
        revision: PortalRevision,
        items: int | None,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        await cls._upsert_day(
            conn,
            wiki,
            revision.date,
            revision.title,
            revision.page_url,
            revision.revision_id,
            revision.revision_at,
            items,
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
                date.isoformat(),
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
        self,
        wiki: str,
        revision: PortalRevision,
        *,
        announce: bool,
        now: dt.datetime,
        flood_cap: int | None = None,
    ) -> DayOutcome:
        """Store one revision of a day page in one transaction: its items matched to the
        events they are (storage.portal_match), new events made, edits applied, removals
        marked. New events are news if ``announce``, unless the revision brings more than
        ``flood_cap`` of them (a page read for the first time after an outage, say)."""
        outcome = DayOutcome()
        stamp = to_timestamp(now)
        date = revision.date.isoformat()
        items = revision.items
        async with self.db.transaction() as conn:
            events = await self._candidates(conn, wiki, revision.date, items)
            matched = match_items(
                [
                    Listing(
                        item.key, item.date, item.headline, frozenset(s.url for s in item.sources)
                    )
                    for item in items
                ],
                [event.candidate(event_id) for event_id, event in events.items()],
            )
            new = [index for index in range(len(items)) if index not in matched]
            news = announce and (flood_cap is None or len(new) <= flood_cap)
            outcome.flooded = announce and not news
            outcome.created = await self._create(conn, [items[i] for i in new], news, stamp, events)
            if news:
                outcome.announced = list(outcome.created)
            event_ids = {**matched, **dict(zip(new, outcome.created, strict=True))}
            # Items back on the page are put back first, their entities counted again: what
            # an edit then unlinks is counted down as any event's link is.
            outcome.restored = [
                matched[index] for index in sorted(matched) if events[matched[index]].restored
            ]
            await conn.executemany(
                "UPDATE events SET removed_at = NULL WHERE id = ? AND removed_at IS NOT NULL",
                [(event_id,) for event_id in outcome.restored],
            )
            await event_rows.recount_linked(conn, outcome.restored)
            # Matched events written to, and whether that changed them (their links aside:
            # those of every new or written event are made at once, below).
            written: dict[int, bool] = {}
            links: list[tuple[int, str]] = []
            listing: list[tuple[str, int, str, int, str, str, str, str]] = []
            for index, item in enumerate(items):
                event_id = event_ids[index]
                if index in matched:
                    event = events[event_id]
                    match change(event, item):
                        case Change.ENRICH:
                            written[event_id] = await self._enrich(conn, event_id, event, item)
                        case Change.UNCHANGED:
                            outcome.unchanged += 1
                        case Change.REWRITE:
                            written[event_id] = await self._rewrite(
                                conn, event_id, event, item, now=stamp
                            )
                if index not in matched or event_id in written:
                    links.extend((event_id, name) for name in item.entities)
                listing.append(
                    (
                        wiki,
                        event_id,
                        date,
                        item.position,
                        item.headline,
                        json.dumps([s.url for s in item.sources]),
                        json.dumps(list(item.entities), ensure_ascii=False),
                        item.content_hash,
                    )
                )
            await conn.executemany(
                "INSERT INTO portal_items(wiki, event_id, date, position, headline, sources,"
                " entities, content_hash, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
                " ON CONFLICT(wiki, event_id) DO UPDATE SET date = excluded.date,"
                " position = excluded.position, headline = excluded.headline,"
                " sources = excluded.sources, entities = excluded.entities,"
                " content_hash = excluded.content_hash, removed_at = NULL",
                listing,
            )
            outcome.removed = unlisted(events, set(matched.values()), revision.date)
            await conn.executemany(
                "UPDATE portal_items SET removed_at = ? WHERE wiki = ? AND event_id = ?",
                [(stamp, wiki, event_id) for event_id in outcome.removed],
            )
            # Only the events the portal made are its to mark; an archive event stays as
            # the archive has it.
            await conn.executemany(
                "UPDATE events SET removed_at = ? WHERE id = ? AND origin = 'wikipedia'",
                [(stamp, event_id) for event_id in outcome.removed],
            )
            # Their entities count them no more (nor their dates, nor their companions).
            await event_rows.recount_linked(conn, outcome.removed)
            created = set(outcome.created)
            gained = await event_rows.link_entities(
                conn, links, dates={i: date for i in created}, fresh=created
            )
            outcome.updated = [i for i, changed in written.items() if changed or i in gained]
            outcome.unchanged += len(written) - len(outcome.updated)
            await event_rows.index_events(conn, outcome.created)
            await event_rows.refresh_weights(conn, created.union(outcome.updated))
            await event_rows.pack_postings(conn, self.db.packed_postings_min)
            await self._upsert_revision(conn, wiki, revision, len(items), None, now)
        return outcome

    async def _candidates(
        self,
        conn: aiosqlite.Connection,
        wiki: str,
        date: dt.date,
        items: Sequence[PortalItemRecord],
    ) -> dict[int, DayEvent]:
        """The events an item of the day may be: the day's events, those its keys name,
        and those the pages of the day and of the days either side list (or listed)."""
        key_ids = await event_rows.event_ids(conn, [item.key for item in items])
        days = [(date + dt.timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
        listings = {
            row["event_id"]: Listed(
                date=dt.date.fromisoformat(row["date"]),
                headline=row["headline"],
                entities=tuple(json.loads(row["entities"])),
                content_hash=row["content_hash"],
                removed=row["removed_at"] is not None,
            )
            for row in await conn.execute_fetchall(
                "SELECT event_id, date, headline, entities, content_hash, removed_at"
                " FROM portal_items WHERE wiki = ? AND date IN (?, ?, ?)",
                (wiki, *days),
            )
        }
        ids = set(listings) | set(key_ids.values())
        rows = await conn.execute_fetchall(
            "SELECT id FROM events WHERE date = ? AND complete = 1", (date.isoformat(),)
        )
        ids.update(row[0] for row in rows)
        # Events of the days either side citing a source of the page's (a feed's events
        # dated at the feed's own offset): storage.portal_match decides which is the item.
        urls = sorted({source.url for item in items for source in item.sources})
        for chunk in chunked(urls):
            rows = await conn.execute_fetchall(
                "SELECT DISTINCT s.event_id FROM sources s JOIN events e ON e.id = s.event_id"
                f" WHERE s.url IN ({placeholders(len(chunk))}) AND s.is_image = 0"
                " AND e.complete = 1 AND e.origin = 'feed' AND e.date IN (?, ?)",
                (*chunk, days[0], days[2]),
            )
            ids.update(row[0] for row in rows)
        events: dict[int, DayEvent] = {}
        for chunk in chunked(sorted(ids)):
            marks = placeholders(len(chunk))
            for row in await conn.execute_fetchall(
                f"SELECT id, key, date, headline, origin, complete FROM events WHERE id IN ({marks})",
                chunk,
            ):
                events[row[0]] = DayEvent(
                    key=row[1],
                    date=dt.date.fromisoformat(row[2]),
                    headline=row[3],
                    origin=row[4],
                    complete=bool(row[5]),
                    listing=listings.get(row[0]),
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
        self,
        conn: aiosqlite.Connection,
        items: Sequence[PortalItemRecord],
        announce: bool,
        now: str,
        events: Mapping[int, DayEvent],
    ) -> list[int]:
        """New events for these items, in one statement, their ids in item order. They wait
        to be indexed (searchable = 0): their links are made first, and each is indexed
        once (index_events), not again at every link. An item's key is looked up for a free
        variant only when an event of the day holds it already (events: the day's)."""
        if not items:
            return []
        taken = {key for event in events.values() for key in event.keys}
        rows = []
        for item in items:
            key = item.key if item.key not in taken else await event_rows.free_key(conn, item.key)
            taken.add(key)
            rows.append(
                (
                    key,
                    item.date.isoformat(),
                    item.headline,
                    item.story,
                    item.category,
                    item.lang,
                    int(announce),
                    now,
                    now,
                )
            )
        ids = await event_rows.insert_events(
            conn,
            "INSERT INTO events(key, date, headline, summary, story, category, lang, complete,"
            " origin, announce, searchable, added_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?,"
            " 1, 'wikipedia', ?, 0, ?, ?)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
            " VALUES (?, ?, ?, ?, 0, 0, 1)",
            [
                (event_id, i, s.name, s.url)
                for event_id, item in zip(ids, items, strict=True)
                for i, s in enumerate(item.sources)
            ],
        )
        return ids

    async def _rewrite(
        self,
        conn: aiosqlite.Connection,
        event_id: int,
        event: DayEvent,
        item: PortalItemRecord,
        *,
        now: str,
    ) -> bool:
        """The item's event takes what the item now says but its new links (apply_day
        makes them); whether anything changed."""
        cursor = await conn.execute(
            "UPDATE events SET headline = ?, story = ?, category = ?, lang = ?, date = ?,"
            " complete = 1, origin = 'wikipedia', updated_at = ? WHERE id = ? AND NOT"
            " (headline = ? AND story IS ? AND category IS ? AND lang = ? AND date = ?"
            " AND complete = 1 AND origin = 'wikipedia')",
            (
                item.headline,
                item.story,
                item.category,
                item.lang,
                item.date.isoformat(),
                now,
                event_id,
                item.headline,
                item.story,
                item.category,
                item.lang,
                item.date.isoformat(),
            ),
        )
        changed = cursor.rowcount > 0
        if event.key != item.key and not await event_rows.event_ids(conn, [item.key]):
            # A new headline, a new key; the old one goes on finding the event.
            await conn.execute("UPDATE events SET key = ? WHERE id = ?", (item.key, event_id))
            await conn.execute(
                "INSERT OR REPLACE INTO event_keys(key, event_id) VALUES (?, ?)",
                (event.key, event_id),
            )
            changed = True
        # The item's sources replace those it gave before; what feeds added stays after them.
        rows = await conn.execute_fetchall(
            "SELECT name, url, is_image, from_feed, from_portal FROM sources WHERE event_id = ?"
            " ORDER BY is_image, position",
            (event_id,),
        )
        own = [(s.name, s.url, 0, 0, 1) for s in item.sources]
        urls = {s.url for s in item.sources}
        kept = [tuple(r) for r in rows if not r["from_portal"] and r["url"] not in urls]
        if [tuple(r) for r in rows] != own + kept:
            await conn.execute("DELETE FROM sources WHERE event_id = ?", (event_id,))
            await conn.executemany(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed,"
                " from_portal) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(event_id, i, *source) for i, source in enumerate(own + kept)],
            )
            changed = True
        # The links the item made before and makes no more go; others (from feeds, or the
        # archive's Related lists for a stub the portal completed) stay.
        before = event.listing.entities if event.listing else ()
        unlinked = await event_rows.unlink_entities(
            conn, event_id, set(before) - set(item.entities), keep=item.entities
        )
        return changed or unlinked

    async def _enrich(
        self, conn: aiosqlite.Connection, event_id: int, event: DayEvent, item: PortalItemRecord
    ) -> bool:
        """An archive or feed event the page also lists gains the item's new sources, its
        category if it has none, and the item's key (its entities: apply_day links them);
        whether it gained anything."""
        added = await event_rows.append_sources(
            conn, event_id, [(s.name, s.url) for s in item.sources], added_by="portal"
        )
        cursor = await conn.execute(
            "UPDATE events SET category = ? WHERE id = ? AND category IS NULL AND ? IS NOT NULL",
            (item.category, event_id, item.category),
        )
        if item.key not in event.keys and not await event_rows.event_ids(conn, [item.key]):
            await conn.execute(
                "INSERT INTO event_keys(key, event_id) VALUES (?, ?)", (item.key, event_id)
            )
        return bool(added or cursor.rowcount > 0)

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
        """wikipedia_days: day pages read (and readable); wikipedia_events: events a page
        lists now."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM portal_days"
            "  WHERE revision_id IS NOT NULL AND error IS NULL),"
            " (SELECT COUNT(DISTINCT event_id) FROM portal_items WHERE removed_at IS NULL)"
        )
        assert row is not None
        return {"wikipedia_days": row[0], "wikipedia_events": row[1]}

    async def last_read(self) -> dt.datetime | None:
        """When any day page was last read (a poll or a pull)."""
        row = await self.db.fetchone("SELECT MAX(fetched_at) FROM portal_days")
        return from_timestamp(row[0]) if row else None
