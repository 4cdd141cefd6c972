"""Import speed: `chronicle import` on the Markdown archive, and the floor beneath it.

The floor is what SQLite needs to store the same rows with nothing else going on: every
row the import left in the tables it writes, inserted with plain ``sqlite3``
``executemany`` into a fresh database with Chronicle's schema (migrations, indexes and
triggers, so the full-text index and counters are maintained exactly as in Chronicle), all
in one transaction, rows already in memory. Chronicle's import must also read and parse
files, resolve keys and entities, and make several passes; "within 3x of the floor" is the
bar for all of that.

Which tables: every table holding rows after the import, except SQLite's own, the schema
bookkeeping, full-text index tables (virtual tables and their shadow tables: triggers fill
them) and tables that triggers insert into. Columns: every column that is not generated.
Both are read from the database, so the floor follows the schema as it changes.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.services.imports import ImportReport, import_archive
from storage import open_storage
from storage.sqlite.db import connect_plain
from storage.sqlite.event_rows import FULL_TEXT_FILLS

Progress = Callable[[int, int], None]

# The pragmas storage.db sets on its connections, so the floor writes the same way.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)
_TRIGGER_INSERT = re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+([\w\"]+)", re.IGNORECASE)
_FTS_SHADOW = ("_data", "_idx", "_docsize", "_config", "_content")


@dataclass(slots=True)
class ImportResult:
    events: int
    files: int
    seconds: float
    report: dict[str, object]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


@dataclass(slots=True)
class FloorResult:
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)  # executemany per table

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def import_markdown(
    archive: Path, database: Path, progress: Progress | None = None
) -> ImportResult:
    """`chronicle import news news-zh` into a fresh database, timed (files to committed rows)."""
    remove_database(database)
    storage = await open_storage(database)
    try:
        started = time.perf_counter()
        report: ImportReport = await import_archive(
            storage, [archive / "news", archive / "news-zh"], progress=progress
        )
        seconds = time.perf_counter() - started
        if report.failed:
            raise RuntimeError(f"{len(report.failed)} files failed: {report.failed[:3]}")
        events = (await storage.stats()).events
    finally:
        await storage.close()
    return ImportResult(events, report.files, seconds, report.as_dict())


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a database (for runs that must not change a cached one)."""
    remove_database(target)
    with sqlite3.connect(source) as src:
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)


