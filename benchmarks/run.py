"""Chronicle at scale: import, lookups, slash commands, digests, size and memory.

    python -m benchmarks.run --events 100000                  # one size, writes RESULTS.md
    python -m benchmarks.run --events 100000 1000000 --queries 1000
    python -m benchmarks.run --events 1000000 --skip-markdown # no Markdown import (faster)
    python -m benchmarks.run --events 100000 --backend postgresql  # and on PostgreSQL too

For each size: a synthetic archive shaped like the real one (benchmarks/corpus.py) is
generated once into --workdir and reused; it is imported from its Markdown files through
`chronicle import`'s code path into a fresh database and timed against the floor (the same
rows stored by plain sqlite3 executemany); then at least --queries varied lookups of every
kind are timed through Chronicle and as bare SQL; the real bot (`python -m bot run`, its own
process) answers slash commands over the loopback Discord stand-in while its memory is
read; and every digest of --channels channels is built. Figures are printed and written to
--out (RESULTS.md, regenerated from --out's .json twin, so sizes run separately are kept).

With --backend postgresql, everything above is measured on SQLite as without it, and the
archive is also copied into a fresh PostgreSQL database (`chronicle migrate`'s code, timed)
where the lookups, slash commands (and the throughput of one bot process against two) and
digests are measured again with the same inputs: benchmarks/postgres.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import platform
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiosqlite

from benchmarks import digest_build, import_bound, importing, postgres, queries, slash
from benchmarks.corpus import CorpusSpec, ensure_database, ensure_markdown, fingerprint
from benchmarks.sections import sections_not_matching
from storage import open_storage

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "RESULTS.md"
SIZE_HEADING = re.compile(r"## [\d,]+ events")  # the sections this benchmark writes
DEFAULT_WORKDIR = HERE / ".work"
# The instant digests are built at; fixed, so runs compare (the corpus ends 2026-12-31).
DIGEST_NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)

TARGETS = {
    "import_rate": 5000.0,  # events/s, at least
    "import_floor_ratio": 3.0,  # at most
    "digests_s": 5.0,
    "rss_mb": 250.0,
}


# --- terminal progress ----------------------------------------------------------------------


class Terminal:
    """One updating status line on a terminal; occasional plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.started = time.perf_counter()

    def step(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < (0.2 if self.tty else 15.0):
            return
        self.last = now
        pct = 100 * done / total if total else 100
        text = f"  {label}: {done:,}/{total:,} ({pct:.0f}%)"
        if self.tty:
            print("\r\033[K" + text, end="" if done < total else "\n", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        if self.tty:
            print("\r\033[K", end="", file=sys.stderr)
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:7.1f}s] {text}", file=sys.stderr, flush=True)

    def counter(self, label: str) -> Any:
        return lambda done, total: self.step(label, done, total)


# --- the machine ----------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it (outside benchmarks/)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--",
                ".",
                ":!benchmarks",
                ":!tests/benchmarks/test_run.py",
                ":!tests/benchmarks/test_postgres.py",
            ],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} + {len(status)} uncommitted files" if status else commit


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_gb, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "os": f"{platform.system()} {platform.release()}",
    }


# --- one size -------------------------------------------------------------------------------


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
    result["digests"] = {
        "channels": digests.channels,
        "digests": digests.digests,
        "announced": digests.announced,
        "seconds": digests.seconds,
        "onthisday_p50": digests.p("onthisday", 50),
        "onthisday_p99": digests.p("onthisday", 99),
        "new_p50": digests.p("new", 50),
        "new_p99": digests.p("new", 99),
        "messages": digests.messages,
        "events_listed": digests.events_listed,
        "empty": digests.empty,
    }
    return result


# --- reporting ------------------------------------------------------------------------------


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else ("PASS" if passed else "**MISS**")


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "n/a"


