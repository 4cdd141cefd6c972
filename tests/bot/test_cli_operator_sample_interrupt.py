"""Ctrl-C while the first `chronicle run` imports the bundled sample archive: the next run
finishes the sample, saying so in one line, to the archive a run never stopped makes (on
SQLite and on PostgreSQL). The sample had stayed partial for good: its events made the
database look like the operator's own, so it was never imported again. Real processes,
interrupted by a real SIGINT that the command sends itself at the moment named."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.bot.test_cli_failures import environment
from tests.support import postgres

INTERRUPTED = 130

# Ctrl-C as the sample's import calls the named method of a repository for the first time:
# while its events are written, or while its articles are attached.
AT_THE_FIRST_CALL = """
import os, signal, sys
from bot.cli import app

repository, method = sys.argv[1].split(".")
opened = app.open_storage

async def open_storage(*args, **kwargs):
    storage = await opened(*args, **kwargs)
    cls = type(getattr(storage, repository))
    original = getattr(cls, method)

    async def interrupted(self, *args, **kwargs):
        setattr(cls, method, original)
        os.kill(os.getpid(), signal.SIGINT)
        return await original(self, *args, **kwargs)

    setattr(cls, method, interrupted)
    return storage

app.open_storage = open_storage
sys.exit(app.run(sys.argv[2:]))
"""

FINISHING = "the bundled sample archive is only partly imported"


@pytest.fixture
async def database(backend: str) -> AsyncIterator[dict[str, str]]:
    """The environment that points `chronicle` at a new database of the backend."""
    if backend == "sqlite":
        yield {}
        return
    async with _postgres_database() as url:
        yield {"CHRONICLE_DATABASE_URL": url}


@contextlib.asynccontextmanager
async def _postgres_database() -> AsyncIterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            server = os.environ.get(postgres.URL_SETTING) or stack.enter_context(
                postgres.throwaway_cluster()
            )
            url = await postgres.create_database(server)
        except Exception as exc:
            reason = f"PostgreSQL is not available: {exc or type(exc).__name__}"
            if postgres.required():
                pytest.fail(f"{reason} ({postgres.REQUIRE_SETTING} is set)")
            pytest.skip(reason)
        try:
            yield url
        finally:
            await postgres.drop_database(server, url)


def chronicle(
    folder: Path, env: dict[str, str], *args: str, script: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = ["-m", "bot", *args] if script is None else ["-c", script, *args]
    return subprocess.run(
        [sys.executable, *command],
        cwd=folder,
        env=environment(LOG_LEVEL="INFO", **env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def stats(folder: Path, env: dict[str, str]) -> dict[str, object]:
    result = chronicle(folder, env, "stats", "--json")
    assert result.returncode == 0, result.stderr
    counts: dict[str, object] = json.loads(result.stdout)
    return counts


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """`chronicle stats` after a first run that nothing stopped (on SQLite; the backends'
    stats agree, as the PostgreSQL cases check)."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    first = chronicle(folder, {}, "run")
    assert "importing the bundled sample archive" in first.stderr, first.stderr
    yield stats(folder, {})


# Each moment on one backend: the sample's flag is the same row on both.
@pytest.mark.parametrize(
    ("backend", "moment"), [("sqlite", "events.import_batch"), ("postgres", "articles.attach")]
)
def test_the_next_run_finishes_a_sample_import_ctrl_c_stopped(
    tmp_path: Path, database: dict[str, str], moment: str, uninterrupted: dict[str, object]
) -> None:
    first = chronicle(tmp_path, database, moment, "run", script=AT_THE_FIRST_CALL)
    assert first.returncode == INTERRUPTED, first.stderr
    assert "Traceback" not in first.stderr, first.stderr
    assert "importing the bundled sample archive" in first.stderr
    partial = stats(tmp_path, database)
    assert partial != uninterrupted  # the Ctrl-C came before the sample was all in

    again = chronicle(tmp_path, database, "run")
    assert again.returncode == 2, again.stderr  # no token: it stops once the database is ready
    assert "Traceback" not in again.stderr, again.stderr
    assert stats(tmp_path, database) == uninterrupted
    said = [line for line in again.stderr.splitlines() if "sample archive" in line]
    assert len(said) == 1 and FINISHING in said[0], again.stderr

    third = chronicle(tmp_path, database, "run")
    assert "sample archive" not in third.stderr, third.stderr  # done: not imported again
