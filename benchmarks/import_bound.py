"""How fast any import of an archive could be on this machine, whatever its writer.

    python -m benchmarks.import_bound benchmarks/.work/run-1000000/chronicle.db \\
        benchmarks/.work/corpus-1000000-*/archive

Two costs no import of these files into these tables avoids, each measured the cheapest way
known:

- storing: the rows the import left (DATABASE, as the floor copies them) loaded into a fresh
  database in one transaction, with the full-text indexes filled in bulk at the end and the
  other indexes built at the end (`importing.floor(..., indexed_after=True)`);
- parsing: reading and parsing a sample of ARCHIVE's files in this process, CPU time, the
  files already in the page cache.

SQLite writes a file from one thread, so an import takes at least the storing time; with
parsing spread perfectly over the machine's cores beside it, at least (storing + parsing) /
cores. The larger of the two bounds the import's rate. Handing records between processes and
everything else a real import does (keys, entities, Related lists) come on top.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.importing import FloorResult, floor
from bot.ingest.archive import iter_archive_files
from bot.services.imports import FileFailure, _read_and_parse

SAMPLE_FILES = 20_000  # parsed to time parsing


@dataclass(slots=True)
class ImportBound:
    events: int
    files: int
    storing: FloorResult
    parse_cpu_per_file: float  # seconds
    cores: int

    @property
    def storing_per_event(self) -> float:
        return self.storing.seconds / self.events

    @property
    def parsing_per_event(self) -> float:
        return self.parse_cpu_per_file * self.files / self.events

    @property
    def seconds_per_event(self) -> float:
        """Wall time an event takes at least: the writer's thread, or all cores busy."""
        both = (self.storing_per_event + self.parsing_per_event) / self.cores
        return max(self.storing_per_event, both)

    @property
    def events_per_second(self) -> float:
        return 1 / self.seconds_per_event


def parse_cpu_per_file(files: Sequence[Path], sample: int) -> float:
    """CPU seconds to read and parse a file, over `sample` files spread through the list.
    Read once beforehand: from the page cache, reading costs least (at 1,000,000 files, read
    from disk, parsing took 333 µs of CPU a file against 204 µs at 100,000)."""
    chosen = files[:: max(1, len(files) // sample)][:sample]
    for path in chosen:
        path.read_bytes()
    started = time.process_time()
    parsed = _read_and_parse(chosen)
    seconds = time.process_time() - started
    failed = [item for item in parsed if isinstance(item, FileFailure)]
    if failed:
        raise RuntimeError(f"{len(failed)} sample files did not parse: {failed[:3]}")
    return seconds / len(chosen)


async def measure(
    database: Path, archive: Path, scratch: Path, sample: int = SAMPLE_FILES
) -> ImportBound:
    files = list(iter_archive_files([archive / "news", archive / "news-zh"]))
    per_file = parse_cpu_per_file(files, sample)
    storing = await floor(database, scratch, indexed_after=True)
    return ImportBound(storing.rows["events"], len(files), storing, per_file, os.cpu_count() or 1)


def report(bound: ImportBound) -> str:
    us = 1e6
    lines = [
        f"{bound.events:,} events, {bound.files:,} files, {bound.cores} cores",
        f"storing: {bound.storing.seconds:.1f} s, {bound.storing_per_event * us:.0f} µs an event"
        " (one transaction, indexes filled at the end)",
    ]
    for part, seconds in sorted(bound.storing.table_seconds.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {seconds:8.2f} s  {part}")
    lines += [
        f"parsing: {bound.parse_cpu_per_file * us:.0f} µs of CPU a file,"
        f" {bound.parsing_per_event * us:.0f} µs an event",
        f"at best: {bound.seconds_per_event * us:.0f} µs an event,"
        f" {bound.events_per_second:,.0f} events/s",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.import_bound", description=__doc__.split("\n")[0]
    )
    parser.add_argument("database", type=Path, help="a database the scale benchmark imported")
    parser.add_argument("archive", type=Path, help="the folder holding its news/ and news-zh/")
    parser.add_argument("--sample", type=int, default=SAMPLE_FILES, help="files parsed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        bound = asyncio.run(
            measure(args.database, args.archive, Path(scratch) / "bound.db", args.sample)
        )
    print(report(bound))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
