"""One archive size of the scale benchmark measured: import, lookups, slash commands, digests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import digest_build, import_bound, importing, postgres, queries, slash
from benchmarks.corpus_cache import ensure_database, ensure_markdown, fingerprint
from benchmarks.corpus_model import CorpusSpec
from benchmarks.terminal import Terminal
from storage import open_storage

# The instant digests are built at; fixed, so runs compare (the corpus ends 2026-12-31).
DIGEST_NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def db_size(path: Path) -> dict[str, Any]:
    """Bytes on disk after a checkpoint, and the biggest tables/indexes (dbstat, if built in)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        biggest: list[tuple[str, int]] = []
        with contextlib.suppress(sqlite3.Error):
            biggest = db.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
            ).fetchall()
    wal = Path(f"{path}-wal")
    return {
        "bytes": path.stat().st_size + (wal.stat().st_size if wal.exists() else 0),
        "biggest": biggest,
    }


def shape(path: Path) -> dict[str, Any]:
    """What the database holds: the corpus as Chronicle sees it."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        counts = [
            r[0]
            for r in db.execute(
                "SELECT event_count FROM entities WHERE event_count > 0 ORDER BY 1 DESC"
            )
        ]
        return {
            "events": one("SELECT COUNT(*) FROM events"),
            "complete": one("SELECT COUNT(*) FROM events WHERE complete = 1"),
            "chinese": one("SELECT COUNT(*) FROM events WHERE lang = 'zh'"),
            "first": one("SELECT MIN(date) FROM events"),
            "last": one("SELECT MAX(date) FROM events"),
            "sources": one("SELECT COUNT(*) FROM sources"),
            "entities": len(counts),
            "entity_links": one("SELECT COUNT(*) FROM event_entities"),
            "archive_related": one("SELECT COUNT(*) FROM archive_related"),
            "top_entities": db.execute(
                "SELECT name, event_count FROM entities ORDER BY event_count DESC LIMIT 5"
            ).fetchall(),
            "entities_10k_plus": sum(1 for c in counts if c >= 10_000),
            "entity_median_events": counts[len(counts) // 2] if counts else 0,
        }


async def run_size(args: argparse.Namespace, events: int, term: Terminal) -> dict[str, Any]:
    spec = CorpusSpec(events, args.seed)
    rundir = args.workdir / f"run-{events}"
    rundir.mkdir(parents=True, exist_ok=True)
    database = rundir / "chronicle.db"
    result: dict[str, Any] = {"events": events, "corpus": fingerprint(spec)}

    if args.skip_markdown:
        term.note(f"{events:,} events: building the database straight from the corpus (cached)")
        direct, corpus_shape, seconds = await ensure_database(
            spec, args.workdir, progress=term.counter("import_batch")
        )
        importing.copy_database(direct, database)
        # An import of that many events ends by merging the full-text indexes: the same here.
        term.note("merging the full-text indexes, as an import of this size ends")
        storage = await open_storage(database)
        try:
            await storage.optimize_search()
        finally:
            await storage.close()
        result["direct_import"] = {"seconds": seconds, "cached": seconds == 0.0}
        result["corpus_shape"] = corpus_shape
    else:
        term.note(f"{events:,} events: the Markdown archive (generated once, then cached)")
        archive, corpus_shape = await asyncio.to_thread(
            ensure_markdown, spec, args.workdir, term.counter("writing Markdown")
        )
        result["corpus_shape"] = corpus_shape
        term.note(f"importing {corpus_shape['files']:,} files with `chronicle import`")
        imported = await importing.import_markdown(archive, database, term.counter("import"))
        result["import"] = asdict(imported) | {"events_per_second": imported.events_per_second}
        term.note(
            f"import: {imported.events:,} events in {imported.seconds:.1f} s ({imported.events_per_second:,.0f}/s)"
        )
        term.note("the floor: the same rows by plain executemany, one transaction")
        floor = await importing.floor(database, rundir / "floor.db", term.note)
        result["floor"] = {
            "seconds": floor.seconds,
            "rows": floor.rows,
            "table_seconds": floor.table_seconds,
        }
        term.note(f"floor: {floor.total_rows:,} rows in {floor.seconds:.1f} s")
        term.note("at best: the same rows stored the fastest way known, and parsing, every core")
        bound = await import_bound.measure(database, archive, rundir / "bound.db")
        result["import_bound"] = {
            "events_per_second": bound.events_per_second,
            "storing_seconds": bound.storing.seconds,
            "parse_cpu_per_file": bound.parse_cpu_per_file,
            "cores": bound.cores,
        }
        term.note(f"at best: {bound.events_per_second:,.0f} events/s")

    result["db"] = db_size(database)
    result["shape"] = shape(database)
    if args.backend == "postgresql":
        # Before SQLite's own measures: its digests write into the SQLite file.
        result["postgresql"] = await postgres.run_size(
            args, database, spec, rundir, term.step, term.note, DIGEST_NOW
        )

    term.note(f"lookups: {args.queries:,} per row, through Chronicle and as bare SQL")
    storage = await open_storage(database)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as bare:
            for pragma in ("PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY"):
                bare.execute(pragma)  # as storage.db's connections have
            rows = await queries.measure(
                storage,
                bare,
                queries=args.queries,
                seed=args.seed,
                budget_s=args.row_budget,
                progress=term.step,
            )
    finally:
        await storage.close()
    result["lookups"] = [
        {
            "name": r.name,
            "n": r.count,
            "p50": r.p50,
            "p99": r.p99,
            "max": max(r.times_ms) if r.times_ms else None,
            "bare_p50": r.bare_p50,
            "bare_p99": r.bare_p99,
            "bare_kinds": r.bare_kinds,
            "bare_failed": r.bare_failed,
            "target_ms": r.target_ms,
            "passed": r.passed,
            "user_errors": r.errors,
            "stopped_early": r.stopped_early,
            "slowest": r.slowest[:3],
        }
        for r in rows
    ]

    if not args.skip_slash:
        term.note(
            f"slash commands: the bot in its own process, {args.slash:,} interactions per row"
        )
        slash_rows, memory, startup = await slash.measure(
            database, rundir, count=args.slash, seed=args.seed, progress=term.step
        )
        result["slash"] = [
            {
                "name": r.name,
                "n": len(r.callback_ms),
                "p50": r.p50,
                "p99": r.p99,
                "answer_p99": queries.percentile(r.answer_ms, 99) if r.answer_ms else None,
                "deferred": r.deferred,
                "lost": r.lost,
                "abandoned": r.abandoned,
                "target_ms": r.target_ms,
                "passed": r.passed,
            }
            for r in slash_rows
        ]
        result["bot"] = asdict(memory) | {"startup_s": startup}

    term.note(f"digests: every digest of {args.channels:,} channels")
    storage = await open_storage(database)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            digests = await digest_build.measure(
                storage,
                db,
                spec,
                channels=args.channels,
                now=DIGEST_NOW,
                progress=term.step,
            )
    finally:
        await storage.close()
    result["digests"] = digests.figures()
    return result
