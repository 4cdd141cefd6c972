"""Quoted phrases of every length searched, drawn from the archive's own texts.

    python -m benchmarks.phrases benchmarks/.work/run-1000000/chronicle.db

A phrase of common words that rarely meet in a row is FTS5's slowest kind of search: it
checks the positions of every event holding all the words, however few hold the phrase.
The scale benchmark's searches quote two or three words of a headline; this quotes runs of
two to five words, stop words and all, from English headlines and summaries, searches for
each as /search does, and prints p50, p99 and the largest with the slowest phrases. Then
the same for runs of Chinese from Chinese events, a space put inside each ("中国 政府"),
as people type them.
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
from storage import open_storage
from storage.textindex import CJK_RUN

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


def spaced_chinese(texts: Sequence[str], rng: random.Random) -> list[str]:
    """One quoted run of four to eight Chinese characters from each text that has one, with
    a space where a reader might put one ("中国 政府"): the text runs them together."""
    quoted = []
    for text in texts:
        runs = [run for run in CJK_RUN.findall(text) if len(run) >= 4]
        if not runs:
            continue
        run = rng.choice(runs)
        length = rng.randint(4, min(8, len(run)))
        start = rng.randrange(len(run) - length + 1)
        piece = run[start : start + length]
        cut = rng.randrange(1, length)
        quoted.append(f'"{piece[:cut]} {piece[cut:]}"')
    return quoted


def _texts(bare: sqlite3.Connection, ids: Sequence[int], rng: random.Random) -> list[str]:
    """The headline or the summary of each event, at random."""
    marks = ",".join("?" * len(ids))
    rows = bare.execute(
        f"SELECT headline, summary FROM events WHERE id IN ({marks}) ORDER BY id", list(ids)
    ).fetchall()
    return [row[rng.random() < 0.5] or row[0] for row in rows]


async def measure(database: Path, *, count: int, seed: int) -> list[Sweep]:
    """Two sweeps of up to `count` phrases each: from the headline or the summary of an
    English event, and of a Chinese one, spaced apart."""
    rng = random.Random(f"{seed}:phrases")
    chinese_rng = random.Random(f"{seed}:chinese phrases")
    with closing(sqlite3.connect(database)) as bare:
        drawn = sample(bare, rng, count)
        english = _texts(bare, [row[0] for row in drawn.events if row[3] != "zh"][:count], rng)
        chinese = _texts(bare, [row[0] for row in drawn.zh_events][:count], chinese_rng)
    async with await open_storage(database) as storage:
        search = partial(lookups.search, storage, limit=SEARCH_LIMIT)
        return [
            await sweep("quoted phrases", search, phrases(english, rng)),
            await sweep(
                "Chinese phrases spaced apart", search, spaced_chinese(chinese, chinese_rng)
            ),
        ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = sweep_parser("python -m benchmarks.phrases", __doc__, over_ms=50.0)
    parser.add_argument("--phrases", type=int, default=1000, help="phrases searched")
    args = parser.parse_args(argv)
    for result in asyncio.run(measure(args.database, count=args.phrases, seed=args.seed)):
        print_sweep(result, args.over)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
