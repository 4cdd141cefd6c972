"""PostgreSQL: scheduled digests, what they would post, and the ledger of their runs.

Several bot processes may share the database, so every claim is one statement that either
takes a slot or finds it taken (INSERT ... ON CONFLICT, or an UPDATE whose WHERE says what
must still hold): two processes never both post a run, nor both deliver an event."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import asyncpg

from storage.ledgers import digest_target
from storage.models import (
    NO_FILTERS,
    Digest,
    DigestFilters,
    DigestRun,
    NewEvent,
)
from storage.postgres.db import Connection, Database
from storage.postgres.digest_content import DigestContentQueries
from storage.postgres.ledgers import forget_target
from storage.times import utc_now


def _digest(row: asyncpg.Record, entities: Sequence[tuple[int, str]]) -> Digest:
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
        publish=row["publish"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        set_at=row["updated_at"],
        paused_reason=row["paused_reason"],
        paused_at=row["paused_at"],
        pause_notified=row["pause_notified"],
        last_event_id=row["last_event_id"],
    )


def _run(row: asyncpg.Record) -> DigestRun:
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


def _changed(status: str) -> int:
    """The rows a command's status ("UPDATE 3", "INSERT 0 1") says it touched."""
    return int(status.rsplit(" ", 1)[-1])


