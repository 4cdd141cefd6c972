"""Events: importing archive pages in batches, and every lookup the bot and CLI make."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import aiosqlite
import numpy as np

from storage.keys import parse_key
from storage.models import (
    Article,
    BatchOutcome,
    DayEntryRecord,
    Event,
    EventBrief,
    PageRecord,
    RelatedEvent,
    SearchFilter,
    SearchHit,
    Source,
    unpack_related,
)
from storage.portal_match import Candidate, Listing, match_items
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.fts import (
    COMMON_TERM_EVENTS,
    EVENT_RANK,
    INDEXED_PREFIX,
    STOP_WORDS,
    build_match,
    contradicts_itself,
    entities_match,
    few_matches_likely,
    headline_phrase,
    in_text,
    lone_character,
    period_match,
    phrase_matcher,
    prefix_check,
    ranking_match,
    stop_word_phrase,
    suggestion_words,
    text_matcher,
    token_expressions,
    without_letter_typed,
)
from storage.textindex import (
    any_script,
    at_least_as_similar,
    fold,
    has_cjk,
    headline_tokens,
    same_script,
)
from storage.times import from_timestamp, now_timestamp

# Matches of a common word ranked by relevance: at least this many of the newest.
SEARCH_WINDOW = 500
# A long prefix looked up by its first letters (search.INDEXED_PREFIX) is worth it while at
# least one in this many of the newest matches holds the whole prefix ("russ*" among "rus*");
# when fewer do ("derl*" among "der*"), FTS5 looks the prefix up itself, a rare one cheaply.
CUT_PREFIX_YIELD = 8
# Search checks this many of the newest matches before going on with a cut prefix.
PREFIX_SAMPLE = 100
# A phrase of stop words only ("of the") is looked for among this many of the newest events:
# finding it means checking word positions in nearly every event.
STOP_PHRASE_EVENTS = 50_000
# When a search of common words has at most this many matches, which of them hold the words
# in their headline is checked in Python, cheaply, rather than by FTS5.
HEADLINE_CHECKS = 100
# term_counts() remembers at most this many common words and prefixes (even a large archive
# holds far fewer words of more than COMMON_TERM_EVENTS).
MAX_COUNTED_BEYOND = 100_000
# Autocomplete orders this many of the newest headlines holding the words typed.
HEADLINE_POOL = 100
# A Chinese character alone (typed for autocomplete, or a common one searched for) is looked
# for in this many of the newest events before FTS5 is asked (see _newest_holding).
CHARACTER_SCAN = 2_000
# The newest events whose headline holds a headline_phrase() (its two parameters: the phrase
# and how many).
NEWEST_IN_A_ROW = (
    "SELECT rowid FROM headline_pairs WHERE headline_pairs MATCH ? ORDER BY rowid DESC LIMIT ?"
)
# reconcile_stubs(): a stub is folded into an event of its day whose headline tokens are at
# least this similar (Jaccard) to its own; days are read this many at a time.
STUB_MATCH = Fraction(3, 4)
# ... or at least this similar while sharing at least STUB_SHARED_ENTITIES of its entities:
# "The Syrian army breaks the Islamic States' nine month long siege of the Deir ez-Zor
# airport" is "The Syrian Army breaks the nine-month-long siege of the Deir ez-Zor Airport
# by ISIL militants" (13 of 18 words), and both are of the Syrian Civil War and the army.
STUB_MATCH_SHARING = Fraction(7, 10)
STUB_SHARED_ENTITIES = 2
STUB_DAYS = 200


def _too_few_hold(kept: int, read: int) -> bool:
    """Whether a cut prefix is not worth it: fewer than 1 in CUT_PREFIX_YIELD of the
    matches read hold the whole prefix."""
    return kept * CUT_PREFIX_YIELD < read


@dataclass(frozen=True, slots=True)
class _WordSearch:
    """What search() hands on to its word matching: the text, its filters as index
    expressions, and the exact conditions (SQL on events e) with their parameters."""

    text: str
    filters: list[str]
    where: str
    params: Sequence[object]
    want: int
    language: str | None = None  # 'en', 'zh': matches are walked in that edition only


def rank_shared(keys: np.ndarray, *, exclude: int, want: int) -> list[int]:
    """Event ids of the first `want` by the rule, best first, from the posting keys of an
    event's entities (one key for each event and entity it shares): most keys first, then
    the biggest key (newest date, then newest id). `exclude` is the event itself."""
    if keys.size == 0 or want <= 0:
        return []
    # Blobs are sorted runs: a stable sort (timsort) merges them rather than sorting anew.
    keys = np.sort(keys, kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    events = keys[starts]
    shared = np.diff(np.append(starts, keys.size))
    others = (events & event_rows.ID_BITS) != exclude
    events, shared = events[others], shared[others]
    if events.size == 0:
        return []
    # The count at which the first `want` end: all events sharing more rank, and of those
    # sharing exactly that many, the biggest keys (the last ones, as events is ascending).
    histogram = np.bincount(shared)
    cut, above = histogram.size - 1, 0
    while cut > 1 and above + histogram[cut] < want:
        above += int(histogram[cut])
        cut -= 1
    picked = np.concatenate(
        (np.flatnonzero(shared > cut), np.flatnonzero(shared == cut)[-(want - above) :])
    )
    ranked = sorted(
        zip(shared[picked].tolist(), events[picked].tolist(), strict=True), reverse=True
    )
    return [key & event_rows.ID_BITS for _, key in ranked]


def _what_it_knows(page: PageRecord) -> list[DayEntryRecord]:
    """An outdone page version's knowledge as index entries: its own event's names, and
    the events its Related list links with the names they share."""
    return [
        DayEntryRecord(page.key, page.date, page.headline, None, page.entities, None, page.lang),
        *(
            DayEntryRecord(r.key, r.date, r.headline, None, r.shared, None, page.lang)
            for r in page.related
        ),
    ]


def _rank(page: PageRecord) -> tuple[str, str]:
    """Which of two versions of a page is newer (PageRecord.version), equal versions told
    apart by their content, so that no order of import decides."""
    return page.version, page.content_hash


def _headlines_holding(rows: Iterable[Sequence[Any]], text: str) -> list[int]:
    """The ids of the (id, headline, ...) rows whose headline holds the words of text."""
    holds = text_matcher(text)
    return [row[0] for row in rows if holds(row[1])]


@dataclass(slots=True)
class _Known:
    id: int
    key: str
    complete: bool
    date: str
    content_hash: str | None = None
    page_version: str | None = None

    def newer_than(self, page: PageRecord) -> bool:
        """Whether the page version held is newer than this page (PageRecord.version). A
        record without a version (not read from an archive file) is taken as the newest."""
        if not self.complete or self.content_hash is None or not page.version:
            return False
        return _rank(page) < (self.page_version or "", self.content_hash)


class EventRepository:
    def __init__(self, db: Database):
        self.db = db
        # term_counts(): expression -> the largest cap it was counted beyond. Events are
        # added far more than removed, so a common word stays common, and counting it
        # again (up to COMMON_TERM_EVENTS + 1) is not free.
        self._counted_beyond: dict[str, int] = {}

    # --- writing ------------------------------------------------------------------------

    async def import_batch(
        self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord] = ()
    ) -> BatchOutcome:
        """Apply archive pages and day-index entries in one transaction.

        Work is done in bulk (a handful of statements per batch, not per page): an import of
        a million events must not pay a round trip per row.
        """
        outcome = BatchOutcome()
        now = now_timestamp()
        async with self.db.transaction() as conn:
            pages, outdone, known = await self._fresh_pages(conn, pages, outcome)
            # An older version is not applied, but what it says of other events (and the
            # names it links to its own) is kept, as it would have been had it come first.
            days = [*days, *(entry for page in outdone for entry in _what_it_knows(page))]
            if await self._apply_replacements(conn, pages, outcome, now, known):
                known = await self._resolve(conn, {p.key for p in pages})
            if await self._adopt_portal_events(conn, [p for p in pages if p.key not in known], now):
                known = await self._resolve(conn, {p.key for p in pages})
            # Other events the batch names (Related links, index entries) are needed by id
            # only, which the key's index alone answers.
            linked_keys = {r.key for p in pages for r in p.related} | {d.key for d in days}
            event_ids = await event_rows.event_ids(conn, linked_keys - known.keys())
            event_ids.update((key, k.id) for key, k in known.items())

            to_insert: list[PageRecord] = []
            to_update: list[tuple[PageRecord, _Known]] = []
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
    ) -> tuple[list[PageRecord], list[PageRecord], dict[str, _Known]]:
        """Split pages into (to apply, older versions outdone by a later one in the batch,
        the events their keys name now).

        Pages whose exact version was applied before are dropped: importing any set of files
        again, in any order, changes nothing.
        """
        current = await self._resolve(conn, {p.key for p in pages})
        seen = {k.content_hash for k in current.values() if k.content_hash}
        hashes = [h for h in dict.fromkeys(p.content_hash for p in pages) if h not in seen]
        for chunk in chunked(hashes):
            rows = await conn.execute_fetchall(
                "SELECT content_hash FROM page_versions"
                f" WHERE content_hash IN ({placeholders(len(chunk))})",
                chunk,
            )
            seen.update(row[0] for row in rows)
        latest: dict[str, PageRecord] = {}
        outdone: list[PageRecord] = []
        for page in pages:
            if page.content_hash in seen:
                outcome.unchanged += 1
                continue
            seen.add(page.content_hash)
            held = current.get(page.key)
            if held is not None and held.key == page.key and held.newer_than(page):
                outdone.append(page)  # older than the version held: whatever the order
                outcome.superseded.append(page.key)
                continue
            rival = latest.get(page.key)
            if rival is not None and page.version and _rank(rival) > _rank(page):
                outdone.append(page)
                continue
            if rival is not None:
                outdone.append(rival)  # the newest version in the batch wins
            latest[page.key] = page
        return list(latest.values()), outdone, current

    async def _apply_replacements(
        self,
        conn: aiosqlite.Connection,
        pages: Sequence[PageRecord],
        outcome: BatchOutcome,
        now: str,
        current: dict[str, _Known],
    ) -> bool:
        """Fold the older versions a page's Changes list names into the page's event
        (current: the events the pages' keys name). Returns whether any key or row changed.

        The oldest surviving row keeps its id (so what was delivered about it stays
        delivered) and takes the current key; any other old row is merged into it.
        """
        pages = [p for p in pages if p.replaces]
        if not pages:
            return False
        # Every key resolved in one go (most pages name older keys that were never imported);
        # a key or row this loop has changed is looked up again.
        known = dict(current)
        known.update(
            await self._resolve(conn, {k for p in pages for k in p.replaces} - known.keys())
        )
        changed_keys: set[str] = set()
        changed_ids: set[int] = set()
        aliases: list[tuple[str, int]] = []
        for page in pages:
            keys = {page.key, *page.replaces}
            if keys & changed_keys or any(known[k].id in changed_ids for k in keys if k in known):
                await event_rows.add_aliases(conn, aliases)
                aliases = []
                for key in keys:
                    known.pop(key, None)
                known.update(await self._resolve(conn, keys))
            target = known.get(page.key)
            for old_key in page.replaces:
                old = known.get(old_key)
                if old is None or (target is not None and old.id == target.id):
                    continue
                if target is None:
                    await conn.execute(
                        "UPDATE events SET key = ?, updated_at = ? WHERE id = ?",
                        (page.key, now, old.id),
                    )
                    target = _Known(old.id, page.key, old.complete, old.date)
                else:
                    await self._merge(conn, source_id=old.id, target_id=target.id)
                changed_ids.add(old.id)
                changed_keys.add(page.key)
                outcome.replaced += 1
            if target is not None:
                aliases.extend((k, target.id) for k in page.replaces)
                changed_keys.update(page.replaces)
        await event_rows.add_aliases(conn, aliases)
        return bool(changed_keys)

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

    async def index_pending(self, *, batch: int = 5000) -> int:
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
        Russian soldiers" / "two injured Russian soldiers"). Returns how many were folded."""
        by_date: dict[str, list[int]] = {}
        for chunk in chunked(sorted(stub_ids)):
            rows = await self.db.fetchall(
                "SELECT id, date FROM events"
                f" WHERE complete = 0 AND id IN ({placeholders(len(chunk))})",
                chunk,
            )
            for row in rows:
                by_date.setdefault(row["date"], []).append(row["id"])
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
                        if len(mine) < 4:
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
        await conn.execute("DELETE FROM events WHERE id = ?", (source_id,))
        moved = await conn.execute_fetchall(
            "SELECT entity_id FROM event_entities WHERE event_id = ?", (target_id,)
        )
        await event_rows.recount_entities(conn, [r[0] for r in moved])
        await event_rows.refresh_weights(conn, [target_id])  # it gained links and sources

    async def _resolve(self, conn: aiosqlite.Connection, keys: Iterable[str]) -> dict[str, _Known]:
        """Events by key, following older keys to the event that now holds them."""
        ids = await event_rows.event_ids(conn, keys)
        events: dict[int, _Known] = {}
        for chunk in chunked(sorted(set(ids.values()))):
            rows = await conn.execute_fetchall(
                "SELECT id, key, complete, date, content_hash, page_version FROM events"
                f" WHERE id IN ({placeholders(len(chunk))})",
                chunk,
            )
            for row in rows:
                events[row["id"]] = _Known(
                    row["id"],
                    row["key"],
                    bool(row["complete"]),
                    row["date"],
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

    # --- reading ------------------------------------------------------------------------

    async def get(self, event_id: int) -> Event | None:
        row = await self.db.fetchone("SELECT * FROM events WHERE id = ?", (event_id,))
        return await self._event(row) if row else None

    async def get_by_key(self, text: str) -> Event | None:
        """The event a key, archive link or path names (older slugs included)."""
        key = parse_key(text)
        if key is None:
            return None
        row = await self.db.fetchone("SELECT * FROM events WHERE key = ?", (key,))
        if row is None:
            row = await self.db.fetchone(
                "SELECT e.* FROM event_keys k JOIN events e ON e.id = k.event_id WHERE k.key = ?",
                (key,),
            )
        return await self._event(row) if row else None

    async def _event(self, row: aiosqlite.Row) -> Event:
        event_id = row["id"]
        sources = await self.db.fetchall(
            "SELECT name, url, is_image FROM sources WHERE event_id = ? ORDER BY position",
            (event_id,),
        )
        entities = await self.db.fetchall(
            "SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
            " WHERE ee.event_id = ? ORDER BY en.event_count DESC, en.folded",
            (event_id,),
        )
        articles = await self.db.fetchall(
            "SELECT id, title, text, publisher, published, score FROM articles"
            " WHERE event_id = ? ORDER BY id",
            (event_id,),
        )
        return Event(
            id=event_id,
            key=row["key"],
            date=event_rows.as_date(row["date"]),
            headline=row["headline"],
            summary=row["summary"],
            story=row["story"],
            lang=row["lang"],
            complete=bool(row["complete"]),
            sources=tuple(Source(r["name"], r["url"], bool(r["is_image"])) for r in sources),
            entities=tuple(r["name"] for r in entities),
            articles=tuple(
                Article(
                    id=a["id"],
                    title=a["title"],
                    text=a["text"],
                    publisher=a["publisher"],
                    published=event_rows.as_date(a["published"]) if a["published"] else None,
                    score=a["score"],
                )
                for a in articles
            ),
            added_at=from_timestamp(row["added_at"]),
            category=row["category"],
            removed_at=from_timestamp(row["removed_at"]),
        )

    async def count_incomplete(self, ids: Collection[int]) -> int:
        """How many of these events are known only from links (complete = 0)."""
        count = 0
        for chunk in chunked(sorted(ids)):
            row = await self.db.fetchone(
                f"SELECT COUNT(*) FROM events WHERE complete = 0 AND id IN ({placeholders(len(chunk))})",
                chunk,
            )
            count += row[0] if row else 0
        return count

    async def briefs(self, ids: Sequence[int]) -> dict[int, EventBrief]:
        found: dict[int, EventBrief] = {}
        for chunk in chunked(list(ids)):
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id IN ({placeholders(len(chunk))})",
                chunk,
            )
            found.update({row["id"]: event_rows.brief(row) for row in rows})
        return found

    async def related(
        self, event_id: int, *, limit: int = 10, offset: int = 0
    ) -> list[RelatedEvent]:
        """The rule: other events sharing an entity, most shared first, then newest, then
        the newest id.

        Exact: every event of every entity of this one is counted. A popular entity's
        events come as one packed blob (entity_postings), the others' as rows; an event
        naming the most common entities has hundreds of thousands of them to count, which
        numpy does far faster than Python rows.
        """
        mine = await self.db.fetchall(
            "SELECT ee.entity_id, p.keys FROM event_entities ee"
            " LEFT JOIN entity_postings p ON p.entity_id = ee.entity_id WHERE ee.event_id = ?",
            (event_id,),
        )
        parts = [
            np.frombuffer(row[1], dtype=event_rows.KEY_DTYPE) for row in mine if row[1] is not None
        ]
        # Small entities, and any whose blob is being written again after new links.
        unpacked = [row[0] for row in mine if row[1] is None]
        for chunk in chunked(unpacked):
            rows = await self.db.fetchall(
                f"SELECT {event_rows.POSTING_KEY} FROM event_entities"
                f" WHERE entity_id IN ({placeholders(len(chunk))})",
                chunk,
            )
            parts.append(event_rows.posting_keys(rows))
        if not parts:
            return []
        ranked = rank_shared(np.concatenate(parts), exclude=event_id, want=offset + limit)
        return await self._with_shared(event_id, ranked[offset:])

    async def pack_postings(self) -> int:
        """Write the blob of every popular entity that has none: new, or dropped by a
        trigger because its links changed. Run after each ingest (an alias runs it in its
        own transaction); returns how many."""
        async with self.db.transaction() as conn:
            return await event_rows.pack_postings(conn, self.db.packed_postings_min)

    async def _with_shared(self, event_id: int, ids: Sequence[int]) -> list[RelatedEvent]:
        if not ids:
            return []
        briefs = await self.briefs(ids)
        rows = await self.db.fetchall(
            "SELECT ee.event_id, en.name FROM event_entities ee"
            " JOIN entities en ON en.id = ee.entity_id"
            f" WHERE ee.event_id IN ({placeholders(len(ids))})"
            " AND ee.entity_id IN (SELECT entity_id FROM event_entities WHERE event_id = ?)"
            " ORDER BY en.folded",
            (*ids, event_id),
        )
        shared: dict[int, list[str]] = {}
        for row in rows:
            shared.setdefault(row[0], []).append(row[1])
        return [RelatedEvent(briefs[i], tuple(shared.get(i, ()))) for i in ids if i in briefs]

    async def search(
        self, query: SearchFilter, *, limit: int = 10, offset: int = 0
    ) -> list[SearchHit]:
        """Events matching words (headline, summary, attached articles) and the filters.

        First the events whose headline holds the words as typed, in a row, newest first
        (_in_headline). Then the best matches: bm25 over the rarer words (headline words
        weigh more); when every word is common or a stop word, headline matches first,
        then newest first (COMMON_TERM_EVENTS). Matches are ranked among the newest
        SEARCH_WINDOW of them, more when the filters leave too few. Dates and entities are
        words of the index too (migration 0006), so FTS5 intersects them with the text's
        words rather than scoring every match of a common word.
        """
        conditions: list[str] = []
        params: list[object] = []
        if query.entity_ids is not None:
            if not query.entity_ids:
                return []
            conditions.append(
                "EXISTS (SELECT 1 FROM event_entities f WHERE f.event_id = e.id"
                f" AND f.entity_id IN ({placeholders(len(query.entity_ids))}))"
            )
            params.extend(query.entity_ids)
        if query.since:
            conditions.append("e.date >= ?")
            params.append(query.since.isoformat())
        if query.until:
            conditions.append("e.date <= ?")
            params.append(query.until.isoformat())
        if (lang := event_rows.edition(query.language)) is not None:
            # Not a word of the index: the rows are filtered, and matches walked in the
            # edition only (_newest_matches).
            conditions.append("e.lang = ?")
            params.append(lang)
        where = " AND ".join(conditions) or "1"
        if not query.text.strip():
            return await self._browse(query, limit=limit, offset=offset)
        if contradicts_itself(query.text):
            return []
        want = offset + limit
        # The filters as words of the index, for FTS5 to intersect with the text's.
        filters = [f for f in (await self._period_match(query),) if f]
        if query.entity_ids:
            filters.append(entities_match(query.entity_ids))
        words = _WordSearch(
            query.text, filters, where, params, want, event_rows.edition(query.language)
        )
        in_headline = await self._in_headline(words)
        if len(in_headline) < want:
            # The others as ranked, enough of them that those already found can go.
            words = replace(words, want=want + len(in_headline))
            check = prefix_check(query.text)
            rows = await self._search_words(words, check) if check else None
            if rows is None:
                rows = await self._search_words(words, None) or []
            first = {row["id"] for row in in_headline}
            in_headline += [row for row in rows if row["id"] not in first]
        return [SearchHit(event_rows.brief(row)) for row in in_headline[offset:want]]

    async def _in_headline(self, words: _WordSearch) -> list[aiosqlite.Row]:
        """Among the newest SEARCH_WINDOW events whose headline holds the words in a row
        (headline_phrase), those passing the filters, newest first: what search puts
        first. headline_pairs finds them cheaply, even for common words."""
        phrase = headline_phrase(words.text)
        if phrase is None:
            return []
        return await self.db.fetchall(
            f"WITH phrase(id) AS MATERIALIZED ({NEWEST_IN_A_ROW})"
            f" SELECT {event_rows.BRIEF_COLUMNS} FROM phrase JOIN events e ON e.id = phrase.id"
            f" WHERE {words.where} ORDER BY e.date DESC, e.id DESC LIMIT ?",
            (phrase, SEARCH_WINDOW, *words.params, words.want),
        )

    async def _search_words(
        self, words: _WordSearch, check: Callable[[str], bool] | None
    ) -> list[aiosqlite.Row] | None:
        """search() once it has words. With a check, long prefixes are looked up by their
        first letters (prefix_check); None when too few of the newest matches hold the whole
        prefix, and FTS5 should look it up itself."""
        text = words.text
        cut = INDEXED_PREFIX if check else None
        match = build_match(text, cut=cut)
        if match is None:
            return []
        event_match = " AND ".join(f"({part})" for part in (in_text(match), *words.filters))
        # Ranked by the rare words only (COMMON_TERM_EVENTS); with none, headline matches
        # first. Either way the matches of the full expression are what is ranked.
        counts = await self.term_counts(token_expressions(text, cut=cut), cap=COMMON_TERM_EVENTS)
        common = {t for t, n in counts.items() if n > COMMON_TERM_EVENTS}
        rank_by = ranking_match(text, common, cut=cut)
        if rank_by is not None:
            scored_match, event_score = in_text(rank_by), EVENT_RANK
            article_score = "bm25(article_search, 2.0, 1.0) / 2"
        else:
            scored_match = " AND ".join([f"headline : ({match})", *words.filters])
            event_score, article_score = "-1.0", "0"
        articles_match = build_match(text)  # articles: few, and found by what was typed
        floor = 0
        if stop_word_phrase(text):
            row = await self.db.fetchone("SELECT max(id) FROM events")
            floor = max(0, (row[0] if row and row[0] else 0) - STOP_PHRASE_EVENTS + 1)
        window = SEARCH_WINDOW
        few_likely = few_matches_likely(text)
        # A common character alone (rare ones FTS5 finds cheaply): see _newest_holding.
        character = None if rank_by or words.filters else lone_character(text)
        while True:
            held = None
            if character is not None:
                held = await self._newest_holding(
                    character, window, in_summary=True, language=words.language
                )
            if held is not None:
                newest = [row[0] for row in held]
            else:
                newest = await self._newest_matches(
                    event_match, window, floor, few_likely=few_likely, language=words.language
                )
            lowest = newest[-1] if len(newest) == window else floor
            ids = newest
            if check is not None:
                # Only while the window is full is there more to find that FTS5 could.
                holding = await self._holding(ids, check, may_give_up=lowest > floor)
                if holding is None:
                    return None
                ids = holding
            few = lowest == floor and len(ids) <= HEADLINE_CHECKS
            if rank_by is None and (few or character is not None):
                # ids are all the matches, and few (or FTS5 would merge a character's
                # bigrams again): which hold the words in their headline is quicker to
                # check here than by FTS5 walking every event of each again.
                scored = "SELECT value AS id, -1.0 AS score FROM json_each(?)"
                holders = (
                    _headlines_holding(held, text)  # their headlines are read already
                    if held is not None
                    else await self._headline_holders(ids, text)
                )
                scored_params: tuple[object, ...] = (json.dumps(holders),)
            else:
                # `+rowid`: an IN handed to FTS5 would start its query (and bm25's
                # counting) anew for every id.
                scored = (
                    f"SELECT rowid AS id, {event_score} AS score FROM event_search"
                    " WHERE event_search MATCH ? AND rowid >= ? AND +rowid IN newest"
                )
                scored_params = (scored_match, lowest)
            rows = await self.db.fetchall(
                "WITH newest(id) AS (SELECT value FROM json_each(?)),"
                # MATERIALIZED: FTS5 walks the matches once.
                f" scored AS MATERIALIZED ({scored}), hits AS ("
                "  SELECT n.id, coalesce(s.score, 0) AS score"
                "  FROM newest n LEFT JOIN scored s ON s.id = n.id"
                "  UNION ALL"
                f"  SELECT a.event_id, {article_score}"
                "  FROM article_search JOIN articles a ON a.id = article_search.rowid"
                "  WHERE article_search MATCH ?"
                " ), best AS (SELECT id, MIN(score) AS score FROM hits GROUP BY id)"
                f" SELECT {event_rows.BRIEF_COLUMNS} FROM best JOIN events e ON e.id = best.id"
                f" WHERE {words.where} ORDER BY best.score, e.date DESC, e.id DESC LIMIT ?",
                (
                    json.dumps(ids),
                    *scored_params,
                    articles_match,
                    *words.params,
                    words.want,
                ),
            )
            if len(rows) >= words.want or lowest == floor:
                return list(rows)
            window *= 8

    async def _newest_matches(
        self,
        match: str,
        limit: int,
        floor: int = 0,
        *,
        few_likely: bool = False,
        language: str | None = None,
    ) -> list[int]:
        """The ids of the newest `limit` events matching in event_search (from id floor),
        newest first. FTS5 walks its doclists forwards faster than backwards. When few
        matches are likely (few_matches_likely), they are read forwards, and FTS5 walks
        back from the newest only when they turn out to be more than the limit. Over the
        benchmark's searches that saves time overall, and a walk done twice costs little.

        With a language ('en', 'zh'), only the matches in that edition count: each match's
        event is looked up by id as FTS5 walks, so that a search in one edition does not
        rank (and throw away) the other's matches, all of them when none are its own."""
        if language is None:
            walk = "SELECT rowid FROM event_search WHERE event_search MATCH ? AND rowid >= ?"
            params: tuple[object, ...] = (match, floor)
        else:
            walk = (
                "SELECT s.rowid FROM event_search s JOIN events e ON e.id = s.rowid"
                " WHERE event_search MATCH ? AND s.rowid >= ? AND e.lang = ?"
            )
            params = (match, floor, language)
        order = "rowid" if language is None else "s.rowid"
        if few_likely:
            rows = await self.db.fetchall(f"{walk} ORDER BY {order} LIMIT ?", (*params, limit + 1))
            if len(rows) <= limit:
                return [row[0] for row in reversed(rows)]
        rows = await self.db.fetchall(f"{walk} ORDER BY {order} DESC LIMIT ?", (*params, limit))
        return [row[0] for row in rows]

    async def _headline_holders(self, ids: list[int], text: str) -> list[int]:
        """The events among ids whose headline holds the words of text."""
        rows = await self.db.fetchall(
            "SELECT id, headline FROM events WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        return _headlines_holding(rows, text)

    async def _holding(
        self, ids: list[int], check: Callable[[str], bool], *, may_give_up: bool
    ) -> list[int] | None:
        """The events among ids (newest first) whose text passes check (prefix_check).
        None, when it may, if too few of the first PREFIX_SAMPLE do (CUT_PREFIX_YIELD)."""
        kept: list[int] = []
        for part in (ids[:PREFIX_SAMPLE], ids[PREFIX_SAMPLE:]):
            if not part:
                break
            rows = await self.db.fetchall(
                "SELECT id, headline, summary FROM events"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(part),),
            )
            kept += [row[0] for row in rows if check(f"{row[1]}\n{row[2]}")]
            if may_give_up and _too_few_hold(len(kept), len(part)):
                return None
            may_give_up = False  # the sample decides
        return kept

    async def term_counts(self, expressions: Sequence[str], *, cap: int) -> dict[str, int]:
        """How many events' text holds each expression, counted up to cap + 1: enough to
        tell a rare word from a common one without walking all of a common word's events.
        One counted beyond the cap once is not counted again (_counted_beyond)."""
        known = {e: cap + 1 for e in expressions if self._counted_beyond.get(e, -1) >= cap}
        unknown = [e for e in expressions if e not in known]
        if not unknown:
            return known
        count = (
            "(SELECT count(*) FROM (SELECT 1 FROM event_search WHERE event_search MATCH ? LIMIT ?))"
        )
        row = await self.db.fetchone(
            "SELECT " + ", ".join([count] * len(unknown)),
            [value for e in unknown for value in (in_text(e), cap + 1)],
        )
        assert row is not None
        counted = dict(zip(unknown, row, strict=True))
        if len(self._counted_beyond) > MAX_COUNTED_BEYOND:
            self._counted_beyond.clear()
        for expression, count_found in counted.items():
            if count_found > cap:
                self._counted_beyond[expression] = cap
        return known | counted

    async def _period_match(self, query: SearchFilter) -> str | None:
        """The search's date range as an event_search expression (see period_match)."""
        if not (query.since or query.until):
            return None
        since, until = query.since, query.until
        if since is None or until is None:
            # Two subqueries: each MIN/MAX alone is one step down the date index.
            row = await self.db.fetchone(
                "SELECT (SELECT MIN(date) FROM events), (SELECT MAX(date) FROM events)"
            )
            if row is None or row[0] is None:
                return None
            since, until = since or event_rows.as_date(row[0]), until or event_rows.as_date(row[1])
        return period_match(since, until)

    async def _browse(self, query: SearchFilter, *, limit: int, offset: int) -> list[SearchHit]:
        """No words: the newest events of the entity and/or date range, from an index."""
        bounds: list[object] = [
            query.since.isoformat() if query.since else "0000-00-00",
            query.until.isoformat() if query.until else "9999-99-99",
        ]
        lang = event_rows.edition(query.language)
        in_edition = " AND e.lang = ?" if lang else ""
        if lang:
            bounds.append(lang)
        if query.entity_ids:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM event_entities f JOIN events e ON e.id = f.event_id"
                f" WHERE f.entity_id IN ({placeholders(len(query.entity_ids))})"
                f" AND f.date >= ? AND f.date <= ?{in_edition}"
                " ORDER BY f.date DESC, f.event_id DESC LIMIT ? OFFSET ?",
                (*query.entity_ids, *bounds, limit, offset),
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.date >= ? AND e.date <= ?"
                f"{in_edition} ORDER BY e.date DESC, e.id DESC LIMIT ? OFFSET ?",
                (*bounds, limit, offset),
            )
        return [SearchHit(event_rows.brief(row)) for row in rows]

    async def suggest_headlines(
        self, text: str, *, limit: int = 25, language: str | None = None
    ) -> list[EventBrief]:
        """Autocomplete: the headlines holding the words typed in a row (headline_phrase;
        among the newest HEADLINE_POOL, newest first). When none do, or the words are not
        pairs (one word, Chinese), among the newest HEADLINE_POOL headlines holding all the
        words, those holding them as a phrase first, then the others; newest first within
        each. Empty input: the newest events. A language ('en', 'zh') keeps that edition's
        events of the pool ('all', None: both).

        Newest first lets FTS5 stop after the pool instead of ranking every match, and the
        phrase is checked in Python within the pool: asked of event_search, a phrase of
        common words is checked in every headline holding them all.
        A letter starting a word is not looked up (without_letter_typed), but the headlines
        holding it as typed come first."""
        typed = text
        lang = event_rows.edition(language)
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        if (shorter := without_letter_typed(text)) is not None:
            text = shorter
        if not text.strip():
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
                f"{' WHERE e.lang = ?' if lang else ''} ORDER BY e.date DESC, e.id DESC LIMIT ?",
                (*edition_params, limit),
            )
            return [event_rows.brief(row) for row in rows]
        words = text.split()
        # A last word that is a stop word as typed ("their") is left out like the others,
        # rather than looked up as a prefix of thousands of words; the phrase keeps it.
        prefix_last = text.endswith(" ") or fold(words[-1]) not in STOP_WORDS
        phrase = headline_phrase(text, prefix_last=prefix_last)
        if phrase is not None:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id IN ({NEWEST_IN_A_ROW})"
                f"{in_edition} ORDER BY e.date DESC, e.id DESC LIMIT ?",
                (phrase, HEADLINE_POOL, *edition_params, limit),
            )
            if rows:
                return [event_rows.brief(row) for row in rows]
        pool = None
        if (character := lone_character(text, prefix_last=prefix_last)) is not None:
            pool = await self._newest_holding(character, HEADLINE_POOL, language=lang)
        if pool is None and (check := prefix_check(text, prefix_last=prefix_last)) is not None:
            pool = await self._newest_headlines(text, prefix_last, check, language=lang)
        if pool is None:
            pool = await self._newest_headlines(text, prefix_last, None, language=lang) or []
        in_phrase = phrase_matcher(typed)
        pool.sort(key=lambda row: (row[2], row[0]), reverse=True)
        pool.sort(key=lambda row: not in_phrase(row[1]))  # stable: newest first within
        ids = [row[0] for row in pool[:limit]]
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        briefs = {row["id"]: event_rows.brief(row) for row in rows}
        return [briefs[i] for i in ids if i in briefs]

    async def _newest_headlines(
        self,
        text: str,
        prefix_last: bool,
        check: Callable[[str], bool] | None,
        *,
        language: str | None = None,
    ) -> list[tuple[int, str, str]] | None:
        """(id, headline, date) of the newest HEADLINE_POOL events whose headline holds the
        words; with a language ('en', 'zh'), those of them in it. With a check, a long
        prefix is looked up by its first letters and checked; None when too few of them
        hold it (CUT_PREFIX_YIELD, over all the languages)."""
        match = build_match(text, prefix_last=prefix_last, cut=INDEXED_PREFIX if check else None)
        if match is None:
            return []
        ids = await self._newest_matches(
            f"headline : ({match})",
            HEADLINE_POOL,
            few_likely=few_matches_likely(text, prefix_last=prefix_last),
        )
        rows = await self.db.fetchall(
            "SELECT id, headline, date, lang FROM events"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        pool = [(row[0], row[1], row[2]) for row in rows]
        if check is not None:
            kept = [row for row in pool if check(row[1])]
            if len(pool) == HEADLINE_POOL and _too_few_hold(len(kept), len(pool)):
                return None
            pool = kept
        if language is not None:
            in_language = {row[0] for row in rows if row[3] == language}
            pool = [row for row in pool if row[0] in in_language]
        return pool

    async def _newest_holding(
        self, character: str, limit: int, *, in_summary: bool = False, language: str | None = None
    ) -> list[tuple[int, str, str]] | None:
        """(id, headline, date) of the newest `limit` events whose headline (or summary)
        holds one Chinese character (lone_character), read from the newest CHARACTER_SCAN
        events (only those in a language, 'en' or 'zh', if given); None when fewer hold it
        there. FTS5 finds a character alone by merging the
        doclists of every bigram that starts with it, slow for a common character, which
        the newest few hundred headlines hold often enough. A rarer character costs this
        scan, short, and then a cheap lookup in FTS5."""
        # In simplified characters, as the index holds them (texts are kept as written).
        holds = (
            "(instr(simplified(headline), ?1) OR instr(simplified(summary), ?1))"
            if in_summary
            else "instr(simplified(headline), ?1)"
        )
        in_edition = " AND lang = ?4" if language else ""
        rows = await self.db.fetchall(
            "SELECT id, headline, date FROM events"
            f" WHERE id > (SELECT max(id) FROM events) - ?2 AND searchable AND {holds}"
            f"{in_edition} ORDER BY id DESC LIMIT ?3",
            (character, CHARACTER_SCAN, limit, *((language,) if language else ())),
        )
        if len(rows) < limit:
            return None
        return [(row[0], row[1], row[2]) for row in rows]

    async def closest(
        self, text: str, *, limit: int = 5, language: str | None = None
    ) -> list[EventBrief]:
        """Suggestions for text that matched nothing. When some of its words are not in the
        archive (a typo, a word never used): the events holding the others and a word that
        starts as each unknown one does (its first four letters), else the others alone.
        Failing that, events holding any of the known words, ranked by the rare ones, else
        newest first. Only headlines in the text's script are suggested: Chinese for
        Chinese, none for Latin (a Chinese headline quoting two English words is no help),
        either for text in both or neither; and with a language ('en', 'zh'; 'all' or None:
        both), only events in it."""
        lang = event_rows.edition(language)
        # More than are shown when some may be in the other script and left out.
        pool = limit if any_script(text) else limit * 4

        def in_script(briefs: list[EventBrief]) -> list[EventBrief]:
            return [b for b in briefs if same_script(text, b.headline)][:limit]

        words = suggestion_words(text)
        exact = {word: f'"{word}"' for word in words}
        counts = await self.term_counts(list(exact.values()), cap=COMMON_TERM_EVENTS)
        known = [exact[word] for word in words if counts[exact[word]]]
        starts = [
            start
            for word in words
            if not counts[exact[word]] and len(word) > 4 and not has_cjk(word)
            if await self.search(SearchFilter(start := f"{word[:4]}*", language=lang), limit=1)
        ]
        if len(known) < len(words):
            for terms in ([*known, *starts], known if starts else []):
                if not terms:
                    continue
                hits = await self.search(SearchFilter(" ".join(terms), language=lang), limit=pool)
                if found := in_script([hit.event for hit in hits]):
                    return found
        if not known:
            return []
        rare = [term for term in known if counts[term] <= COMMON_TERM_EVENTS]
        # bm25 over rare words only: it counts every event holding each word it ranks by.
        order = EVENT_RANK if rare else "event_search.rowid DESC"
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM event_search JOIN events e ON e.id = event_search.rowid"
            f" WHERE event_search MATCH ?{in_edition} ORDER BY {order} LIMIT ?",
            (in_text(" OR ".join(rare or known)), *edition_params, pool),
        )
        return in_script([event_rows.brief(row) for row in rows])

    async def on_this_day(
        self,
        month: int,
        day: int,
        *,
        before_year: int | None = None,
        limit: int = 50,
        offset: int = 0,
        language: str | None = None,
    ) -> list[EventBrief]:
        """Events on a month and day, newest year first (optionally only before a year, and
        only in a language: 'en' or 'zh'; 'all' or None: both)."""
        month_day = f"{month:02d}-{day:02d}"
        bound = f"{before_year:04d}-01-01" if before_year else "9999-12-31"
        lang = event_rows.edition(language)
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.month_day = ? AND e.date < ?"
            f"{in_edition} ORDER BY e.date DESC, e.complete DESC, e.id LIMIT ? OFFSET ?",
            (month_day, bound, *edition_params, limit, offset),
        )
        return [event_rows.brief(row) for row in rows]

    async def archive_related(self, event_id: int) -> list[tuple[str, tuple[str, ...]]]:
        """The event's Related list exactly as the archive gave it: (key, shared names)."""
        row = await self.db.fetchone(
            "SELECT links FROM archive_related WHERE event_id = ?", (event_id,)
        )
        if row is None:
            return []
        return unpack_related(row[0])
