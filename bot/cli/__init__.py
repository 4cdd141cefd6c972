"""The `chronicle` command line: run the bot, import, and look things up.

Lookups print what the bot would say, as text or (with --json) as JSON. Exit status: 0
when all went well, 1 when something was not found, was invalid or failed to import, 2 for
a command-line mistake, 130 when stopped with Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Sequence

INTERRUPTED = 130  # the status a shell shows for a program Ctrl-C stopped


def main(argv: Sequence[str] | None = None) -> int:
    """`chronicle`. Its modules load here, not on import: Ctrl-C while they load (seconds on
    a busy machine) stops it as Ctrl-C does later, with no traceback."""
    try:
        from bot.cli.app import run

        return run(argv)
    except KeyboardInterrupt:
        return INTERRUPTED
