"""Live digests at Discord's rate limits: thousands of servers, one ingest's events each.

    python -m benchmarks.news_channels                        # 200 servers x 5 channels: 1,000
    python -m benchmarks.news_channels --servers 2000 --write # the issue's 10,000 live digests

Every text channel of --servers servers (--channels-per-server each) has a live 'new' digest,
made straight in storage (``storage.digests.upsert``: 10,000 slash commands would measure
something else). The real ChronicleBot (bot.client, in this process) connects to the loopback
Discord stand-in of tests/e2e, run in a child process of its own so that Discord's side shares
neither the bot's event loop nor its CPU. The stand-in enforces Discord's limits with real 429s
(50 requests a second over the whole bot, 5 messages per 5 seconds per channel). One ingest of
--events announced events then arrives, as a feed poll brings it: ``bot.announce()`` kicks a
live round, and every digest posts its message through bot.pacing.PostPacer.

Figures: the round's wall time (kick to its end) against the theoretical minimum at those
limits (posts / 50 per second: with one post per channel the channel limit does not bind),
429s answered, posts lost (digests whose channel got no message) and duplicated (one message
twice in a channel), the pacer's counters, the bot's CPU time, event-loop lag and peak RSS
(VmHWM, reset when the bot starts), and, apart, its start-up with that many servers and
digests (GUILD_CREATE of every server, the catch-up of every digest). The scheduler is paused
(no feed polls or sweeps meanwhile): the round is the only work.

Importing tests.e2e (the stand-in and the harness) from a benchmark is deliberate, as
benchmarks.slash and benchmarks.feeds_poll do with tests' servers: the stand-in is what makes
Discord's limits measurable here. Its channel lookup is indexed in MeasuredStandIn: the stand-in
finds a channel's server by scanning every server's channels (3 ms a lookup at 10,000 channels,
a handful of lookups a post), which at this size would be a cost of the stand-in, not the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.news_channels_measure import measure
from benchmarks.news_channels_report import FINDINGS, RESULTS, print_figures, write

COMMAND = "python -m benchmarks.news_channels"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--servers", type=int, default=200, metavar="N", help="servers (200)")
    parser.add_argument(
        "--channels-per-server",
        type=int,
        default=5,
        metavar="N",
        help="text channels per server, each with a live digest (5)",
    )
    parser.add_argument(
        "--events", type=int, default=3, metavar="N", help="announced events in the ingest (3)"
    )
    parser.add_argument(
        "--no-archive", action="store_true", help="no sample archive in the database"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the database here (default: a temporary folder)"
    )
    parser.add_argument(
        "--write", action="store_true", help="record the figures in RESULTS.md and FINDINGS.md"
    )
    args = parser.parse_args(argv)
    if min(args.servers, args.channels_per_server, args.events) < 1:
        parser.error("--servers, --channels-per-server and --events must be at least 1")
    args.command = " ".join(
        [COMMAND, shlex.join(argv if argv is not None else sys.argv[1:])]
    ).strip()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = asyncio.run(
        measure(
            servers=args.servers,
            channels=args.channels_per_server,
            events=args.events,
            archive=not args.no_archive,
            workdir=args.workdir,
        )
    )
    print_figures(figures)
    if args.write:
        write(figures, args.command)
        print(f"wrote {RESULTS.name} and {FINDINGS.name}", file=sys.stderr)
    return 0 if figures.lost == 0 and figures.short == 0 and figures.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
