"""What the sweeps' tests share: a database file holding the small samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.imports import import_archive
from storage import open_storage
from tests.conftest import SAMPLE_NEWS, TEST_DATA


@pytest.fixture
async def sample_database(tmp_path: Path) -> Path:
    """The bundled English sample and the Chinese test sample, imported into a file."""
    database = tmp_path / "chronicle.db"
    async with await open_storage(database) as storage:
        report = await import_archive(storage, [SAMPLE_NEWS, TEST_DATA / "news-zh"])
        assert report.ok, report.failed
    return database
