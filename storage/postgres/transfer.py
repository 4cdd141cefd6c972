"""Copying a SQLite archive into PostgreSQL (`chronicle migrate`), then checking the copy.

The SQLite file is read with plain sqlite3, read-only, table by table in key order and in
batches, so memory stays bounded whatever the archive's size; each batch goes in with COPY
in a transaction that also records how far the table has come (``migration_progress`` in
the target). An interrupted copy run again continues after the last batch committed.

What is not copied is rebuilt: the events' and articles' tsvectors (SQLite keeps FTS5
tables instead), the counters, the packed postings of popular entities; SQLite's own
tables (FTS5, headline pairs, its migrations) have no counterpart.

Until the copy is checked, only migrate may open the target (open_target; Database.open
refuses it to anything else). The archive must not change meanwhile: a fingerprint of it
taken when the copy begins is compared when it resumes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from storage.models import StorageError
from storage.postgres import PostgresStorage
from storage.postgres.db import COPY_PROGRESS, Connection, Database, redacted
from storage.postgres.textsearch import article_vector, event_vector
from storage.postgres.transfer_fingerprint import archive_fingerprint, changed_tables
from storage.times import from_timestamp

BATCH = 5000
PROGRESS_TABLE = COPY_PROGRESS
# The progress table's row holding the archive's fingerprint (transfer_fingerprint), as its
# last_key.
FINGERPRINT = "source fingerprint"


@dataclass(frozen=True)
class Table:
    """A table copied as it is, in order of `key` (its primary key)."""

    name: str
    key: tuple[str, ...]
    # Columns copied empty, then set once the whole table is in (references to its own rows).
    deferred: tuple[str, ...] = ()


# In dependency order: a row's references are copied before it.
TABLES: tuple[Table, ...] = (
    Table("events", ("id",)),
    Table("merged_events", ("old_id",)),
    Table("event_keys", ("key",)),
    Table("page_versions", ("content_hash",)),
    Table("sources", ("event_id", "position")),
    Table("entities", ("id",), deferred=("canonical_id",)),
    Table("event_entities", ("event_id", "entity_id")),
    Table("archive_related", ("event_id",)),
    Table("articles", ("id",)),
    Table("feeds", ("id",)),
    Table("feed_entries", ("feed_id", "identity")),
    Table("portal_days", ("wiki", "date")),
    Table("portal_items", ("wiki", "event_id")),
    Table("portal_titles", ("wiki", "title")),
    Table("portal_polls", ("wiki",)),
    Table("deliveries", ("target", "event_id")),
    Table("corrected_links", ("id",)),
    Table("subscriptions", ("id",)),
    Table("pending_notices", ("id",)),
    Table("bot_state", ("name",)),
    Table("guild_settings", ("guild_id",)),
    Table("digests", ("id",)),
    Table("digest_entities", ("digest_id", "entity_id")),
    Table("digest_runs", ("digest_id", "slot")),
)
# The copied tables and their keys, in copy order, as the archive's fingerprint reads them.
KEYS = {table.name: table.key for table in TABLES}

# Rebuilt in the target rather than copied: counts kept by triggers, and the packed events
# of popular entities (EventRepository.pack_postings).
REBUILT = frozenset({"counters", "entity_postings", "term_events"})
# SQLite's own: its migrations, sequences, and full text kept in FTS5 tables.
SQLITE_ONLY = frozenset(
    {"schema_migrations", "sqlite_sequence", "event_search", "entity_search",
     "article_search", "headline_pairs"}
)
# Columns that only SQLite's full-text index needs.
SQLITE_ONLY_COLUMNS = {"events": {"searchable", "search_entities"}}
# Columns of the target written from the row rather than copied: the row's tsvector.
VECTORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "events": lambda row: event_vector(row["headline"], row["summary"], row["date"]),
    "articles": lambda row: article_vector(row["title"], row["text"]),
}
VECTOR_COLUMN = "search"
# Triggers firing on an insert whose work the copy does once at its end instead (counts,
# and dropping packed postings that pack_postings then writes).
REDONE_TRIGGERS = frozenset(
    {"events_count", "events_count_tokens", "sources_count", "entities_count",
     "articles_count", "articles_count_tokens", "event_entities_postings",
     "event_entities_count_added", "events_count_terms_added"}
)
_TRIGGER_ON_INSERT = 1 << 2  # pg_trigger.tgtype's TRIGGER_TYPE_INSERT
# Every counter, as counted from the rows (storage/postgres/migrations keep them by triggers).
COUNTS = {
    "events": "SELECT count(*) FROM events",
    "incomplete": "SELECT count(*) FROM events WHERE NOT complete",
    "entities": "SELECT count(*) FROM entities WHERE canonical_id IS NULL",
    "sources": "SELECT count(*) FROM sources",
    "articles": "SELECT count(*) FROM articles",
    "event_tokens": "SELECT coalesce(sum(chronicle_tokens(search)), 0) FROM events",
    "article_tokens": "SELECT coalesce(sum(chronicle_tokens(search)), 0) FROM articles",
    "entity_links": "SELECT count(*) FROM event_entities",
}
# Tables with an identity column, whose sequence must start past the copied ids.
IDENTITIES = (
    "events",
    "entities",
    "articles",
    "feeds",
    "subscriptions",
    "digests",
    "pending_notices",
    "corrected_links",
)


@dataclass(frozen=True)
class Step:
    """Where a table's copy has got to, for a progress line."""

    table: str
    done: int
    total: int
    seconds: float  # spent on this table in this run
    copied: int  # rows copied in this run (a resumed table had `done - copied` already)


