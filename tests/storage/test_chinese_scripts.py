"""Chinese in one script: a name written in traditional or simplified characters is one
entity, a search in either script finds both, and a database from before is brought
together by its migration."""

from __future__ import annotations

import datetime as dt

from bot.ingest.archive import ParsedDay, iter_archive_files, parse_file
from bot.services.imports import import_archive
from storage import Storage
from storage.models import PageRecord, SearchFilter
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
