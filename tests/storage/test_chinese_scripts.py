"""Chinese in one script: a name written in traditional or simplified characters is one
entity, a search in either script finds both, and a database from before is brought
together by its migration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.ingest.archive import ParsedDay, iter_archive_files, parse_file
from bot.services.imports import import_archive
from storage import Storage, open_storage
from storage.models import PageRecord, SearchFilter
from storage.sqlite.db import connect_plain
from storage.textindex import fold
from tests.conftest import shared

DAY = dt.date(2019, 9, 10)
TRADITIONAL = PageRecord(
    key="2019/09/10/蘋果公司推出新款iPhone",
    date=DAY,
    headline="蘋果公司推出新款iPhone。",
    lang="zh",
    entities=("蘋果公司", "美國"),
)
SIMPLIFIED = PageRecord(
    key="2019/09/10/苹果公司股价上涨",
    date=DAY,
    headline="苹果公司股价上涨。",
    lang="zh",
    entities=("苹果公司",),
)


async def test_both_scripts_are_one_entity_and_one_search(storage: Storage) -> None:
    await storage.events.import_batch([TRADITIONAL, SIMPLIFIED])
    found = await storage.entities.find("苹果公司")
    assert found is not None and found == await storage.entities.find("蘋果公司")
    profile = await storage.entities.profile(found[0])
    assert profile.event_count == 2
    for query in ("蘋果", "苹果", "苹果公司", "蘋果公司"):
        hits = await storage.search.search(SearchFilter(text=query))
        assert {h.event.key for h in hits} == {TRADITIONAL.key, SIMPLIFIED.key}, query
    suggested = await storage.search.suggest_headlines("蘋")
    assert {b.key for b in suggested} >= {TRADITIONAL.key, SIMPLIFIED.key}


async def test_a_database_from_before_is_brought_together(tmp_path: Path) -> None:
    """Written before the migration, the two spellings were two entities, each with its
    event and the traditional one with a subscriber: after it, one entity with both events
    and the subscriber, and the indexes answer in either script."""
    database = tmp_path / "c.db"
    async with await open_storage(database) as storage:
        await storage.events.import_batch([TRADITIONAL, SIMPLIFIED])
        simplified_event = await storage.events.get_by_key(SIMPLIFIED.key)
        assert simplified_event is not None
    db = connect_plain(database)
    # As a Chronicle from before wrote it: each spelling its own entity and folded name.
    db.execute("UPDATE entities SET folded = name WHERE name = '蘋果公司'")
    traditional = db.execute("SELECT id FROM entities WHERE name = '蘋果公司'").fetchone()[0]
    db.execute("INSERT INTO entities(name, folded) VALUES ('苹果公司', '苹果公司')")
    simplified = db.execute("SELECT id FROM entities WHERE name = '苹果公司'").fetchone()[0]
    db.execute(
        "UPDATE event_entities SET entity_id = ? WHERE event_id = ? AND entity_id = ?",
        (simplified, simplified_event.id, traditional),
    )
    db.execute(
        "INSERT INTO subscriptions(guild_id, user_id, entity_id, delivery, created_at)"
        " VALUES (1, 2, ?, 'dm', '2019-01-01T00:00:00Z')",
        (simplified,),
    )
    db.execute("DELETE FROM schema_migrations WHERE version = 12")
    db.close()
    async with await open_storage(database) as storage:  # the migration runs
        rows = await storage.db.fetchall(
            "SELECT id, name, folded FROM entities WHERE name LIKE '%果公司'"
        )
        assert [tuple(r) for r in rows] == [(traditional, "蘋果公司", fold("蘋果公司"))]
        assert (await storage.entities.profile(traditional)).event_count == 2
        (subscription,) = await storage.subscriptions.for_member(1, 2)
        assert subscription.entity_id == traditional
        for query in ("苹果", "蘋果"):
            hits = await storage.search.search(SearchFilter(text=query))
            assert {h.event.key for h in hits} == {TRADITIONAL.key, SIMPLIFIED.key}
        assert (await storage.stats()).entities == 2  # 蘋果公司 and 美國


async def test_every_pair_of_spellings_in_the_chinese_edition_is_one_entity(
    storage: Storage,
) -> None:
    edition = shared("news-zh")
    await import_archive(storage, [edition])
    names: set[str] = set()
    for path in iter_archive_files([edition]):
        record = parse_file(path, path.read_bytes())
        if isinstance(record, ParsedDay):
            names.update(name for entry in record.entries for name in entry.entities)
        elif isinstance(record, PageRecord):
            names.update(record.entities)
    spellings: dict[str, set[str]] = {}
    for name in names:
        spellings.setdefault(fold(name), set()).add(name)
    pairs = [sorted(group) for group in spellings.values() if len(group) > 1]
    assert len(pairs) >= 18  # 苹果公司/蘋果公司, 民主党/民主黨, ...
    for group in pairs:
        ids = {await storage.entities.find(name) for name in group}
        assert len(ids) == 1 and None not in ids, group
