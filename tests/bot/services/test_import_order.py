"""The order of imports does not change the archive: which version of a page is kept (the
newest, by bot.ingest.archive.page_version) and which names are aliases come out the same
whichever files come first."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from bot.ingest.archive import parse_file
from bot.services.entities import apply_alias_pairs
from bot.services.imports import import_archive
from storage import Storage, open_storage
from storage.models import PageRecord
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_PAGES, TEST_DATA, shared

VARIANT = (
    TEST_DATA / "variants" / "news" / "2017" / "06" / "16" / (MOD_KEY.rsplit("/", 1)[1] + ".md")
)
SEED_001 = next(p for p in SEED_PAGES if p.name.startswith("001_"))
SEED_002 = next(p for p in SEED_PAGES if p.name.startswith("002_"))
SAMPLE_0928 = next((SAMPLE_NEWS / "2017" / "09" / "28").glob("the-islamic-state-*.md"))
NEWEST = {path: parse_file(path, path.read_bytes()) for path in (SAMPLE_0928, SEED_001)}
NEWEST_KEYS = {path: page.key for path, page in NEWEST.items()}
NEWEST_RELATED = {path: len(page.related) for path, page in NEWEST.items()}  # type: ignore[union-attr]


async def fingerprint(storage: Storage) -> tuple[object, ...]:
    """What the archive holds, without ids (which follow the order of import)."""
    events = await storage.db.fetchall(
        "SELECT e.key, e.date, e.headline, e.summary, e.story, e.complete,"
        " (SELECT group_concat(n, '|') FROM (SELECT en.name AS n FROM event_entities ee"
        "   JOIN entities en ON en.id = ee.entity_id WHERE ee.event_id = e.id ORDER BY en.name)),"
        " (SELECT group_concat(u, '|') FROM (SELECT s.url AS u FROM sources s"
        "   WHERE s.event_id = e.id ORDER BY s.position))"
        " FROM events e ORDER BY e.key"
    )
    aliases = await storage.db.fetchall(
        "SELECT a.name, c.name FROM entities a JOIN entities c ON c.id = a.canonical_id"
        " ORDER BY a.folded"
    )
    return tuple(map(tuple, events)), tuple(map(tuple, aliases))


def test_the_newest_version_of_a_page_ranks_highest() -> None:
    """The versions the data's README dates: seed 001 is later than the sample's copy, the
    variant is the sample's copy in the later format, seed 002 older than the sample's."""

    def version(path: Path) -> str:
        page = parse_file(path, path.read_bytes())
        return page.version  # type: ignore[union-attr]

    mod = SAMPLE_NEWS / "2017" / "06" / "16" / (MOD_KEY.rsplit("/", 1)[1] + ".md")
    assert version(mod) < version(VARIANT) < version(SEED_001)
    assert version(SEED_002) < version(SAMPLE_0928)


@pytest.mark.parametrize(
    "older, newer", [(SEED_002, SAMPLE_0928), (VARIANT, SEED_001)], ids=["seed-002", "seed-001"]
)
async def test_either_order_keeps_the_newest_version(
    tmp_path: Path, older: Path, newer: Path
) -> None:
    held = []
    for order in ((older, newer), (newer, older)):
        async with await open_storage(tmp_path / f"{order[0].name}.db") as storage:
            for path in order:
                await import_archive(storage, [path])
            key = NEWEST_KEYS[newer]
            event = await storage.events.get_by_key(key)
            assert event is not None
            held.append((event.headline, [s.url for s in event.sources], event.entities))
            related = await storage.events.archive_related(event.id)
            held.append(len(related))
    assert held[0] == held[2] and held[1] == held[3]
    assert held[1] == NEWEST_RELATED[newer]


async def test_any_order_of_the_test_archives_gives_one_archive(tmp_path: Path) -> None:
    parts = [[SAMPLE_NEWS], [TEST_DATA / "news-zh"], SEED_PAGES, [VARIANT]]
    prints = []
    for number, order in enumerate(itertools.islice(itertools.permutations(parts), 0, 24, 7)):
        async with await open_storage(tmp_path / f"order-{number}.db") as storage:
            for part in order:
                report = await import_archive(storage, part)
                assert report.ok, report.failed
            prints.append(await fingerprint(storage))
    assert all(p == prints[0] for p in prints[1:])


async def test_an_alias_whose_canonical_name_another_pair_creates_is_applied(
    storage: Storage,
) -> None:
    """aliases.tsv names "al-Nusra" and "Jabhat al-Nusra" as "Al-Nusra Front": an archive that
    knows only "al-Nusra" gets both, the second through the name the first created."""
    page = PageRecord(
        key="2015/12/1/x", date=dt.date(2015, 12, 1), headline="X", entities=("al-Nusra",)
    )
    await storage.events.import_batch([page])
    changed, waiting = await apply_alias_pairs(
        storage, [("Jabhat al-Nusra", "Al-Nusra Front"), ("al-Nusra", "Al-Nusra Front")]
    )
    assert waiting == [] and changed == 2
    assert await storage.entities.find("Jabhat al-Nusra") == await storage.entities.find("al-Nusra")


async def test_the_chinese_edition_then_the_english_sample_keeps_every_alias(
    tmp_path: Path,
) -> None:
    edition = shared("news-zh")
    prints = []
    for number, order in enumerate(([edition, SAMPLE_NEWS], [SAMPLE_NEWS, edition])):
        async with await open_storage(tmp_path / f"{number}.db") as storage:
            for part in order:
                await import_archive(storage, [part])
            assert await storage.entities.find("Jabhat al-Nusra") is not None
            prints.append((await fingerprint(storage))[1])
    assert prints[0] == prints[1]
