"""The news-channel benchmark, run tiny so that it keeps working: the real bot posts every
live digest once to the stand-in enforcing Discord's limits, and the figures say so."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks import news_channels, news_channels_report
from benchmarks.news_channels_measure import Figures, measure, minimum_seconds
from benchmarks.news_channels_report import HEADER, SECTION, STARTUP_HEADER, _table_rows, write
from tests.e2e.standin.records import RateLimits


async def test_every_live_digest_posts_once_within_the_limits() -> None:
    figures = await measure(servers=4, channels=2, events=3, archive=False, ready_wait=0.05)
    assert figures.guilds_seen == 4 and figures.digests == 8
    assert figures.posts == figures.posts_expected == 8  # one message a digest
    assert figures.lost == figures.short == figures.duplicated == 0
    assert figures.global_429s == figures.channel_429s == 0
    assert figures.runs == {"sent": 8} and figures.pacer["grants"] == 8
    assert figures.minimum_s == pytest.approx(8 / 50)
    assert figures.wall_s >= figures.span_s > 0 and figures.lead_s > 0
    assert figures.bot_peak_rss_mb > 0 and figures.startup["total_s"] > 0


async def test_429s_are_counted_and_nothing_is_lost_to_them() -> None:
    """A stand-in tighter than the pacer (4 requests a second against its 45): the bot gets
    429s, discord.py waits them out, and every digest still posts exactly once."""
    limits = RateLimits(global_per_second=4, global_window=0.5, channel_messages=(5, 5.0))
    figures = await measure(
        servers=4, channels=2, events=3, archive=False, ready_wait=0.05, limits=limits
    )
    assert figures.global_429s > 0
    assert figures.posts == 8 and figures.lost == figures.duplicated == 0
    assert figures.minimum_s == pytest.approx(8 * 0.5 / 4)
    assert figures.wall_s >= 0.5  # the last 4 posts wait for the stand-in's second window


def test_minimum_at_the_limits() -> None:
    discord = RateLimits()
    assert minimum_seconds([1] * 10_000, discord) == pytest.approx(200.0)
    # One channel with 11 posts: two full windows of 5 s before its last burst.
    assert minimum_seconds([11], discord) == pytest.approx(10.0)


def test_command_line_records_its_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results, findings = tmp_path / "RESULTS.md", tmp_path / "FINDINGS.md"
    results.write_text("# Results\n\n## 100,000 events\n\nkept\n", encoding="utf-8")
    findings.write_text("# Findings\n\n## search\n\nkept too\n", encoding="utf-8")
    monkeypatch.setattr(news_channels_report, "RESULTS", results)
    monkeypatch.setattr(news_channels_report, "FINDINGS", findings)
    argv = ["--servers", "3", "--channels-per-server", "2", "--no-archive", "--write"]
    assert news_channels.main(argv) == 0
    out = capsys.readouterr().out
    assert "3 × 2 channels: 6 live digests" in out and "lost 0, short 0, duplicated 0" in out

    text = results.read_text(encoding="utf-8")
    assert text.count(SECTION) == 1 and "kept" in text
    command = "python -m benchmarks.news_channels --servers 3 --channels-per-server 2"
    assert f"`{command} --no-archive --write`" in text
    assert "| 3 × 2 | 6 | 6 of 6 |" in text
    note = findings.read_text(encoding="utf-8")
    assert "kept too" in note and "From the run of 6 live digests" in note

    # Another size adds its rows and keeps these; the same size replaces its own.
    first = _table_rows(text, HEADER)["3 × 2"]
    last = dataclasses.replace(Figures(0, 0, 0), servers=3)
    bigger = dataclasses.replace(last, servers=2000, channels_per_server=5, digests=10_000)
    bigger.startup = dict.fromkeys(("total_s", "setup_s", "identify_to_guilds_sent_s"), 1.0)
    bigger.startup |= {"ready_s": 1.0, "catch_up_s": 1.0, "startup_round_s": 0.5}
    bigger.pacer = {"mean_wait_s": 1.0, "max_queue": 1, "grants": 1, "backoffs": 0}
    bigger.wall_s = bigger.minimum_s = bigger.pacer_s = bigger.span_s = 1.0
    write(bigger, "python -m benchmarks.news_channels --servers 2000 --write")
    text = results.read_text(encoding="utf-8")
    rows = _table_rows(text, HEADER)
    assert list(rows) == ["3 × 2", "2,000 × 5"] and rows["3 × 2"] == first
    assert list(_table_rows(text, STARTUP_HEADER)) == list(rows)
    assert "From the run of 10,000 live digests" in findings.read_text(encoding="utf-8")
    # A smaller run after it leaves the note about the larger one.
    assert news_channels.main(argv) == 0
    assert "From the run of 10,000 live digests" in findings.read_text(encoding="utf-8")
    assert results.read_text(encoding="utf-8").count(SECTION) == 1
