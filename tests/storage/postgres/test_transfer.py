"""`chronicle migrate`: a real SQLite archive (the sample, plus a row or more in every table)
copied into a fresh PostgreSQL database, checked, interrupted and resumed, refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.cli import main
from bot.services.imports import import_archive
from storage import open_storage
from storage.models import ArticleRecord, StorageError
from storage.postgres import transfer
from storage.postgres.transfer_check import verify
from storage.sqlite.db import connect_plain
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_PAGES
from tests.storage.postgres.test_search_order import _pages
from tests.support import postgres

NOW = "2024-03-01T12:00:00.000000Z"


async def _sample(path: Path) -> None:
    store = await open_storage(path)
    try:
        report = await import_archive(store, [SAMPLE_NEWS, *SEED_PAGES])
        assert report.ok, report.failed
    finally:
        await store.close()


@pytest.fixture
async def sample_db(tmp_path: Path) -> Path:
    path = tmp_path / "sample.db"
    await _sample(path)
    return path


@pytest.fixture
async def source_db(sample_db: Path) -> Path:
    """The sample with a row or more in every table the copy takes: an article, an entity
    merged into a newer one (a reference forward, across batches), feeds, the portal,
    digests, subscriptions, the ledger, a correction's link, settings."""
    store = await open_storage(sample_db)
    try:
        event = await store.events.get_by_key(MOD_KEY)
        assert event is not None
        record = ArticleRecord(
            "Russia says it may have killed al-Baghdadi",
            "The ministry's statement — “Baghdadi” 巴格达迪 — was met with doubt.",
            publisher="Reuters",
            published=dt.date(2017, 6, 16),
            file_name="baghdadi.txt",
        )
        assert await store.articles.attach(event.id, record, score=0.75)
        entities = await store.entities.names()
        await store.entities.merge(entities[0].name, entities[-1].name)
    finally:
        await store.close()
    entity_id = entities[-1].entity_id
    with sqlite3.connect(sample_db) as db:
        rows: dict[str, list[tuple[Any, ...]]] = {
            "feeds": [
                (3, "https://example.org/feed.xml", "Example", NOW, "active", None, None, 1, 2,
                 '"etag"', "Fri, 01 Mar 2024 12:00:00 GMT", "ab" * 32, NOW, NOW, "timeout",
                 "network", NOW, 0, None, NOW, 5, 1),
                (9, "https://example.org/gone.xml", "Gone", NOW, "disabled", "404", NOW, 0, 0,
                 None, None, None, None, NOW, "not found", "http", NOW, 7, NOW, NOW, 0, 0),
            ],
            "feed_entries": [(3, "guid-1", event.id, NOW), (3, "guid-2", None, NOW)],
            "portal_days": [
                ("en", "2017-06-16", "Portal:Current events/2017 June 16",
                 "https://en.wikipedia.org/wiki/Portal:Current_events/2017_June_16", 123,
                 "2017-06-17T01:02:03Z", 1, None, NOW),
                ("en", "2017-06-17", "Portal:Current events/2017 June 17", "https://x", None,
                 None, 0, "no such page", NOW),
            ],
            "portal_items": [
                ("en", event.id, "2017-06-16", 0, "Russia says …", '["https://a"]', '["ISIL"]',
                 "hash", None),
            ],
            "portal_titles": [("en", "ISIL", "Islamic State", NOW), ("en", "File:X", None, NOW)],
            "portal_polls": [("en", 1, NOW, NOW, None, None, 0, "2024-03-01T12:10:00Z")],
            "deliveries": [
                ("dm:42", event.id, NOW, "claimed", 2, 1 << 22),  # pending: its retry's
                ("digest:5", event.id, NOW, "sent", 1, None),
            ],
            "corrected_links": [(2, event.id, entity_id, NOW)],
            "subscriptions": [(4, 1, 42, entity_id, "dm", None, NOW, None)],
            "pending_notices": [(3, 42, "Your subscription moved.", NOW)],
            "bot_state": [("gateway", "resume")],
            "guild_settings": [(1, "Europe/Paris", "zh", NOW)],
            "digests": [
                (5, 1, 2, "new", "live", "08:30", "Asia/Tokyo", "Armed conflicts", "Syria -Russia",
                 "all", "key", 77, 1, 42, NOW, NOW, "Missing access", NOW, 1, event.id),
            ],
            "digest_entities": [(5, entity_id)],
            "digest_runs": [(5, "2024-03-01", "sent", 2, 2, 1, f"[{event.id}]", event.id, 99,
                             None, NOW)],
        }
        for table, values in rows.items():
            marks = ", ".join("?" for _ in values[0])
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        db.execute("DELETE FROM feeds WHERE id = 9")  # its id is not to be used again
    return sample_db


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t.name: db.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
                for t in transfer.TABLES}


