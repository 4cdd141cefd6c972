"""The portal benchmark, run small so that it keeps working: its pages are day pages,
its backfill goes through the real service over HTTP, and it records what it measured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from benchmarks import wikipedia
from bot.ingest.portal import parse_day


def test_generated_pages_read_as_the_portal_s() -> None:
    for date, text in wikipedia.pages(dt.date(2023, 1, 1), 20):
        day = parse_day(date, text)
        assert day.warnings == ()
        assert 4 <= len({item.category for item in day.items}) <= 8
        assert all(item.sources and len(item.entities) >= 5 for item in day.items)


async def test_a_small_backfill_is_measured_through_the_service() -> None:
    figures = await wikipedia.backfill(days=60, interval=0)
    assert figures.report.ok and figures.report.fetched == 60
    assert figures.page_requests == 2  # 50 days a request
    assert figures.titles_resolved > 0
    # Each title asked about once, 50 a request: one part-filled request per batch of days.
    fewest = -(-figures.titles_resolved // 50)
    assert fewest <= figures.title_requests <= fewest + 1
    assert figures.events == figures.report.new > 60 * 10
    assert figures.aliases > 0  # some link targets are redirects


def test_command_line_records_its_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## 100,000 events\n\nkept\n", encoding="utf-8")
    monkeypatch.setattr(wikipedia, "RESULTS", results)
    for _ in range(2):  # a second run replaces its section, not adds one
        assert (
            wikipedia.main(["--days", "10", "--interval", "0", "--parse-days", "5", "--write"]) == 0
        )
    out = capsys.readouterr().out
    assert "parse: 5 pages" in out and "backfill of 10 days, 0 s apart" in out
    text = results.read_text(encoding="utf-8")
    assert text.count(wikipedia.SECTION) == 1 and "kept" in text
    assert "`python -m benchmarks.wikipedia --days 10 --interval 0 --parse-days 5 --write`" in text
    assert "| requests: day pages (50 a request) | 1 |" in text
