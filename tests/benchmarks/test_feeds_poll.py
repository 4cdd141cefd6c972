"""The feed polling benchmark, run small so that it keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import feeds_poll


async def test_three_rounds_do_what_they_say(tmp_path: Path) -> None:
    results = await feeds_poll.run(
        feeds=20, entries=5, concurrency=8, servers=2, entities=300, db_path=tmp_path / "b.db"
    )
    first, cached, changed = results
    assert [r.name for r in results] == ["first poll", "all 304", "one new entry each"]
    assert all(r.feeds == 20 and r.ok == 20 and r.failed == 0 for r in results)
    # Every entry became an event; each feed's copy of its neighbour's story joined it.
    assert first.new_events == 20 * 5
    assert cached.new_events == 0 and changed.new_events == 20
    assert all(r.seconds > 0 and r.feeds_per_second > 0 for r in results)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = feeds_poll.main(["--feeds", "6", "--entries", "3", "--entities", "50"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("6 feeds x 3 entries, concurrency 16")
    for name in ("first poll", "all 304", "one new entry each"):
        assert name in out
    assert out.count("feeds/s") == 3