Progress = Callable[[Step], None]


@dataclass
class CopyReport:
    resumed: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # table: rows in the target
    seconds: float = 0.0


def parse_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _timestamp(value: Any) -> dt.datetime | None:
    return from_timestamp(value)


# SQLite values into what asyncpg's binary COPY takes, by the target column's type.
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "date": parse_date,
    "timestamp with time zone": _timestamp,
    "boolean": bool,
    "bytea": bytes,
    "double precision": float,
}


def open_source(path: Path) -> sqlite3.Connection:
    """The SQLite archive, read-only (this never writes to it)."""
    if not path.is_file():
        raise StorageError(f"{path} is not a file: name the SQLite archive to copy (--db)")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        source.execute("SELECT count(*) FROM events").fetchone()
    except sqlite3.DatabaseError as exc:
        source.close()
        raise StorageError(f"{path} is not a Chronicle archive SQLite can read: {exc}") from None
    return source


@dataclass(frozen=True)
class _Plan:
    """How one table is copied: its columns in both databases, converted."""

    table: Table
    columns: tuple[str, ...]  # read from SQLite and written to the target, in this order
    converters: tuple[Callable[[Any], Any] | None, ...]
    vector: Callable[[dict[str, Any]], str] | None

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        pairs = tuple(zip(self.columns, self.converters, strict=True))
        deferred = self.table.deferred
        converted = []
        for values in raw:
            row = {
                name: None if value is None or name in deferred else (f(value) if f else value)
                for (name, f), value in zip(pairs, values, strict=True)
            }
            if self.vector is not None:
                row[VECTOR_COLUMN] = self.vector(row)
            converted.append(tuple(row.values()))
        return converted

    @property
    def target_columns(self) -> tuple[str, ...]:
        return (*self.columns, VECTOR_COLUMN) if self.vector else self.columns


async def _plan(conn: Connection, source: sqlite3.Connection, table: Table) -> _Plan:
    """Match the table's columns in both schemas; a column only one side has (other than
    those known to be so) is refused rather than dropped."""
    theirs = [r[1] for r in source.execute(f'PRAGMA table_info("{table.name}")')]
    ours = {
        r["column_name"]: r["data_type"]
        for r in await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1"
            " AND is_generated = 'NEVER'",
            table.name,
        )
    }
    vector = VECTORS.get(table.name)
    missing = [
        c for c in theirs if c not in ours and c not in SQLITE_ONLY_COLUMNS.get(table.name, ())
    ]
    if missing:
        raise StorageError(
            f"the SQLite table {table.name} has columns the PostgreSQL schema lacks"
            f" ({', '.join(missing)}): this Chronicle cannot copy them"
        )
    columns = tuple(c for c in theirs if c in ours)
    return _Plan(
        table,
        columns,
        tuple(CONVERTERS.get(ours[c]) for c in columns),
        vector if vector and VECTOR_COLUMN in ours else None,
    )


