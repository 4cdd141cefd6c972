"""The cells of the benchmark reports' tables, shared by the SQLite and PostgreSQL reports."""

from __future__ import annotations

from typing import Any


def verdict(passed: bool | None) -> str:
    return "" if passed is None else ("PASS" if passed else "**MISS**")


def ms(value: float | None, missing: str = "n/a") -> str:
    """Milliseconds, to a precision that fits their size."""
    if value is None or value != value:  # None or NaN
        return missing
    if value < 1:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def slowest(row: dict[str, Any]) -> str:
    """A lookup row's slowest inputs: their times in ms, and the inputs cut short."""
    return "; ".join(f"{t:.0f} `{label[:70]}`" for t, label in row["slowest"])
