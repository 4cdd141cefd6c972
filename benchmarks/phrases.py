"""Quoted phrases of every length searched, drawn from the archive's own texts.

    python -m benchmarks.phrases benchmarks/.work/run-1000000/chronicle.db

A phrase of common words that rarely meet in a row is FTS5's slowest kind of search: it
checks the positions of every event holding all the words, however few hold the phrase.
The scale benchmark's searches quote two or three words of a headline; this quotes runs of
two to five words, stop words and all, from English headlines and summaries, searches for
each as /search does, and prints p50, p99 and the largest with the slowest phrases.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from functools import partial
from pathlib import Path

from benchmarks.keystrokes import Sweep, sweep
from benchmarks.queries import sample
from bot.services import lookups
from storage import Storage

_WORD = re.compile(r"[^\W_]+")
SEARCH_LIMIT = 11  # a /search page and one more, as the scale benchmark asks


def phrases(texts: Sequence[str], rng: random.Random) -> list[str]:
    """One quoted run of two to five words from each text that has two words or more."""
    quoted = []
    for text in texts:
        words = _WORD.findall(text)
        if len(words) < 2:
            continue
        length = rng.randint(2, min(5, len(words)))
        start = rng.randrange(len(words) - length + 1)
        quoted.append('"' + " ".join(words[start : start + length]) + '"')
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phrases", description=__doc__)
    parser.add_argument("database", type=Path, help="a database the scale benchmark made")
    parser.add_argument("--phrases", type=int, default=1000, help="phrases searched")
    parser.add_argument("--over", type=float, default=50.0, help="count inputs slower (ms)")
    parser.add_argument("--seed", type=int, default=1990)
    args = parser.parse_args(argv)
    if not args.database.is_file():
        parser.error(f"no database at {args.database}")
    result = asyncio.run(measure(args.database, count=args.phrases, seed=args.seed))
    print(result.summary(args.over))
    for ms, text in result.slowest():
        print(f"  {ms:8.1f} ms  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