def _keyset(table: Table, last: list[Any] | None) -> tuple[str, list[Any]]:
    """The WHERE clause that starts after the last key copied, and its parameters."""
    if last is None:
        return "", []
    names = ", ".join(f'"{k}"' for k in table.key)
    marks = ", ".join("?" for _ in table.key)
    return f" WHERE ({names}) > ({marks})", last


def _read(
    source: sqlite3.Connection, plan: _Plan, last: list[Any] | None, batch: int
) -> Generator[list[Any], None, None]:
    """The table's rows after `last`, in key order, a batch at a time."""
    where, params = _keyset(plan.table, last)
    columns = ", ".join(f'"{c}"' for c in plan.columns)
    order = ", ".join(f'"{k}"' for k in plan.table.key)
    cursor = source.execute(
        f'SELECT {columns} FROM "{plan.table.name}"{where} ORDER BY {order}', params
    )
    try:
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


async def _prepared(
    plan: _Plan, batches: Generator[list[Any], None, None]
) -> AsyncGenerator[tuple[list[Any], list[tuple[Any, ...]]], None]:
    """Each batch read, with its rows converted: the next batch is converted (its vectors
    built) in a thread while the server takes the one before."""
    loop = asyncio.get_running_loop()

    def convert(raw: list[Any] | None) -> tuple[list[Any], list[tuple[Any, ...]]] | None:
        return None if raw is None else (raw, plan.rows(raw))

    # sqlite3 is read here, in the loop's thread: its connection stays in one thread.
    pending = loop.run_in_executor(None, convert, next(batches, None))
    while (ready := await pending) is not None:
        pending = loop.run_in_executor(None, convert, next(batches, None))
        yield ready


async def _write(conn: Connection, plan: _Plan, rows: list[tuple[Any, ...]]) -> None:
    """One batch into the target. A tsvector has no binary COPY format in asyncpg: tables
    with one go through a temporary table holding it as text, cast on the way in."""
    if plan.vector is None:
        await conn.copy_records_to_table(plan.table.name, records=rows, columns=plan.columns)
        return
    stage = f"migrate_{plan.table.name}"
    await conn.copy_records_to_table(stage, records=rows, columns=plan.target_columns)
    names = ", ".join(plan.target_columns)
    values = ", ".join(plan.columns) + f", {VECTOR_COLUMN}::tsvector"
    await conn.execute(f"INSERT INTO {plan.table.name} ({names}) SELECT {values} FROM {stage}")
    await conn.execute(f"TRUNCATE {stage}")


async def _stage(conn: Connection, plan: _Plan) -> None:
    if plan.vector is None:
        return
    columns = ", ".join(plan.columns)
    await conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS migrate_{plan.table.name} AS"
        f" SELECT {columns}, {VECTOR_COLUMN}::text AS {VECTOR_COLUMN}"
        f" FROM {plan.table.name} WITH NO DATA"
    )


async def _progress(conn: Connection) -> dict[str, asyncpg.Record]:
    return {r["step"]: r for r in await conn.fetch(f"SELECT * FROM {PROGRESS_TABLE}")}


async def _start(conn: Connection, origin: str, fingerprint: str, url: str) -> bool:
    """Begin a copy, or resume one; whether it resumes. Refuses a target that holds an
    archive (or another archive's unfinished copy, or this one's made before it changed)."""
    where = redacted(url)
    async with conn.transaction():
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", PROGRESS_TABLE):
            row = await conn.fetchrow(
                f"SELECT last_key FROM {PROGRESS_TABLE} WHERE step = 'source'"
            )
            if row is not None and row[0] != origin:
                raise StorageError(
                    f"{where} holds an unfinished copy of another archive ({row[0]}): finish"
                    " that one, or start again in an empty database"
                )
            began = await conn.fetchval(
                f"SELECT last_key FROM {PROGRESS_TABLE} WHERE step = $1", FINGERPRINT
            )
            if began is None:
                # Begun by a Chronicle that kept no fingerprint: what was copied then
                # cannot be checked, what is copied from now on is.
                await _keep_fingerprint(conn, fingerprint)
            elif changed := changed_tables(json.loads(began), json.loads(fingerprint), KEYS):
                raise StorageError(
                    f"{origin} has changed since the unfinished copy into {where} began (rows"
                    f" of {', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}): the"
                    " copy cannot go on. Drop the database and create it again (dropdb,"
                    " createdb), stop the bot and anything else writing to the archive until"
                    " migrate has finished, and run migrate again"
                )
            return True
        unknown = [r[0] for r in await conn.fetch("SELECT name FROM counters")
                   if r[0] not in COUNTS]
        if unknown:
            raise StorageError(
                f"{where} keeps counters this copy cannot count ({', '.join(unknown)}):"
                " storage/postgres/transfer.py's COUNTS must learn them"
            )
        held = [
            t.name for t in TABLES
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {t.name})")
        ]
        if held:
            events = await conn.fetchval("SELECT count(*) FROM events")
            raise StorageError(
                f"{where} is not empty ({events} events; rows in {', '.join(held[:4])}"
                f"{', ...' if len(held) > 4 else ''}): chronicle migrate copies into an empty"
                " database only; create a new one (createdb) and name it with --to"
            )
        await conn.execute(
            f"CREATE TABLE {PROGRESS_TABLE} (step text PRIMARY KEY, last_key text,"
            " rows bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false)"
        )
        await conn.execute(
            f"INSERT INTO {PROGRESS_TABLE} (step, last_key, done) VALUES ('source', $1, true)",
            origin,
        )
        await _keep_fingerprint(conn, fingerprint)
        return False


