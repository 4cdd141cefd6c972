"""Importing archive pages into events, in batches (the PostgreSQL counterpart of
storage.sqlite.imports): new events and new versions of known ones, the older keys their
Changes lists name, the stubs their links leave (reconciled once the import ends). Every
row is searchable as written: its vector is written with its text (event_rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from storage.archive_rules import (
    STUB_MATCH,
    STUB_MATCH_SHARING,
    STUB_MIN_TOKENS,
    STUB_SHARED_ENTITIES,
    what_it_knows,
)
from storage.import_steps import Known, NamedDays, apply_replacements, fresh_pages
from storage.models import BatchOutcome, DayEntryRecord, PageRecord
from storage.portal_match import Candidate, Listing, match_items
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database, chunked
from storage.postgres.event_rows import NewEvent
from storage.postgres.textsearch import event_vector
from storage.textindex import at_least_as_similar, headline_tokens
from storage.times import utc_now

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
        """Apply archive pages and day-index entries in one transaction, in bulk (a handful
        of statements per batch, not per page)."""
        self._named_days.add(pages, days)
        outcome = BatchOutcome()
        now = utc_now()
        async with self.db.transaction() as conn:
            # Every batch, announced or not, takes its turn: what it inserts depends on the
            # keys it finds, and two processes importing the same pages at once (all of a
            # bot's processes starting on an empty database import the sample) would both
            # find a key missing and insert it twice. In turns, the later finds the earlier's.
            await event_rows.lock_announcing(conn)
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
                [
                    NewEvent(
                        key=p.key,
                        date=p.date,
                        headline=p.headline,
                        summary=p.summary,
                        story=p.story,
                        lang=p.lang,
                        complete=True,
                        origin=p.origin,
                        announce=p.announce,
                        content_hash=p.content_hash,
                        page_version=p.version,
                    )
                    for p in to_insert
                ],
                now=now,
            )
            await conn.executemany(
                # The page describes the event now (one the portal made becomes the
                # archive's, which the portal then only enriches).
                "UPDATE events SET date = $1, headline = $2, summary = $3,"
                " story = COALESCE($4, story), lang = $5, complete = true, origin = $6,"
                " content_hash = $7, page_version = $8, updated_at = $9,"
                " search = $10::tsvector WHERE id = $11",
                [
                    (
                        p.date,
                        p.headline,
                        p.summary,
                        p.story,
                        p.lang,
                        p.origin,
                        p.content_hash,
                        p.version,
                        now,
                        event_vector(p.headline, p.summary, p.date),
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
            versions = [(k.content_hash, k.id) for _, k in to_update if k.content_hash] + [
                (p.content_hash, event_ids[p.key]) for p in outdone if p.key in event_ids
            ]
            if versions:
                await conn.execute(
                    "INSERT INTO page_versions(content_hash, event_id)"
                    " SELECT * FROM unnest($1::text[], $2::bigint[])"
                    " ON CONFLICT (content_hash) DO NOTHING",
                    [v[0] for v in versions],
                    [v[1] for v in versions],
                )
            await self._replace_sources_and_related(
                conn, applied, ids, existing=[k.id for _, k in to_update]
            )

            # Events known only from Related links and index entries.
            stubs: dict[str, tuple[str, dt.date, str, str]] = {}
            for page in applied:
                for item in page.related:
                    if item.key not in event_ids:
                        stubs.setdefault(item.key, (item.key, item.date, item.headline, page.lang))
            stub_summaries: dict[str, str] = {}
            for entry in days:
                if entry.key not in event_ids:
                    stubs.setdefault(entry.key, (entry.key, entry.date, entry.headline, entry.lang))
                    if entry.summary:
                        stub_summaries.setdefault(entry.key, entry.summary)
            created = await event_rows.insert_events(
                conn,
                [
                    NewEvent(
                        key=k, date=d, headline=h, summary=stub_summaries.get(k, ""), lang=lang
                    )
                    for k, d, h, lang in stubs.values()
                ],
                now=now,
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
            linked = await event_rows.link_entities(conn, links)

            # What the archive says of an event changed for the pages written and for the
            # events that gained entities.
            await event_rows.refresh_weights(conn, {*ids.values(), *linked})

            # Stories from index entries (the index is where most versions keep them): the
            # last entry's, as one update after another leaves it.
            stories = {event_ids[d.key]: d.story for d in days if d.story}
            if stories:
                await conn.execute(
                    "UPDATE events SET story = v.story"
                    " FROM unnest($1::bigint[], $2::text[]) AS v(id, story)"
                    " WHERE events.id = v.id AND events.story IS DISTINCT FROM v.story",
                    list(stories),
                    list(stories.values()),
                )
            # An incomplete event learns its summary from an index entry that has one (the
            # first's), and is searchable by it.
            summaries: dict[int, str] = {}
            for d in days:
                if d.summary:
                    summaries.setdefault(event_ids[d.key], d.summary)
            if summaries:
                learned = await conn.fetch(
                    "UPDATE events SET summary = v.summary"
                    " FROM unnest($1::bigint[], $2::text[]) AS v(id, summary)"
                    " WHERE events.id = v.id AND NOT events.complete AND events.summary = ''"
                    " RETURNING events.id",
                    list(summaries),
                    list(summaries.values()),
                )
                await event_rows.index_events(conn, [r[0] for r in learned])
        return outcome

    async def _fresh_pages(
        self, conn: Connection, pages: Sequence[PageRecord], outcome: BatchOutcome
    ) -> tuple[list[PageRecord], list[PageRecord], dict[str, Known]]:
        """Split pages into (to apply, older versions outdone by a later one in the batch,
        the events their keys name now).

        Pages whose exact version was applied before are dropped: importing any set of files
        again, in any order, changes nothing.
        """
        current = await self._resolve(conn, {p.key for p in pages})
        applied = {k.content_hash for k in current.values() if k.content_hash}
        hashes = [h for h in dict.fromkeys(p.content_hash for p in pages) if h not in applied]
        if hashes:
            rows = await conn.fetch(
                "SELECT content_hash FROM page_versions WHERE content_hash = ANY($1::text[])",
                hashes,
            )
            applied.update(row[0] for row in rows)
        fresh, outdone = fresh_pages(pages, current, applied, outcome)
        return fresh, outdone, current

    async def _adopt_portal_events(
        self, conn: Connection, pages: Sequence[PageRecord], now: dt.datetime
    ) -> bool:
        """Pages new to the store that tell an event the portal made (pulled before this
        import): by storage.portal_match's rule, the page takes that event over, its key
        and all (the portal's key goes on finding it). Returns whether any did."""
        if not pages:
            return False
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM portal_items)"):
            return False
        candidates: dict[int, Candidate] = {}
        rows = await conn.fetch(
            "SELECT e.id, e.key, e.headline, e.date,"
            " array_remove(array_agg(s.url ORDER BY s.position), NULL) AS urls FROM events e"
            " LEFT JOIN sources s ON s.event_id = e.id AND NOT s.is_image"
            " WHERE e.date = ANY($1::date[]) AND e.origin = 'wikipedia'"
            " GROUP BY e.id ORDER BY e.id",
            sorted({p.date for p in pages}),
        )
        for row in rows:
            candidates[row["id"]] = Candidate(
                event_id=row["id"],
                date=row["date"],
                keys=frozenset({row["key"]}),
                text=row["headline"],
                urls=frozenset(u for u in row["urls"] if u),
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
            "UPDATE events SET key = $1, origin = 'archive', updated_at = $2 WHERE id = $3",
            [(pages[index].key, now, event_id) for index, event_id in matched.items()],
        )
        await event_rows.add_aliases(
            conn,
            [(key, event_id) for event_id in matched.values() for key in candidates[event_id].keys],
        )
        return bool(matched)

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
        if not stub_ids and not named:
            return 0
        by_date: dict[dt.date, list[int]] = {}
        for row in await self.db.fetch(
            "SELECT id, date FROM events WHERE NOT complete"
            " AND (id = ANY($1::bigint[]) OR date = ANY($2::date[])) ORDER BY date, id",
            sorted(stub_ids),
            sorted(named),
        ):
            by_date.setdefault(row["date"], []).append(row["id"])
        merged = 0
        async with self.db.transaction() as conn:
            # The days' events are read a few hundred days at a time (a merge changes only
            # its own day), not one query per day: a large import leaves stubs on most days.
            for dates in chunked(sorted(by_date), STUB_DAYS):
                days: dict[dt.date, list[tuple[int, frozenset[str]]]] = {}
                for row in await conn.fetch(
                    "SELECT id, date, headline FROM events WHERE date = ANY($1::date[])"
                    " ORDER BY date, complete DESC, id",
                    list(dates),
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
    async def _shared_entities(conn: Connection, a: int, b: int) -> int:
        count = await conn.fetchval(
            "SELECT COUNT(*) FROM event_entities x JOIN event_entities y"
            " ON y.entity_id = x.entity_id AND y.event_id = $1 WHERE x.event_id = $2",
            b,
            a,
        )
        return int(count)

    @staticmethod
    async def _merge(conn: Connection, *, source_id: int, target_id: int) -> None:
        """Move what hangs off one event onto another, then delete the first."""
        await conn.execute(
            "INSERT INTO event_entities(event_id, entity_id, date)"
            " SELECT $1, entity_id, (SELECT date FROM events WHERE id = $1)"
            " FROM event_entities WHERE event_id = $2 ORDER BY entity_id"
            " ON CONFLICT (event_id, entity_id) DO NOTHING",
            target_id,
            source_id,
        )
        # Links feeds and the portal added follow the story (after the target's own, each
        # link once).
        await conn.execute(
            "INSERT INTO sources(event_id, position, name, url, is_image, from_feed, from_portal)"
            " SELECT $1, (SELECT COALESCE(MAX(position), -1) FROM sources WHERE event_id = $1)"
            " + row_number() OVER (ORDER BY position), name, url, is_image, from_feed,"
            " from_portal FROM sources WHERE event_id = $2 AND (from_feed OR from_portal)"
            " AND url NOT IN (SELECT url FROM sources WHERE event_id = $1)",
            target_id,
            source_id,
        )
        # Every table that points at events: what was delivered about the old row counts
        # as delivered about the merged one, and the feeds that carried it carried this.
        # A row the target holds already stays the target's (the source's goes with it).
        for table in ("articles", "event_keys", "page_versions", "feed_entries"):
            await conn.execute(
                f"UPDATE {table} SET event_id = $1 WHERE event_id = $2", target_id, source_id
            )
        for table, other_key in (("deliveries", "target"), ("portal_items", "wiki")):
            await conn.execute(
                f"UPDATE {table} t SET event_id = $1 WHERE t.event_id = $2 AND NOT EXISTS"
                f" (SELECT 1 FROM {table} x WHERE x.event_id = $1 AND x.{other_key} = t.{other_key})",
                target_id,
                source_id,
            )
        await conn.execute(
            "INSERT INTO event_keys(key, event_id) SELECT key, $1 FROM events WHERE id = $2"
            " ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id",
            target_id,
            source_id,
        )
        # Its id, and the ids merged into it before, stay in posted cards' buttons.
        await conn.execute(
            "UPDATE merged_events SET event_id = $1 WHERE event_id = $2", target_id, source_id
        )
        await conn.execute(
            "INSERT INTO merged_events(old_id, event_id) VALUES ($1, $2)"
            " ON CONFLICT (old_id) DO UPDATE SET event_id = excluded.event_id",
            source_id,
            target_id,
        )
        await conn.execute("DELETE FROM events WHERE id = $1", source_id)
        moved = await conn.fetch(
            "SELECT entity_id FROM event_entities WHERE event_id = $1", target_id
        )
        await event_rows.recount_entities(conn, [r[0] for r in moved])
        await event_rows.refresh_weights(conn, [target_id])  # it gained links and sources

    async def _resolve(self, conn: Connection, keys: Iterable[str]) -> dict[str, Known]:
        """Events by key, following older keys to the event that now holds them."""
        ids = await event_rows.event_ids(conn, keys)
        events: dict[int, Known] = {}
        if ids:
            rows = await conn.fetch(
                "SELECT id, key, complete, content_hash, page_version FROM events"
                " WHERE id = ANY($1::bigint[])",
                sorted(set(ids.values())),
            )
            for row in rows:
                events[row["id"]] = Known(
                    row["id"],
                    row["key"],
                    row["complete"],
                    row["content_hash"],
                    row["page_version"],
                )
        return {key: events[event_id] for key, event_id in ids.items() if event_id in events}

    async def _replace_sources_and_related(
        self,
        conn: Connection,
        pages: Sequence[PageRecord],
        ids: dict[str, int],
        *,
        existing: Sequence[int],
    ) -> None:
        """Write the pages' sources and Related lists (existing: the ids among them of events
        stored before this batch, the only ones that can hold sources already)."""
        # What feeds and the portal added to these events is theirs, not the page's: it
        # follows the page's own sources, unless the page now lists the same link itself.
        live: dict[int, list[tuple[str, str, bool, bool]]] = {}
        if existing:
            for row in await conn.fetch(
                "SELECT event_id, name, url, from_feed, from_portal FROM sources"
                " WHERE event_id = ANY($1::bigint[]) AND (from_feed OR from_portal)"
                " ORDER BY event_id, position",
                list(existing),
            ):
                live.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
            await conn.execute(
                "DELETE FROM sources WHERE event_id = ANY($1::bigint[])", sorted(existing)
            )
        rows: list[tuple[int, int, str, str, bool, bool, bool]] = []
        for p in pages:
            event_id = ids[p.key]
            rows.extend(
                (event_id, position, s.name, s.url, s.is_image, False, False)
                for position, s in enumerate(p.sources)
            )
            if event_id in live:
                listed = {s.url for s in p.sources}
                kept = [source for source in live[event_id] if source[1] not in listed]
                rows.extend(
                    (event_id, len(p.sources) + i, name, url, False, from_feed, from_portal)
                    for i, (name, url, from_feed, from_portal) in enumerate(kept)
                )
        if rows:
            columns = list(zip(*rows, strict=True))
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed,"
                " from_portal) SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[],"
                " $4::text[], $5::boolean[], $6::boolean[], $7::boolean[])",
                *(list(c) for c in columns),
            )
        related = [(ids[p.key], len(p.related), p.related_packed) for p in pages if p.related]
        if related:
            await conn.execute(
                "INSERT INTO archive_related(event_id, items, links)"
                " SELECT * FROM unnest($1::bigint[], $2::int[], $3::bytea[])"
                " ON CONFLICT (event_id) DO UPDATE SET items = excluded.items,"
                " links = excluded.links",
                [r[0] for r in related],
                [r[1] for r in related],
                [r[2] for r in related],
            )
        unrelated = [ids[p.key] for p in pages if not p.related]
        if unrelated:
            await conn.execute(
                "DELETE FROM archive_related WHERE event_id = ANY($1::bigint[])", unrelated
            )


@dataclass(slots=True)
class _ReplacementSQL:
    """import_steps.ReplacementSQL, in the batch's transaction."""

    imports: EventImports
    conn: Connection
    now: dt.datetime

    async def resolve(self, keys: Iterable[str]) -> dict[str, Known]:
        return await self.imports._resolve(self.conn, keys)

    async def rekey(self, event_id: int, key: str) -> None:
        await self.conn.execute(
            "UPDATE events SET key = $1, updated_at = $2 WHERE id = $3", key, self.now, event_id
        )

    async def merge(self, *, source_id: int, target_id: int) -> None:
        await self.imports._merge(self.conn, source_id=source_id, target_id=target_id)

    async def add_aliases(self, aliases: list[tuple[str, int]]) -> None:
        await event_rows.add_aliases(self.conn, aliases)
