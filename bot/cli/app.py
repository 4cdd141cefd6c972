"""The command line's body, loaded by `bot.cli.main`: settings, the database, dispatch."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from bot.cli.output import text_width
from bot.cli.parser import (
    build_parser,
    cmd_feeds_add,
    cmd_import,
    cmd_migrate,
    cmd_prune,
    cmd_run,
    cmd_wikipedia_pull,
)
from bot.config import ConfigError, Settings
from bot.console import (
    as_typed,
    configure_logging,
    not_text,
    pipe_closed,
    printable,
    printable_stdout,
    protect_stderr,
)
from bot.errors import UserError
from bot.render.wrap import hang
from storage import StorageError, held_by_one_bot, open_storage

log = logging.getLogger("chronicle")


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    why = _why_alone(args)
    with ExitStack() as held:
        if why is not None:
            creates = args.handler in CREATE_DATABASE
            try:
                held.enter_context(held_by_one_bot(settings.database, create=creates))
            except StorageError as exc:  # a bot holds it
                print(f"chronicle: {exc}: {why}", file=sys.stderr)
                return 1
        return await _open_and_run(args, settings)


def _why_alone(args: argparse.Namespace) -> str | None:
    """Why this command needs the database to itself, taken before it is opened (a newer
    Chronicle refused must not have upgraded the schema under a running bot); None when it
    runs beside the bot."""
    if args.handler is cmd_run:
        return (
            "one SQLite file serves one bot process. Stop the other one first; to run several"
            " processes, use PostgreSQL (README: Running at scale)"
        )
    if args.handler is cmd_migrate:
        return "stop it first: it would change the file while it is copied"
    if args.handler is cmd_prune and args.vacuum:
        return (
            "VACUUM rewrites the whole file, and the bot would wait for it. Stop the bot first,"
            " or prune without --vacuum (which runs beside the bot; the space it frees is"
            " used again for new rows)"
        )
    return None


async def _open_and_run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        storage = await open_storage(settings.database, create=args.handler in CREATE_DATABASE)
    except StorageError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    try:
        return await args.handler(args, settings, storage)
    except StorageError as exc:
        print(f"chronicle: {printable(str(exc))}", file=sys.stderr)
        return 1
    except UserError as exc:
        print(f"chronicle: {printable(exc.message)}", file=sys.stderr)
        if exc.suggestions:
            print("Did you mean:", file=sys.stderr)
            keys = exc.keys if getattr(args, "keys", False) else []
            for index, suggestion in enumerate(exc.suggestions):
                print(hang(printable(suggestion), "  ", "    ", text_width()), file=sys.stderr)
                if index < len(keys):
                    print(f"    key: {printable(keys[index])}", file=sys.stderr)
        return 1
    except Exception as exc:
        if (problem := storage.explain(exc)) is None:
            raise
        log.debug("the database failed", exc_info=True)
        print(f"chronicle: {problem}", file=sys.stderr)
        return 1
    finally:
        await storage.close()


# Commands that bring events in may start a new database; lookups of a path that holds
# none say so, rather than making an empty one.
CREATE_DATABASE = frozenset({cmd_import, cmd_run, cmd_feeds_add, cmd_wikipedia_pull})


def run(argv: Sequence[str] | None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if (bad := next((a for a in raw if not_text(a)), None)) is not None:
        print(
            f"chronicle: the argument '{as_typed(bad)}' is not text in UTF-8; type it again"
            " (or set your terminal to UTF-8)",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(raw)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"chronicle: {exc}", file=sys.stderr)
        return 2
    if args.db is not None:
        settings = dataclasses.replace(settings, database=args.db, database_notice=None)
    if args.handler is cmd_run:
        from bot.cli.run import run_refusal

        if (refused := run_refusal(args, settings)) is not None:
            print(refused, file=sys.stderr)
            return 2
    protect_stderr(settings.discord_token)
    printable_stdout()
    configure_logging(settings.log_level_number)
    for notice in settings.notices:
        log.warning(notice)
    if settings.database_notice:
        log.warning(settings.database_notice)
    _quiet_threads()
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return pipe_closed()
    except Exception as exc:  # a bug: one line here, the traceback in the log at DEBUG
        log.debug("unexpected error", exc_info=True)
        print(
            f"chronicle: unexpected error ({type(exc).__name__}: {exc});"
            " LOG_LEVEL=DEBUG shows where",
            file=sys.stderr,
        )
        return 1


class _QuietAfterTheLoop:
    """A database connection Ctrl-C left opening has its thread finish the statement under
    way, then find no event loop to hand the result to: nothing went wrong that the person
    who stopped the command should read about as a traceback. Other errors of threads are
    reported as before."""

    def __init__(self, previous: Callable[[threading.ExceptHookArgs], Any]):
        self.previous = previous

    def __call__(self, hook: threading.ExceptHookArgs) -> None:
        if isinstance(hook.exc_value, RuntimeError) and str(hook.exc_value) == LOOP_CLOSED:
            log.debug("a database thread ended after the command", exc_info=hook.exc_value)
            return
        self.previous(hook)


LOOP_CLOSED = "Event loop is closed"


def _quiet_threads() -> None:
    if not isinstance(threading.excepthook, _QuietAfterTheLoop):
        threading.excepthook = _QuietAfterTheLoop(threading.excepthook)
