"""Ctrl-C during a large `chronicle import`, as a terminal sends it (SIGINT to the whole
process group): one line that says how far it got and what to do, exit status 130, no
traceback from the parse workers or the database; the same command run again finishes the
import, to the archive one uninterrupted run makes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, shared

UNINTERRUPTED = (7023, 2726)  # events, incomplete ones: both editions imported in one run


def chronicle(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "LOG_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", "c.db", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, SIGINT at its default: as a shell runs a command.
        preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()),
    )


def test_ctrl_c_during_an_import_is_one_line_and_status_130(tmp_path: Path) -> None:
    paths = [str(shared("news")), str(shared("news-zh"))]
    process = chronicle("import", *paths, cwd=tmp_path)
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if "importing: 2000/" in line:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            break
    rest, tail = process.communicate(timeout=120)
    stderr = "".join(lines) + tail
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "failed" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"chronicle: interrupted: [\d,]+ of 7,699 files imported so far;"
        r" run the same command again to finish",
        last,
    ), last
    assert rest == ""  # no report: the import did not finish

    again = chronicle("import", *paths, cwd=tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.startswith("Imported 7,699 files:"), out
    stats = chronicle("stats", "--json", cwd=tmp_path)
    out, err = stats.communicate(timeout=60)
    counts = json.loads(out)
    assert (counts["events"], counts["incomplete"]) == UNINTERRUPTED, counts
