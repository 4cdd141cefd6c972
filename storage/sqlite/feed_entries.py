"""What a poll's entries do to events, on SQLite (storage/sqlite/feeds.py says how): the
statements of storage/feed_entries.py's FeedEntries, and its rows read into that module's
types."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence

import aiosqlite

from storage import feed_entries
from storage.feed_entries import FoundEvent
from storage.feed_steps import LinkedEvent, OwnEvent, Placed, ToldEvent, own_events
from storage.headline_index import DayIndex
from storage.models import EntryText, FeedItem
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.feed_corrections import correct_event


class FeedEntries(feed_entries.FeedEntries[aiosqlite.Connection, str]):
    """The feed_entries rows and the events they make; the time written as ISO text."""

    def __init__(self, db: Database):
        super().__init__()
        self.db = db

    async def _seen(
        self, conn: aiosqlite.Connection, feed_id: int, identities: Sequence[str]
    ) -> set[str]:
        seen: set[str] = set()
        for chunk in chunked(list(identities)):
            rows = await conn.execute_fetchall(
                "SELECT identity FROM feed_entries WHERE feed_id = ?"
                f" AND identity IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            )
            seen.update(row[0] for row in rows)
        return seen

    async def _write(
        self, conn: aiosqlite.Connection, feed_id: int, placed: Placed, now: str
    ) -> None:
        await conn.executemany(
            "INSERT INTO feed_entries(feed_id, identity, event_id, first_seen_at)"
            " VALUES (?, ?, ?, ?)",
            [(feed_id, identity, event_id, now) for identity, event_id in placed.entries],
        )
        await event_rows.link_entities(conn, placed.links)
        await event_rows.refresh_weights(conn, placed.mine)
        await event_rows.pack_postings(conn, self.db.packed_postings_min)

    async def _same_link(
        self, conn: aiosqlite.Connection, feed_id: int, link: str | None
    ) -> LinkedEvent | None:
        if not link:
            return None
        cursor = await conn.execute(
            "SELECT s.event_id, e.date, e.headline, e.origin = 'feed'"
            " AND EXISTS (SELECT 1 FROM feed_entries m WHERE m.event_id = e.id"
            " AND m.feed_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id != ?)"
            " FROM sources s JOIN events e ON e.id = s.event_id"
            " WHERE s.url = ? AND s.is_image = 0 AND e.removed_at IS NULL"
            " ORDER BY s.event_id LIMIT 1",
            (feed_id, feed_id, link),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        return LinkedEvent(row[0], dt.date.fromisoformat(row[1]), row[2], bool(row[3]))

    async def _own_events(
        self, conn: aiosqlite.Connection, feed_id: int, date: dt.date
    ) -> builtins.list[OwnEvent]:
        rows = await conn.execute_fetchall(
            "SELECT e.id, e.headline, fe.identity, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id != ?)"
            " FROM events e JOIN feed_entries fe ON fe.event_id = e.id AND fe.feed_id = ?"
            " WHERE e.date = ? AND e.complete = 1 AND e.removed_at IS NULL"
            " ORDER BY e.id, fe.identity",
            (feed_id, feed_id, date.isoformat()),
        )
        return own_events(rows)

    @staticmethod
    async def told(
        conn: aiosqlite.Connection, feed_id: int, identities: Sequence[str]
    ) -> dict[str, ToldEvent]:
        """The live event each identity of the feed made or joined (feed_steps.retold)."""
        told: dict[str, ToldEvent] = {}
        for chunk in chunked(list(dict.fromkeys(identities))):
            rows = await conn.execute_fetchall(
                "SELECT fe.identity, e.id, e.date, e.headline, e.summary, e.origin = 'feed'"
                " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
                " AND o.feed_id != fe.feed_id)"
                " AND NOT EXISTS (SELECT 1 FROM portal_items p WHERE p.event_id = e.id)"
                " FROM feed_entries fe JOIN events e ON e.id = fe.event_id"
                f" WHERE fe.feed_id = ? AND fe.identity IN ({placeholders(len(chunk))})"
                " AND e.removed_at IS NULL",
                (feed_id, *chunk),
            )
            for row in rows:
                told[row[0]] = ToldEvent(
                    row[1], dt.date.fromisoformat(row[2]), row[3], row[4], bool(row[5])
                )
        return told

    async def _correct_event(
        self, conn: aiosqlite.Connection, event: ToldEvent, text: EntryText, now: str
    ) -> None:
        await correct_event(conn, event, text, now)

    async def _is_feed_event(self, conn: aiosqlite.Connection, event_id: int) -> bool:
        cursor = await conn.execute("SELECT origin FROM events WHERE id = ?", (event_id,))
        row = await cursor.fetchone()
        return row is not None and row[0] == "feed"

    async def _unread(
        self, conn: aiosqlite.Connection, date: dt.date, index: DayIndex
    ) -> Iterable[tuple[int, str]]:
        # Ids only grow, so whatever was written since the last look (an import, the other
        # process) is exactly the day's events above max_id.
        rows = await conn.execute_fetchall(
            "SELECT id, headline FROM events WHERE date = ? AND id > ? AND complete = 1",
            (date.isoformat(), index.max_id),
        )
        return [(row[0], row[1]) for row in rows]

    async def _found(
        self, conn: aiosqlite.Connection, feed_id: int, event_ids: Sequence[int]
    ) -> dict[int, FoundEvent]:
        found: dict[int, FoundEvent] = {}
        for chunk in chunked(list(event_ids)):
            for row in await conn.execute_fetchall(
                "SELECT id, key, headline, date, complete AND removed_at IS NULL,"
                " EXISTS (SELECT 1 FROM feed_entries WHERE event_id = e.id AND feed_id = ?)"
                f" FROM events e WHERE id IN ({placeholders(len(chunk))})",
                (feed_id, *chunk),
            ):
                found[row[0]] = FoundEvent(
                    row[0],
                    row[1],
                    row[2],
                    dt.date.fromisoformat(row[3]),
                    bool(row[4]),
                    bool(row[5]),
                )
        return found

    async def _insert_event(
        self, conn: aiosqlite.Connection, item: FeedItem, feed_name: str, now: str
    ) -> int:
        key = await event_rows.free_key(conn, item.key)
        cursor = await conn.execute(
            "INSERT INTO events(key, date, headline, summary, lang, complete, origin, announce,"
            " added_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 'feed', ?, ?, ?)",
            (
                key,
                item.date.isoformat(),
                item.headline,
                item.summary,
                item.lang,
                int(item.announce),
                now,
                now,
            ),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        if item.link:
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES (?, 0, ?, ?, 0, 1)",
                (event_id, feed_name, item.link),
            )
        return event_id

    async def _add_source(
        self, conn: aiosqlite.Connection, event_id: int, feed_name: str, link: str
    ) -> int:
        return await event_rows.append_sources(conn, event_id, [(feed_name, link)], added_by="feed")
