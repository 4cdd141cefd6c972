"""PostgreSQL: the Current events portal: day pages read, the items they list, resolved
titles, polls.

Portal items become ordinary events (``origin = 'wikipedia'``) in the same tables as the
archive and feeds. Which event an item is, is storage.portal_match's rule; this module
stores what the rule decided, in one transaction a revision, as storage/sqlite/portal.py
does (its docstring says what an edit, an enrichment and a removal do).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import asyncpg

from storage.models import DayOutcome, PortalDayState, PortalItemRecord, PortalPoll, PortalRevision
from storage.portal_match import Listing, match_items
from storage.portal_rules import Change, DayEvent, Listed, change, unlisted
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database


def _day_state(row: asyncpg.Record) -> PortalDayState:
    return PortalDayState(
        date=row["date"],
        title=row["title"],
        page_url=row["page_url"],
        revision_id=row["revision_id"],
        revision_at=row["revision_at"],
        items=row["items"],
        error=row["error"],
        fetched_at=row["fetched_at"],
    )


def _page(revision: PortalRevision) -> tuple[dt.date, str, str, int, dt.datetime | None]:
    """What portal_days holds of a revision: date, title, page URL, revision id and time."""
    return (
        revision.date,
        revision.title,
        revision.page_url,
        revision.revision_id,
        revision.revision_at,
    )


def _count(status: str) -> int:
    """The rows a command's status ('UPDATE 3', 'INSERT 0 1') says it touched."""
    return int(status.rsplit(" ", 1)[-1])


