"""The writer-only import profile imports what a plain import does, and times its statements."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.import_writer import main, profile_writer
from bot.services.imports import import_archive
from storage import open_storage
from tests.conftest import SAMPLE_NEWS, TEST_DATA


def _archive(tmp_path: Path) -> Path:
    archive = tmp_path / "archive"
    shutil.copytree(SAMPLE_NEWS, archive / "news")
    shutil.copytree(TEST_DATA / "news-zh", archive / "news-zh")
    return archive


async def test_the_profile_imports_like_a_plain_import(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    profile = await profile_writer(archive, tmp_path / "profiled.db")

    async with await open_storage(tmp_path / "plain.db") as storage:
        report = await import_archive(storage, [archive / "news", archive / "news-zh"])
        assert report.ok
        assert profile.events == (await storage.stats()).events > 41

    inserts = [name for name in profile.statement_calls if name.startswith("INSERT INTO events")]
    assert inserts, profile.statement_calls
    assert 0 < profile.in_statements <= profile.seconds


def test_the_command_prints_the_slowest_statements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "w.db"
    main([str(_archive(tmp_path)), "--database", str(database), "--top", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert "events, writer" in lines[0]
    assert len(lines) == 4 and all("µs/event" in line for line in lines[1:])
    assert not database.exists()  # a scratch file
