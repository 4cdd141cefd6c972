"""Parsing a day page of the Current events portal: a real day's size, and a vandal's.

    python -m benchmarks.portal_parse [--rounds 3]

Times parse_day (the best of --rounds) on the real day pages the tests hold, then on the
shapes a vandal could save (under MediaWiki's 2 MB page limit): 4,000 flat bullets, and a
list nested 100, 200 and 300 deep with 1,000 to 3,000 items under its deepest topic.
Figures in FINDINGS.md, "Portal day pages".
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from bot.ingest.portal import parse_day

DAY = dt.date(2024, 1, 8)
REAL_PAGES = Path("tests/data/wikipedia")


def page(body: str) -> str:
    return (
        "{{Current events|year=2024|month=01|day=8|content=\n"
        "<!-- All news items below this line -->\n'''Armed conflicts and attacks'''\n"
        f"{body}\n<!-- All news items above this line -->\n}}}}"
    )


def nested(depth: int, items: int) -> str:
    topics = "\n".join("*" * (level + 1) + f"[[Topic {level}]]" for level in range(depth))
    leaves = "\n".join("*" * (depth + 1) + f"Item {n} of a vandal's list." for n in range(items))
    return page(f"{topics}\n{leaves}")


def shapes() -> list[tuple[str, str]]:
    real = [(path.name, path.read_text()) for path in sorted(REAL_PAGES.glob("*.wiki"))]
    flat = page("\n".join(f"*Vandal line {n} was here {n * 7}." for n in range(4000)))
    vandal = [
        (f"nested {d} deep, {n:,} items", nested(d, n))
        for d, n in ((100, 1000), (200, 2000), (300, 3000))
    ]
    return [*real, ("flat, 4,000 bullets", flat), *vandal]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'page':<32} {'size':>9} {'items':>6} {'best':>9}")
    for label, text in shapes():
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            day = parse_day(DAY, text)
            times.append(time.perf_counter() - started)
        size = f"{len(text.encode()) / 1000:,.0f} kB"
        print(f"{label:<32} {size:>9} {len(day.items):>6} {min(times):8.3f} s")


if __name__ == "__main__":
    main()
