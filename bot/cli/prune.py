"""`chronicle prune`: the digest runs and deliveries nothing can look up any more deleted
now (the bot does it once a day), and with --vacuum a SQLite file made smaller."""

from __future__ import annotations

import argparse
import datetime as dt

from bot.cli.output import print_json
from bot.config import Settings
from bot.console import TerminalProgress
from bot.services.ledgers import compaction_summary, prune_ledgers, prune_summary
from storage import Storage
from storage.ledgers import PruneStep


class PruneProgress:
    """A progress line per ledger on a terminal; a log line per tenth of a big one else."""

    def __init__(self) -> None:
        self._lines: dict[str, TerminalProgress] = {}

    def __call__(self, step: PruneStep) -> None:
        line = self._lines.setdefault(
            step.table, TerminalProgress(f"pruning {step.table}", unit="rows", quiet_below=10_000)
        )
        line(step.examined, step.candidates)


async def cmd_prune(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    # With --vacuum the database is held (no bot beside it): bot.cli.app takes it before opening.
    progress = None if args.json else PruneProgress()
    report = await prune_ledgers(storage, now=dt.datetime.now(dt.UTC), progress=progress)
    compaction = await storage.compact() if args.vacuum else None
    if args.json:
        result = report.as_dict()
        if args.vacuum:
            result["vacuum"] = (
                None
                if compaction is None
                else {
                    "bytes_before": compaction.bytes_before,
                    "bytes_after": compaction.bytes_after,
                    "given_back": compaction.given_back,
                }
            )
        print_json(result)
        return 0
    print(prune_summary(report))
    if args.vacuum:
        print(compaction_summary(storage.location, compaction))
    return 0
