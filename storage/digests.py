"""Digests, their runs, server timezones, and the delivery ledger."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Database, chunked, placeholders
from storage.events import _BRIEF_COLUMNS, _brief, utc_now
from storage.models import EventBrief

RECENT_EVENTS_KEPT = 50_000
RECENT_EVENTS_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    guild_id: int
    channel_id: int
    kind: str
    time: dt.time
    timezone: str
    created_by: int
    created_at: dt.datetime
    paused_reason: str | None
    pause_notified: bool
    last_event_id: int

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class DigestRun:
    digest_id: int
    local_date: dt.date
    status: str
    parts: int
    parts_sent: int
    attempts: int
    items: tuple[int, ...]
    detail: str | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to announce, with what a 'new' digest groups it by."""

    brief: EventBrief
    story: str | None
    top_entity: str | None


def _iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _digest(row: aiosqlite.Row) -> Digest:
    hour, minute = (int(p) for p in row["time"].split(":"))
    return Digest(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        time=dt.time(hour, minute),
        timezone=row["timezone"],
        created_by=row["created_by"],
        created_at=_iso(row["created_at"]),
        paused_reason=row["paused_reason"],
        pause_notified=bool(row["pause_notified"]),
        last_event_id=row["last_event_id"],
    )


def _run(row: aiosqlite.Row) -> DigestRun:
    return DigestRun(
        digest_id=row["digest_id"],
        local_date=dt.date.fromisoformat(row["local_date"]),
        status=row["status"],
        parts=row["parts"],
        parts_sent=row["parts_sent"],
        attempts=row["attempts"],
        items=tuple(json.loads(row["items"])) if row["items"] else (),
        detail=row["detail"],
    )


