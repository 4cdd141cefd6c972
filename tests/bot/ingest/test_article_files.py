"""What `import-articles` will read: a regular file of at most 1 MB of text. A device
(/dev/zero), a pipe, a folder, a huge file or binary data is refused at once with its
reason, never read to the end (the audit saw /dev/zero take 8 GB in seconds, and a 300 MB
file of NULs take 34 s to be called "no event matches well enough")."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ingest.articles import MAX_ARTICLE_BYTES, ArticleFormatError, read_article_file
from bot.services.imports import import_articles
from storage import Storage
from tests.bot.test_cli_failures import environment
from tests.conftest import SEED_ARTICLES, SEED_PAGES


def refusal(path: Path | str) -> str:
    with pytest.raises(ArticleFormatError) as refused:
        read_article_file(path)
    assert refused.value.path == str(path)
    return refused.value.reason


def test_an_article_file_is_read_whole() -> None:
    assert read_article_file(SEED_ARTICLES[0]) == SEED_ARTICLES[0].read_bytes()


def test_a_device_or_a_pipe_is_not_read() -> None:
    assert refusal("/dev/zero") == "not a regular file (a device, a pipe or a socket): not read"


def test_a_pipe_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it would wait for a writer for ever
    assert refusal(tmp_path / "fifo") == (
        "not a regular file (a device, a pipe or a socket): not read"
    )


def test_a_link_to_a_device_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    assert refusal(tmp_path / "zero.txt").startswith("not a regular file")


def test_a_folder_and_a_missing_file_say_so(tmp_path: Path) -> None:
    assert refusal(tmp_path) == "is a folder: name the article files in it"
    assert refusal(tmp_path / "missing.txt") == "no such file"
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere")
    assert refusal(tmp_path / "dangling.txt") == f"a link to nothing ({tmp_path / 'nowhere'})"


def test_a_file_over_the_limit_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as file:
        file.truncate(300 * 1024 * 1024)  # sparse: no disk, no time
    assert refusal(big) == "300.0 MB, more than the 1 MB an article's text can be: not read"
    at_limit = tmp_path / "limit.txt"
    at_limit.write_bytes(b"a" * MAX_ARTICLE_BYTES)
    assert len(read_article_file(at_limit)) == MAX_ARTICLE_BYTES


async def test_binary_data_and_other_encodings_are_refused_with_their_reason(
    storage: Storage, tmp_path: Path
) -> None:
    (tmp_path / "nul.txt").write_bytes(b"Headline of a story here\n\n\0\0\0")
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 story headline here now".encode("latin-1"))
    outcomes = await import_articles(
        storage, [tmp_path / "nul.txt", tmp_path / "latin1.txt", "/dev/zero"]
    )
    assert [(Path(o.path).name, o.reason) for o in outcomes] == [
        ("nul.txt", "binary data, not an article's text (a NUL byte at offset 26)"),
        ("latin1.txt", "not UTF-8 text (byte 0xe9 at offset 3)"),
        ("zero", "not a regular file (a device, a pipe or a socket): not read"),
    ]
    assert not any(o.attached for o in outcomes)


def test_import_articles_of_dev_zero_ends_at_once_in_little_memory(tmp_path: Path) -> None:
    """The command as the audit ran it, in a process of its own with its memory capped at
    1 GB (it had grown to 8 GB): one line per file, exit status 1, no traceback."""
    big = tmp_path / "big.txt"
    with big.open("wb") as file:
        file.truncate(300 * 1024 * 1024)

    env = environment(LOG_LEVEL="WARNING")
    bot = [sys.executable, "-m", "bot", "--db", "a.db"]
    made = subprocess.run([*bot, "import", str(SEED_PAGES[0])], cwd=tmp_path, env=env, timeout=60)
    assert made.returncode == 0

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    started = time.monotonic()
    result = subprocess.run(
        [*bot, "import-articles", "/dev/zero", "big.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap_memory,
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "unmatched: /dev/zero: not a regular file (a device, a pipe or a socket): not read",
        "unmatched: big.txt: 300.0 MB, more than the 1 MB an article's text can be: not read",
    ]
