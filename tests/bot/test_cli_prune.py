"""`chronicle prune [--vacuum]` as a real subprocess: what it says, what it leaves in the
database, and its exit status. Without it an operator had no way to trim the ledgers
(digest runs and deliveries), which grew for good (FINDINGS, "The ledgers over weeks")."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest

from storage import Storage, held_by_one_bot, open_storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.conftest import REPO
from tests.support import postgres
from tests.support.archives import archive_at_schema

DAY = dt.date(2026, 3, 2)
EVENTS, MEMBERS = 40, 300
LONG_AGO = "'2000-01-01T00:00:00.000000Z'"  # a literal both backends read as a time
AGED = [
    f"UPDATE events SET added_at = {LONG_AGO}",
    f"UPDATE deliveries SET delivered_at = {LONG_AGO}",
    f"UPDATE digest_runs SET updated_at = {LONG_AGO}",
]


async def chronicle(cwd: Path, database: str, *args: str) -> tuple[int, str, str]:
    """`python -m bot --db <database> ...` in a subprocess: exit status, stdout, stderr."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_", "LOG_"))
    }
    env["PYTHONPATH"] = str(REPO)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--db",
        database,
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    assert "Traceback" not in out.decode() + err.decode()
    return process.returncode, out.decode(), err.decode()


async def ledgers_written(location: str | Path) -> None:
    """News, a digest's run that posted it, and an alert about each event to MEMBERS
    members: EVENTS * (MEMBERS + 1) deliveries and one run."""
    storage: Storage = await open_storage(location)
    try:
        pages = [
            PageRecord(
                key=make_key(DAY, f"news-number-{n}"),
                date=DAY,
                headline=f"News number {n}",
                entities=("Syria",),
                origin="feed",
                announce=True,
            )
            for n in range(EVENTS)
        ]
        await storage.events.import_batch(pages)
        ids = (await storage.subscriptions.announced_after(0, limit=EVENTS)).ready
        digest, _ = await storage.digests.upsert(
            guild_id=1,
            channel_id=10,
            kind="onthisday",
            time=dt.time(9),
            timezone="UTC",
            created_by=100,
            now=dt.datetime.now(dt.UTC),
        )
        assert await storage.digests.claim_run(digest.id, "2026-03-02", parts=1, items=ids)
        await storage.digests.part_sent(digest.id, "2026-03-02", event_ids=ids)
        await storage.digests.finish_run(digest.id, "2026-03-02", "sent")
        for member in range(MEMBERS):
            target = f"dm:{1000 + member}"
            await storage.subscriptions.mark_sent(
                target, await storage.subscriptions.claim(target, ids)
            )
    finally:
        await storage.close()


def rows(database: Path) -> tuple[int, int]:
    """(digest runs, deliveries) in the file."""
    with sqlite3.connect(database) as db:
        counts = tuple(
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("digest_runs", "deliveries")
        )
    db.close()
    return counts[0], counts[1]


@pytest.fixture
async def old_archive(tmp_path: Path) -> Path:
    """A SQLite archive whose ledgers were written long ago."""
    database = tmp_path / "chronicle.db"
    await ledgers_written(database)
    with sqlite3.connect(database) as db:
        for statement in AGED:
            db.execute(statement)
    db.close()
    return database


def file_size(database: Path) -> int:
    return sum(
        p.stat().st_size
        for p in (database, database.with_name(database.name + "-wal"))
        if p.exists()
    )


async def test_prune_says_what_it_deleted_and_what_it_kept(
    old_archive: Path, tmp_path: Path
) -> None:
    code, out, err = await chronicle(tmp_path, str(old_archive), "prune")
    assert code == 0, err
    deliveries = EVENTS * (MEMBERS + 1)
    assert out.startswith(f"Pruned 1 digest run and {deliveries:,} deliveries finished before ")
    assert out.endswith(" (14 days ago); kept 0 runs and 0 deliveries\n")
    # Off a terminal, a big ledger's progress is logged a tenth at a time.
    assert f"INFO chronicle: pruning deliveries: {deliveries}/{deliveries} rows (100%)" in err
    assert rows(old_archive) == (0, 0)

    # Again: nothing left to do, and --json says so.
    code, out, err = await chronicle(tmp_path, str(old_archive), "prune", "--json")
    assert code == 0, err
    said = json.loads(out)
    assert said["kept_days"] == 14 and said["before"].endswith("Z")
    assert said["removed"] == {"digest_runs": 0, "deliveries": 0, "corrected_links": 0}
    assert said["kept"] == {"digest_runs": 0, "deliveries": 0}


