"""The ledgers benchmark writes a day's rows at the soak review's scale, and its prunes keep
exactly the last two weeks."""

from __future__ import annotations

from pathlib import Path

from benchmarks.ledgers import LIVE, ON_THIS_DAY, POLLS_A_DAY, measure_sqlite

RUNS_A_DAY = LIVE * POLLS_A_DAY + 30 * 24 + 50 + ON_THIS_DAY  # 3,750


async def test_sixteen_days_are_pruned_to_fourteen(tmp_path: Path) -> None:
    measured = await measure_sqlite(tmp_path / "ledgers.db", days=16, per_poll=1)
    assert measured.rows_a_day["digest_runs"] == RUNS_A_DAY
    daily, backlog = measured.daily_prune, measured.backlog_prune
    assert daily.runs_removed == backlog.runs_removed == RUNS_A_DAY  # a day's, each
    assert daily.deliveries_removed > 0 and backlog.deliveries_removed > 0
    assert measured.kept["digest_runs"] == 14 * RUNS_A_DAY
    assert measured.vacuum is not None and measured.vacuum["given_back"] > 0
