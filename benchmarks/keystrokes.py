"""Autocomplete at every keystroke, as Discord asks for it while someone types.

    python -m benchmarks.keystrokes benchmarks/.work/run-1000000/chronicle.db

The scale benchmark's autocomplete rows draw one input per query, so a kind of input that
is rare in its draw hardly moves their p99. This types headlines (their first 45
characters, as written: punctuation and all) and entity names (their first 30) one
character at a time, and times the suggestions for every prefix: a kind of input slow at
any keystroke shows among the slowest, however rare. Each input is timed once, after a
warm-up of a few; p50, p99 and the largest are printed with the slowest inputs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.queries import percentile, sample
from storage import open_storage

HEADLINE_CHARS = 45
CHINESE_CHARS = 14
NAME_CHARS = 30
WARM_UP = 20
SHOWN = 15

Suggest = Callable[[str], Awaitable[object]]


@dataclass(slots=True)
class Sweep:
    name: str
    times_ms: list[tuple[float, str]] = field(default_factory=list)

    def summary(self, over_ms: float) -> str:
        values = [ms for ms, _ in self.times_ms]
        over = sum(ms > over_ms for ms in values)
        return (
            f"{self.name}: {len(values):,} inputs, p50 {percentile(values, 50):.1f} ms,"
            f" p99 {percentile(values, 99):.1f} ms, largest {max(values, default=0):.1f} ms;"
            f" {over} over {over_ms:g} ms"
        )

    def slowest(self, count: int = SHOWN) -> list[tuple[float, str]]:
        return sorted(self.times_ms, reverse=True)[:count]


def keystrokes(texts: Sequence[str], chars: int) -> list[str]:
    """Every prefix of each text's first `chars` characters, one more character each."""
    return [text[:end] for text in texts for end in range(1, min(len(text), chars) + 1)]


async def sweep(name: str, suggest: Suggest, inputs: Sequence[str]) -> Sweep:
    for text in inputs[:WARM_UP]:
        await suggest(text)
    result = Sweep(name)
    for text in inputs:
        started = time.perf_counter()
        await suggest(text)
        result.times_ms.append(((time.perf_counter() - started) * 1000, text))
    return result


async def measure(
    database: Path, *, headlines: int, chinese: int, names: int, seed: int
) -> list[Sweep]:
    """The sweeps of headline and entity-name autocomplete over texts drawn from the
    database: `headlines` English headlines and `chinese` Chinese ones typed, `names`
    entity names (a third of them from the most common entities)."""
    with closing(sqlite3.connect(database)) as bare:
        drawn = sample(bare, random.Random(f"{seed}:keystrokes"), max(headlines, names))
    english = [row[2].lower() for row in drawn.events if row[3] != "zh"][:headlines]
    typed = keystrokes(english, HEADLINE_CHARS)
    typed += keystrokes([row[2] for row in drawn.zh_events[:chinese]], CHINESE_CHARS)
    popular = [row[1] for row in drawn.hot_entities[: names // 3]]
    named = keystrokes([*popular, *(row[1] for row in drawn.entities)][:names], NAME_CHARS)
    async with await open_storage(database) as storage:
        return [
            await sweep("headlines", storage.search.suggest_headlines, typed),
            await sweep("entity names", storage.entities.suggest, named),
        ]


def existing_database(path: str) -> Path:
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"no database at {path}")
    return Path(path)


def sweep_parser(prog: str, description: str | None, *, over_ms: float) -> argparse.ArgumentParser:
    """The arguments every sweep takes: the database, --over and --seed."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "database", type=existing_database, help="a database the scale benchmark made"
    )
    parser.add_argument("--over", type=float, default=over_ms, help="count inputs slower (ms)")
    parser.add_argument("--seed", type=int, default=1990)
    return parser


def print_sweep(result: Sweep, over_ms: float) -> None:
    print(result.summary(over_ms))
    for ms, text in result.slowest():
        print(f"  {ms:8.1f} ms  {text!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = sweep_parser("python -m benchmarks.keystrokes", __doc__, over_ms=20.0)
    parser.add_argument("--headlines", type=int, default=150, help="English headlines typed")
    parser.add_argument("--chinese", type=int, default=40, help="Chinese headlines typed")
    parser.add_argument("--names", type=int, default=150, help="entity names typed")
    args = parser.parse_args(argv)
    sweeps = asyncio.run(
        measure(
            args.database,
            headlines=args.headlines,
            chinese=args.chinese,
            names=args.names,
            seed=args.seed,
        )
    )
    for result in sweeps:
        print_sweep(result, args.over)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
