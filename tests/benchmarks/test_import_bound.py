"""The import bound loads the same rows, indexed the same, and computes its rate right."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks.import_bound import ImportBound, main
from benchmarks.importing import FloorResult, floor
from storage.sqlite.db import connect_plain
from tests.conftest import SAMPLE_NEWS, TEST_DATA

# Words of the English and Chinese samples' headlines and summaries, dates and entities.
PROBES = ("the", "baghdadi", "y2014", '"叙利"', "攻击")


def _schema(db: sqlite3.Connection) -> set[tuple[str, str]]:
    return set(db.execute("SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def _found(db: sqlite3.Connection) -> dict[str, list[int]]:
    found = {
        probe: [r[0] for r in db.execute("SELECT rowid FROM event_search(?)", (probe,))]
        for probe in PROBES
    }
    # The first word pair of a few headlines (contentless tables cannot be read whole).
    for (pairs,) in db.execute(
        "SELECT word_pairs(headline) AS p FROM events WHERE searchable = 1 AND p != ''"
        " AND id % 20 = 1"
    ):
        pair = pairs.split()[0]
        found[pair] = [
            r[0] for r in db.execute("SELECT rowid FROM headline_pairs(?)", (f'"{pair}"',))
        ]
    entity = db.execute("SELECT entity_id FROM event_entities LIMIT 1").fetchone()[0]
    found["entity"] = [
        r[0] for r in db.execute("SELECT rowid FROM event_search(?)", (f"entities:e{entity}",))
    ]
    return found


async def test_indexed_after_leaves_what_the_import_left(
    sample_database: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    result = await floor(sample_database, copy, indexed_after=True, keep=True)

    with connect_plain(sample_database) as source, connect_plain(copy) as loaded:
        assert _schema(loaded) == _schema(source)  # indexes and triggers made again
        expected = _found(source)
        assert all(expected.values()), expected  # every probe finds something
        assert _found(loaded) == expected
        for table, rows in result.rows.items():
            assert loaded.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == rows
    assert {"(full-text indexes)", "(indexes)", "events"} <= set(result.table_seconds)


async def test_the_floor_leaves_no_file_unless_kept(sample_database: Path, tmp_path: Path) -> None:
    await floor(sample_database, tmp_path / "floor.db")
    assert not [name for name in os.listdir(tmp_path) if name.startswith("floor.db")]


@pytest.mark.parametrize(
    ("storing_us", "parsing_us", "cores", "expected_us"),
    [
        (100, 300, 2, 200),  # both cores busy: (100 + 300) / 2
        (300, 100, 2, 300),  # the writer's one thread
        (100, 300, 1, 400),
    ],
)
def test_the_bound_is_the_writer_or_every_core_busy(
    storing_us: int, parsing_us: int, cores: int, expected_us: int
) -> None:
    events = 1000
    bound = ImportBound(
        events=events,
        files=2 * events,  # two files an event: parsing a file costs half an event's parsing
        storing=FloorResult(storing_us * events / 1e6),
        parse_cpu_per_file=parsing_us / 2 / 1e6,
        cores=cores,
    )
    assert bound.seconds_per_event * 1e6 == pytest.approx(expected_us)
    assert bound.events_per_second == pytest.approx(1e6 / expected_us)


def test_the_command_prints_storing_parsing_and_the_rate(
    sample_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(SAMPLE_NEWS, archive / "news")
    shutil.copytree(TEST_DATA / "news-zh", archive / "news-zh")

    with connect_plain(sample_database) as source:
        events = source.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    assert main([str(sample_database), str(archive), "--sample", "50"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"{events:,} events"), out
    for line in ("storing: ", "(full-text indexes)", "parsing: ", "at best: "):
        assert line in out, out
    assert out.rstrip().endswith("events/s")
