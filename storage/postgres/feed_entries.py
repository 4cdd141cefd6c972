"""What a poll's entries do to events, on PostgreSQL, as on SQLite
(storage/sqlite/feed_entries.py): the statements of storage/feed_entries.py's FeedEntries,
and its rows read into that module's types."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence

from storage import feed_entries
from storage.feed_entries import FoundEvent
from storage.feed_steps import LinkedEvent, OwnEvent, Placed, ToldEvent, own_events
from storage.headline_index import DayIndex
from storage.models import EntryText, FeedItem
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database
from storage.postgres.feed_corrections import correct_event


class FeedEntries(feed_entries.FeedEntries[Connection, dt.datetime]):
    """The feed_entries rows and the events they make."""

    def __init__(self, db: Database):
        super().__init__()
        self.db = db

    async def _seen(self, conn: Connection, feed_id: int, identities: Sequence[str]) -> set[str]:
        return {
            row[0]
            for row in await conn.fetch(
                "SELECT identity FROM feed_entries"
                " WHERE feed_id = $1 AND identity = ANY($2::text[])",
                feed_id,
                list(identities),
            )
        }

    async def _write(
        self, conn: Connection, feed_id: int, placed: Placed, now: dt.datetime
    ) -> None:
        if placed.entries:
            await conn.execute(
                "INSERT INTO feed_entries(feed_id, identity, event_id, first_seen_at)"
                " SELECT $1, i, e, $2 FROM unnest($3::text[], $4::bigint[]) AS t(i, e)",
                feed_id,
                now,
                [identity for identity, _ in placed.entries],
                [event_id for _, event_id in placed.entries],
            )
        await event_rows.link_entities(conn, placed.links)
        await event_rows.refresh_weights(conn, placed.mine)
        await event_rows.pack_postings(conn, self.db.packed_postings_min)

    async def _same_link(
        self, conn: Connection, feed_id: int, link: str | None
    ) -> LinkedEvent | None:
        if not link:
            return None
        row = await conn.fetchrow(
            "SELECT s.event_id, e.date, e.headline, e.origin = 'feed'"
            " AND EXISTS (SELECT 1 FROM feed_entries m WHERE m.event_id = e.id"
            " AND m.feed_id = $1)"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> $1)"
            " FROM sources s JOIN events e ON e.id = s.event_id"
            " WHERE s.url = $2 AND NOT s.is_image AND e.removed_at IS NULL"
            " ORDER BY s.event_id LIMIT 1",
            feed_id,
            link,
        )
        if row is None:
            return None
        return LinkedEvent(row[0], row[1], row[2], bool(row[3]))

    async def _own_events(
        self, conn: Connection, feed_id: int, date: dt.date
    ) -> builtins.list[OwnEvent]:
        rows = await conn.fetch(
            "SELECT e.id, e.headline, fe.identity, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> $1)"
            " FROM events e JOIN feed_entries fe ON fe.event_id = e.id AND fe.feed_id = $1"
            " WHERE e.date = $2 AND e.complete AND e.removed_at IS NULL"
            " ORDER BY e.id, fe.identity",
            feed_id,
            date,
        )
        return own_events(rows)

    @staticmethod
    async def told(
        conn: Connection, feed_id: int, identities: Sequence[str]
    ) -> dict[str, ToldEvent]:
        """The live event each identity of the feed made or joined (feed_steps.retold)."""
        rows = await conn.fetch(
            "SELECT fe.identity, e.id, e.date, e.headline, e.summary, e.origin = 'feed'"
            " AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.event_id = e.id"
            " AND o.feed_id <> fe.feed_id)"
            " AND NOT EXISTS (SELECT 1 FROM portal_items p WHERE p.event_id = e.id)"
            " FROM feed_entries fe JOIN events e ON e.id = fe.event_id"
            " WHERE fe.feed_id = $1 AND fe.identity = ANY($2::text[]) AND e.removed_at IS NULL",
            feed_id,
            list(dict.fromkeys(identities)),
        )
        return {row[0]: ToldEvent(row[1], row[2], row[3], row[4], bool(row[5])) for row in rows}

    async def _correct_event(
        self, conn: Connection, event: ToldEvent, text: EntryText, now: dt.datetime
    ) -> None:
        await correct_event(conn, event, text, now)

    async def _is_feed_event(self, conn: Connection, event_id: int) -> bool:
        origin = await conn.fetchval("SELECT origin FROM events WHERE id = $1", event_id)
        return bool(origin == "feed")

    async def _unread(
        self, conn: Connection, date: dt.date, index: DayIndex
    ) -> Iterable[tuple[int, str]]:
        if not index.known:
            rows = await conn.fetch(
                "SELECT id, headline FROM events WHERE date = $1 AND complete", date
            )
            return [(row[0], row[1]) for row in rows]
        # The day's ids alone (the events_by_date index), then the headlines of those the
        # index has not seen.
        ids = await conn.fetch("SELECT id FROM events WHERE date = $1 AND complete", date)
        new = sorted({row[0] for row in ids} - index.known)
        if not new:
            return []
        rows = await conn.fetch("SELECT id, headline FROM events WHERE id = ANY($1::bigint[])", new)
        return [(row[0], row[1]) for row in rows]

    async def _found(
        self, conn: Connection, feed_id: int, event_ids: Sequence[int]
    ) -> dict[int, FoundEvent]:
        rows = await conn.fetch(
            "SELECT id, key, headline, date, complete AND removed_at IS NULL,"
            " EXISTS (SELECT 1 FROM feed_entries WHERE event_id = e.id AND feed_id = $1)"
            " FROM events e WHERE id = ANY($2::bigint[])",
            feed_id,
            list(event_ids),
        )
        return {
            row[0]: FoundEvent(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))
            for row in rows
        }

    async def _insert_event(
        self, conn: Connection, item: FeedItem, feed_name: str, now: dt.datetime
    ) -> int:
        key = await event_rows.free_key(conn, item.key)
        (event_id,) = await event_rows.insert_events(
            conn,
            [
                event_rows.NewEvent(
                    key=key,
                    date=item.date,
                    headline=item.headline,
                    summary=item.summary,
                    lang=item.lang,
                    complete=True,
                    origin="feed",
                    announce=item.announce,
                )
            ],
            now=now,
        )
        if item.link:
            await conn.execute(
                "INSERT INTO sources(event_id, position, name, url, is_image, from_feed)"
                " VALUES ($1, 0, $2, $3, false, true)",
                event_id,
                feed_name,
                item.link,
            )
        return event_id

    async def _add_source(self, conn: Connection, event_id: int, feed_name: str, link: str) -> int:
        return await event_rows.append_sources(conn, event_id, [(feed_name, link)], added_by="feed")
