"""What every command's output shares: the width text wraps to, JSON on stdout, moments."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from typing import Any

from bot import render


def text_width() -> int:
    """The columns text is wrapped to: the terminal's (or $COLUMNS), else render's 88."""
    return shutil.get_terminal_size((render.TEXT_WIDTH, 24)).columns or render.TEXT_WIDTH


def words(value: str | list[str]) -> str:
    """A query typed as several arguments (`chronicle search Syria -Russia`) as one text."""
    return value if isinstance(value, str) else " ".join(value)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def when(moment: dt.datetime | None) -> str:
    """A moment as the terminal shows it, or "never" for one that has not come yet."""
    return render.utc_minute(moment) if moment else "never"
