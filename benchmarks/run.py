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
import datetime as dt
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.machine import code_version, machine
from benchmarks.run_measure import run_size
from benchmarks.run_report import print_summary, save
from benchmarks.terminal import Terminal

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "RESULTS.md"
DEFAULT_WORKDIR = HERE / ".work"


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