class PortalRepository:
    def __init__(self, db: Database):
        self.db = db

    # --- day pages ----------------------------------------------------------------------

    async def revisions(self, wiki: str, dates: Sequence[dt.date]) -> dict[dt.date, PortalDayState]:
        """Each of these days that was read, as last read: its revision (None: no such page)
        and, for a revision that could not be read, why (``error``)."""
        rows = await self.db.fetch(
            "SELECT * FROM portal_days WHERE wiki = $1 AND date = ANY($2::date[])",
            wiki,
            list(dates),
        )
        return {day.date: day for day in map(_day_state, rows)}

    async def days(self, wiki: str, *, limit: int = 10) -> list[PortalDayState]:
        """The latest days read, newest first."""
        rows = await self.db.fetch(
            "SELECT * FROM portal_days WHERE wiki = $1 ORDER BY date DESC LIMIT $2", wiki, limit
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
            await conn.execute(
                "UPDATE portal_days SET fetched_at = $1 WHERE wiki = $2 AND date = ANY($3::date[])",
                now,
                wiki,
                list(dates),
            )

    async def record_unreadable(
        self, wiki: str, revision: PortalRevision, error: str, *, now: dt.datetime
    ) -> None:
        """A revision that could not be read: remembered with why (so it is not read again),
        while the events of the last readable one stay as they were."""
        async with self.db.transaction() as conn:
            await self._upsert_day(conn, wiki, *_page(revision), None, error, now)

    @staticmethod
    async def _upsert_day(
        conn: Connection,
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
        # items None: keep the count of the last readable revision.
        await conn.execute(
            "INSERT INTO portal_days(wiki, date, title, page_url, revision_id, revision_at,"
            " items, error, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::integer, 0),"
            " $8, $9) ON CONFLICT (wiki, date) DO UPDATE SET title = excluded.title,"
            " page_url = excluded.page_url, revision_id = excluded.revision_id,"
            " revision_at = excluded.revision_at,"
            " items = coalesce($7::integer, portal_days.items),"
            " error = excluded.error, fetched_at = excluded.fetched_at",
            wiki,
            date,
            title,
            page_url,
            revision_id,
            revision_at,
            items,
            error,
            now,
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
        date = revision.date
        items = revision.items
        async with self.db.transaction() as conn:
            # Two processes polling at once would both make an item's event, and a feed's
            # event could take the key an item's was about to: such writers take turns.
            await event_rows.lock_announcing(conn)
            events = await self._candidates(conn, wiki, date, items)
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
            outcome.created = await self._create(conn, [items[i] for i in new], news, now, events)
            if news:
                outcome.announced = list(outcome.created)
            event_ids = {**matched, **dict(zip(new, outcome.created, strict=True))}
            # Items back on the page are put back first, their entities counted again: what
            # an edit then unlinks is counted down as any event's link is.
            outcome.restored = [
                matched[index] for index in sorted(matched) if events[matched[index]].restored
            ]
            await conn.execute(
                "UPDATE events SET removed_at = NULL"
                " WHERE id = ANY($1::bigint[]) AND removed_at IS NOT NULL",
                outcome.restored,
            )
            await event_rows.recount_linked(conn, outcome.restored)
            # Matched events written to, and whether that changed them (their links aside:
            # those of every new or written event are made at once, below).
            written: dict[int, bool] = {}
            links: list[tuple[int, str]] = []
            listing: list[tuple[int, int, str, str, str, str]] = []
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
                                conn, event_id, event, item, now=now
                            )
                if index not in matched or event_id in written:
                    links.extend((event_id, name) for name in item.entities)
                listing.append(
                    (
                        event_id,
                        item.position,
                        item.headline,
                        json.dumps([s.url for s in item.sources]),
                        json.dumps(list(item.entities), ensure_ascii=False),
                        item.content_hash,
                    )
                )
            if listing:
                columns = list(zip(*listing, strict=True))
                await conn.execute(
                    "INSERT INTO portal_items(wiki, event_id, date, position, headline, sources,"
                    " entities, content_hash, removed_at)"
                    " SELECT $1, e, $2, p, h, s, n, c, NULL FROM unnest($3::bigint[],"
                    " $4::integer[], $5::text[], $6::text[], $7::text[], $8::text[])"
                    " AS t(e, p, h, s, n, c)"
                    " ON CONFLICT (wiki, event_id) DO UPDATE SET date = excluded.date,"
                    " position = excluded.position, headline = excluded.headline,"
                    " sources = excluded.sources, entities = excluded.entities,"
                    " content_hash = excluded.content_hash, removed_at = NULL",
                    wiki,
                    date,
                    *(list(column) for column in columns),
                )
            outcome.removed = unlisted(events, set(matched.values()), revision.date)
            await conn.execute(
                "UPDATE portal_items SET removed_at = $1"
                " WHERE wiki = $2 AND event_id = ANY($3::bigint[])",
                now,
                wiki,
                outcome.removed,
            )
            # Only the events the portal made are its to mark; an archive event stays as
            # the archive has it.
            await conn.execute(
                "UPDATE events SET removed_at = $1"
                " WHERE id = ANY($2::bigint[]) AND origin = 'wikipedia'",
                now,
                outcome.removed,
            )
            # Their entities count them no more (nor their dates, nor their companions).
            await event_rows.recount_linked(conn, outcome.removed)
            created = set(outcome.created)
            gained = await event_rows.link_entities(
                conn, links, dates={i: date for i in created}, fresh=created
            )
            outcome.updated = [i for i, changed in written.items() if changed or i in gained]
            outcome.unchanged += len(written) - len(outcome.updated)
            await event_rows.refresh_weights(conn, created.union(outcome.updated))
            await event_rows.pack_postings(conn, self.db.packed_postings_min)
            await self._upsert_day(conn, wiki, *_page(revision), len(items), None, now)
        return outcome

    async def _candidates(
        self,
        conn: Connection,
        wiki: str,
        date: dt.date,
        items: Sequence[PortalItemRecord],
    ) -> dict[int, DayEvent]:
        """The events an item of the day may be: the day's events, those its keys name,
        and those the pages of the day and of the days either side list (or listed).
        In the order of their ids, as match_items breaks ties by it."""
        key_ids = await event_rows.event_ids(conn, [item.key for item in items])
        days = [date + dt.timedelta(days=n) for n in (-1, 0, 1)]
        listings = {
            row["event_id"]: Listed(
                date=row["date"],
                headline=row["headline"],
                entities=tuple(json.loads(row["entities"])),
                content_hash=row["content_hash"],
                removed=row["removed_at"] is not None,
            )
            for row in await conn.fetch(
                "SELECT event_id, date, headline, entities, content_hash, removed_at"
                " FROM portal_items WHERE wiki = $1 AND date = ANY($2::date[])",
                wiki,
                days,
            )
        }
        ids = set(listings) | set(key_ids.values())
        rows = await conn.fetch("SELECT id FROM events WHERE date = $1 AND complete", date)
        ids.update(row[0] for row in rows)
        # Events of the days either side citing a source of the page's (a feed's events
        # dated at the feed's own offset): storage.portal_match decides which is the item.
        urls = sorted({source.url for item in items for source in item.sources})
        if urls:
            rows = await conn.fetch(
                "SELECT DISTINCT s.event_id FROM sources s JOIN events e ON e.id = s.event_id"
                " WHERE s.url = ANY($1::text[]) AND NOT s.is_image AND e.complete"
                " AND e.origin = 'feed' AND e.date = ANY($2::date[])",
                urls,
                [days[0], days[2]],
            )
            ids.update(row[0] for row in rows)
        events: dict[int, DayEvent] = {}
        wanted = sorted(ids)
        for row in await conn.fetch(
            "SELECT id, key, date, headline, origin, complete FROM events"
            " WHERE id = ANY($1::bigint[]) ORDER BY id",
            wanted,
        ):
            events[row[0]] = DayEvent(
                key=row[1],
                date=row[2],
                headline=row[3],
                origin=row[4],
                complete=row[5],
                listing=listings.get(row[0]),
            )
        for row in await conn.fetch(
            "SELECT event_id, url FROM sources WHERE event_id = ANY($1::bigint[]) AND NOT is_image",
            wanted,
        ):
            events[row[0]].urls.add(row[1])
        for key, event_id in key_ids.items():
            events[event_id].keys.add(key)
        return events

    async def _create(
        self,
        conn: Connection,
        items: Sequence[PortalItemRecord],
        announce: bool,
        now: dt.datetime,
        events: Mapping[int, DayEvent],
    ) -> list[int]:
        """New events for these items, their ids in item order. An item's key is looked
        up for a free variant only when an event of the day holds it already (events: the
        day's)."""
        if not items:
            return []
        taken = {key for event in events.values() for key in event.keys}
        keys = []
        for item in items:
            key = item.key if item.key not in taken else await event_rows.free_key(conn, item.key)
            taken.add(key)
            keys.append(key)
        ids = await event_rows.insert_events(
            conn,
            [
                event_rows.NewEvent(
                    key=key,
                    date=item.date,
                    headline=item.headline,
                    summary="",
                    story=item.story,
                    category=item.category,
                    lang=item.lang,
                    complete=True,
                    origin="wikipedia",
                    announce=announce,
                )
                for key, item in zip(keys, items, strict=True)
            ],
            now=now,
        )
        sources = [
            (event_id, i, s.name, s.url)
            for event_id, item in zip(ids, items, strict=True)
            for i, s in enumerate(item.sources)
        ]
        if sources:
            columns = list(zip(*sources, strict=True))
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed,"
                " from_portal) SELECT e, p, n, u, false, false, true"
                " FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[])"
                " AS t(e, p, n, u)",
                *(list(column) for column in columns),
            )
        return ids

    async def _rewrite(
        self,
        conn: Connection,
        event_id: int,
        event: DayEvent,
        item: PortalItemRecord,
        *,
        now: dt.datetime,
    ) -> bool:
        """The item's event takes what the item now says but its new links (apply_day
        makes them); whether anything changed."""
        status = await conn.execute(
            "UPDATE events SET headline = $1, story = $2, category = $3, lang = $4, date = $5,"
            " complete = true, origin = 'wikipedia', updated_at = $6"
            " WHERE id = $7 AND NOT (headline = $1 AND story IS NOT DISTINCT FROM $2"
            " AND category IS NOT DISTINCT FROM $3 AND lang = $4 AND date = $5"
            " AND complete AND origin = 'wikipedia')",
            item.headline,
            item.story,
            item.category,
            item.lang,
            item.date,
            now,
            event_id,
        )
        changed = _count(status) > 0
        if changed and (event.headline, event.date) != (item.headline, item.date):
            await event_rows.index_events(conn, [event_id])
        if event.key != item.key and not await event_rows.event_ids(conn, [item.key]):
            # A new headline, a new key; the old one goes on finding the event.
            await conn.execute("UPDATE events SET key = $1 WHERE id = $2", item.key, event_id)
            await conn.execute(
                "INSERT INTO event_keys(key, event_id) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id",
                event.key,
                event_id,
            )
            changed = True
        # The item's sources replace those it gave before; what feeds added stays after them.
        rows = await conn.fetch(
            "SELECT name, url, is_image, from_feed, from_portal FROM sources WHERE event_id = $1"
            " ORDER BY is_image, position",
            event_id,
        )
        own = [(s.name, s.url, False, False, True) for s in item.sources]
        urls = {s.url for s in item.sources}
        kept = [tuple(r) for r in rows if not r["from_portal"] and r["url"] not in urls]
        if [tuple(r) for r in rows] != own + kept:
            await conn.execute("DELETE FROM sources WHERE event_id = $1", event_id)
            await conn.executemany(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed,"
                " from_portal) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        self, conn: Connection, event_id: int, event: DayEvent, item: PortalItemRecord
    ) -> bool:
        """An archive or feed event the page also lists gains the item's new sources, its
        category if it has none, and the item's key (its entities: apply_day links them);
        whether it gained anything."""
        added = await event_rows.append_sources(
            conn, event_id, [(s.name, s.url) for s in item.sources], added_by="portal"
        )
        status = await conn.execute(
            "UPDATE events SET category = $1"
            " WHERE id = $2 AND category IS NULL AND $1::text IS NOT NULL",
            item.category,
            event_id,
        )
        if item.key not in event.keys and not await event_rows.event_ids(conn, [item.key]):
            await conn.execute(
                "INSERT INTO event_keys(key, event_id) VALUES ($1, $2)", item.key, event_id
            )
        return bool(added or _count(status) > 0)

    # --- titles -------------------------------------------------------------------------

    async def resolved_titles(self, wiki: str, titles: Sequence[str]) -> dict[str, str | None]:
        """Titles resolved before: title -> article (None: not an article)."""
        rows = await self.db.fetch(
            "SELECT title, target FROM portal_titles WHERE wiki = $1 AND title = ANY($2::text[])",
            wiki,
            sorted(set(titles)),
        )
        return {row[0]: row[1] for row in rows}

    async def store_titles(
        self, wiki: str, resolved: Mapping[str, str | None], *, now: dt.datetime
    ) -> None:
        if not resolved:
            return
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO portal_titles(wiki, title, target, resolved_at)"
                " SELECT $1, t, g, $4 FROM unnest($2::text[], $3::text[]) AS u(t, g)"
                " ON CONFLICT (wiki, title) DO UPDATE SET target = excluded.target,"
                " resolved_at = excluded.resolved_at",
                wiki,
                list(resolved),
                list(resolved.values()),
                now,
            )

    # --- the live poll ------------------------------------------------------------------

    async def poll_state(self, wiki: str) -> PortalPoll:
        row = await self.db.fetchrow("SELECT * FROM portal_polls WHERE wiki = $1", wiki)
        if row is None:
            return PortalPoll()
        return PortalPoll(
            baseline_done=row["baseline_done"],
            last_attempt_at=row["last_attempt_at"],
            last_success_at=row["last_success_at"],
            last_error=row["last_error"],
            last_error_at=row["last_error_at"],
            consecutive_failures=row["consecutive_failures"],
            next_poll_at=row["next_poll_at"],
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
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO portal_polls(wiki, baseline_done, last_attempt_at, last_success_at,"
                " last_error, last_error_at, consecutive_failures, next_poll_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (wiki) DO UPDATE SET"
                " baseline_done = portal_polls.baseline_done OR excluded.baseline_done,"
                " last_attempt_at = excluded.last_attempt_at,"
                " last_success_at = coalesce(excluded.last_success_at, portal_polls.last_success_at),"
                " last_error = coalesce(excluded.last_error, portal_polls.last_error),"
                " last_error_at = coalesce(excluded.last_error_at, portal_polls.last_error_at),"
                " consecutive_failures = excluded.consecutive_failures,"
                " next_poll_at = excluded.next_poll_at",
                wiki,
                error is None,
                at,
                None if error else at,
                error,
                at if error else None,
                consecutive_failures,
                next_poll_at,
            )

    # --- for lookups ----------------------------------------------------------------------

    async def page_of(self, event_id: int) -> tuple[str, dt.date] | None:
        """(page URL, date) of the day page that lists (or listed) an event."""
        row = await self.db.fetchrow(
            "SELECT d.page_url, d.date FROM portal_items i"
            " JOIN portal_days d ON d.wiki = i.wiki AND d.date = i.date"
            " WHERE i.event_id = $1 ORDER BY i.removed_at IS NOT NULL LIMIT 1",
            event_id,
        )
        return (row[0], row[1]) if row else None

    async def counts(self) -> dict[str, int]:
        """wikipedia_days: day pages read (and readable); wikipedia_events: events a page
        lists now."""
        row = await self.db.fetchrow(
            "SELECT (SELECT count(*) FROM portal_days"
            "  WHERE revision_id IS NOT NULL AND error IS NULL),"
            " (SELECT count(DISTINCT event_id) FROM portal_items WHERE removed_at IS NULL)"
        )
        assert row is not None
        return {"wikipedia_days": row[0], "wikipedia_events": row[1]}

    async def last_read(self) -> dt.datetime | None:
        """When any day page was last read (a poll or a pull)."""
        moment: dt.datetime | None = await self.db.fetchval(
            "SELECT max(fetched_at) FROM portal_days"
        )
        return moment
