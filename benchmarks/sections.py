"""Sections of RESULTS.md and FINDINGS.md: each benchmark rewrites its own and keeps the
others'."""

from __future__ import annotations

import re
from pathlib import Path


def _pattern(heading: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)


def find_section(path: Path, heading: str) -> str | None:
    """The section under `heading` (a "## " line), up to the next one."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    found = _pattern(heading).search(text)
    return found.group() if found else None


def replace_section(path: Path, heading: str, section: str) -> None:
    """Put `section` (which starts with `heading`) in place of path's, or at its end."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = _pattern(heading)
    updated = (
        pattern.sub(lambda _: section.rstrip("\n") + "\n\n", current, count=1)
        if pattern.search(current)
        else current.rstrip("\n") + "\n\n" + section
    )
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def sections_not_matching(path: Path, heading: re.Pattern[str]) -> list[str]:
    """The sections of path whose "## " heading does not match: another benchmark's."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    parts = re.split(r"^(?=## )", text, flags=re.M)[1:]
    return [p.rstrip("\n") for p in parts if not heading.fullmatch(p.split("\n", 1)[0])]
