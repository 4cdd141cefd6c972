"""The FTS5 fill experiment runs, and each way indexes every row."""

from __future__ import annotations

from pathlib import Path

from benchmarks.fts_fill import fill


def test_every_way_indexes_every_row(tmp_path: Path) -> None:
    rows = [(n, f"Headline {n} about the rain", f"Summary {n}") for n in range(1, 3001)]
    rows += [(n, f"Headline {n}", "nothing here") for n in range(3001, 4001)]
    seconds, found = fill(rows, tmp_path / "fts.db", probe="rain")
    ways = {"direct", "trigger", "bulk", "batches", "batches, automerge 16"}
    assert set(seconds) == ways
    assert found == dict.fromkeys(ways, 3000)
