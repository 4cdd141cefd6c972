"""The scale benchmark, run small (1,000 events) so that it keeps working.

Its figures are not checked here (a 1,000-event archive says nothing about a million);
that it produces every one of them, and that its corpus is what the archive parser reads,
is.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import pytest

from benchmarks import queries, run, run_report
from benchmarks.corpus_model import Corpus, CorpusSpec
from benchmarks.corpus_pages import day_path
from bot.ingest.archive import ParsedDay, parse_file
from bot.services.imports import import_archive
from storage import open_storage


@pytest.fixture(scope="module")
def small_corpus() -> Corpus:
    return Corpus(CorpusSpec(400, seed=7))


def test_the_corpus_is_what_the_parser_reads(small_corpus: Corpus, tmp_path: Path) -> None:
    """Markdown output and record output are one archive: every file parses to its record."""
    small_corpus.write_markdown(tmp_path)
    records = list(small_corpus.records())
    paths = [
        tmp_path / tree / day_path(dt.date.fromordinal(ordinal)) / name
        for tree, ordinal, files in small_corpus.file_order()
        for name, _ in files
    ]
    assert len(paths) == len(records) == sum(1 for _ in tmp_path.rglob("*.md"))
    for path, record in zip(paths, records, strict=True):
        parsed = parse_file(path, path.read_bytes())
        assert (parsed.entries if isinstance(parsed, ParsedDay) else parsed) == record, path
    kinds = {type(r).__name__ for r in records}
    assert kinds == {"PageRecord", "tuple"}  # pages and day indexes
    assert any(r.lang == "zh" for r in records if not isinstance(r, tuple))


def test_the_corpus_is_deterministic(small_corpus: Corpus) -> None:
    again = Corpus(CorpusSpec(400, seed=7))
    assert again.key == small_corpus.key and again.headline == small_corpus.headline
    assert again.draft(17).markdown() == small_corpus.draft(17).markdown()
    assert Corpus(CorpusSpec(400, seed=8)).key != small_corpus.key


async def test_both_outputs_make_the_same_database(small_corpus: Corpus, tmp_path: Path) -> None:
    """Straight into the database (import_batch) = importing the Markdown files."""
    small_corpus.write_markdown(tmp_path / "archive")
    async with await open_storage(tmp_path / "files.db") as storage:
        report = await import_archive(
            storage, [tmp_path / "archive" / "news", tmp_path / "archive" / "news-zh"]
        )
        assert report.ok
    async with await open_storage(tmp_path / "direct.db") as storage:
        await small_corpus.write_database(storage, batch_pages=150)

    def contents(path: Path) -> dict[str, object]:
        with sqlite3.connect(path) as db:
            return {
                "events": db.execute(
                    "SELECT key, date, headline, summary, story, lang, complete FROM events ORDER BY key"
                ).fetchall(),
                "links": db.execute(
                    "SELECT e.key, en.name FROM event_entities ee JOIN events e ON e.id = ee.event_id"
                    " JOIN entities en ON en.id = ee.entity_id ORDER BY 1, 2"
                ).fetchall(),
                "search": db.execute(
                    "SELECT COUNT(*) FROM event_search WHERE event_search MATCH 'the'"
                ).fetchone(),
            }

    assert contents(tmp_path / "files.db") == contents(tmp_path / "direct.db")


def test_a_small_run_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    code = run.main(
        [
            "--events", "1000",
            "--queries", "20",
            "--slash", "8",
            "--channels", "10",
            "--workdir", str(tmp_path / "work"),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.with_suffix(".json").read_text())["1000"]

    assert result["import"]["events"] >= 1000 and result["import"]["events_per_second"] > 0
    assert result["floor"]["seconds"] > 0 and result["floor"]["rows"]["events"] >= 1000
    assert result["import_bound"]["events_per_second"] > 0
    assert [row["name"] for row in result["lookups"]] == [spec.name for spec in queries.ROWS]
    for row in result["lookups"]:
        assert row["n"] == 20, row["name"]
        assert math.isfinite(row["p50"]) and math.isfinite(row["p99"]), row["name"]
        assert row["bare_failed"] is None and row["bare_p99"] is not None, row["name"]
    assert len(result["slash"]) == 4
    for row in result["slash"]:
        assert row["n"] == 8 and row["lost"] == 0, row
    assert result["bot"]["peak_rss_mb"] > 0
    assert result["digests"]["digests"] == 20 and result["digests"]["seconds"] > 0
    assert result["db"]["bytes"] > 0 and result["shape"]["events"] >= 1000

    text = out.read_text()
    assert "## 1,000 events" in text and "python -m benchmarks.run --events 1000" in text
    for name in [spec.name for spec in queries.ROWS] + [
        "/event autocomplete",
        "bot peak RSS",
        "at best on this machine",
    ]:
        assert name in text
    # Re-running (another size, or the same) keeps what the results file already holds.
    # ... and the sections other benchmarks wrote.
    out.write_text(out.read_text() + "\n## News channels: live digests\n\nTheir table.\n")
    run_report.save(out, {"5": dict(result, events=5)})
    text = out.read_text()
    assert "## 1,000 events" in text and "## 5 events" in text
    assert text.rstrip().endswith("## News channels: live digests\n\nTheir table.")
    # A run without Markdown keeps the size's last import figures, and says which run they
    # are from.
    imported = ("import", "floor", "import_bound")
    lookups_only = {k: v for k, v in result.items() if k not in imported}
    run_report.save(out, {"1000": dict(lookups_only, date="a later day")})
    kept = json.loads(out.with_suffix(".json").read_text())["1000"]
    assert all(kept[k] == result[k] for k in imported)
    assert kept["import_run"]["date"] == result["date"] and kept["date"] == "a later day"
    assert f"From the run of {result['date']}" in out.read_text()


def test_a_run_without_markdown_builds_the_database_directly(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    argv = [
        "--events",
        "300",
        "--queries",
        "5",
        "--channels",
        "4",
        "--skip-markdown",
        "--skip-slash",
    ]
    argv += ["--workdir", str(tmp_path / "work"), "--out", str(out)]
    assert run.main(argv) == 0
    result = json.loads(out.with_suffix(".json").read_text())["300"]
    assert "import" not in result and result["direct_import"]["seconds"] > 0
    assert result["shape"]["complete"] == 300 and "slash" not in result
    assert "Not measured in this run (`--skip-markdown`)" in out.read_text()
    # The second run takes the cached database.
    assert run.main(argv) == 0
    again = json.loads(out.with_suffix(".json").read_text())["300"]
    assert again["direct_import"]["cached"] is True
