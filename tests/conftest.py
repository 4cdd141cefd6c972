"""Shared fixtures: real SQLite files in tmp_path, the bundled sample archive, shared data."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.console import CONSOLE_HANDLER
from bot.services.imports import import_archive
from storage import Storage, open_storage
from tests.support.templates import new_sqlite_archive

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"
SAMPLE = REPO / "bot" / "sample"
SAMPLE_NEWS = SAMPLE / "news"
SEEDS = TEST_DATA / "seeds"
SEED_PAGES = sorted(SEEDS.glob("00[012]_*.txt"))
SEED_ARTICLES = sorted(SEEDS.glob("00[34]_*.txt"))
SHARED_DATA = Path(os.environ.get("CHRONICLE_SHARED_DATA", REPO.parent / "shared" / "data"))

MOD_KEY = (
    "2017/06/16/the-russian-ministry-of-defence-says-its-forces-may-have-killed-isil-s-leader"
    "-abu-bakr-al-baghdadi-in-an-airstrike-south-of-raqqa-on-28-may"
)


def shared(relative: str) -> Path:
    """A path under ../shared/data, or a skip (with the reason) when it is not there."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared data folder is optional)")
    return path


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The command line sets the root logger up for its process (a handler on stderr, a
    level): run in-process by a test, it must not outlive the test, whose stderr closes."""
    root = logging.getLogger()
    handlers, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler.get_name() == CONSOLE_HANDLER and handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    await new_sqlite_archive(tmp_path / "chronicle.db")
    store = await open_storage(tmp_path / "chronicle.db")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def sample_storage(storage: Storage) -> Storage:
    """The bundled sample archive plus the three seed pages, imported."""
    report = await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES])
    assert report.ok, report.failed
    return storage


# The modules that take longest, longest first. xdist hands out whole modules (--dist
# loadfile) in the order collected, and the suite lasts as long as its busiest worker: one of
# these begun last made the others wait for it. Started first, they overlap the many short
# modules instead.
LONGEST_MODULES = (
    "tests/storage/postgres/test_transfer.py",
    "tests/bot/test_cli_wikipedia.py",
    "tests/bot/test_cli_failures.py",
    "tests/bot/test_cli_reads_well.py",
    "tests/storage/test_import_resumed.py",
    "tests/bot/test_cli_prune.py",
    "tests/storage/test_related.py",
    "tests/e2e/test_processes.py",
    "tests/benchmarks/test_postgres.py",
    "tests/bot/test_cli.py",
    "tests/benchmarks/test_run.py",
    "tests/e2e/test_run.py",
    "tests/bot/test_cli_settings_errors.py",
    "tests/bot/test_cli_operator_sample_interrupt.py",
    "tests/storage/sqlite/test_search_paths.py",
    "tests/storage/test_chinese_scripts.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: n for n, module in enumerate(LONGEST_MODULES)}
    last = len(LONGEST_MODULES)
    # A stable sort: each module's tests keep their order, the other modules theirs.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], last))
