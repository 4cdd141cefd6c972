"""`chronicle migrate --to postgresql://...`: the SQLite archive copied into PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import Settings
from storage import Storage, StorageError

if TYPE_CHECKING:
    from storage.postgres.transfer import Step

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def postgresql_url(value: str) -> str:
    """--to's check; the message never repeats the value (it may hold a password)."""
    if not value.lower().startswith(POSTGRESQL_SCHEMES):
        raise argparse.ArgumentTypeError(
            "must be a PostgreSQL URL: postgresql://user:password@host:5432/database"
        )
    return value


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("must be a whole number, 1 or more")
    return int(value)


class CopyProgress:
    """Each table's rows, percent and rate on stderr: a line rewritten on a terminal, a
    line per tenth (and per table) otherwise."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._shown: tuple[str, int] = ("", -1)

    def __call__(self, step: Step) -> None:
        percent = 100 * step.done // step.total if step.total else 100
        rate = f", {step.copied / step.seconds:,.0f} rows/s" if step.seconds > 0 and step.copied else ""
        line = f"{step.table}: {step.done:,}/{step.total:,} rows ({percent}%{rate})"
        finished = step.done >= step.total
        if self.tty:
            self.stream.write(f"\r\x1b[K{line}" + ("\n" if finished else ""))
        elif (step.table, percent // 10) != self._shown and (finished or step.total >= 10_000):
            self._shown = (step.table, percent // 10)
            self.stream.write(line + "\n")
        self.stream.flush()


async def cmd_migrate(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    # Imported here: asyncpg loads only for the command that needs it.
    from storage.postgres import transfer, transfer_check
    from storage.postgres.db import redacted

    if not isinstance(settings.database, Path):
        print(
            "chronicle: the archive to copy is not a SQLite file: name it with --db"
            " (migrate copies a SQLite archive into PostgreSQL)",
            file=sys.stderr,
        )
        return 1
    where = redacted(args.to)
    source = Path(storage.location)  # its full path, as messages name it
    try:
        # Not open_storage: an unfinished copy in it, refused to any other command, is
        # the one to go on with.
        target = await transfer.open_target(args.to)
    except StorageError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    print(f"Copying {source} into {where}", file=sys.stderr)
    started = time.monotonic()
    try:
        report = await transfer.copy_archive(
            source, target, batch=args.batch, progress=CopyProgress()
        )
        print(
            f"Copied {sum(report.rows.values()):,} rows ({report.rows['events']:,} events)"
            f"{' (resumed)' if report.resumed else ''} in {report.seconds:.1f} s; checking",
            file=sys.stderr,
        )
        check = await transfer_check.verify(source, storage, target, sample=args.sample)
        if check.ok:
            await transfer.finish(target)
    except StorageError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        print(
            "\nchronicle: interrupted; run the same command again to continue where it stopped",
            file=sys.stderr,
        )
        raise
    except Exception as exc:
        if (failure := target.explain(exc)) is None:
            raise
        print(f"chronicle: {failure}", file=sys.stderr)
        print("Run the same command again to continue where it stopped.", file=sys.stderr)
        return 1
    finally:
        await target.close()
    for problem in check.problems:
        print(f"  mismatch: {problem}", file=sys.stderr)
    for what in check.reordered:
        print(
            f"  note: {what} finds the same events in another order: each database ranks"
            " with its own full-text index",
            file=sys.stderr,
        )
    elapsed = time.monotonic() - started
    if not check.ok:
        print(
            f"The copy in {where} differs from {source} in"
            f" {len(check.problems)} of {check.checks} checks.",
        )
        return 1
    print(
        f"Migrated {source} to {where} in {elapsed:.1f} s: {check.checks} checks,"
        " all the same. Set CHRONICLE_DATABASE_URL to it to use it.",
    )
    return 0