async def _copy(source: Path, url: str, **options: Any) -> transfer.CopyReport:
    target = await transfer.open_target(url)
    try:
        return await transfer.copy_archive(source, target, **options)
    finally:
        await target.close()


async def _check(source_path: Path, url: str) -> None:
    source, target = await open_storage(source_path), await transfer.open_target(url)
    try:
        check = await verify(source_path, source, target, seed=7)
    finally:
        await source.close()
        await target.close()
    assert check.problems == []
    assert check.checks > 200


async def test_copy_is_the_same_archive(source_db: Path, target_url: str) -> None:
    steps: list[transfer.Step] = []
    report = await _copy(source_db, target_url, batch=50, progress=steps.append)
    assert not report.resumed
    assert report.rows == _counts(source_db)
    assert all(n > 0 for n in report.rows.values()), report.rows
    assert {s.table for s in steps} == {t.name for t in transfer.TABLES}
    assert steps[-1].done == steps[-1].total
    await _check(source_db, target_url)

    conn = await asyncpg.connect(target_url)
    try:
        # Sequences go on past SQLite's, deleted ids included.
        assert await conn.fetchval("SELECT nextval(pg_get_serial_sequence('feeds', 'id'))") == 10
        top = await conn.fetchval("SELECT max(id) FROM events")
        assert await conn.fetchval("SELECT nextval(pg_get_serial_sequence('events', 'id'))") > top
        # Triggers are on again after the copy.
        assert not await conn.fetchval("SELECT bool_or(tgenabled = 'D') FROM pg_trigger")
        row = await conn.fetchrow("SELECT * FROM digests")
        assert row is not None
        assert row["publish"] is True and row["paused_at"].tzinfo is not None
        assert await conn.fetchval("SELECT search <> '' FROM articles")
    finally:
        await conn.close()


async def test_vectors_and_counters_are_those_an_import_writes(
    sample_db: Path, target_url: str, server: str
) -> None:
    await _copy(sample_db, target_url)
    native_url = await postgres.create_database(server)
    try:
        native = await open_storage(native_url)
        try:
            report = await import_archive(native, [SAMPLE_NEWS, *SEED_PAGES])
            assert report.ok
        finally:
            await native.close()
        queries = (
            "SELECT key, search::text, weight, complete FROM events ORDER BY key",
            "SELECT name, value FROM counters ORDER BY name",
        )
        found = []
        for url in (target_url, native_url):
            conn = await asyncpg.connect(url)
            try:
                found.append([[tuple(r) for r in await conn.fetch(q)] for q in queries])
            finally:
                await conn.close()
        assert found[0] == found[1]
    finally:
        await postgres.drop_database(server, native_url)


@pytest.mark.parametrize("fail_at", [3, 80])  # in events (via the staging table); later
async def test_an_interrupted_copy_resumes(
    source_db: Path, target_url: str, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    write = transfer._write
    calls = 0

    async def failing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise ConnectionResetError("the server went away")
        await write(*args)

    monkeypatch.setattr(transfer, "_write", failing)
    with pytest.raises(ConnectionResetError):
        await _copy(source_db, target_url, batch=7)
    conn = await asyncpg.connect(target_url)
    try:
        # What the progress says is what is in: the failed batch left nothing behind.
        progress = {r[0]: r[1] for r in await conn.fetch(
            "SELECT step, rows FROM migration_progress WHERE step NOT IN ($1, $2)",
            "source", transfer.FINGERPRINT)}
        held = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in progress}
        assert progress == held
        assert sum(held.values()) < sum(_counts(source_db).values())
        assert not await conn.fetchval("SELECT bool_or(tgenabled = 'D') FROM pg_trigger")
    finally:
        await conn.close()

    monkeypatch.setattr(transfer, "_write", write)
    report = await _copy(source_db, target_url, batch=7)
    assert report.resumed
    assert report.rows == _counts(source_db)
    await _check(source_db, target_url)


