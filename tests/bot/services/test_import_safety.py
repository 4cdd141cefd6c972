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
    assert result.stdout.startswith("Imported 1 file: 0 new,")
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


async def test_a_page_cut_short_is_suspect_and_kept_incomplete(
    storage: Storage, tmp_path: Path
) -> None:
    """A page that ends mid-headline (no Sources, no line break at its end: the archive's
    generator ends every file with one) is reported, and its event stays incomplete; the
    whole page completes it, and a cut copy never spoils a complete event."""
    whole = SAMPLE_NEWS / "2014" / "11" / "8"
    page = next(p for p in whole.glob("north-korea*.md"))
    text = page.read_text(encoding="utf-8")
    headline_at = text.index("# North Korea")
    cut = tmp_path / "news" / "2014" / "11" / "8" / page.name  # laid out as the archive is
    cut.parent.mkdir(parents=True)
    cut.write_text(text[: headline_at + 40], encoding="utf-8")
    report = await import_archive(storage, [cut])
    assert report.ok and report.new == 0 and report.incomplete == 1
    ((path, reason),) = [(s.path, s.reason) for s in report.suspect]
    assert path == str(cut)
    assert reason == (
        "ends mid-line ('# North Korea releases American detainee'): cut short? kept as an"
        " incomplete event"
    )
    key = "2014/11/8/north-korea-releases-american-detainees-kenneth-bae-and-matthew-todd-miller"
    stub = await storage.events.get_by_key(key)  # the file's path names the event
    assert stub is not None and not stub.complete
    done = await import_archive(storage, [page])
    assert done.new == 1
    event = await storage.events.get_by_key(key)
    assert event is not None and event.complete
    again = await import_archive(storage, [cut])
    after = await storage.events.get(event.id)
    assert again.suspect and after is not None and after.complete
    assert after.headline == event.headline and after.sources == event.sources
