"""Ctrl-C at the moments an operator presses it before a command has got going: while
Chronicle's modules load (seconds on a busy machine: `chronicle run` typed in the wrong
folder), and while the database is being opened. Each ends the command as Ctrl-C does later:
status 130 and nothing on the terminal, where a traceback of the import machinery, or of the
database's thread finding no event loop, had filled it. Real processes, interrupted by a
real SIGINT that the command sends itself at the moment named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bot.test_cli_failures import environment

INTERRUPTED = 130

# Ctrl-C as Chronicle starts to load its settings, which every command reads.
WHILE_LOADING = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "bot.config":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""

# Ctrl-C while a statement of the opening runs on the database's thread (a slow disk, or a
# busy machine), the connection not made yet.
WHILE_OPENING = """
import os, signal, sys, time
from storage.sqlite import db

async def refuse_foreign(conn, path):
    await conn.create_function("nap", 0, lambda: time.sleep(1.0))
    os.kill(os.getpid(), signal.SIGINT)
    await conn.execute("SELECT nap()")

db.Database._refuse_foreign = staticmethod(refuse_foreign)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def interrupted(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ctrl_c_while_chronicle_loads_is_quiet(tmp_path: Path) -> None:
    for args in (["stats"], ["run"], ["--help"]):
        result = interrupted(tmp_path, WHILE_LOADING, *args)
        assert result.stderr == "" and result.stdout == ""
        assert result.returncode == INTERRUPTED
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_database_opens_is_quiet(tmp_path: Path) -> None:
    (tmp_path / "chronicle.db").touch()
    result = interrupted(tmp_path, WHILE_OPENING, "--db", "chronicle.db", "stats")
    assert result.stderr == "" and result.stdout == ""
    assert result.returncode == INTERRUPTED