def _copied_tables(db: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    """(table, columns) the floor writes: see the module docstring."""
    objects = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    virtual = {
        n for t, n, sql in objects if t == "table" and sql and "VIRTUAL TABLE" in sql.upper()
    }
    shadows = {
        n
        for t, n, _ in objects
        if t == "table" and any(n == v + s for v in virtual for s in _FTS_SHADOW)
    }
    trigger_filled = {
        m.strip('"')
        for t, _, sql in objects
        if t == "trigger" and sql
        for m in _TRIGGER_INSERT.findall(sql)
    }
    tables = []
    for kind, name, _ in objects:
        if kind != "table" or name.startswith("sqlite_") or name == "schema_migrations":
            continue
        if name in virtual or name in shadows or name in trigger_filled:
            continue
        if name == "counters":  # maintained by triggers (UPDATE), seeded by the migration
            continue
        if not db.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():
            continue
        # table_xinfo's hidden: 0 ordinary, 2/3 generated columns (which cannot be written).
        columns = [r[1] for r in db.execute(f'PRAGMA table_xinfo("{name}")') if r[6] == 0]
        tables.append((name, columns))
    return tables


def _connect_like_storage(path: Path) -> sqlite3.Connection:
    db = connect_plain(path)
    for pragma in PRAGMAS:
        db.execute(pragma)
    return db


async def floor(
    imported: Path,
    scratch: Path,
    progress: Callable[[str], None] | None = None,
    *,
    indexed_after: bool = False,
    keep: bool = False,
) -> FloorResult:
    """Insert the imported rows into a fresh database (same schema) in one transaction.

    indexed_after: the fastest load known rather than the floor. The full-text indexes are
    filled by one INSERT ... SELECT each once the rows are in, not by the triggers row by
    row (twice as fast: benchmarks.fts_fill), and the other indexes are built at the end,
    one sort each. What any writer of these rows needs at least (benchmarks.import_bound).
    keep: leave the loaded database at scratch, to be looked at.
    """
    remove_database(scratch)
    await (await open_storage(scratch)).close()  # migrations: tables, indexes, triggers
    result = await asyncio.to_thread(_floor, imported, scratch, progress, indexed_after)
    if not keep:
        remove_database(scratch)
    return result


# The full-text indexes an events row fills through its insert triggers, filled in bulk as
# event_rows.index_events does.
_BULK_FULL_TEXT = tuple(
    f"INSERT INTO {index} SELECT {values} FROM events WHERE searchable = 1"
    for index, values in FULL_TEXT_FILLS
)
_FULL_TEXT_TRIGGERS = ("events_search_insert", "headline_pairs_insert")


def _set_aside(db: sqlite3.Connection, tables: list[tuple[str, list[str]]]) -> list[str]:
    """Drop the full-text insert triggers and the copied tables' own indexes; returns the
    SQL that makes them again."""
    names = [name for name, _ in tables]
    rows = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND"
        f" ((type = 'index' AND tbl_name IN ({','.join('?' * len(names))}))"
        f" OR (type = 'trigger' AND name IN ({','.join('?' * len(_FULL_TEXT_TRIGGERS))})))",
        (*names, *_FULL_TEXT_TRIGGERS),
    ).fetchall()
    if sum(kind == "trigger" for kind, _, _ in rows) != len(_FULL_TEXT_TRIGGERS):
        raise RuntimeError(f"the schema's full-text triggers are not {_FULL_TEXT_TRIGGERS}")
    for kind, name, _ in rows:
        db.execute(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in rows]


def _floor(
    imported: Path,
    scratch: Path,
    progress: Callable[[str], None] | None,
    indexed_after: bool = False,
) -> FloorResult:
    result = FloorResult(0.0)
    with sqlite3.connect(f"file:{imported}?mode=ro", uri=True) as source:
        tables = _copied_tables(source)
        target = _connect_like_storage(scratch)
        try:
            # Parents before children (events before what references them), so foreign
            # keys hold row by row as they would in any real load.
            order = {"events": 0, "entities": 1}
            tables.sort(key=lambda t: (order.get(t[0], 2), t[0]))
            target.execute("BEGIN IMMEDIATE")
            # An alias entity may point at a canonical one with a higher id: check keys at
            # commit, as a bulk load would.
            target.execute("PRAGMA defer_foreign_keys=ON")
            set_aside = _set_aside(target, tables) if indexed_after else []
            for name, columns in tables:
                names = ", ".join(f'"{c}"' for c in columns)
                rows = source.execute(f'SELECT {names} FROM "{name}"').fetchall()  # not timed
                if progress:
                    progress(f"{name}: {len(rows):,} rows")
                marks = ",".join("?" * len(columns))
                started = time.perf_counter()
                target.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', rows)
                result.table_seconds[name] = time.perf_counter() - started
                result.seconds += result.table_seconds[name]
                result.rows[name] = len(rows)
                del rows
            if indexed_after:
                timed = {"(full-text indexes)": _BULK_FULL_TEXT, "(indexes)": set_aside}
                for part, statements in timed.items():
                    started = time.perf_counter()
                    for statement in statements:
                        target.execute(statement)
                    result.table_seconds[part] = time.perf_counter() - started
                    result.seconds += result.table_seconds[part]
            started = time.perf_counter()
            target.execute("COMMIT")
            result.table_seconds["(commit)"] = time.perf_counter() - started
            result.seconds += result.table_seconds["(commit)"]
        finally:
            target.close()
    return result
