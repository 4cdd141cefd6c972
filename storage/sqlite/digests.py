"""Digests, their runs, server timezones, and the delivery ledger (what a digest would post:
storage.sqlite.digest_content)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import aiosqlite

from storage.ledgers import digest_target
from storage.models import (
    NO_FILTERS,
    Digest,
    DigestFilters,
    DigestRun,
    NewEvent,
)
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.digest_content import DigestContentQueries
from storage.sqlite.ledgers import forget_target
from storage.times import from_timestamp, now_timestamp, to_timestamp


def _digest(row: aiosqlite.Row, entities: Sequence[tuple[int, str]]) -> Digest:
    hour, minute = (int(p) for p in row["time"].split(":"))
    return Digest(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        every=row["every"],
        time=dt.time(hour, minute),
        timezone=row["timezone"],
        filters=DigestFilters(
            entity_ids=tuple(entity_id for entity_id, _ in entities),
            category=row["category"],
            words=row["words"],
            language=row["language"],
        ),
        entity_names=tuple(name for _, name in entities),
        role_id=row["role_id"],
        publish=bool(row["publish"]),
        created_by=row["created_by"],
        created_at=_moment(row["created_at"]),
        set_at=_moment(row["updated_at"]),
        paused_reason=row["paused_reason"],
        paused_at=from_timestamp(row["paused_at"]),
        pause_notified=bool(row["pause_notified"]),
        last_event_id=row["last_event_id"],
    )


def _moment(text: str) -> dt.datetime:
    moment = from_timestamp(text)
    assert moment is not None
    return moment


def _run(row: aiosqlite.Row) -> DigestRun:
    return DigestRun(
        digest_id=row["digest_id"],
        slot=row["slot"],
        status=row["status"],
        parts=row["parts"],
        parts_sent=row["parts_sent"],
        attempts=row["attempts"],
        items=tuple(json.loads(row["items"])) if row["items"] else (),
        covers_to=row["covers_to"],
        thread_id=row["thread_id"],
        detail=row["detail"],
    )


_RUN = "SELECT * FROM digest_runs WHERE digest_id = ? AND slot = ?"


class DigestRepository(DigestContentQueries):
    def __init__(self, db: Database):
        self.db = db
        self._recent: dict[int, tuple[float, NewEvent]] = {}  # id -> (expires, event)

    # --- digests ---------------------------------------------------------------------------

    async def upsert(
        self,
        *,
        guild_id: int,
        channel_id: int,
        kind: str,
        every: str = "daily",
        time: dt.time,
        timezone: str,
        filters: DigestFilters = NO_FILTERS,
        role_id: int | None = None,
        publish: bool = False,
        created_by: int,
        now: dt.datetime,
    ) -> tuple[Digest, bool]:
        """Create the channel's digest of this kind and filters, or replace how often and
        when it posts, its role and publishing (which also resumes it if it was paused).
        Returns (digest, created)."""
        stamp = to_timestamp(now)
        values = (
            guild_id,
            every,
            time.strftime("%H:%M"),
            timezone,
            role_id,
            int(publish),
            created_by,
            stamp,
        )
        async with self.db.transaction() as conn:
            existing = await (
                await conn.execute(
                    "SELECT id FROM digests WHERE channel_id = ? AND kind = ? AND filter_key = ?",
                    (channel_id, kind, filters.key),
                )
            ).fetchone()
            if existing:
                await conn.execute(
                    "UPDATE digests SET guild_id = ?, every = ?, time = ?, timezone = ?,"
                    " role_id = ?, publish = ?, created_by = ?, updated_at = ?,"
                    " paused_reason = NULL, paused_at = NULL, pause_notified = 0 WHERE id = ?",
                    (*values, existing[0]),
                )
                digest_id, created = existing[0], False
            else:
                # A new 'new' digest starts from now: it announces what arrives from here on.
                newest = await (
                    await conn.execute("SELECT COALESCE(MAX(id), 0) FROM events")
                ).fetchone()
                assert newest is not None  # an aggregate has a row
                cursor = await conn.execute(
                    "INSERT INTO digests(guild_id, every, time, timezone, role_id, publish,"
                    " created_by, updated_at, channel_id, kind, category, words, language,"
                    " filter_key, created_at, last_event_id)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        *values,
                        channel_id,
                        kind,
                        filters.category,
                        filters.words,
                        filters.language,
                        filters.key,
                        stamp,
                        newest[0],
                    ),
                )
                digest_id, created = cursor.lastrowid, True
                await conn.executemany(
                    "INSERT OR IGNORE INTO digest_entities(digest_id, entity_id) VALUES (?, ?)",
                    [(digest_id, entity_id) for entity_id in filters.entity_ids],
                )
        digest = await self.get(digest_id)
        assert digest is not None
        return digest, created

    async def _with_entities(self, rows: Sequence[aiosqlite.Row]) -> list[Digest]:
        entities: dict[int, list[tuple[int, str]]] = {}
        for chunk in chunked([r["id"] for r in rows]):
            for link in await self.db.fetchall(
                "SELECT de.digest_id, en.id, en.name FROM digest_entities de"
                " JOIN entities en ON en.id = de.entity_id"
                f" WHERE de.digest_id IN ({placeholders(len(chunk))}) ORDER BY en.name",
                list(chunk),
            ):
                entities.setdefault(link[0], []).append((link[1], link[2]))
        return [_digest(r, entities.get(r["id"], ())) for r in rows]

    async def get(self, digest_id: int) -> Digest | None:
        row = await self.db.fetchone("SELECT * FROM digests WHERE id = ?", (digest_id,))
        return (await self._with_entities([row]))[0] if row else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        rows = await self.db.fetchall(
            "SELECT * FROM digests WHERE guild_id = ? ORDER BY channel_id, kind, id", (guild_id,)
        )
        return await self._with_entities(rows)

    async def all(self) -> list[Digest]:
        return await self._with_entities(
            await self.db.fetchall("SELECT * FROM digests ORDER BY id")
        )

    async def live(self) -> list[Digest]:
        """The live digests that are not paused: what a poll's new events go to."""
        return await self._with_entities(
            await self.db.fetchall(
                "SELECT * FROM digests INDEXED BY digests_live"
                " WHERE every = 'live' AND paused_reason IS NULL ORDER BY id"
            )
        )

    async def remove(self, digest_id: int) -> Digest | None:
        """Remove a digest, its runs (ON DELETE CASCADE) and its deliveries."""
        digest = await self.get(digest_id)
        if digest is not None:
            async with self.db.transaction() as conn:
                await conn.execute("DELETE FROM digests WHERE id = ?", (digest_id,))
            await forget_target(self.db, digest_target(digest_id))
        return digest

    async def pause(self, digest_id: int, reason: str) -> bool:
        """Pause a digest; True when this call paused it (so its creator is told once)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE digests SET paused_reason = ?, paused_at = ?, pause_notified = 0"
                " WHERE id = ? AND paused_reason IS NULL",
                (reason, now_timestamp(), digest_id),
            )
            return cursor.rowcount > 0

    async def resume_channel(self, channel_id: int) -> list[int]:
        """Resume every paused digest of a channel; their ids."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE digests SET paused_reason = NULL, paused_at = NULL, pause_notified = 0"
                " WHERE channel_id = ? AND paused_reason IS NOT NULL RETURNING id",
                (channel_id,),
            )
            return sorted(row[0] for row in await cursor.fetchall())

    async def mark_pause_notified(self, digest_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE digests SET pause_notified = 1 WHERE id = ?", (digest_id,))

    async def advance(self, digest_id: int, covers_to: int) -> None:
        """Move a 'new' digest's watermark past events none of which matched its filters."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digests SET last_event_id = MAX(last_event_id, ?) WHERE id = ?",
                (covers_to, digest_id),
            )

    # --- runs ------------------------------------------------------------------------------

    async def run(self, digest_id: int, slot: str) -> DigestRun | None:
        row = await self.db.fetchone(_RUN, (digest_id, slot))
        return _run(row) if row else None

    async def unfinished_run(self, digest_id: int) -> DigestRun | None:
        """A run claimed and not finished (a crash mid-send) or waiting for its retry."""
        row = await self.db.fetchone(
            "SELECT * FROM digest_runs WHERE digest_id = ? AND status IN ('sending', 'retrying')"
            " ORDER BY updated_at LIMIT 1",
            (digest_id,),
        )
        return _run(row) if row else None

    async def interrupted_runs(
        self, *, shard_ids: Sequence[int] | None, shard_count: int | None
    ) -> int:
        """At start: runs a stopped process left 'sending' wait for a retry instead, to
        resume after the messages they had sent; only those of the servers on these shards
        (None: every server), as another process may be sending the others' right now."""
        sql = (
            "UPDATE digest_runs SET status = 'retrying', detail = 'interrupted', updated_at = ?"
            " WHERE status = 'sending'"
        )
        params: list[object] = [now_timestamp()]
        if shard_ids is not None and shard_count is not None:
            ids = sorted(set(shard_ids))
            sql += (
                " AND digest_id IN (SELECT id FROM digests"
                f" WHERE (guild_id >> 22) % ? IN ({placeholders(len(ids))}))"
            )
            params += [shard_count, *ids]
        async with self.db.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def record_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> bool:
        """Record an outcome that posts nothing (empty, skipped); False if the slot has a run."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO digest_runs(digest_id, slot, status, detail, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest_id, slot, status, detail, now_timestamp()),
            )
            return cursor.rowcount > 0

    async def claim_run(
        self,
        digest_id: int,
        slot: str,
        *,
        parts: int,
        items: Sequence[int],
        covers_to: int = 0,
    ) -> DigestRun | None:
        """Claim a slot's run before posting: None if it was claimed already and is not
        waiting for a retry. A retry gets the existing run, to resume after its sent parts."""
        async with self.db.transaction() as conn:
            row = await (await conn.execute(_RUN, (digest_id, slot))).fetchone()
            if row is not None:
                if row["status"] != "retrying":
                    return None
                await conn.execute(
                    "UPDATE digest_runs SET status = 'sending', attempts = attempts + 1,"
                    " updated_at = ? WHERE digest_id = ? AND slot = ?",
                    (now_timestamp(), digest_id, slot),
                )
            else:
                await conn.execute(
                    "INSERT INTO digest_runs(digest_id, slot, status, parts, attempts, items,"
                    " covers_to, updated_at) VALUES (?, ?, 'sending', ?, 1, ?, ?, ?)",
                    (digest_id, slot, parts, json.dumps(list(items)), covers_to, now_timestamp()),
                )
            row = await (await conn.execute(_RUN, (digest_id, slot))).fetchone()
        assert row is not None  # claimed in this transaction
        return _run(row)

    async def part_sent(
        self,
        digest_id: int,
        slot: str,
        *,
        thread_id: int | None = None,
        event_ids: Sequence[int] = (),
    ) -> None:
        """One more message of the run is out (the first of a forum post opens its thread),
        and the events it lists are delivered."""
        now = now_timestamp()
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET parts_sent = parts_sent + 1,"
                " thread_id = COALESCE(?, thread_id), updated_at = ?"
                " WHERE digest_id = ? AND slot = ?",
                (thread_id, now, digest_id, slot),
            )
            await self._deliver(conn, digest_id, event_ids, now)

    async def finish_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> None:
        """Close a run; a sent run's items go into the ledger and move the watermark."""
        now = now_timestamp()
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET status = ?, detail = ?, updated_at = ?"
                " WHERE digest_id = ? AND slot = ?",
                (status, detail, now, digest_id, slot),
            )
            if status != "sent":
                return
            row = await (
                await conn.execute(
                    "SELECT items, covers_to FROM digest_runs WHERE digest_id = ? AND slot = ?",
                    (digest_id, slot),
                )
            ).fetchone()
            items = json.loads(row[0]) if row and row[0] else []
            await self._deliver(conn, digest_id, items, now)
            # Not past the events it left waiting (storage.news_rules); a run claimed before
            # runs kept how far they read has only its items to go by.
            covers_to = (row[1] if row else 0) or max(items, default=0)
            if covers_to:
                await conn.execute(
                    "UPDATE digests SET last_event_id = MAX(last_event_id, ?) WHERE id = ?",
                    (covers_to, digest_id),
                )

    @staticmethod
    async def _deliver(
        conn: aiosqlite.Connection, digest_id: int, event_ids: Sequence[int], now: str
    ) -> None:
        await conn.executemany(
            "INSERT OR IGNORE INTO deliveries(target, event_id, delivered_at) VALUES (?, ?, ?)",
            [(f"digest:{digest_id}", event_id, now) for event_id in event_ids],
        )

    async def runs_for(self, digest_id: int, limit: int = 10) -> list[DigestRun]:
        rows = await self.db.fetchall(
            "SELECT * FROM digest_runs WHERE digest_id = ? ORDER BY updated_at DESC LIMIT ?",
            (digest_id, limit),
        )
        return [_run(r) for r in rows]


async def refresh_filter_keys(conn: aiosqlite.Connection, entity_id: int) -> None:
    """After a merge moved digests' entities to this one, their keys name it: set again as
    it reads, such a digest is found, not made twice. (One that would then repeat another
    digest of its channel keeps its old key.)"""
    rows = await conn.execute_fetchall(
        "SELECT d.id, d.category, d.words, d.language,"
        " (SELECT json_group_array(entity_id) FROM digest_entities WHERE digest_id = d.id)"
        " FROM digests d WHERE d.id IN (SELECT digest_id FROM digest_entities WHERE entity_id = ?)",
        (entity_id,),
    )
    for row in rows:
        key = DigestFilters(tuple(json.loads(row[4])), row[1], row[2], row[3]).key
        await conn.execute(
            "UPDATE OR IGNORE digests SET filter_key = ? WHERE id = ?", (key, row[0])
        )
