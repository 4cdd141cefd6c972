"""Quoted phrases of every length searched, drawn from the archive's own texts.

    python -m benchmarks.phrases benchmarks/.work/run-1000000/chronicle.db

A phrase of common words that rarely meet in a row is FTS5's slowest kind of search: it
checks the positions of every event holding all the words, however few hold the phrase.
The scale benchmark's searches quote two or three words of a headline; this quotes runs of
two to five words, stop words and all, from English headlines and summaries, searches for
each as /search does, and prints p50, p99 and the largest with the slowest phrases.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from functools import partial
from pathlib import Path

from benchmarks.keystrokes import Sweep, print_sweep, sweep, sweep_parser
from benchmarks.queries import sample, words_of
from bot.services import lookups
from storage import Storage

SEARCH_LIMIT = 11  # a /search page and one more, as the scale benchmark asks


def phrases(texts: Sequence[str], rng: random.Random) -> list[str]:
    """One quoted run of two to five words from each text that has two words or more."""
    quoted = []
    for text in texts:
        found = words_of(text)
        if len(found) < 2:
            continue
        length = rng.randint(2, min(5, len(found)))
        start = rng.randrange(len(found) - length + 1)
        quoted.append('"' + " ".join(found[start : start + length]) + '"')
    return quoted


async def measure(database: Path, *, count: int, seed: int) -> Sweep:
    """The sweep of `count` phrases, each from a headline or a summary of an English event."""
    rng = random.Random(f"{seed}:phrases")
    with closing(sqlite3.connect(database)) as bare:
        ids = [row[0] for row in sample(bare, rng, count).events if row[3] != "zh"][:count]
        marks = ",".join("?" * len(ids))
        rows = bare.execute(
            f"SELECT headline, summary FROM events WHERE id IN ({marks}) ORDER BY id", ids
        ).fetchall()
    texts = [row[rng.random() < 0.5] or row[0] for row in rows]
    async with await Storage.open(database) as storage:
        search = partial(lookups.search, storage, limit=SEARCH_LIMIT)
        return await sweep("quoted phrases", search, phrases(texts, rng))


def main(argv: Sequence[str] | None = None) -> int:
    parser = sweep_parser("python -m benchmarks.phrases", __doc__, over_ms=50.0)
    parser.add_argument("--phrases", type=int, default=1000, help="phrases searched")
    args = parser.parse_args(argv)
    print_sweep(asyncio.run(measure(args.database, count=args.phrases, seed=args.seed)), args.over)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