class DigestRepository:
    def __init__(self, db: Database):
        self.db = db
        self._recent: dict[int, tuple[float, NewEvent]] = {}  # id -> (expires, event)

    # --- server settings -------------------------------------------------------------------

    async def guild_timezone(self, guild_id: int) -> str | None:
        row = await self.db.fetchone(
            "SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return row[0] if row else None

    async def set_guild_timezone(self, guild_id: int, timezone: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings(guild_id, timezone, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(guild_id) DO UPDATE SET timezone = excluded.timezone,"
                " updated_at = excluded.updated_at",
                (guild_id, timezone, utc_now()),
            )

    # --- digests ---------------------------------------------------------------------------

    async def upsert(
        self,
        *,
        guild_id: int,
        channel_id: int,
        kind: str,
        time: dt.time,
        timezone: str,
        created_by: int,
        now: dt.datetime,
    ) -> tuple[Digest, bool]:
        """Create the channel's digest of this kind, or replace its time and timezone (which
        also resumes it if it was paused). Returns (digest, created)."""
        stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        async with self.db.transaction() as conn:
            existing = await (
                await conn.execute(
                    "SELECT id FROM digests WHERE channel_id = ? AND kind = ?", (channel_id, kind)
                )
            ).fetchone()
            if existing:
                await conn.execute(
                    "UPDATE digests SET guild_id = ?, time = ?, timezone = ?, created_by = ?,"
                    " updated_at = ?, paused_reason = NULL, paused_at = NULL, pause_notified = 0"
                    " WHERE id = ?",
                    (guild_id, time.strftime("%H:%M"), timezone, created_by, stamp, existing[0]),
                )
                digest_id, created = existing[0], False
            else:
                # A new 'new' digest starts from now: it announces what arrives from here on.
                newest = await (
                    await conn.execute("SELECT COALESCE(MAX(id), 0) FROM events")
                ).fetchone()
                cursor = await conn.execute(
                    "INSERT INTO digests(guild_id, channel_id, kind, time, timezone, created_by,"
                    " created_at, updated_at, last_event_id) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        guild_id,
                        channel_id,
                        kind,
                        time.strftime("%H:%M"),
                        timezone,
                        created_by,
                        stamp,
                        stamp,
                        newest[0],
                    ),
                )
                digest_id, created = cursor.lastrowid, True
            row = await (
                await conn.execute("SELECT * FROM digests WHERE id = ?", (digest_id,))
            ).fetchone()
        return _digest(row), created

    async def get(self, digest_id: int) -> Digest | None:
        row = await self.db.fetchone("SELECT * FROM digests WHERE id = ?", (digest_id,))
        return _digest(row) if row else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        rows = await self.db.fetchall(
            "SELECT * FROM digests WHERE guild_id = ? ORDER BY kind, channel_id", (guild_id,)
        )
        return [_digest(r) for r in rows]

    async def all(self) -> list[Digest]:
        return [_digest(r) for r in await self.db.fetchall("SELECT * FROM digests ORDER BY id")]

    async def remove(self, channel_id: int, kind: str) -> Digest | None:
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute(
                    "SELECT * FROM digests WHERE channel_id = ? AND kind = ?", (channel_id, kind)
                )
            ).fetchone()
            if row:
                await conn.execute("DELETE FROM digests WHERE id = ?", (row["id"],))
        return _digest(row) if row else None

    async def pause(self, digest_id: int, reason: str) -> bool:
        """Pause a digest; True when this call paused it (so the server is told once)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE digests SET paused_reason = ?, paused_at = ?, pause_notified = 0"
                " WHERE id = ? AND paused_reason IS NULL",
                (reason, utc_now(), digest_id),
            )
            return cursor.rowcount > 0

    async def mark_pause_notified(self, digest_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE digests SET pause_notified = 1 WHERE id = ?", (digest_id,))

    # --- runs ------------------------------------------------------------------------------

    async def run(self, digest_id: int, local_date: dt.date) -> DigestRun | None:
        row = await self.db.fetchone(
            "SELECT * FROM digest_runs WHERE digest_id = ? AND local_date = ?",
            (digest_id, local_date.isoformat()),
        )
        return _run(row) if row else None

    async def record_run(
        self, digest_id: int, local_date: dt.date, status: str, detail: str | None = None
    ) -> bool:
        """Record an outcome that posts nothing (empty, skipped); False if the day has a run."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO digest_runs(digest_id, local_date, status, detail, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest_id, local_date.isoformat(), status, detail, utc_now()),
            )
            return cursor.rowcount > 0

    async def claim_run(
        self, digest_id: int, local_date: dt.date, *, parts: int, items: Sequence[int]
    ) -> DigestRun | None:
        """Claim a day's run before posting: None if it was claimed already and is not
        waiting for a retry. A retry gets the existing run, to resume after its sent parts."""
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute(
                    "SELECT * FROM digest_runs WHERE digest_id = ? AND local_date = ?",
                    (digest_id, local_date.isoformat()),
                )
            ).fetchone()
            if row is not None:
                if row["status"] != "retrying":
                    return None
                await conn.execute(
                    "UPDATE digest_runs SET status = 'sending', attempts = attempts + 1, updated_at = ?"
                    " WHERE digest_id = ? AND local_date = ?",
                    (utc_now(), digest_id, local_date.isoformat()),
                )
            else:
                await conn.execute(
                    "INSERT INTO digest_runs(digest_id, local_date, status, parts, attempts, items,"
                    " updated_at) VALUES (?, ?, 'sending', ?, 1, ?, ?)",
                    (digest_id, local_date.isoformat(), parts, json.dumps(list(items)), utc_now()),
                )
            row = await (
                await conn.execute(
                    "SELECT * FROM digest_runs WHERE digest_id = ? AND local_date = ?",
                    (digest_id, local_date.isoformat()),
                )
            ).fetchone()
        return _run(row)

    async def part_sent(self, digest_id: int, local_date: dt.date) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET parts_sent = parts_sent + 1, updated_at = ?"
                " WHERE digest_id = ? AND local_date = ?",
                (utc_now(), digest_id, local_date.isoformat()),
            )

    async def finish_run(
        self, digest_id: int, local_date: dt.date, status: str, detail: str | None = None
    ) -> None:
        """Close a run; a finished run's items go into the ledger and move the watermark."""
        now = utc_now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE digest_runs SET status = ?, detail = ?, updated_at = ?"
                " WHERE digest_id = ? AND local_date = ?",
                (status, detail, now, digest_id, local_date.isoformat()),
            )
            if status != "sent":
                return
            row = await (
                await conn.execute(
                    "SELECT items FROM digest_runs WHERE digest_id = ? AND local_date = ?",
                    (digest_id, local_date.isoformat()),
                )
            ).fetchone()
            items = json.loads(row[0]) if row and row[0] else []
            await conn.executemany(
                "INSERT OR IGNORE INTO deliveries(target, event_id, delivered_at) VALUES (?, ?, ?)",
                [(f"digest:{digest_id}", event_id, now) for event_id in items],
            )
            if items:
                await conn.execute(
                    "UPDATE digests SET last_event_id = MAX(last_event_id, ?) WHERE id = ?",
                    (max(items), digest_id),
                )

    async def runs_for(self, digest_id: int, limit: int = 10) -> list[DigestRun]:
        rows = await self.db.fetchall(
            "SELECT * FROM digest_runs WHERE digest_id = ? ORDER BY local_date DESC LIMIT ?",
            (digest_id, limit),
        )
        return [_run(r) for r in rows]

    # --- content ---------------------------------------------------------------------------

    async def new_events(self, digest: Digest, *, limit: int = 5000) -> list[NewEvent]:
        """Announceable events after the digest's watermark and not yet delivered to it."""
        rows = await self.db.fetchall(
            "SELECT e.id FROM events e INDEXED BY events_announced"
            " WHERE e.announce = 1 AND e.id > ? AND e.removed_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.target = ? AND d.event_id = e.id)"
            " ORDER BY e.id LIMIT ?",
            (digest.last_event_id, f"digest:{digest.id}", limit),
        )
        return await self.events_by_id([r[0] for r in rows])

    async def new_events_for_preview(
        self, digest: Digest | None, *, now: dt.datetime, limit: int = 5000
    ) -> list[NewEvent]:
        """What a 'new' digest would cover now: after its watermark, or (no digest yet) the
        events announced in the last day."""
        if digest is not None:
            return await self.new_events(digest, limit=limit)
        since = (now.astimezone(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        rows = await self.db.fetchall(
            "SELECT id FROM events WHERE announce = 1 AND added_at >= ? AND removed_at IS NULL"
            " ORDER BY id DESC LIMIT ?",
            (since, limit),
        )
        return await self.events_by_id([r[0] for r in rows])

    async def events_by_id(self, ids: Sequence[int]) -> list[NewEvent]:
        """Events with what digests group them by. Remembered for a while: the 'new' digests
        of a thousand channels cover much the same events."""
        now = time.monotonic()
        missing = [i for i in ids if (hit := self._recent.get(i)) is None or hit[0] < now]
        for chunk in chunked(missing):
            rows = await self.db.fetchall(
                f"SELECT {_BRIEF_COLUMNS}, e.story,"
                " (SELECT en.name FROM event_entities ee JOIN entities en ON en.id = ee.entity_id"
                "  WHERE ee.event_id = e.id ORDER BY en.event_count DESC, en.folded LIMIT 1)"
                " AS top_entity"
                f" FROM events e WHERE e.id IN ({placeholders(len(chunk))})",
                list(chunk),
            )
            if len(self._recent) > RECENT_EVENTS_KEPT:
                self._recent.clear()
            for r in rows:
                self._recent[r["id"]] = (
                    now + RECENT_EVENTS_SECONDS,
                    NewEvent(_brief(r), r["story"], r["top_entity"]),
                )
        return [self._recent[i][1] for i in sorted(ids) if i in self._recent]

    async def on_this_day_best(
        self, month: int, day: int, *, before_year: int, limit: int
    ) -> list[EventBrief]:
        """The events of a month and day the archive says most about (sources, related
        links, entities), best first."""
        rows = await self.db.fetchall(
            f"SELECT {_BRIEF_COLUMNS} FROM events e"
            " INDEXED BY events_by_month_day_weight WHERE e.month_day = ? AND e.date < ?"
            " ORDER BY e.weight DESC, e.date DESC, e.id LIMIT ?",
            (f"{month:02d}-{day:02d}", f"{before_year:04d}-01-01", limit),
        )
        return [_brief(r) for r in rows]
