"""Three ways to fill an FTS5 index with the same rows, timed: why the import floor is slow.

    python -m benchmarks.fts_fill benchmarks/.work/run-100000/chronicle.db --rows 50000

The rows are headlines and summaries of a database the scale benchmark imported. Each way
runs in one transaction on a fresh file, with the prefix indexes Chronicle's event_search
has:

- ``direct``: executemany straight into the FTS5 table;
- ``trigger``: executemany into a plain table whose AFTER INSERT trigger fills the index,
  one row per statement (what the floor does, through Chronicle's own triggers);
- ``bulk``: executemany into the plain table, then one INSERT ... SELECT into the index;
- ``batches``: the same, one transaction of 2,000 rows at a time (what `chronicle import`
  does), the index merging its segments 4 at a time (FTS5's default, ``automerge``);
- ``batches, automerge 16``: as the import does since (storage.db.BULK_AUTOMERGE).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.importing import remove_database

BATCH = 2000  # rows a transaction, as bot.services.imports.BATCH_FILES
_FTS = "CREATE VIRTUAL TABLE f USING fts5(h, s, content = '', prefix = '2 3')"


def _fresh(path: Path) -> sqlite3.Connection:
    remove_database(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(_FTS)
    db.execute("CREATE TABLE e(id INTEGER PRIMARY KEY, h TEXT, s TEXT)")
    return db


def fill(
    rows: Sequence[tuple[int, str, str]], scratch: Path, probe: str = "the"
) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds each way took, and how many rows each index finds for `probe` (the same,
    or a way lost rows)."""
    seconds: dict[str, float] = {}
    found: dict[str, int] = {}
    for way in ("direct", "trigger", "bulk", "batches", "batches, automerge 16"):
        db = _fresh(scratch)
        if way == "trigger":
            db.execute(
                "CREATE TRIGGER e_fill AFTER INSERT ON e BEGIN"
                " INSERT INTO f(rowid, h, s) VALUES (NEW.id, NEW.h, NEW.s); END"
            )
        if way == "batches, automerge 16":
            db.execute("INSERT INTO f(f, rank) VALUES ('automerge', 16)")
        started = time.perf_counter()
        size = BATCH if way.startswith("batches") else len(rows)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            db.execute("BEGIN")
            if way == "direct":
                db.executemany("INSERT INTO f(rowid, h, s) VALUES (?, ?, ?)", batch)
            else:
                db.executemany("INSERT INTO e VALUES (?, ?, ?)", batch)
            if way != "direct" and way != "trigger":
                db.execute(
                    "INSERT INTO f(rowid, h, s) SELECT id, h, s FROM e WHERE id >= ?",
                    (batch[0][0],),
                )
            db.execute("COMMIT")
        seconds[way] = time.perf_counter() - started
        found[way] = db.execute("SELECT COUNT(*) FROM f WHERE f MATCH ?", (probe,)).fetchone()[0]
        db.close()
    remove_database(scratch)
    return seconds, found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fts_fill", description=__doc__)
    parser.add_argument("database", type=Path, help="a database the scale benchmark imported")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args(argv)
    with sqlite3.connect(f"file:{args.database}?mode=ro", uri=True) as source:
        rows = source.execute(
            "SELECT id, headline, summary FROM events WHERE complete = 1 ORDER BY id LIMIT ?",
            (args.rows,),
        ).fetchall()
    with tempfile.TemporaryDirectory() as scratch:
        seconds, _ = fill(rows, Path(scratch) / "fts.db")
    for way, value in seconds.items():
        print(f"{way:>22}: {len(rows):,} rows in {value:.2f} s ({len(rows) / value:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
