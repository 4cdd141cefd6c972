"""The scale benchmark's PostgreSQL path, run small (300 events) so that it keeps working.

Its figures are not checked (a tiny archive on a shared machine says nothing): that the
archive is migrated and every figure is produced, and written beside SQLite's, is.
Skipped without a server (CHRONICLE_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from pathlib import Path

import pytest

from benchmarks import queries, run
from tests.support import postgres

URL = os.environ.get("CHRONICLE_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="CHRONICLE_TEST_DATABASE_URL is not set")


def test_a_small_postgresql_run_produces_every_figure(tmp_path: Path) -> None:
    assert URL is not None
    out = tmp_path / "RESULTS.md"
    argv = [
        "--events", "300",
        "--queries", "5",
        "--slash", "4",
        "--throughput", "12",
        "--channels", "4",
        "--skip-markdown",
        "--backend", "postgresql",
        "--postgres-url", URL,
        "--workdir", str(tmp_path / "work"),
        "--out", str(out),
    ]  # fmt: skip
    try:
        assert run.main(argv) == 0
    finally:  # the benchmark keeps its database to be looked at; a test leaves nothing
        bench = postgres.with_database(URL, "chronicle_bench_300")
        asyncio.run(postgres.drop_database(URL, bench))
    result = json.loads(out.with_suffix(".json").read_text())["300"]
    pg = result["postgresql"]

    assert pg["migrate"]["rows"]["events"] == result["shape"]["events"]
    assert pg["migrate"]["seconds"] > 0 and not pg["migrate"]["problems"]
    assert "chronicle_bench_300" in pg["database"]
    assert [row["name"] for row in pg["lookups"]] == [spec.name for spec in queries.ROWS]
    for row in pg["lookups"]:
        assert row["n"] == 5 and math.isfinite(row["p99"]), row["name"]
    assert len(pg["slash"]) == 4
    for row in pg["slash"]:
        assert row["n"] == 4 and row["lost"] == 0, row
    assert [t["processes"] for t in pg["throughput"]] == [1, 2]
    for t in pg["throughput"]:
        assert t["sent"] == 12 and t["answered"] + t["late"] == 12 and not t["lost"], t
        assert len(t["per_guild"]) == 2, t  # both shards' servers were answered
    assert pg["digests"]["digests"] == 8 and pg["db"]["bytes"] > 0
    # SQLite's figures are measured in the same run, as without --backend.
    assert result["lookups"][0]["bare_p99"] is not None and len(result["slash"]) == 4

    text = out.read_text()
    assert "### PostgreSQL, beside SQLite" in text and "**migrate**" in text
    assert "answered/s" in text
