"""What reaches the terminal: progress lines, log lines, and failures as one clear line.

The command line and the bot write to the terminal through here, so that two promises hold
in one place: the token never appears (every write to stderr is redacted, log lines and
tracebacks included), and nothing a person sees is a traceback (a closed pipe ends the
program quietly, as Unix tools do; an argument that is not text is refused).
"""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
from typing import TextIO

log = logging.getLogger("chronicle")

CLOSED_PIPE = 128 + signal.SIGPIPE  # the status a shell shows for a program a pipe closed on
REDACTED = "[token]"


# Control characters but the line break and the tab: text from an archive or a feed that
# holds them (ESC sequences retitle or clear a terminal) is printed without them.
_CONTROLS = dict.fromkeys(
    [c for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"]
)


def printable(text: str) -> str:
    """Text without the control characters a terminal would obey."""
    return text.translate(_CONTROLS)


class _WrappedStream(io.TextIOBase):
    """A text stream that writes to another, changing what is written."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


class RedactingStream(_WrappedStream):
    """A text stream that writes to another with a secret replaced, whoever writes."""

    def __init__(self, stream: TextIO, secret: str):
        super().__init__(stream)
        self.secret = secret

    def write(self, text: str) -> int:
        self.stream.write(text.replace(self.secret, REDACTED))
        return len(text)


class PrintableStream(_WrappedStream):
    """A text stream that writes to another without control characters (`printable`)."""

    def write(self, text: str) -> int:
        self.stream.write(printable(text))
        return len(text)


def printable_stdout() -> None:
    """From now on, what is written to stdout (lookups' text: headlines, names, sources)
    reaches the terminal without control characters."""
    if not isinstance(sys.stdout, PrintableStream):
        sys.stdout = PrintableStream(sys.stdout)


def protect_stderr(secret: str | None) -> None:
    """From now on, the secret is replaced wherever it would be written to stderr."""
    if secret and not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr, secret)


# The name of the handler configure_logging puts on the root logger.
CONSOLE_HANDLER = "chronicle.console"


def configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(CONSOLE_HANDLER)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs two INFO lines for every run of every job (the checks run each
    # minute: thousands of lines a day from an idle bot); its warnings (a run missed or
    # skipped) still show. At DEBUG, which jobs ran is worth seeing.
    logging.getLogger("apscheduler").setLevel(
        logging.INFO if level <= logging.DEBUG else max(level, logging.WARNING)
    )


def not_text(argument: str) -> bool:
    """Whether a command-line argument held bytes that are not UTF-8 (Python keeps them as
    lone surrogates, which nothing can print)."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def as_typed(argument: str) -> str:
    """An argument shown as the bytes that were typed."""
    return repr(argument.encode("utf-8", "surrogateescape"))[2:-1]


def pipe_closed() -> int:
    """The reader of stdout went away (``| head -1``): stop quietly, as Unix tools do.
    stdout is pointed at /dev/null so that flushing it at exit raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return CLOSED_PIPE


class TerminalProgress:
    """A progress line on a terminal; occasional log lines otherwise."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        unit: str = "files",
        quiet_below: int = 1000,
    ):
        self.label = label
        self.stream = stream or sys.stderr
        self.unit = unit
        self.quiet_below = quiet_below  # off a terminal, totals below this log nothing
        self.tty = self.stream.isatty()
        self._last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if self.tty:
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{self.label}: {done}/{total} {self.unit} ({percent}%){end}")
            self.stream.flush()
        elif total >= self.quiet_below and percent // 10 != self._last_tenth:
            self._last_tenth = percent // 10
            log.info("%s: %d/%d %s (%d%%)", self.label, done, total, self.unit, percent)
