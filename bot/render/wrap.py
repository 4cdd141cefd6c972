"""Text wrapped for a terminal: columns counted as a terminal counts them (Chinese and
Japanese characters take two), lines broken where the script allows."""

from __future__ import annotations

import unicodedata

TEXT_WIDTH = 88  # when the output is not a terminal
MIN_ROOM = 20  # columns a hanging indent leaves for text, at least, on a narrow terminal
_CLOSING = frozenset({"Pe", "Pf", "Po"})  # punctuation that ends what it follows
_OPENING = frozenset({"Ps", "Pi"})  # punctuation that starts what follows it


def _columns(text: str) -> int:
    """How many terminal columns text takes: Chinese and Japanese characters take two."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _units(text: str) -> list[tuple[bool, str]]:
    """Text as the pieces a line may break between, each with whether a space comes before
    it: words, and each wide (Chinese, Japanese) character alone, as those scripts break
    between any two characters; but never before a comma or a closing bracket that
    follows without a space, nor after an opening bracket."""
    units: list[tuple[bool, str]] = []
    space = glue = False
    word = ""

    def add(unit: str) -> None:
        nonlocal space, glue
        if units and (glue or (not space and unicodedata.category(unit[0]) in _CLOSING)):
            units[-1] = (units[-1][0], units[-1][1] + unit)
        else:
            units.append((space, unit))
        space = False
        glue = unicodedata.category(unit[-1]) in _OPENING

    for char in text:
        if char.isspace():
            if word:
                add(word)
                word = ""
            space = True
        elif unicodedata.east_asian_width(char) in "WF":
            if word:
                add(word)
                word = ""
            add(char)
        else:
            word += char
    if word:
        add(word)
    return units


def hang(text: str, first: str = "", rest: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Text wrapped to `width` columns: its first line after `first`, the others after
    `rest` (a hanging indent as wide as `first` unless given), so that a list stays
    readable. Nothing is cut: a word longer than a line (a URL, a key) is kept whole."""
    rest = " " * _columns(first) if rest is None else rest
    rest = rest[: max(0, min(len(rest), width - MIN_ROOM))]
    lines: list[str] = []
    line, used, empty = first, _columns(first), True
    for space, unit in _units(text):
        size = _columns(unit)
        gap = 1 if space and not empty else 0
        if not empty and used + gap + size > width:
            lines.append(line.rstrip())
            line, used, empty, gap = rest, _columns(rest), True, 0
        line += " " * gap + unit
        used += gap + size
        empty = False
    lines.append(line.rstrip())
    return "\n".join(lines)
