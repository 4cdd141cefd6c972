"""Failures of the command line as a person meets them: one clear line, a non-zero exit
status, never a traceback, never the token. Run as real subprocesses where the exit status
or the terminal is the point."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot import cli
from bot.cli import parser as cli_parser
from tests.conftest import REPO, SAMPLE_NEWS, SEED_PAGES

TOKEN = "MTIzNDU2Nzg5.secret-token.do-not-print"


def environment(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_", "LOG_"))
    }
    env.update(PYTHONPATH=str(REPO), **values)
    return env


def chronicle(tmp_path: Path, *args: str | bytes, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if not line[:4].isdigit()]  # no log lines
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chronicle: ")
    return lines[0]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`chronicle stats | true`: the reader is gone before Chronicle writes."""
    assert chronicle(tmp_path, "--db", "c.db", "import", str(SEED_PAGES[0])).returncode == 0
    read, write = os.pipe()
    os.close(read)
    process = subprocess.run(
        [sys.executable, "-m", "bot", "--db", "c.db", "stats"],
        cwd=tmp_path,
        env=environment(LOG_LEVEL="WARNING"),
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write)
    assert process.returncode == 141  # 128 + SIGPIPE, as a shell shows a Unix tool's
    assert process.stderr == ""


def test_an_argument_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    result = chronicle(tmp_path, "--db", "c.db", "entity", b"\xff")
    assert result.returncode == 2
    assert one_clear_line(result) == (
        "chronicle: the argument '\\xff' is not text in UTF-8; type it again"
        " (or set your terminal to UTF-8)"
    )
    assert not (tmp_path / "c.db").exists()


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    result = chronicle(tmp_path, "--db", "archive", "stats")
    assert result.returncode == 1
    assert one_clear_line(result) == (
        f"chronicle: {tmp_path / 'archive'} is a folder, not a database file: name a file in it"
    )


def test_a_file_that_is_not_a_database_is_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"my notes, not a database\n" * 100)
    result = chronicle(tmp_path, "--db", "notes.db", "stats")
    assert result.returncode == 1
    assert "notes.db is not a usable SQLite database: file is not a database" in one_clear_line(
        result
    )
    assert notes.read_bytes() == b"my notes, not a database\n" * 100


def test_a_lookup_of_a_mistyped_path_makes_no_database(tmp_path: Path) -> None:
    result = chronicle(tmp_path, "--db", "chronicel.db", "search", "Baghdadi")
    assert result.returncode == 1
    assert one_clear_line(result) == (
        f"chronicle: there is no database at {tmp_path / 'chronicel.db'}: check the path (--db,"
        " CHRONICLE_DATABASE_URL or CHRONICLE_DB), or make one with `chronicle import` or"
        " `chronicle run`"
    )
    assert not (tmp_path / "chronicel.db").exists()


@pytest.mark.parametrize("command", [["stats"], ["import", "SEED"]])
def test_another_program_s_database_is_refused_and_left_as_it_was(
    tmp_path: Path, command: list[str]
) -> None:
    other = tmp_path / "photos.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO albums(name) VALUES ('Holidays')")
    before = other.read_bytes()
    args = [str(SEED_PAGES[0]) if a == "SEED" else a for a in command]
    result = chronicle(tmp_path, "--db", "photos.db", *args)
    assert result.returncode == 1
    assert one_clear_line(result) == (
        f"chronicle: {other} is another program's SQLite database (it holds albums):"
        " Chronicle leaves it as it is; give it a new file, or its own"
    )
    assert other.read_bytes() == before


def unwritable(folder: Path) -> None:
    """The folder and its files can no longer be written. Root writes read-only files, so
    for root they are made immutable (chattr +i), or the test is skipped."""
    paths = [*folder.iterdir(), folder]
    if os.geteuid() != 0:
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return
    result = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if result.returncode != 0:
        writable(folder)
        pytest.skip(
            f"running as root, and chattr cannot make files immutable here: {result.stderr}"
        )


def writable(folder: Path) -> None:
    paths = [*folder.iterdir(), folder]
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_database_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    database = str(folder / "c.db")
    assert chronicle(tmp_path, "--db", database, "import", str(SEED_PAGES[0])).returncode == 0
    unwritable(folder)
    try:
        result = chronicle(tmp_path, "--db", database, "import", str(SAMPLE_NEWS))
    finally:
        writable(folder)
    assert result.returncode == 1
    line = one_clear_line(result)
    assert line.startswith("chronicle: cannot ") and database in line
    assert "permissions" in line and "not a usable" not in line