async def _keep_fingerprint(conn: Connection, fingerprint: str) -> None:
    await conn.execute(
        f"INSERT INTO {PROGRESS_TABLE} (step, last_key, done) VALUES ($1, $2, true)",
        FINGERPRINT,
        fingerprint,
    )


async def open_target(url: str) -> PostgresStorage:
    """The PostgreSQL archive to copy into, as `chronicle migrate` opens it: an unfinished
    copy in it (which anything else is refused) is what it goes on with."""
    return PostgresStorage(await Database.open(url, unfinished_copy=True))


async def copy_archive(
    source_path: Path,
    target: PostgresStorage,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy the SQLite archive at source_path into target (migrated, and empty unless an
    earlier copy of the same archive was interrupted). Resumable at any point."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    started = time.monotonic()
    source = open_source(source_path)
    origin = _origin(source)
    try:
        _check_tables(source)
        fingerprint = archive_fingerprint(source, KEYS)
        async with target.db.pool.acquire() as conn:
            report = CopyReport(
                resumed=await _start(conn, origin, fingerprint, target.db.url)
            )
            for table in TABLES:
                await _copy_table(conn, source, table, batch, progress)
            await _set_references(conn, source, batch)
            await _finish(conn, source)
            report.rows = {
                t.name: int(await conn.fetchval(f"SELECT count(*) FROM {t.name}")) for t in TABLES
            }
    finally:
        source.close()
    await target.events.pack_postings()
    await target.optimize_search()
    report.seconds = time.monotonic() - started
    return report


def _origin(source: sqlite3.Connection) -> str:
    """The archive's file, as an unfinished copy remembers it."""
    return str(source.execute("PRAGMA database_list").fetchone()[2])


def _check_tables(source: sqlite3.Connection) -> None:
    """Every table of the SQLite archive is copied, rebuilt, or known to be SQLite's own."""
    names = [r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    handled = {t.name for t in TABLES} | REBUILT | SQLITE_ONLY
    unknown = [
        n for n in names
        if n not in handled and not any(n.startswith(f"{fts}_") for fts in SQLITE_ONLY)
    ]
    if unknown:
        raise StorageError(
            f"the SQLite archive has tables this Chronicle cannot copy ({', '.join(unknown)}):"
            " it was written by a newer Chronicle, or by another program"
        )


async def _copy_table(
    conn: Connection,
    source: sqlite3.Connection,
    table: Table,
    batch: int,
    progress: Progress | None,
) -> None:
    state = (await _progress(conn)).get(table.name)
    if state is not None and state["done"]:
        return
    plan = await _plan(conn, source, table)
    await _stage(conn, plan)
    last = json.loads(state["last_key"]) if state is not None and state["last_key"] else None
    done = int(state["rows"]) if state is not None else 0
    total = int(source.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0])
    began, copied = time.monotonic(), 0
    key_at = [plan.columns.index(k) for k in table.key]
    quiet = await _may_silence(conn, table.name)
    # Closed here, however the copy ends: left to the garbage collector, the reader would
    # close its cursor after the archive is closed (an "Exception ignored" on stderr).
    batches = _read(source, plan, last, batch)
    prepared = _prepared(plan, batches)
    try:
        async for raw, rows in prepared:
            last_key = json.dumps([raw[-1][i] for i in key_at])
            async with conn.transaction():
                if quiet:
                    await conn.execute(f"ALTER TABLE {table.name} DISABLE TRIGGER USER")
                try:
                    await _write(conn, plan, rows)
                except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                    raise StorageError(
                        f"copying {table.name} failed after key {last or 'the start'}: {exc}"
                    ) from None
                if quiet:
                    await conn.execute(f"ALTER TABLE {table.name} ENABLE TRIGGER USER")
                await conn.execute(
                    f"INSERT INTO {PROGRESS_TABLE} (step, last_key, rows) VALUES ($1, $2, $3)"
                    " ON CONFLICT (step) DO UPDATE SET last_key = $2,"
                    f" rows = {PROGRESS_TABLE}.rows + $3",
                    table.name,
                    last_key,
                    len(rows),
                )
            last = json.loads(last_key)
            done += len(rows)
            copied += len(rows)
            if progress:
                seconds = time.monotonic() - began
                progress(Step(table.name, done, max(total, done), seconds, copied))
    finally:
        await prepared.aclose()
        batches.close()
    await conn.execute(
        f"INSERT INTO {PROGRESS_TABLE} (step, rows, done) VALUES ($1, $2, true)"
        " ON CONFLICT (step) DO UPDATE SET done = true",
        table.name,
        done,
    )
    if progress and copied == 0:
        progress(Step(table.name, done, max(total, done), time.monotonic() - began, 0))


async def _may_silence(conn: Connection, table: str) -> bool:
    """Whether the table's own triggers can be off while its batches go in: those firing
    on an insert keep counters and drop stale packed postings, all redone at the end, at
    the cost of a row update per row copied. A trigger the copy does not know of keeps
    them all on (its work is not redone), and only the table's owner may switch them."""
    row = await conn.fetchrow(
        "SELECT pg_has_role(c.relowner, 'USAGE') AS owner,"
        " array(SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = c.oid"
        "       AND NOT t.tgisinternal AND t.tgtype & $2 <> 0) AS on_insert"
        " FROM pg_class c WHERE c.oid = $1::regclass",
        table,
        _TRIGGER_ON_INSERT,
    )
    return bool(row and row["owner"] and row["on_insert"]
                and set(row["on_insert"]) <= REDONE_TRIGGERS)


async def _set_references(conn: Connection, source: sqlite3.Connection, batch: int) -> None:
    """The deferred columns, now that every row they may point to is in (idempotent)."""
    for table in TABLES:
        for column in table.deferred:
            key = ", ".join(table.key)
            cursor = source.execute(
                f'SELECT {key}, "{column}" FROM "{table.name}" WHERE "{column}" IS NOT NULL'
            )
            while rows := cursor.fetchmany(batch):
                async with conn.transaction():
                    await conn.execute(
                        f"UPDATE {table.name} t SET {column} = v.value"
                        " FROM unnest($1::bigint[], $2::bigint[]) AS v(id, value)"
                        f" WHERE t.{key} = v.id AND t.{column} IS DISTINCT FROM v.value",
                        [r[0] for r in rows],
                        [r[1] for r in rows],
                    )


async def _finish(conn: Connection, source: sqlite3.Connection) -> None:
    """Counters counted again, sequences past the copied ids (and past ids SQLite handed
    out and deleted since, so none is used twice), statistics for the planner."""
    sequences = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    async with conn.transaction():
        for name, count in COUNTS.items():
            await conn.execute(f"UPDATE counters SET value = ({count}) WHERE name = $1", name)
        # Counts of words kept by triggers (migration 0009), counted again from every vector.
        await conn.execute("SELECT chronicle_recount_terms()")
        for table in IDENTITIES:
            highest = max(
                int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")),
                int(sequences.get(table) or 0),
            )
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1, $2)",
                max(highest, 1),
                highest > 0,
            )
    for copied in TABLES:
        await conn.execute(f"ANALYZE {copied.name}")


async def finish(target: PostgresStorage) -> None:
    """The copy is checked: forget its progress (a new copy into this database is then
    refused, as it holds an archive)."""
    await target.db.pool.execute(f"DROP TABLE IF EXISTS {PROGRESS_TABLE}")
