"""The tagging self-evaluation, run on the small samples so that it keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import tagging
from storage import open_storage
from tests.conftest import SAMPLE_NEWS, TEST_DATA


async def test_leave_one_day_out_scores_both_editions(sample_database: Path) -> None:
    async with await open_storage(sample_database) as storage:
        archive = await tagging.load(storage, with_mentions=True)
    report = tagging.evaluate(archive, progress=False)
    assert set(report.counts) == {"en", "zh"}
    for counts in report.counts.values():
        assert counts.events > 0 and counts.tp > 0
        assert 0 < counts.precision <= 1 and 0 < counts.recall <= 1
    text = tagging.render(report, command="python -m benchmarks.tagging", label="test")
    assert "| en |" in text and "| zh |" in text and "related@10" in text


def test_a_miss_and_a_false_tag_are_classified() -> None:
    assert tagging.classify_miss(["Syria"], "Syrian refugees") == "word form"
    assert tagging.classify_miss(["Al-Qa'im"], "Fighting near Al Qaim") == "variant"
    assert tagging.classify_miss(["Iraqi Civil War"], "Fighting near Mosul") == "not in the text"
    assert tagging.classify_false(["United States"], "United States Federal Reserve", 0.0) == (
        "partial name"
    )
    assert tagging.classify_false(["murder"], "A murder in Leeds", 0.0) == "generic word"


def test_command_line_writes_nothing_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = tagging.main([str(SAMPLE_NEWS), str(TEST_DATA / "news-zh"), "--examples", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("### Entity tagging, now: run ")
    assert "python -m benchmarks.tagging" in out