@pytest.mark.parametrize("command", [["run"], ["import", str(SAMPLE_NEWS)]])
def test_a_new_database_in_a_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    """A service user naming a database in a folder it may not write (/srv, root's): the
    one line, and no worker thread's traceback after it."""
    folder = tmp_path / "srv"
    folder.mkdir()
    (folder / "README").write_text("owned by root")
    unwritable(folder)
    try:
        result = chronicle(tmp_path, "--db", str(folder / "chronicle.db"), *command)
    finally:
        writable(folder)
    assert result.returncode == 1
    line = one_clear_line(result)
    assert "cannot open the database" in line and "Event loop is closed" not in result.stderr


async def test_processes_creating_one_database_at_once_all_succeed(tmp_path: Path) -> None:
    """Migrations are safe to race: four imports start on one new file together."""
    for round_ in range(3):
        database = tmp_path / f"race-{round_}.db"
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--db",
                str(database),
                "import",
                str(SEED_PAGES[0]),
                cwd=tmp_path,
                env=environment(LOG_LEVEL="WARNING"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(4)
        ]
        results = [await p.communicate() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], [e for _, e in results]
        with sqlite3.connect(database) as db:
            versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
        assert versions == sorted(set(versions)) and len(versions) >= 10


def test_a_bug_is_one_line_and_the_token_never_appears(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failure nobody foresaw, whose text holds the token (an error body that echoed the
    Authorization header): one line, and the token replaced there and in the traceback
    the log shows at DEBUG."""

    async def broken(*args: object) -> int:
        raise RuntimeError(f"Discord said: 401 for Authorization: Bot {TOKEN}")

    monkeypatch.chdir(tmp_path)
    assert cli.main(["--db", str(tmp_path / "c.db"), "import", str(SEED_PAGES[0])]) == 0
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setattr(cli_parser, "cmd_stats", broken)  # build_parser reads it
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # undone after the test
    code = cli.main(["--db", str(tmp_path / "c.db"), "stats"])
    out, err = capsys.readouterr()
    assert code == 1
    assert TOKEN not in out + err
    assert (
        "chronicle: unexpected error (RuntimeError: Discord said: 401 for Authorization:"
        " Bot [token]); LOG_LEVEL=DEBUG shows where" in err
    )
    assert "Traceback" in err and 'raise RuntimeError(f"Discord said' in err  # at DEBUG only


def test_an_unreadable_folder_in_a_tree_is_reported_and_the_rest_imported() -> None:
    """Run as a user who may not read one folder of the tree (as root, through setpriv
    as nobody): that folder is a failure with its reason, its neighbours are imported."""
    with tempfile.TemporaryDirectory() as work:  # pytest's own is the runner's alone
        _import_with_an_unreadable_folder(Path(work))


def _import_with_an_unreadable_folder(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(SAMPLE_NEWS / "2017" / "06" / "16", tree / "ok")
    (tree / "noread").mkdir()
    (tree / "noread" / "index.md").write_text("### [2017-06-17](/news/2017/06/17/index.md)\n")
    (tree / "noread").chmod(0)
    tmp_path.chmod(0o777)
    command = [sys.executable, "-m", "bot", "--db", str(tmp_path / "c.db"), "import", str(tree)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and setpriv is not there to run as another user")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    try:
        result = subprocess.run(
            command, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120
        )
    finally:
        (tree / "noread").chmod(0o755)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"failed: {tree / 'noread'}: cannot read this folder (Permission denied)" in (
        result.stdout + result.stderr
    )
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("SELECT count(*) FROM events WHERE complete = 1").fetchone()[0] > 0


def test_a_database_behind_a_folder_this_user_may_not_enter_is_told_so() -> None:
    with tempfile.TemporaryDirectory() as work:
        Path(work).chmod(0o755)  # the working folder is open: its .env is looked for
        closed = Path(work) / "closed"
        closed.mkdir(mode=0o700)
        command = [sys.executable, "-m", "bot", "--db", str(closed / "c.db"), "stats"]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root, and setpriv is not there to run as another user")
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        else:
            closed.chmod(0)
        try:
            result = subprocess.run(
                command, cwd=work, env=environment(), capture_output=True, text=True, timeout=120
            )
        finally:
            closed.chmod(0o700)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"chronicle: cannot reach the database {closed / 'c.db'}: Permission denied;"
        " check the path and who may read the folders on it\n"
    )
