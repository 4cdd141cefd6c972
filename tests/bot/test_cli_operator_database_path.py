"""A message about the database file names it by its full path. `chronicle stats` run from
another folder than the operator's had said "there is no database at chronicle.db", which
does not say where Chronicle looked. Real processes, run in a folder of the test's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage import held_by_one_bot
from tests.bot.test_cli_failures import chronicle, one_clear_line


def test_no_database_names_the_file_looked_for(tmp_path: Path) -> None:
    result = chronicle(tmp_path, "stats")
    assert result.returncode == 1
    assert one_clear_line(result).startswith(
        f"chronicle: there is no database at {tmp_path / 'chronicle.db'}: check the path"
    )
    (tmp_path / "elsewhere").mkdir()
    result = chronicle(tmp_path / "elsewhere", "--db", "../news/c.db", "search", "Baghdadi")
    assert one_clear_line(result).startswith(
        f"chronicle: there is no database at {tmp_path / 'news' / 'c.db'}: check the path"
    )


def test_a_file_that_cannot_be_the_database_is_named_in_full(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    result = chronicle(tmp_path, "--db", "archive", "stats")
    assert one_clear_line(result) == (
        f"chronicle: {tmp_path / 'archive'} is a folder, not a database file: name a file in it"
    )
    (tmp_path / "notes.db").write_bytes(b"my notes, not a database\n" * 100)
    result = chronicle(tmp_path, "--db", "notes.db", "stats")
    assert one_clear_line(result) == (
        f"chronicle: {tmp_path / 'notes.db'} is not a usable SQLite database:"
        " file is not a database"
    )
    other = sqlite3.connect(tmp_path / "theirs.db")
    other.execute("CREATE TABLE recipes (name TEXT)")
    other.close()
    result = chronicle(tmp_path, "--db", "theirs.db", "stats")
    assert one_clear_line(result).startswith(
        f"chronicle: {tmp_path / 'theirs.db'} is another program's SQLite database"
    )


def test_a_database_a_bot_holds_is_named_in_full(tmp_path: Path) -> None:
    with held_by_one_bot(tmp_path / "c.db"):  # as `chronicle run` holds it
        result = chronicle(tmp_path, "--db", "c.db", "run")
    assert result.returncode == 1
    assert one_clear_line(result).startswith(
        f"chronicle: {tmp_path / 'c.db'} is in use by a Chronicle bot (process "
    )
