"""The import's writer alone, statement by statement: where `chronicle import` spends its time.

    python -m benchmarks.import_writer benchmarks/.work/corpus-100000-*/archive

Every file under ARCHIVE/news and ARCHIVE/news-zh is parsed first, in this process and not
timed; then `import_archive` runs on a fresh database with its parsing replaced by handing
over those records, so what is timed is the writer: the database thread's statements and the
Python that prepares them. Each statement's time is that of its round trip through
aiosqlite's thread, added up by its first words.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import aiosqlite

from benchmarks.importing import remove_database
from bot.ingest.archive import iter_archive_files
from bot.services import imports
from storage import open_storage


@dataclass(slots=True)
class WriterProfile:
    events: int
    seconds: float
    statement_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    statement_calls: Counter[str] = field(default_factory=Counter)

    @property
    def in_statements(self) -> float:
        return sum(self.statement_seconds.values())


def _statement(fn: Callable[..., Any], args: Sequence[Any]) -> str:
    if args and isinstance(args[0], str):
        return " ".join(args[0].split())[:72]
    return getattr(fn, "__name__", "?")  # commit, close, cursor


async def profile_writer(archive: Path, database: Path) -> WriterProfile:
    files = list(iter_archive_files([archive / "news", archive / "news-zh"]))
    parsed = dict(zip(map(str, files), imports._read_and_parse(files), strict=True))
    profile = WriterProfile(0, 0.0)
    original = aiosqlite.Connection._execute

    async def timed(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, fn, *args)
        finally:
            name = _statement(fn, args)
            profile.statement_seconds[name] += time.perf_counter() - started
            profile.statement_calls[name] += 1

    def handed_over(paths: Sequence[Path]) -> list[Any]:
        return [parsed[str(p)] for p in paths]

    remove_database(database)
    storage = await open_storage(database)
    try:
        # No worker processes: the records are already parsed.
        with (
            mock.patch.object(imports, "_read_and_parse", handed_over),
            mock.patch.object(imports, "PARSE_AHEAD", len(files) + 1),
            mock.patch.object(aiosqlite.Connection, "_execute", timed),
        ):
            started = time.perf_counter()
            await imports.import_archive(storage, files)
            profile.seconds = time.perf_counter() - started
        profile.events = (await storage.stats()).events
    finally:
        await storage.close()
    return profile


def report(profile: WriterProfile, top: int) -> str:
    per_event = 1e6 / max(profile.events, 1)
    lines = [
        f"{profile.events:,} events, writer {profile.seconds:.1f} s"
        f" ({profile.seconds * per_event:.0f} µs an event), in statements"
        f" {profile.in_statements:.1f} s ({sum(profile.statement_calls.values()):,} calls)",
    ]
    # What Counter.most_common does (a Counter's values are ints, these are seconds).
    slowest = heapq.nlargest(top, profile.statement_seconds.items(), key=lambda item: item[1])
    for name, seconds in slowest:
        lines.append(
            f"{seconds:8.2f} s {profile.statement_calls[name]:7,} calls"
            f" {seconds * per_event:6.0f} µs/event  {name}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive", type=Path, help="a folder holding news/ and news-zh/")
    parser.add_argument("--database", type=Path, default=Path("import-writer.db"))
    parser.add_argument("--top", type=int, default=16, help="statements listed")
    args = parser.parse_args(argv)
    print(report(asyncio.run(profile_writer(args.archive, args.database)), args.top))
    remove_database(args.database)


if __name__ == "__main__":
    main()
