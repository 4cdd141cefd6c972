"""Imports that are safe: what cannot be an archive file is reported with its path and the
reason, and read no further than an archive file can be; summaries count right after an
interrupted import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ingest.archive import MAX_FILE_BYTES
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import REPO, SAMPLE_NEWS, SEED_PAGES


def reasons(report: object) -> dict[str, str]:
    return {Path(f.path).name: f.reason for f in report.failed}  # type: ignore[attr-defined]


async def test_what_cannot_be_an_archive_file_is_reported_not_skipped(
    storage: Storage, tmp_path: Path
) -> None:
    tree = tmp_path / "news"
    tree.mkdir()
    (tree / "page.md").write_bytes(SEED_PAGES[0].read_bytes())
    (tree / "gone.md").symlink_to(tmp_path / "deleted.md")
    (tmp_path / "elsewhere").mkdir()
    (tree / "folder-link.md").symlink_to(tmp_path / "elsewhere")
    big = tree / "huge.md"
    with big.open("wb") as file:
        file.truncate(3 * 512 * 1024 * 1024)  # 1.5 GB, sparse: nothing is written
    report = await import_archive(storage, [tree, "/dev/zero"])
    assert report.new >= 1 and len(report.failed) == 4
    assert reasons(report) == {
        "gone.md": f"a link to nothing ({tmp_path / 'deleted.md'})",
        "folder-link.md": "is a link to a folder (not followed), named like an archive file",
        "huge.md": "1536.0 MB, more than the 1 MB an archive file can be: not read",
        "zero": "not a regular file (a device, a pipe or a socket)",
    }


async def test_a_file_just_over_the_limit_is_refused_and_one_at_it_read(
    storage: Storage, tmp_path: Path
) -> None:
    page = SEED_PAGES[0].read_bytes()
    at_limit = tmp_path / "at.md"
    at_limit.write_bytes(page + b"\n" * (MAX_FILE_BYTES - len(page)))
    over = tmp_path / "over.md"
    over.write_bytes(page + b"\n" * (MAX_FILE_BYTES + 1 - len(page)))
    report = await import_archive(storage, [at_limit, over])
    assert list(reasons(report)) == ["over.md"] and report.new == 1


def test_dev_zero_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "LOG_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", "c.db", "import", "/dev/zero"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO), "LOG_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("Imported 1 files: 0 new,")
    assert "failed: /dev/zero: not a regular file (a device, a pipe or a socket)" in result.stderr


async def test_an_import_run_again_after_an_interruption_counts_right(storage: Storage) -> None:
    """A first run stopped part-way (here: only 2017 imported, as an import killed after
    its first batches leaves it); the second run completes what the first knew only by
    links. Its summary counts what it did, never a negative number."""
    await import_archive(storage, [SAMPLE_NEWS / "2017"])
    row = await storage.db.fetchone("SELECT MAX(id) FROM events")
    assert row is not None
    second = await import_archive(storage, [SAMPLE_NEWS])
    still = await storage.db.fetchone(
        "SELECT COUNT(*) FROM events WHERE complete = 0 AND id > ?", (row[0],)
    )
    assert still is not None
    assert second.incomplete == still[0] >= 0
    completed = await storage.db.fetchone(
        "SELECT COUNT(*) FROM events WHERE complete = 1 AND id <= ?", (row[0],)
    )
    assert completed is not None and second.new > 0


@pytest.mark.parametrize("name", ["notes.txt", "page.md"])
async def test_a_named_file_that_does_not_exist_says_so(
    storage: Storage, tmp_path: Path, name: str
) -> None:
    report = await import_archive(storage, [tmp_path / name])
    assert reasons(report) == {name: "no such file"}
