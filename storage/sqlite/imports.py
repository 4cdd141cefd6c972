"""Importing archive pages into events, in batches: new events and new versions of known
ones, the older keys their Changes lists name, the stubs their links leave (reconciled and
made searchable once the import ends)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import aiosqlite

from storage.archive_rules import (
    PENDING_BATCH,
    STUB_MATCH,
    STUB_MATCH_SHARING,
    STUB_MIN_TOKENS,
    STUB_SHARED_ENTITIES,
    what_it_knows,
)
from storage.import_steps import Known, NamedDays, apply_replacements, fresh_pages
from storage.models import BatchOutcome, DayEntryRecord, PageRecord
from storage.portal_match import Candidate, Listing, match_items
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.textindex import at_least_as_similar, headline_tokens
from storage.times import now_timestamp

# reconcile_stubs(): days read at a time.
STUB_DAYS = 200


class EventImports:
    """What archive files write to events (EventRepository hands its imports on here)."""

    def __init__(self, db: Database):
        self.db = db
        self._named_days = NamedDays()

    async def import_batch(
        self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord] = ()
    ) -> BatchOutcome:
        """Apply archive pages and day-index entries in one transaction.

        Work is done in bulk (a handful of statements per batch, not per page): an import of
        a million events must not pay a round trip per row.
        """
        self._named_days.add(pages, days)
        outcome = BatchOutcome()
        now = now_timestamp()
        async with self.db.transaction() as conn:
            pages, outdone, known = await self._fresh_pages(conn, pages, outcome)
            # An older version is not applied, but what it says of other events (and the
            # names it links to its own) is kept, as it would have been had it come first.
            days = [*days, *(entry for page in outdone for entry in what_it_knows(page))]
            if await apply_replacements(pages, outcome, known, _ReplacementSQL(self, conn, now)):
                known = await self._resolve(conn, {p.key for p in pages})
            if await self._adopt_portal_events(conn, [p for p in pages if p.key not in known], now):
                known = await self._resolve(conn, {p.key for p in pages})
            # Other events the batch names (Related links, index entries) are needed by id
            # only, which the key's index alone answers.
            linked_keys = {r.key for p in pages for r in p.related} | {d.key for d in days}
            event_ids = await event_rows.event_ids(conn, linked_keys - known.keys())
            event_ids.update((key, k.id) for key, k in known.items())

            to_insert: list[PageRecord] = []
            to_update: list[tuple[PageRecord, Known]] = []
            for page in pages:
                existing = known.get(page.key)
                if existing is not None and existing.key != page.key:
                    # This key is an older slug of an event we hold in a newer version.
                    outcome.superseded.append(page.key)
                    continue
                if existing is None:
                    to_insert.append(page)
                else:
                    to_update.append((page, existing))

            inserted = await event_rows.insert_events(
                conn,
                "INSERT INTO events(key, date, headline, summary, story, lang, complete, origin,"
                " announce, content_hash, page_version, added_at, updated_at, searchable)"
                " VALUES (?,?,?,?,?,?,1,?,?,?,?,?,?,0)",
                [
                    (
                        p.key,
                        p.date.isoformat(),
                        p.headline,
                        p.summary,
                        p.story,
                        p.lang,
                        p.origin,
                        int(p.announce),
                        p.content_hash,
                        p.version,
                        now,
                        now,
                    )
                    for p in to_insert
                ],
            )
            await conn.executemany(
                # The page describes the event now (one the portal made becomes the
                # archive's, which the portal then only enriches).
                "UPDATE events SET date = ?, headline = ?, summary = ?,"
                " story = COALESCE(?, story), lang = ?, complete = 1, origin = ?,"
                " content_hash = ?, page_version = ?, updated_at = ?, searchable = 0 WHERE id = ?",
                [
                    (
                        p.date.isoformat(),
                        p.headline,
                        p.summary,
                        p.story,
                        p.lang,
                        p.origin,
                        p.content_hash,
                        p.version,
                        now,
                        k.id,
                    )
                    for p, k in to_update
                ],
            )
            ids = dict(zip((p.key for p in to_insert), inserted, strict=True))
            ids.update({p.key: k.id for p, k in to_update})
            event_ids.update(ids)
            outcome.completed.update(inserted)
            for _, existing in to_update:
                (outcome.updated if existing.complete else outcome.completed).add(existing.id)
            applied = [*to_insert, *(p for p, _ in to_update)]

            # Versions no longer current: what an update replaced, and what a later version in
            # the batch outdid.
            await conn.executemany(
                "INSERT OR IGNORE INTO page_versions(content_hash, event_id) VALUES (?, ?)",
                [(k.content_hash, k.id) for _, k in to_update if k.content_hash]
                + [(p.content_hash, event_ids[p.key]) for p in outdone if p.key in event_ids],
            )
            await self._replace_sources_and_related(
                conn, applied, ids, existing=[k.id for _, k in to_update]
            )

            # Events known only from Related links and index entries.
            stubs: dict[str, tuple[str, str, str, str]] = {}
            for page in applied:
                for item in page.related:
                    if item.key not in event_ids:
                        stubs.setdefault(
                            item.key, (item.key, item.date.isoformat(), item.headline, page.lang)
                        )
            stub_summaries: dict[str, str] = {}
            for entry in days:
                if entry.key not in event_ids:
                    stubs.setdefault(
                        entry.key, (entry.key, entry.date.isoformat(), entry.headline, entry.lang)
                    )
                    if entry.summary:
                        stub_summaries.setdefault(entry.key, entry.summary)
            created = await event_rows.insert_events(
                conn,
                "INSERT INTO events(key, date, headline, summary, lang, complete, added_at,"
                " updated_at, searchable) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 0)",
                [
                    (k, d, h, stub_summaries.get(k, ""), lang, now, now)
                    for k, d, h, lang in stubs.values()
                ],
            )
            outcome.created_incomplete.update(created)
            event_ids.update(zip(stubs, created, strict=True))

            # Entities: a page's Related contexts name entities of both events; an index
            # entry names its event's full list.
            links: list[tuple[int, str]] = []
            for page in applied:
                page_id = ids[page.key]
                links.extend((page_id, name) for name in page.entities)
                for item in page.related:
                    links.extend((event_ids[item.key], name) for name in item.shared)
            for entry in days:
                links.extend((event_ids[entry.key], name) for name in entry.entities)
            # The batch knows the dates of what it wrote, and the events it created hold no
            # links yet: neither is read back.
            dates = {ids[p.key]: p.date.isoformat() for p in applied}
            dates.update(zip(created, (d for _, d, _, _ in stubs.values()), strict=True))
            linked = await event_rows.link_entities(
                conn, links, dates=dates, fresh={*inserted, *created}
            )

            # Complete events become searchable now; stubs at the end of the import
            # (index_pending), as most of them are completed by a later batch.
            await event_rows.index_events(conn, list(ids.values()))

            # What the archive says of an event changed for the pages written and for the
            # events that gained entities.
            await event_rows.refresh_weights(conn, {*ids.values(), *linked})

            # Stories from index entries (the index is where most versions keep them).
            await conn.executemany(
                "UPDATE events SET story = ? WHERE id = ? AND story IS NOT ?",
                [(d.story, event_ids[d.key], d.story) for d in days if d.story],
            )
            # An incomplete event learns its summary from an index entry that has one.
            await conn.executemany(
                "UPDATE events SET summary = ? WHERE id = ? AND complete = 0 AND summary = ''",
                [(d.summary, event_ids[d.key]) for d in days if d.summary],
            )
        return outcome

    async def _fresh_pages(
        self, conn: aiosqlite.Connection, pages: Sequence[PageRecord], outcome: BatchOutcome
    ) -> tuple[list[PageRecord], list[PageRecord], dict[str, Known]]:
        """Split pages into (to apply, older versions outdone by a later one in the batch,
        the events their keys name now).

        Pages whose exact version was applied before are dropped: importing any set of files
        again, in any order, changes nothing.
        """
        current = await self._resolve(conn, {p.key for p in pages})
        applied = {k.content_hash for k in current.values() if k.content_hash}
        hashes = [h for h in dict.fromkeys(p.content_hash for p in pages) if h not in applied]
        for chunk in chunked(hashes):
            rows = await conn.execute_fetchall(
                "SELECT content_hash FROM page_versions"
                f" WHERE content_hash IN ({placeholders(len(chunk))})",
                chunk,
            )
            applied.update(row[0] for row in rows)
        fresh, outdone = fresh_pages(pages, current, applied, outcome)
        return fresh, outdone, current

    async def _adopt_portal_events(
        self, conn: aiosqlite.Connection, pages: Sequence[PageRecord], now: str
    ) -> bool:
        """Pages new to the store that tell an event the portal made (pulled before this
        import): by storage.portal_match's rule, the page takes that event over, its key
        and all (the portal's key goes on finding it). Returns whether any did."""
        if not pages:
            return False
        cursor = await conn.execute("SELECT EXISTS (SELECT 1 FROM portal_items)")
        if not (await cursor.fetchone() or (0,))[0]:
            return False
        candidates: dict[int, Candidate] = {}
        for chunk in chunked(sorted({p.date.isoformat() for p in pages})):
            rows = await conn.execute_fetchall(
                "SELECT e.id, e.key, e.headline, e.date, json_group_array(s.url) FROM events e"
                " LEFT JOIN sources s ON s.event_id = e.id AND s.is_image = 0"
                f" WHERE e.date IN ({placeholders(len(chunk))}) AND e.origin = 'wikipedia'"
                " GROUP BY e.id",
                chunk,
            )
            for event_id, key, headline, date, urls in rows:
                candidates[event_id] = Candidate(
                    event_id=event_id,
                    date=event_rows.as_date(date),
                    keys=frozenset({key}),
                    text=headline,
                    urls=frozenset(u for u in json.loads(urls) if u),
                    listed=True,
                    from_feed=False,
                )
        listings = [
            Listing(
                p.key, p.date, p.headline, frozenset(s.url for s in p.sources if not s.is_image)
            )
            for p in pages
        ]
        matched = match_items(listings, list(candidates.values()))
        await conn.executemany(
            "UPDATE events SET key = ?, origin = 'archive', updated_at = ? WHERE id = ?",
            [(pages[index].key, now, event_id) for index, event_id in matched.items()],
        )
        await event_rows.add_aliases(
            conn,
            [(key, event_id) for event_id in matched.values() for key in candidates[event_id].keys],
        )
        return bool(matched)

    async def index_pending(self, *, batch: int = PENDING_BATCH) -> int:
        """Index every event still waiting (stubs of an import, an interrupted import)."""
        done = 0
        while True:
            async with self.db.transaction() as conn:
                rows = list(
                    await conn.execute_fetchall(
                        "SELECT id FROM events WHERE searchable = 0 ORDER BY id LIMIT ?", (batch,)
                    )
                )
                if not rows:
                    return done
                await event_rows.index_events(conn, [r[0] for r in rows])
                done += len(rows)

    async def reconcile_stubs(
        self, stub_ids: Iterable[int], *, threshold: Fraction = STUB_MATCH
    ) -> int:
        """Fold incomplete events into another event of the same day with nearly the same
        headline: two versions of one event linked under different slugs ("two alleged
        Russian soldiers" / "two injured Russian soldiers"). Returns how many were folded.

        Besides the stubs given (an import's), every incomplete event of a day the batches
        since the last call named is looked at: stubs an earlier run of the same files left
        (one stopped before its end, or one whose folding an older version missed) are
        folded as a single run would have, however many runs it took.
        """
        with self._named_days.taken() as named:
            return await self._reconcile(set(stub_ids), named, threshold)

    async def _reconcile(self, stub_ids: set[int], named: set[dt.date], threshold: Fraction) -> int:
        found: set[tuple[str, int]] = set()
        for chunk in chunked(sorted(stub_ids)):
            rows = await self.db.fetchall(
                "SELECT id, date FROM events"
                f" WHERE complete = 0 AND id IN ({placeholders(len(chunk))})",
                chunk,
            )
            found.update((row["date"], row["id"]) for row in rows)
        for dates in chunked(sorted(day.isoformat() for day in named)):
            rows = await self.db.fetchall(
                "SELECT id, date FROM events"
                f" WHERE complete = 0 AND date IN ({placeholders(len(dates))})",
                dates,
            )
            found.update((row["date"], row["id"]) for row in rows)
        by_date: dict[str, list[int]] = {}
        for date, event_id in sorted(found):
            by_date.setdefault(date, []).append(event_id)
        merged = 0
        async with self.db.transaction() as conn:
            # The days' events are read a few hundred days at a time (a merge changes only
            # its own day), not one query per day: a large import leaves stubs on most days.
            for dates in chunked(sorted(by_date), STUB_DAYS):
                days: dict[str, list[tuple[int, frozenset[str]]]] = {}
                for row in await conn.execute_fetchall(
                    "SELECT id, date, headline FROM events"
                    f" WHERE date IN ({placeholders(len(dates))})"
                    " ORDER BY date, complete DESC, id",
                    dates,
                ):
                    days.setdefault(row["date"], []).append(
                        (row["id"], headline_tokens(row["headline"]))
                    )
                for date in dates:
                    day = days.get(date, [])
                    tokens = dict(day)
                    gone: set[int] = set()
                    for stub_id in by_date[date]:
                        mine = tokens.get(stub_id, frozenset())
                        if len(mine) < STUB_MIN_TOKENS:
                            continue  # too short to tell versions from different events
                        for other, theirs in day:
                            if other == stub_id or other in gone:
                                continue
                            if not at_least_as_similar(mine, theirs, threshold) and not (
                                at_least_as_similar(mine, theirs, STUB_MATCH_SHARING)
                                and await self._shared_entities(conn, stub_id, other)
                                >= STUB_SHARED_ENTITIES
                            ):
                                continue
                            await self._merge(conn, source_id=stub_id, target_id=other)
                            gone.add(stub_id)
                            merged += 1
                            break
        return merged

    @staticmethod
    async def _shared_entities(conn: aiosqlite.Connection, a: int, b: int) -> int:
        rows = await conn.execute_fetchall(
            "SELECT COUNT(*) FROM event_entities x JOIN event_entities y"
            " ON y.entity_id = x.entity_id AND y.event_id = ? WHERE x.event_id = ?",
            (b, a),
        )
        return int(next(iter(rows))[0])

    async def _merge(self, conn: aiosqlite.Connection, *, source_id: int, target_id: int) -> None:
        """Move what hangs off one event onto another, then delete the first."""
        await conn.execute(
            "INSERT OR IGNORE INTO event_entities(event_id, entity_id, date)"
            " SELECT ?, entity_id, (SELECT date FROM events WHERE id = ?)"
            " FROM event_entities WHERE event_id = ?",
            (target_id, target_id, source_id),
        )
        # Links feeds and the portal added follow the story (after the target's own, each
        # link once).
        await conn.execute(
            "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
            " SELECT ?, (SELECT COALESCE(MAX(position), -1) FROM sources WHERE event_id = ?)"
            " + row_number() OVER (ORDER BY position), name, url, is_image, from_feed,"
            " from_portal FROM sources WHERE event_id = ? AND (from_feed = 1 OR from_portal = 1)"
            " AND url NOT IN (SELECT url FROM sources WHERE event_id = ?)",
            (target_id, target_id, source_id, target_id),
        )
        # Every table that points at events: what was delivered about the old row counts
        # as delivered about the merged one, and the feeds that carried it carried this.
        for table in (
            "articles",
            "event_keys",
            "page_versions",
            "deliveries",
            "feed_entries",
            "portal_items",
        ):
            await conn.execute(
                f"UPDATE OR IGNORE {table} SET event_id = ? WHERE event_id = ?",
                (target_id, source_id),
            )
        await conn.execute(
            "INSERT OR REPLACE INTO event_keys(key, event_id)"
            " SELECT key, ? FROM events WHERE id = ?",
            (target_id, source_id),
        )
        # Its id, and the ids merged into it before, stay in posted cards' buttons.
        await conn.execute(
            "UPDATE merged_events SET event_id = ? WHERE event_id = ?", (target_id, source_id)
        )
        await conn.execute(
            "INSERT OR REPLACE INTO merged_events(old_id, event_id) VALUES (?, ?)",
            (source_id, target_id),
        )
        await conn.execute("DELETE FROM events WHERE id = ?", (source_id,))
        moved = await conn.execute_fetchall(
            "SELECT entity_id FROM event_entities WHERE event_id = ?", (target_id,)
        )
        await event_rows.recount_entities(conn, [r[0] for r in moved])
        await event_rows.refresh_weights(conn, [target_id])  # it gained links and sources

    async def _resolve(self, conn: aiosqlite.Connection, keys: Iterable[str]) -> dict[str, Known]:
        """Events by key, following older keys to the event that now holds them."""
        ids = await event_rows.event_ids(conn, keys)
        events: dict[int, Known] = {}
        for chunk in chunked(sorted(set(ids.values()))):
            rows = await conn.execute_fetchall(
                "SELECT id, key, complete, content_hash, page_version FROM events"
                f" WHERE id IN ({placeholders(len(chunk))})",
                chunk,
            )
            for row in rows:
                events[row["id"]] = Known(
                    row["id"],
                    row["key"],
                    bool(row["complete"]),
                    row["content_hash"],
                    row["page_version"],
                )
        return {key: events[event_id] for key, event_id in ids.items()}

    async def _replace_sources_and_related(
        self,
        conn: aiosqlite.Connection,
        pages: Sequence[PageRecord],
        ids: dict[str, int],
        *,
        existing: Sequence[int],
    ) -> None:
        """Write the pages' sources and Related lists (existing: the ids among them of events
        stored before this batch, the only ones that can hold sources already)."""
        # What feeds and the portal added to these events is theirs, not the page's: it
        # follows the page's own sources, unless the page now lists the same link itself.
        live: dict[int, list[tuple[str, str, int, int]]] = {}
        for chunk in chunked(existing):
            kept_rows = await conn.execute_fetchall(
                "SELECT event_id, name, url, from_feed, from_portal FROM sources"
                f" WHERE event_id IN ({placeholders(len(chunk))})"
                " AND (from_feed = 1 OR from_portal = 1) ORDER BY event_id, position",
                chunk,
            )
            for event_id, name, url, from_feed, from_portal in kept_rows:
                live.setdefault(event_id, []).append((name, url, from_feed, from_portal))
        await conn.executemany(
            "DELETE FROM sources WHERE event_id = ?", [(event_id,) for event_id in existing]
        )
        rows: list[tuple[int, int, str, str, int, int, int]] = []
        for p in pages:
            event_id = ids[p.key]
            rows.extend(
                (event_id, position, s.name, s.url, int(s.is_image), 0, 0)
                for position, s in enumerate(p.sources)
            )
            if event_id in live:
                listed = {s.url for s in p.sources}
                kept = [source for source in live[event_id] if source[1] not in listed]
                rows.extend(
                    (event_id, len(p.sources) + i, name, url, 0, from_feed, from_portal)
                    for i, (name, url, from_feed, from_portal) in enumerate(kept)
                )
        await conn.executemany(
            "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
            " VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        await conn.executemany(
            "INSERT OR REPLACE INTO archive_related(event_id, items, links) VALUES (?, ?, ?)",
            [(ids[p.key], len(p.related), p.related_packed) for p in pages if p.related],
        )
        await conn.executemany(
            "DELETE FROM archive_related WHERE event_id = ?",
            [(ids[p.key],) for p in pages if not p.related],
        )


@dataclass(slots=True)
class _ReplacementSQL:
    """import_steps.ReplacementSQL, in the batch's transaction."""

    imports: EventImports
    conn: aiosqlite.Connection
    now: str

    async def resolve(self, keys: Iterable[str]) -> dict[str, Known]:
        return await self.imports._resolve(self.conn, keys)

    async def rekey(self, event_id: int, key: str) -> None:
        await self.conn.execute(
            "UPDATE events SET key = ?, updated_at = ? WHERE id = ?", (key, self.now, event_id)
        )

    async def merge(self, *, source_id: int, target_id: int) -> None:
        await self.imports._merge(self.conn, source_id=source_id, target_id=target_id)

    async def add_aliases(self, aliases: list[tuple[str, int]]) -> None:
        await event_rows.add_aliases(self.conn, aliases)
