"""The SQLite connection pair, migrations and transactions.

One connection owns every write (SQLite allows one writer at a time anyway, and a single
owner means no "database is locked" between our own coroutines); a second connection serves
reads, so a long import never makes a slash command wait. WAL mode lets the reader see the
last committed state while the writer works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.models import StorageError
from storage.problems import Cause, Problem
from storage.textindex import (
    fold_text,
    period_tokens,
    segment_for_index,
    simplified,
    word_pairs,
)

log = logging.getLogger(__name__)
# aiosqlite logs every statement at DEBUG, from its worker threads: at LOG_LEVEL=DEBUG that
# buried Chronicle's own lines (and kept writing after the CLI had finished).
logging.getLogger("aiosqlite").setLevel(logging.INFO)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# While an import writes, the WAL is copied into the database when it reaches this many
# pages (256 MB) rather than SQLite's 1,000: pages that every batch changes (index roots,
# full-text structure) are copied once per checkpoint, so commits take less time.
BULK_CHECKPOINT_PAGES = 65536
DEFAULT_CHECKPOINT_PAGES = 1000
# And the full-text indexes an import fills merge their segments 16 at a time rather than
# FTS5's 4: each row is merged fewer times, so filling them is quicker. Lookups read a few more segments until later writes merge them.
BULK_AUTOMERGE = 16
DEFAULT_AUTOMERGE = 4
BULK_FULL_TEXT_TABLES = ("event_search", "headline_pairs")
# merge_full_text() writes about this many full-text pages (4 KB) per transaction.
MERGE_STEP_PAGES = 2000
# SQLite's default limit on bound parameters is 32766 since 3.32; stay far below it.
MAX_PARAMS = 900

# The full-text index is kept up to date by triggers that call these functions, so every
# connection that may write must know them (aiosqlite here; plain sqlite3 in benchmarks);
# migrations that fold names again call chronicle_fold, and searches for one Chinese
# character call simplified.
INDEX_FUNCTIONS = {
    "segment": segment_for_index,
    "period": period_tokens,
    "word_pairs": word_pairs,
    "chronicle_fold": fold_text,
    "simplified": simplified,
}


def connect_plain(path: str | Path) -> sqlite3.Connection:
    """A plain sqlite3 connection (autocommit) that may write Chronicle's tables: it knows
    the functions the full-text triggers call. For benchmarks and tests; the bot and the
    CLI go through Database."""
    db = sqlite3.connect(path, isolation_level=None)
    for name, function in INDEX_FUNCTIONS.items():
        db.create_function(name, 1, function, deterministic=True)
    return db


def full_path(path: str | Path) -> Path:
    """The path from the root, as messages name a database: a relative one says nothing of
    the folder it was looked for in (`chronicle` run from another). Links are not followed:
    it is the name that was given."""
    return Path(os.path.abspath(path))


def database_problem(path: str | Path, exc: sqlite3.Error) -> Problem:
    """What went wrong with the database file, and what to do."""
    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return Problem(
            Cause.READ_ONLY,
            f"cannot write to the database {path}: it is read-only ({text}); check the"
            " permissions of the file and of its folder, which must be writable too",
        )
    if "unable to open" in lowered:
        return Problem(
            Cause.UNREACHABLE,
            f"cannot open the database {path} ({text}): check that its folder exists and"
            " that the folder and the file can be written to (their permissions)",
        )
    if "disk is full" in lowered:
        return Problem(
            Cause.NO_SPACE, f"cannot write to the database {path}: {text}; free some disk space"
        )
    if "disk i/o" in lowered:
        return Problem(Cause.OTHER, f"cannot write to the database {path}: {text}; check its disk")
    if "locked" in lowered or "busy" in lowered:
        return Problem(
            Cause.BUSY,
            f"the database {path} is busy ({text}): another Chronicle is writing to it;"
            " try again when it is done",
        )
    if "not a database" in lowered or "malformed" in lowered:
        return Problem(Cause.OTHER, f"{path} is not a usable SQLite database: {text}")
    return Problem(Cause.OTHER, f"the database {path} failed: {text}")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.sqlite.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise StorageError(f"two migrations share a number: {versions}")
    return found


async def _after_migration(conn: aiosqlite.Connection, version: int) -> None:
    """What a migration needs done in Python after its SQL, in its transaction."""
    if version == 24:
        # Imported here: the step builds on this module.
        from storage.sqlite.feed_links import clean_feed_links

        await clean_feed_links(conn)
    elif version == 25:
        # Imported here too: the step builds on the modules built on this one.
        from storage.sqlite.variant_markup import clean_variant_markup

        await clean_variant_markup(conn)


async def _abandon(conn: aiosqlite.Connection) -> None:
    """Close a connection its caller gives up on (an error, Ctrl-C): a statement under way
    is interrupted (a long migration), and the connection closed while the event loop is
    there to hear its thread end; left open, the thread reported to a closed loop ("Event
    loop is closed"). Failing to close says nothing over the error that brought us here."""
    with contextlib.suppress(Exception):  # no connection left to interrupt
        await conn.interrupt()
    try:
        await conn.close()
    except Exception:
        log.debug("closing an abandoned database connection failed", exc_info=True)


def chunked(items: Sequence[Any], size: int = MAX_PARAMS) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(count: int) -> str:
    return ",".join("?" * count)


class Database:
    """Owns the writer and reader connections of one SQLite file."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self.writer = writer
        self.reader = reader
        self._write_lock = asyncio.Lock()
        # related(): entities with more events than this have them packed in entity_postings.
        self.packed_postings_min = 256
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path, *, create: bool = True) -> Database:
        """The database at path, migrated to this Chronicle's schema. A new file is made
        only if ``create``; a file another program made is refused, never changed."""
        path = full_path(path)
        try:
            exists = path.exists()
        except OSError as exc:  # a folder on the way that this user may not enter
            raise StorageError(
                f"cannot reach the database {path}: {exc.strerror or exc}; check the path"
                " and who may read the folders on it"
            ) from None
        if not create and not exists:
            raise StorageError(
                f"there is no database at {path}: check the path (--db, CHRONICLE_DATABASE_URL or CHRONICLE_DB), or"
                " make one with `chronicle import` or `chronicle run`"
            )
        if path.is_dir():
            raise StorageError(f"{path} is a folder, not a database file: name a file in it")
        if exists and not path.is_file():
            raise StorageError(f"{path} is not a regular file, so it cannot be a database")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot make the folder {path.parent} for the database: {exc.strerror or exc}"
            ) from None
        try:
            # Opened once plainly first: aiosqlite, failing to open, leaves its worker thread
            # to report to an event loop the command line may have closed meanwhile (two
            # tracebacks after the message).
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise StorageError(str(database_problem(path, exc))) from None
        writer = await cls._connect(path)
        try:
            await cls._migrate(writer, path)
            reader = await cls._connect(path)
        except BaseException:
            await _abandon(writer)
            raise
        return cls(path, writer, reader)

    @staticmethod
    async def _connect(path: Path) -> aiosqlite.Connection:
        conn = aiosqlite.connect(path, isolation_level=None)
        # The connection is made in its thread, which goes on when its caller is cancelled:
        # waited for, then closed, so that the thread ends while the event loop it reports
        # to is still there.
        connecting = asyncio.ensure_future(conn)
        try:
            await asyncio.shield(connecting)
        except sqlite3.Error as exc:
            raise StorageError(str(database_problem(path, exc))) from None
        except BaseException:
            await asyncio.wait([connecting])
            if not connecting.cancelled() and connecting.exception() is None:
                await _abandon(conn)
            raise
        conn.row_factory = aiosqlite.Row
        try:
            # busy_timeout first: another process may be creating the database right now.
            await conn.execute("PRAGMA busy_timeout=10000")
            await Database._refuse_foreign(conn, path)
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA cache_size=-65536")
            await conn.execute("PRAGMA temp_store=MEMORY")
            for name, function in INDEX_FUNCTIONS.items():
                await conn.create_function(name, 1, function, deterministic=True)
        except sqlite3.Error as exc:
            await conn.close()
            raise StorageError(str(database_problem(path, exc))) from None
        except BaseException:  # a StorageError, or a cancellation (Ctrl-C)
            await _abandon(conn)
            raise
        return conn

    @staticmethod
    async def _refuse_foreign(conn: aiosqlite.Connection, path: Path) -> None:
        """A file with tables but no schema_migrations is another program's: refused before
        anything (even switching it to WAL) changes it."""
        tables = sorted(
            row[0]
            for row in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        )
        if tables and "schema_migrations" not in tables:
            held = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
            raise StorageError(
                f"{path} is another program's SQLite database (it holds {held}): Chronicle"
                " leaves it as it is; give it a new file, or its own"
            )

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await conn.execute_fetchall("SELECT version FROM schema_migrations")
        applied = {row[0] for row in rows}
        known = migrations()
        newest_known = known[-1][0] if known else 0
        if applied and max(applied) > newest_known:
            raise StorageError(
                f"{path} was written by a newer Chronicle (schema {max(applied)}, this one knows "
                f"up to {newest_known}); upgrade Chronicle before using it"
            )
        for version, name, sql in known:
            if version in applied:
                continue
            log.info("applying migration %s to %s", name, path)
            # Each migration and its bookkeeping row commit together or not at all. The row
            # goes first, once the write lock is held: if another process applied this
            # migration meanwhile (two starting on a new file), its row is there, the insert
            # fails on its key, and this process moves on.
            try:
                await conn.executescript(
                    "BEGIN IMMEDIATE;\n"
                    "INSERT INTO schema_migrations(version, name, applied_at)"
                    f" VALUES ({version}, '{name}', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));\n" + sql
                )
                await _after_migration(conn, version)
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                done = await conn.execute_fetchall(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                )
                if isinstance(exc, sqlite3.IntegrityError) and list(done):
                    continue  # another process applied it
                raise StorageError(
                    f"migration {name} failed on {path}: {database_problem(path, exc)}"
                ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction on the writer; coroutines take turns, nothing interleaves."""
        async with self._write_lock:
            try:
                await self._settled("BEGIN IMMEDIATE")
                yield self.writer
                await self._settled("COMMIT")
            except BaseException:
                # SQLite rolls back by itself on some errors (a full disk): a second
                # ROLLBACK would fail and hide the error that matters. A failed COMMIT, or
                # a BEGIN its caller stopped waiting for, may leave the transaction open: it
                # is rolled back, not left to the next writer.
                if self.writer.in_transaction:
                    await self._settled("ROLLBACK")
                raise

    async def _settled(self, statement: str) -> None:
        """Run a statement that opens or ends a transaction to its end, even when the
        caller is cancelled meanwhile (Ctrl-C, a shutdown): the writer's thread runs it
        anyway, so the transaction's state is known before the cancellation goes on."""
        running = asyncio.ensure_future(self.writer.execute(statement))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])
            if not running.cancelled():
                running.exception()  # the cancellation is what the caller hears of
            raise

    @asynccontextmanager
    async def bulk_writes(self) -> AsyncIterator[None]:
        """Many large transactions to come (an import): checkpoint the WAL and merge the
        full-text segments less often."""
        await self.writer.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")
        await self._set_automerge(BULK_AUTOMERGE)
        try:
            yield
        finally:
            await self._set_automerge(DEFAULT_AUTOMERGE)
            await self.writer.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_CHECKPOINT_PAGES}")

    async def merge_full_text(self) -> None:
        """Merge each full-text index an import fills into one segment. Lookups read every
        segment of a word, and a large import leaves dozens; merged, show by words and search
        are faster. FTS5's 'optimize' would do it in one long transaction, longer than a bot
        writing beside the import waits (busy_timeout): 'merge' does it in steps of
        MERGE_STEP_PAGES, each its own short transaction."""
        for table in BULK_FULL_TEXT_TABLES:
            pages = -MERGE_STEP_PAGES  # negative: every segment joins, whatever its level
            while True:
                async with self.transaction() as conn:
                    before = await self._total_changes(conn)
                    await conn.execute(
                        f"INSERT INTO {table}({table}, rank) VALUES ('merge', ?)", (pages,)
                    )
                    changed = await self._total_changes(conn) - before
                if changed < 2:  # FTS5's sign that there was nothing left to merge
                    break
                pages = MERGE_STEP_PAGES

    @staticmethod
    async def _total_changes(conn: aiosqlite.Connection) -> int:
        rows = list(await conn.execute_fetchall("SELECT total_changes()"))
        return int(rows[0][0])

    async def _set_automerge(self, segments: int) -> None:
        async with self.transaction() as conn:
            for table in BULK_FULL_TEXT_TABLES:
                await conn.execute(
                    f"INSERT INTO {table}({table}, rank) VALUES ('automerge', ?)", (segments,)
                )

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in (self.reader, self.writer):
            try:
                await conn.close()
            except Exception:  # closing must not hide the error that brought us here
                log.exception("closing the database connection failed")