_RUN = "SELECT * FROM digest_runs WHERE digest_id = $1 AND slot = $2"
_ENTITIES = (
    "SELECT de.digest_id, en.id, en.name FROM digest_entities de"
    " JOIN entities en ON en.id = de.entity_id"
    ' WHERE de.digest_id = ANY($1::bigint[]) ORDER BY en.name COLLATE "C"'
)


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
        values = (guild_id, every, time.strftime("%H:%M"), timezone, role_id, publish, created_by)
        key = (channel_id, kind, filters.key)
        async with self.db.transaction() as conn:
            # A new 'new' digest starts from now: it announces what arrives from here on.
            # ON CONFLICT: of two processes making the same digest, one makes it.
            digest_id = await conn.fetchval(
                "INSERT INTO digests(guild_id, every, time, timezone, role_id, publish,"
                " created_by, updated_at, channel_id, kind, category, words, language,"
                " filter_key, created_at, last_event_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $8,"
                " (SELECT COALESCE(max(id), 0) FROM events))"
                " ON CONFLICT (channel_id, kind, filter_key) DO NOTHING RETURNING id",
                *values,
                now,
                channel_id,
                kind,
                filters.category,
                filters.words,
                filters.language,
                filters.key,
            )
            created = digest_id is not None
            if created:
                await conn.execute(
                    "INSERT INTO digest_entities(digest_id, entity_id)"
                    " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
                    digest_id,
                    sorted(set(filters.entity_ids)),
                )
            else:
                digest_id = await conn.fetchval(
                    "UPDATE digests SET guild_id = $1, every = $2, time = $3, timezone = $4,"
                    " role_id = $5, publish = $6, created_by = $7, updated_at = $8,"
                    " paused_reason = NULL, paused_at = NULL, pause_notified = false"
                    " WHERE channel_id = $9 AND kind = $10 AND filter_key = $11 RETURNING id",
                    *values,
                    now,
                    *key,
                )
            assert digest_id is not None  # inserted, or there to update: the key conflicted
            digest = await _read(conn, digest_id)
        assert digest is not None
        return digest, created

    async def _with_entities(self, rows: Sequence[asyncpg.Record]) -> list[Digest]:
        entities: dict[int, list[tuple[int, str]]] = {}
        for link in await self.db.fetch(_ENTITIES, [r["id"] for r in rows]):
            entities.setdefault(link[0], []).append((link[1], link[2]))
        return [_digest(r, entities.get(r["id"], ())) for r in rows]

    async def get(self, digest_id: int) -> Digest | None:
        row = await self.db.fetchrow("SELECT * FROM digests WHERE id = $1", digest_id)
        return (await self._with_entities([row]))[0] if row else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        rows = await self.db.fetch(
            "SELECT * FROM digests WHERE guild_id = $1 ORDER BY channel_id, kind, id", guild_id
        )
        return await self._with_entities(rows)

    async def all(self) -> list[Digest]:
        return await self._with_entities(await self.db.fetch("SELECT * FROM digests ORDER BY id"))

    async def live(self) -> list[Digest]:
        """The live digests that are not paused: what a poll's new events go to."""
        return await self._with_entities(
            await self.db.fetch(
                "SELECT * FROM digests WHERE every = 'live' AND paused_reason IS NULL ORDER BY id"
            )
        )

    async def remove(self, digest_id: int) -> Digest | None:
        """Remove a digest, its runs (ON DELETE CASCADE) and its deliveries; it as it was,
        or None if it was not there (or another process removed it first)."""
        async with self.db.transaction() as conn:
            digest = await _read(conn, digest_id, lock=True)
            if digest is not None:
                await conn.execute("DELETE FROM digests WHERE id = $1", digest_id)
        if digest is not None:
            await forget_target(self.db, digest_target(digest_id))
        return digest

    async def pause(self, digest_id: int, reason: str) -> bool:
        """Pause a digest; True when this call paused it (so its creator is told once)."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE digests SET paused_reason = $1, paused_at = $2, pause_notified = false"
                " WHERE id = $3 AND paused_reason IS NULL",
                reason,
                utc_now(),
                digest_id,
            )
        return _changed(status) > 0

    async def resume_channel(self, channel_id: int) -> list[int]:
        """Resume every paused digest of a channel; their ids."""
        async with self.db.transaction() as conn:
            rows = await conn.fetch(
                "UPDATE digests SET paused_reason = NULL, paused_at = NULL,"
                " pause_notified = false WHERE channel_id = $1 AND paused_reason IS NOT NULL"
                " RETURNING id",
                channel_id,
            )
        return sorted(row["id"] for row in rows)

    async def mark_pause_notified(self, digest_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE digests SET pause_notified = true WHERE id = $1", digest_id)

    async def advance(self, digest_id: int, covers_to: int) -> None:
        """Move a 'new' digest's watermark past events none of which matched its filters."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digests SET last_event_id = GREATEST(last_event_id, $1) WHERE id = $2",
                covers_to,
                digest_id,
            )

    # --- runs ------------------------------------------------------------------------------

    async def run(self, digest_id: int, slot: str) -> DigestRun | None:
        row = await self.db.fetchrow(_RUN, digest_id, slot)
        return _run(row) if row else None

    async def unfinished_run(self, digest_id: int) -> DigestRun | None:
        """A run claimed and not finished (a crash mid-send) or waiting for its retry."""
        row = await self.db.fetchrow(
            "SELECT * FROM digest_runs WHERE digest_id = $1 AND status IN ('sending', 'retrying')"
            " ORDER BY updated_at, slot LIMIT 1",
            digest_id,
        )
        return _run(row) if row else None

    async def interrupted_runs(
        self, *, shard_ids: Sequence[int] | None, shard_count: int | None
    ) -> int:
        """At start: runs a stopped process left 'sending' wait for a retry instead, to
        resume after the messages they had sent; only those of the servers on these shards
        (None: every server), as another process may be sending the others' right now."""
        everyone = shard_ids is None or shard_count is None
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE digest_runs SET status = 'retrying', detail = 'interrupted',"
                " updated_at = $1 WHERE status = 'sending' AND ($2 OR digest_id IN ("
                "SELECT id FROM digests WHERE (guild_id >> 22) % $3 = ANY($4::int[])))",
                utc_now(),
                everyone,
                1 if everyone else shard_count,
                [] if everyone else list(shard_ids or ()),
            )
        return _changed(status)

    async def record_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> bool:
        """Record an outcome that posts nothing (empty, skipped); False if the slot has a run."""
        async with self.db.transaction() as conn:
            done = await conn.execute(
                "INSERT INTO digest_runs(digest_id, slot, status, detail, updated_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest_id, slot) DO NOTHING",
                digest_id,
                slot,
                status,
                detail,
                utc_now(),
            )
        return _changed(done) > 0

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
        # One statement: a new run is inserted, a retrying one taken back (the row locked,
        # its status checked again on the latest version), anything else left: of processes
        # claiming at once, one gets the run.
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "INSERT INTO digest_runs AS r(digest_id, slot, status, parts, attempts, items,"
                " covers_to, updated_at) VALUES ($1, $2, 'sending', $3, 1, $4, $5, $6)"
                " ON CONFLICT (digest_id, slot) DO UPDATE SET status = 'sending',"
                " attempts = r.attempts + 1, updated_at = excluded.updated_at"
                " WHERE r.status = 'retrying' RETURNING r.*",
                digest_id,
                slot,
                parts,
                json.dumps(list(items)),
                covers_to,
                utc_now(),
            )
        return _run(row) if row else None

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
        now = utc_now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET parts_sent = parts_sent + 1,"
                " thread_id = COALESCE($1, thread_id), updated_at = $2"
                " WHERE digest_id = $3 AND slot = $4",
                thread_id,
                now,
                digest_id,
                slot,
            )
            await self._deliver(conn, digest_id, event_ids, now)

    async def finish_run(
        self, digest_id: int, slot: str, status: str, detail: str | None = None
    ) -> None:
        """Close a run; a sent run's items go into the ledger and move the watermark."""
        now = utc_now()
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE digest_runs SET status = $1, detail = $2, updated_at = $3"
                " WHERE digest_id = $4 AND slot = $5 RETURNING items, covers_to",
                status,
                detail,
                now,
                digest_id,
                slot,
            )
            if status != "sent":
                return
            items: list[int] = json.loads(row[0]) if row and row[0] else []
            await self._deliver(conn, digest_id, items, now)
            # Not past the events it left waiting (storage.news_rules); a run claimed before
            # runs kept how far they read has only its items to go by.
            covers_to = (row[1] if row else 0) or max(items, default=0)
            if covers_to:
                await conn.execute(
                    "UPDATE digests SET last_event_id = GREATEST(last_event_id, $1) WHERE id = $2",
                    covers_to,
                    digest_id,
                )

    @staticmethod
    async def _deliver(
        conn: Connection, digest_id: int, event_ids: Sequence[int], now: dt.datetime
    ) -> None:
        # Only events still there: one deleted meanwhile has nothing left to deliver.
        await conn.execute(
            "INSERT INTO deliveries(target, event_id, delivered_at)"
            " SELECT $1, e.id, $2 FROM events e WHERE e.id = ANY($3::bigint[])"
            " ON CONFLICT (target, event_id) DO NOTHING",
            f"digest:{digest_id}",
            now,
            list(event_ids),
        )

    async def runs_for(self, digest_id: int, limit: int = 10) -> list[DigestRun]:
        rows = await self.db.fetch(
            "SELECT * FROM digest_runs WHERE digest_id = $1"
            " ORDER BY updated_at DESC, slot DESC LIMIT $2",
            digest_id,
            limit,
        )
        return [_run(r) for r in rows]


async def _read(conn: Connection, digest_id: int, *, lock: bool = False) -> Digest | None:
    """A digest as this transaction sees it (locked against other writers if lock)."""
    row = await conn.fetchrow(
        "SELECT * FROM digests WHERE id = $1" + (" FOR UPDATE" if lock else ""), digest_id
    )
    if row is None:
        return None
    links = await conn.fetch(_ENTITIES, [digest_id])
    return _digest(row, [(link[1], link[2]) for link in links])
