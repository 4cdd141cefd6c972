"""Importing archive files and article texts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot import render
from bot.cli.output import print_json
from bot.config import Settings
from bot.console import TerminalProgress
from bot.services import imports
from storage import Storage


def print_import_report(report: imports.ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    print(
        f"Imported {render.count(report.files, 'file')}: {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.failed)} failed"
        + (f", {len(report.suspect)} suspect" if report.suspect else "")
        + (f", {report.replaced} older versions folded in" if report.replaced else "")
        + (f", {report.superseded} outdated versions skipped" if report.superseded else "")
        + (
            f"; {render.count(report.incomplete, 'more event')} known only by links to them"
            if report.incomplete
            else ""
        )
    )
    for failure in report.failed:
        print(f"  failed: {failure.path}: {failure.reason}", file=sys.stderr)
    for suspect in report.suspect:
        print(f"  suspect: {suspect.path}: {suspect.reason}", file=sys.stderr)
    for skipped in report.skipped:
        print(f"  skipped: {skipped.path}: {skipped.reason}", file=sys.stderr)


class ImportProgress:
    """The progress line (none with --json), and how far the import got."""

    def __init__(self, shown: TerminalProgress | None):
        self.shown = shown
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.shown is not None:
            self.shown(done, total)

    def interrupted(self) -> str:
        """What to say when Ctrl-C stopped the import (between two of its batches)."""
        again = "run the same command again to finish"
        if not self.done:
            return f"interrupted before any file was imported; {again}"
        files = render.count(self.total, "file")
        return f"interrupted: {self.done:,} of {files} imported so far; {again}"

    @property
    def mid_line(self) -> bool:
        """Whether a progress line on a terminal is waiting for its end."""
        return self.shown is not None and self.shown.tty and 0 < self.done < self.total


async def cmd_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    progress = ImportProgress(TerminalProgress("importing") if not args.json else None)
    try:
        report = await imports.import_archive(
            storage, args.paths, progress=progress, announce=args.announce
        )
    except asyncio.CancelledError:
        end = "\n" if progress.mid_line else ""
        print(f"{end}chronicle: {progress.interrupted()}", file=sys.stderr)
        raise  # asyncio.run makes it a KeyboardInterrupt: exit status 130
    print_import_report(report, args.json)
    return 0 if report.ok else 1


async def cmd_import_articles(
    args: argparse.Namespace, settings: Settings, storage: Storage
) -> int:
    outcomes = await imports.import_articles(storage, args.files, event_key=args.event)
    if args.json:
        print_json(
            [
                {
                    "path": o.path,
                    "event": o.event_key,
                    "score": o.score,
                    "attached": o.attached,
                    "already_attached": o.already,
                    "reason": o.reason,
                    "candidates": [{"key": k, "score": round(s, 3)} for k, s in o.candidates],
                }
                for o in outcomes
            ]
        )
    else:
        for o in outcomes:
            score = f" (score {o.score:.2f})" if o.score is not None else ""
            if o.reason:
                print(f"unmatched: {o.path}: {o.reason}")
            elif o.already:
                print(f"already attached: {o.path} -> {o.event_key}")
            else:
                print(f"attached: {o.path} -> {o.event_key}{score}\n  {o.headline}")
    return 0 if all(o.reason is None for o in outcomes) else 1
