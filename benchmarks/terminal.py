"""One updating status line on the terminal for a long benchmark run."""

from __future__ import annotations

import sys
import time
from typing import Any


class Terminal:
    """One updating status line on a terminal; occasional plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.started = time.perf_counter()

    def step(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < (0.2 if self.tty else 15.0):
            return
        self.last = now
        pct = 100 * done / total if total else 100
        text = f"  {label}: {done:,}/{total:,} ({pct:.0f}%)"
        if self.tty:
            print("\r\033[K" + text, end="" if done < total else "\n", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        if self.tty:
            print("\r\033[K", end="", file=sys.stderr)
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:7.1f}s] {text}", file=sys.stderr, flush=True)

    def counter(self, label: str) -> Any:
        return lambda done, total: self.step(label, done, total)