async def test_vacuum_gives_the_space_back_and_says_how_much(
    old_archive: Path, tmp_path: Path
) -> None:
    before = file_size(old_archive)
    code, out, err = await chronicle(tmp_path, str(old_archive), "prune", "--vacuum")
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith("Pruned 1 digest run and ")
    assert second.startswith("VACUUM gave back ")
    assert f": {old_archive} takes " in second and second.endswith(")")
    after = file_size(old_archive)
    assert after < before / 2  # the ledgers were most of it

    code, out, _ = await chronicle(tmp_path, str(old_archive), "prune", "--vacuum", "--json")
    vacuum = json.loads(out)["vacuum"]
    assert vacuum["bytes_after"] <= vacuum["bytes_before"] == after
    assert vacuum["given_back"] == vacuum["bytes_before"] - vacuum["bytes_after"]


async def test_vacuum_is_refused_while_a_bot_runs_on_the_file(
    old_archive: Path, tmp_path: Path
) -> None:
    with held_by_one_bot(old_archive):  # as `chronicle run` holds it
        code, out, err = await chronicle(tmp_path, str(old_archive), "prune", "--vacuum")
    assert code == 1 and out == ""
    assert err.startswith(f"chronicle: {old_archive} is in use by a Chronicle bot (process ")
    assert "): VACUUM rewrites the whole file" in err
    assert "Stop the bot first, or prune without --vacuum" in err
    assert rows(old_archive) == (1, EVENTS * (MEMBERS + 1))  # nothing done

    # Pruning alone runs beside it.
    with held_by_one_bot(old_archive):
        code, out, err = await chronicle(tmp_path, str(old_archive), "prune")
    assert code == 0, err
    assert rows(old_archive) == (0, 0)


async def test_a_missing_archive_is_not_made(tmp_path: Path) -> None:
    code, out, err = await chronicle(tmp_path, str(tmp_path / "missing.db"), "prune")
    assert code == 1 and out == ""
    assert "there is no database at" in err
    assert not (tmp_path / "missing.db").exists()


@pytest.fixture
async def postgres_archive() -> AsyncIterator[str]:
    """A PostgreSQL database whose ledgers were written long ago."""
    server = os.environ.get(postgres.URL_SETTING)
    if not server:
        if postgres.required():
            pytest.fail(f"{postgres.URL_SETTING} is not set")
        pytest.skip(f"PostgreSQL is not available: {postgres.URL_SETTING} is not set")
    database = await postgres.create_database(server)
    try:
        await ledgers_written(database)
        conn = await asyncpg.connect(database)
        try:
            for statement in AGED:
                await conn.execute(statement)
        finally:
            await conn.close()
        yield database
    finally:
        await postgres.drop_database(server, database)


async def test_on_postgresql_vacuum_says_the_space_is_reused(
    postgres_archive: str, tmp_path: Path
) -> None:
    code, out, err = await chronicle(tmp_path, postgres_archive, "prune", "--vacuum")
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith(f"Pruned 1 digest run and {EVENTS * (MEMBERS + 1):,} deliveries")
    assert second == (
        "PostgreSQL reuses the space of the pruned rows for new ones (VACUUM has marked it"
        " free); its files do not shrink"
    )


async def test_vacuum_refused_beside_a_bot_leaves_an_older_schema_as_it_is(
    tmp_path: Path,
) -> None:
    """A newer Chronicle's `prune --vacuum` beside an older running bot is refused before the
    file is opened, so its migrations are not applied under that bot."""
    older = tmp_path / "older.db"
    archive_at_schema(older, 20, [("2020/01/01/a", "2020-01-01", "Flood in the north")])
    with held_by_one_bot(older):
        code, _, err = await chronicle(tmp_path, str(older), "prune", "--vacuum")
    assert code == 1 and "is in use by a Chronicle bot" in err
    with closing(sqlite3.connect(older)) as db:
        assert db.execute("SELECT MAX(version) FROM schema_migrations").fetchone() == (20,)