def headline_checks(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(figure, value, target, passed) of every target the issue sets."""
    checks: list[tuple[str, str, str, bool | None]] = []
    if "import" in r:
        rate = r["import"]["events_per_second"]
        ratio = r["import"]["seconds"] / r["floor"]["seconds"] if r["floor"]["seconds"] else None
        best = r.get("import_bound", {}).get("events_per_second")
        checks.append(
            (
                "import rate",
                f"{rate:,.0f} events/s"
                + (f" (any import here: {best:,.0f} at best)" if best else ""),
                "≥ 5,000 events/s",
                rate >= TARGETS["import_rate"],
            )
        )
        checks.append(
            (
                "import vs floor",
                f"{ratio:.1f}x" if ratio else "n/a",
                "≤ 3x",
                ratio is not None and ratio <= TARGETS["import_floor_ratio"],
            )
        )
    for row in r["lookups"]:
        if row["target_ms"] is not None:
            checks.append(
                (
                    f"{row['name']} p99",
                    f"{_ms(row['p99'])} ms",
                    f"< {row['target_ms']:g} ms",
                    row["passed"],
                )
            )
    for row in r.get("slash", []):
        if row["target_ms"] is not None:
            checks.append(
                (
                    f"slash {row['name']} p99",
                    f"{_ms(row['p99'])} ms",
                    f"< {row['target_ms']:g} ms",
                    row["passed"],
                )
            )
    d = r["digests"]
    checks.append(
        (
            f"digests for {d['channels']:,} channels",
            f"{d['seconds']:.2f} s",
            "< 5 s",
            d["seconds"] < TARGETS["digests_s"],
        )
    )
    if "bot" in r:
        peak = r["bot"]["peak_rss_mb"]
        checks.append(("bot peak RSS", f"{peak:.0f} MB", "< 250 MB", peak < TARGETS["rss_mb"]))
    return checks


def render_size(r: dict[str, Any]) -> str:
    lines: list[str] = []
    out = lines.append
    out(f"## {r['events']:,} events")
    out("")
    out(f"Run {r['date']} with `{r['command']}`, code at {r.get('code', '?')}.")
    m = r["machine"]
    out(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['os']};"
        f" Python {m['python']}, SQLite {m['sqlite']}, aiosqlite {m['aiosqlite']}."
    )
    out("")
    out("### Targets")
    out("")
    out("| figure | value | target | |")
    out("| --- | ---: | ---: | --- |")
    for name, value, target, passed in headline_checks(r):
        out(f"| {name} | {value} | {target} | {_verdict(passed)} |")
    out("")

    out("### Import")
    out("")
    if "import" in r:
        imp, floor = r["import"], r["floor"]
        if "import_run" in r:
            before = r["import_run"]
            machine = before.get("machine") or {}
            on = f" on {machine['cpu']}, {machine['cores']} cores" if machine else ""
            out(
                f"From the run of {before['date']}{on} (`{before['command']}`, code at"
                f" {before.get('code', '?')}): this run built its database straight from the"
                " corpus (`--skip-markdown`)."
            )
            out("")
        ratio = imp["seconds"] / floor["seconds"] if floor["seconds"] else float("nan")
        out("| figure | value |")
        out("| --- | ---: |")
        out(f"| files read (event pages and day indexes) | {imp['files']:,} |")
        out(f"| events stored (incl. incomplete) | {imp['events']:,} |")
        out(f"| `chronicle import` time | {imp['seconds']:.1f} s |")
        out(f"| `chronicle import` rate | {imp['events_per_second']:,.0f} events/s |")
        out(
            f"| floor: same rows, plain `executemany`, one transaction | {floor['seconds']:.1f} s ({sum(floor['rows'].values()):,} rows) |"
        )
        out(f"| import / floor | {ratio:.1f}x |")
        if best := r.get("import_bound"):
            out(
                "| at best on this machine (`benchmarks.import_bound`: the same rows stored the"
                " fastest way known, and parsing, every core busy)"
                f" | {best['events_per_second']:,.0f} events/s |"
            )
        out("")
        seconds = floor.get("table_seconds", {})
        out(
            "Floor by table (rows, seconds of executemany): "
            + ", ".join(
                f"{k} {v:,} ({seconds[k]:.1f} s)" if k in seconds else f"{k} {v:,}"
                for k, v in floor["rows"].items()
            )
            + (f"; commit {seconds['(commit)']:.1f} s" if "(commit)" in seconds else "")
            + "."
        )
    else:
        direct = r.get("direct_import", {})
        out(
            "Not measured in this run (`--skip-markdown`): the database was built straight from"
            " the corpus through `import_batch`"
            + (f" in {direct['seconds']:.0f} s" if direct.get("seconds") else " (cached)")
            + "."
        )
    out("")

    out("### Lookups")
    out("")
    out(
        "Through Chronicle's services over aiosqlite (what the bot and CLI run) vs the bare SQL"
        " statement underneath, on a plain sqlite3 connection; same inputs, back to back."
    )
    out("")
    out(
        "| lookup | n | p50 ms | p99 ms | max ms | bare p50 | bare p99 | ratio p50 | ratio p99 | target p99 | |"
    )
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in r["lookups"]:
        note = " (stopped: time budget)" if row["stopped_early"] else ""
        target = f"< {row['target_ms']:g}" if row["target_ms"] else ""
        out(
            f"| {row['name']}{note} | {row['n']:,} | {_ms(row['p50'])} | {_ms(row['p99'])} | {_ms(row['max'])}"
            f" | {_ms(row['bare_p50'])} | {_ms(row['bare_p99'])} | {_ratio(row['p50'], row['bare_p50'])}"
            f" | {_ratio(row['p99'], row['bare_p99'])} | {target} | {_verdict(row['passed'])} |"
        )
    out("")
    out("Bare, by row:")
    out("")
    for row in r["lookups"]:
        kinds = "; or ".join(queries.BARE.get(k, k) for k in row["bare_kinds"])
        failed = f" (could not run: {row['bare_failed']})" if row["bare_failed"] else ""
        out(f"- {row['name']}: {kinds}{failed}")
    out("")
    out("Slowest inputs (ms):")
    out("")
    for row in r["lookups"]:
        slowest = "; ".join(f"{t:.0f} `{label[:70]}`" for t, label in row["slowest"])
        out(f"- {row['name']}: {slowest}")
    out("")

    if "slash" in r:
        out("### Slash commands end to end")
        out("")
        out(
            "`python -m bot run` in its own process against the loopback Discord stand-in:"
            " INTERACTION_CREATE sent on the gateway → the interaction callback received."
            ' "answer" is when the user sees the result (the same, unless the bot deferred).'
        )
        out("")
        out(
            "| interaction | n | p50 ms | p99 ms | answer p99 ms | deferred | lost | target p99 | |"
        )
        out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for row in r["slash"]:
            target = f"< {row['target_ms']:g}" if row["target_ms"] else ""
            out(
                f"| {row['name']} | {row['n']:,} | {_ms(row['p50'])} | {_ms(row['p99'])}"
                f" | {_ms(row['answer_p99'])} | {row['deferred']} | {row['lost']} | {target} | {_verdict(row['passed'])} |"
            )
        for row in r["slash"]:
            if row.get("abandoned"):
                out("")
                out(f"**{row['name']}: {row['abandoned']}**")
        out("")
        bot = r["bot"]
        out(
            f"Bot process: {bot['idle_rss_mb']:.0f} MB resident after start-up, peak {bot['peak_rss_mb']:.0f} MB"
            f" (VmHWM) over all the interactions above; ready {bot['startup_s']:.1f} s after launch."
        )
        out("")

    d = r["digests"]
    out("### Digests")
    out("")
    out(
        f"{d['digests']:,} digests ({d['channels']:,} channels × onthisday and new, 20 timezones) built in"
        f" **{d['seconds']:.2f} s**: onthisday p50 {_ms(d['onthisday_p50'])} ms, p99 {_ms(d['onthisday_p99'])} ms;"
        f" new p50 {_ms(d['new_p50'])} ms, p99 {_ms(d['new_p99'])} ms. {d['messages']:,} messages,"
        f" {d['events_listed']:,} events listed, {d['empty']} empty; the 'new' digests cover"
        f" {d['announced']} announced events."
    )
    out("")

    s, db = r["shape"], r["db"]
    out("### Size and corpus")
    out("")
    out(f"Database on disk: **{db['bytes'] / 1e6:,.0f} MB** (after a WAL checkpoint).")
    if db["biggest"]:
        out(
            "Largest tables and indexes: "
            + ", ".join(f"{n} {b / 1e6:,.0f} MB" for n, b in db["biggest"])
            + "."
        )
    out("")
    top = ", ".join(f"{n} ({c:,})" for n, c in s["top_entities"])
    out(
        f"{s['events']:,} events ({s['complete']:,} complete, {s['chinese']:,} Chinese), {s['first']} to {s['last']};"
        f" {s['sources']:,} sources; {s['entities']:,} entities, {s['entity_links']:,} event-entity links"
        f" (median entity: {s['entity_median_events']} events; {s['entities_10k_plus']} entities in ≥ 10,000 events;"
        f" most linked: {top}); {s['archive_related']:,} archive Related items."
    )
    out(f"Corpus: `{r['corpus']}`.")
    out("")
    if "postgresql" in r:
        out(postgres.render(r))
    return "\n".join(lines)


def render_results(results: dict[str, dict[str, Any]]) -> str:
    head = [
        "# Chronicle at scale: benchmark results",
        "",
        "Produced by `python -m benchmarks.run` (see its `--help`; README: *Benchmarks*). Each",
        "section is one archive size; re-running a size replaces its section. The synthetic",
        "archive is described in `benchmarks/corpus.py`; targets are those of issue 7. Why a",
        "target is missed, and what was tried: [FINDINGS.md](FINDINGS.md).",
        "",
    ]
    body = [render_size(results[k]) for k in sorted(results, key=int)]
    return "\n".join(head + body)


def print_summary(r: dict[str, Any]) -> None:
    print(f"\n{r['events']:,} events")
    for name, value, target, passed in headline_checks(r):
        mark = "" if passed is None else ("PASS" if passed else "MISS")
        print(f"  {name:<42} {value:>16}   target {target:<18} {mark}")
    for row in r["lookups"]:
        print(
            f"  {row['name']:<34} p50 {_ms(row['p50']):>7} p99 {_ms(row['p99']):>7} ms"
            f"   bare p50 {_ms(row['bare_p50']):>6} p99 {_ms(row['bare_p99']):>6}"
            f"   x{_ratio(row['p50'], row['bare_p50']):>7} x{_ratio(row['p99'], row['bare_p99']):>7}"
        )
    if "postgresql" in r:
        print("\n".join(postgres.summary_lines(r)))


def save(out: Path, run: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge this run's sizes into out's .json twin and regenerate out from all of them."""
    store = out.with_suffix(".json")
    results: dict[str, dict[str, Any]] = {}
    if store.exists():
        with contextlib.suppress(ValueError):
            results = json.loads(store.read_text())
    for size, result in run.items():
        earlier = results.get(size, {})
        if "import" not in result and "import" in earlier:
            # A --skip-markdown run does not import: the last import measured still stands.
            result["import"], result["floor"] = earlier["import"], earlier["floor"]
            if "import_bound" in earlier:
                result["import_bound"] = earlier["import_bound"]
            result["import_run"] = earlier.get("import_run") or {
                k: earlier.get(k) for k in ("date", "command", "code", "machine")
            }
    results.update(run)
    store.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n")
    # Sections other benchmarks wrote (news channels, the portal, ...) stay as they are.
    others = sections_not_matching(out, SIZE_HEADING)
    out.write_text("\n\n".join([render_results(results).rstrip("\n"), *others]) + "\n")
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events", type=int, nargs="+", default=[100_000], metavar="N", help="archive sizes"
    )
    parser.add_argument(
        "--queries", type=int, default=1000, metavar="N", help="inputs per lookup row"
    )
    parser.add_argument(
        "--slash", type=int, metavar="N", help="interactions per slash row (default: --queries)"
    )
    parser.add_argument("--channels", type=int, default=1000, metavar="N", help="digest channels")
    parser.add_argument("--seed", type=int, default=1990)
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="cached corpora and run databases"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results Markdown (and its .json twin)"
    )
    parser.add_argument(
        "--skip-markdown",
        action="store_true",
        help="build the database straight from the corpus: no Markdown files, no import figures",
    )
    parser.add_argument("--skip-slash", action="store_true", help="do not run the bot process")
    parser.add_argument(
        "--row-budget",
        type=float,
        default=900.0,
        metavar="S",
        help="seconds per lookup row before it stops early",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: also copy each archive into PostgreSQL and measure it there",
    )
    parser.add_argument(
        "--postgres-url",
        default=postgres.DEFAULT_URL,
        metavar="URL",
        help="the PostgreSQL server (its database is where the run's are created:"
        " chronicle_bench_<events>, dropped and created again by each run, then kept)",
    )
    parser.add_argument(
        "--throughput",
        type=int,
        default=2000,
        metavar="N",
        help="interactions per throughput run on PostgreSQL (one bot process, then two)",
    )
    args = parser.parse_args(argv)
    args.slash = args.slash if args.slash is not None else args.queries
    if min(args.events) < 10 or args.queries < 1 or args.channels < 1 or args.slash < 1:
        parser.error("--events must be at least 10; --queries, --slash, --channels at least 1")
    args.command = "python -m benchmarks.run " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    return args


async def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    term = Terminal()
    info = machine()
    done: dict[str, dict[str, Any]] = {}
    for events in args.events:
        started = dt.datetime.now(dt.UTC)
        code = code_version()
        result = await run_size(args, events, term)
        if code_version() != code:
            # The tree changed under the run: say so rather than claim either version.
            code = f"{code} at the start, {code_version()} at the end (changed during the run)"
        result |= {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": args.command,
            "machine": info,
            "code": code,
            "wall_s": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        }
        done[str(events)] = result
        print_summary(result)
        save(args.out, {str(events): result})
        term.note(f"wrote {args.out}")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