async def test_a_target_holding_rows_is_refused(
    source_db: Path, sample_db: Path, target_url: str, tmp_path: Path
) -> None:
    await _copy(source_db, target_url)
    other = tmp_path / "other.db"
    await _sample(other)
    # An unfinished copy goes on only from the same archive.
    with pytest.raises(StorageError, match="unfinished copy of another archive"):
        await _copy(other, target_url)
    target = await transfer.open_target(target_url)
    await transfer.finish(target)
    await target.close()
    with pytest.raises(StorageError, match=r"is not empty \(244 events; rows in events"):
        await _copy(source_db, target_url)


async def test_every_table_is_copied_or_rebuilt(sample_db: Path, target_url: str) -> None:
    """A table a new migration adds must be copied (transfer.TABLES) or rebuilt."""
    await _copy(sample_db, target_url)
    conn = await asyncpg.connect(target_url)
    try:
        tables = {r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    finally:
        await conn.close()
    known = {t.name for t in transfer.TABLES} | transfer.REBUILT
    assert tables == known | {"schema_migrations", transfer.PROGRESS_TABLE}


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:hunter2@{parts.hostname}"
                                            f"{f':{parts.port}' if parts.port else ''}"))


def test_command_copies_checks_and_refuses_a_second_time(
    source_db: Path, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _with_password(target_url)
    assert main(["--db", str(source_db), "migrate", "--to", url, "--batch", "100"]) == 0
    out, err = capsys.readouterr()
    assert "Migrated" in out and "all the same" in out
    assert "events: 244/244 rows (100%" in err
    assert "hunter2" not in out + err and ":***@" in out

    assert main(["--db", str(source_db), "migrate", "--to", url]) == 1
    out, err = capsys.readouterr()
    assert "is not empty (244 events" in err and "copies into an empty database only" in err
    assert "hunter2" not in out + err


# An interrupted `chronicle migrate`, as an operator meets it: the command run in-process.


def _killed_at(monkeypatch: pytest.MonkeyPatch, url: str, call: int) -> None:
    """The copy's server connection terminated before its `call`th batch goes in, as
    pg_terminate_backend or a server restart ends it."""
    write = transfer._write
    calls = 0

    async def killing(conn: Any, plan: Any, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            admin = await asyncpg.connect(url)
            try:
                await admin.fetchval(
                    "SELECT pg_terminate_backend($1, 10000)", conn.get_server_pid()
                )
            finally:
                await admin.close()
        await write(conn, plan, rows)

    monkeypatch.setattr(transfer, "_write", killing)


def _target(url: str, sql: str) -> Any:
    async def fetch() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def _held(url: str) -> dict[str, int]:
    counts = " UNION ALL ".join(
        f"SELECT '{t.name}', count(*) FROM {t.name}" for t in transfer.TABLES
    )
    return dict(_target(url, counts))


def _interrupted(
    source: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """`chronicle migrate` into url, its connection killed in page_versions (events and
    event_keys copied); what it said on stderr."""
    _killed_at(monkeypatch, url, 80)
    assert main(["--db", str(source), "migrate", "--to", url, "--batch", "7"]) == 1
    monkeypatch.setattr(transfer, "_write", _WRITE)
    err = capsys.readouterr().err
    assert "cannot reach the PostgreSQL server" in err, err
    assert "Run the same command again to continue where it stopped." in err
    return err


_WRITE = transfer._write


def test_a_killed_copy_ends_with_its_message_alone(
    source_db: Path,
    target_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The batch reader was left to the garbage collector, which closed it after the
    archive: "Exception ignored in: <generator object _read ...>" followed the message."""
    ignored: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    err = _interrupted(source_db, target_url, monkeypatch, capsys)
    gc.collect()
    assert ignored == [] and "Exception ignored" not in err
    assert err.rstrip().splitlines()[-2:] == [
        line for line in err.rstrip().splitlines() if line.startswith(("chronicle:", "Run "))
    ]
    # And run again, it finishes.
    assert main(["--db", str(source_db), "migrate", "--to", target_url]) == 0
    out, err = capsys.readouterr()
    assert "(resumed)" in err and "all the same" in out
    gc.collect()
    assert ignored == []


def test_a_half_migrated_database_is_for_migrate_alone(
    source_db: Path,
    target_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Its counters are 0 until the copy ends: `chronicle run` took it for empty, imported
    the sample archive into it, and the resumed copy then failed on a duplicate key."""
    _interrupted(source_db, target_url, monkeypatch, capsys)
    half = _held(target_url)
    assert half["events"] > 0 and half["articles"] == 0

    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", target_url)
    for command in (["run"], ["stats"], ["search", "Baghdadi"]):
        assert main(command) == 1, command
        out, err = capsys.readouterr()
        assert err.splitlines() == [
            f"chronicle: {target_url} holds an unfinished `chronicle migrate` of {source_db}:"
            " run it again to finish, or drop the database (dropdb) to start over"
        ], command
        assert out == ""
    assert _held(target_url) == half  # nothing was written into it

    monkeypatch.delenv("CHRONICLE_DATABASE_URL")
    assert main(["--db", str(source_db), "migrate", "--to", target_url]) == 0
    out, err = capsys.readouterr()
    assert "(resumed)" in err and "all the same" in out
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", target_url)
    assert main(["stats"]) == 0
    assert "244" in capsys.readouterr().out


def _grown(path: Path) -> None:
    """Five events more in the archive, each naming entities, as a feed poll adds them."""

    async def grow() -> None:
        store = await open_storage(path)
        try:
            await store.events.import_batch(_pages(5))
        finally:
            await store.close()

    asyncio.run(grow())


def test_resuming_from_a_changed_archive_is_refused(
    source_db: Path,
    target_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tables already copied are not read again: events added to the archive since were
    missing, and every resumed run ended on a foreign key error."""
    _interrupted(source_db, target_url, monkeypatch, capsys)
    half = _held(target_url)
    _grown(source_db)
    for _ in range(2):
        assert main(["--db", str(source_db), "migrate", "--to", target_url]) == 1
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 2 and lines[0] == f"Copying {source_db} into {target_url}"
        assert lines[1].startswith(
            f"chronicle: {source_db} has changed since the unfinished copy into {target_url}"
            " began (rows of events, "
        ), lines
        assert lines[1].endswith(
            "): the copy cannot go on. Drop the database and create it again (dropdb,"
            " createdb), stop the bot and anything else writing to the archive until migrate"
            " has finished, and run migrate again"
        ), lines
        assert _held(target_url) == half


@pytest.mark.parametrize(
    ("change", "table"),
    [
        ("UPDATE subscriptions SET paused_reason = 'Discord refused'", "subscriptions"),
        ("UPDATE bot_state SET value = 'moved'", "bot_state"),
        ("UPDATE events SET headline = headline || '!', updated_at = '2030-01-01T00:00:00.000000Z'"
         " WHERE id = (SELECT max(id) FROM events)", "events"),
        ("UPDATE deliveries SET state = 'sent' WHERE state = 'claimed'", "deliveries"),
    ],
    ids=["a pause", "a watermark", "an edited item", "an alert sent"],
)
def test_resuming_after_rows_were_changed_in_place_is_refused(
    source_db: Path,
    target_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: str,
    table: str,
) -> None:
    """A bot run between two runs of migrate changes rows without adding any (a pause, a
    watermark, an edited item, an alert sent): the copy had gone on with the old rows."""
    _interrupted(source_db, target_url, monkeypatch, capsys)
    db = connect_plain(source_db)  # its functions: an edited headline is indexed again
    db.execute(change)
    db.close()
    assert main(["--db", str(source_db), "migrate", "--to", target_url]) == 1
    said = capsys.readouterr().err
    assert f"changed since the unfinished copy into {target_url} began (rows of {table})" in said


def test_a_copy_begun_by_an_older_chronicle_resumes(
    source_db: Path,
    target_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A progress table without the archive's fingerprint (written before it was kept) is
    resumed as before, and keeps the fingerprint from then on."""
    _interrupted(source_db, target_url, monkeypatch, capsys)
    _target(target_url, f"DELETE FROM migration_progress WHERE step = '{transfer.FINGERPRINT}'")
    assert main(["--db", str(source_db), "migrate", "--to", target_url, "--batch", "7"]) == 0
    out, err = capsys.readouterr()
    assert "(resumed)" in err and "all the same" in out
    assert _target(target_url, "SELECT to_regclass('migration_progress')") == [(None,)]
