"""Importing the real archive into a real SQLite file: counts, merges, idempotence, failures."""

from __future__ import annotations

import datetime as dt
import gc
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.ingest.archive import ParsedDay, iter_archive_files, parse_file
from bot.services import imports
from bot.services.imports import import_archive, import_articles
from storage import Storage
from storage.models import PageRecord, SearchFilter
from storage.sqlite.db import BULK_FULL_TEXT_TABLES
from storage.textindex import fold, simplified
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_ARTICLES, SEED_PAGES, TEST_DATA, shared

FERRIES_DIR = SAMPLE_NEWS / "2017/09/10"
OLD_FERRIES_KEY = (
    "2017/09/10/russian-airstrikes-on-several-ferries-attempting-to-cross-the-euphrates-near"
    "-deir-ez-zor-kill-at-least-34-people-according-to-the-syrian-o"
)


async def test_sample_import_counts_and_reimport_changes_nothing(storage: Storage) -> None:
    first = await import_archive(storage, [SAMPLE_NEWS])
    assert first.ok
    assert first.new == 41  # every event page of the sample
    assert first.incomplete > 0  # events known only from Related links
    stats = await storage.stats()
    assert stats.events - stats.incomplete == 41
    assert stats.incomplete == first.incomplete

    second = await import_archive(storage, [SAMPLE_NEWS])
    assert (second.new, second.updated, second.incomplete) == (0, 0, 0)
    assert second.unchanged == 41
    assert await storage.stats() == stats


async def test_versions_in_any_order_are_idempotent(storage: Storage) -> None:
    """The seed pages are other versions of sample pages; importing both, in either order,
    and again, settles on one state."""
    await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES])
    stats = await storage.stats()
    event = await storage.events.get_by_key(MOD_KEY)
    again = await import_archive(storage, [*SEED_PAGES, SAMPLE_NEWS])
    assert (again.new, again.updated, again.incomplete) == (0, 0, 0)
    assert await storage.stats() == stats
    assert await storage.events.get_by_key(MOD_KEY) == event


async def test_a_file_older_than_the_version_held_is_named_with_the_reason(
    storage: Storage,
) -> None:
    """The seed pages are newer versions of sample pages: the sample's copies, imported
    after them, are read but not applied, and the report names each file and why (a local
    edit of an older copy would otherwise vanish without a word)."""
    await import_archive(storage, SEED_PAGES)
    report = await import_archive(storage, [SAMPLE_NEWS])
    assert report.superseded >= 1 and len(report.skipped) == report.superseded
    for skipped in report.skipped:
        assert Path(skipped.path).is_relative_to(SAMPLE_NEWS)
        assert skipped.reason.startswith("not applied: the archive holds a newer version")
    assert report.as_dict()["skipped"] == [
        {"path": f.path, "reason": f.reason} for f in report.skipped
    ]


async def test_every_index_entity_is_on_its_event(sample_storage: Storage) -> None:
    checked = 0
    for path in SAMPLE_NEWS.rglob("*.md"):
        parsed = parse_file(path, path.read_bytes())
        if not isinstance(parsed, ParsedDay):
            continue
        for entry in parsed.entries:
            event = await sample_storage.events.get_by_key(entry.key)
            assert event is not None, entry.key
            # Each name the index gives, or the canonical entity it is an alias of.
            canonical = {(await sample_storage.entities.find(name))[1] for name in entry.entities}
            assert canonical <= set(event.entities), entry.key
            if entry.story:
                assert event.story == entry.story
            checked += len(entry.entities)
    assert checked >= 30


async def test_related_link_makes_incomplete_event_completed_later(storage: Storage) -> None:
    (seed_000,) = [p for p in SEED_PAGES if p.name.startswith("000")]
    report = await import_archive(storage, [seed_000])
    assert (report.new, report.incomplete) == (1, 5)
    stub = await storage.events.get_by_key(MOD_KEY)
    assert stub is not None and not stub.complete
    assert stub.headline.startswith("The Russian Ministry of Defence says")
    assert stub.date == dt.date(2017, 6, 16)
    assert stub.entities == ("Abu Bakr al-Baghdadi",)  # what the link says both share

    report = await import_archive(storage, [SAMPLE_NEWS / "2017/06/16"])
    completed = await storage.events.get_by_key(MOD_KEY)
    assert completed is not None and completed.complete
    assert completed.id == stub.id
    assert completed.sources[0].name == "The Independent"
    assert "Abu Bakr al-Baghdadi" in completed.entities
    assert report.new == 9  # the day's events, the stub among them


async def test_changes_list_replaces_the_older_version(storage: Storage, tmp_path: Path) -> None:
    (current,) = FERRIES_DIR.glob("*.md")
    old_text = current.read_text().replace(
        "kill at least 34 civilians, including 9 children, according",
        "kill at least 34 people, according",
    )
    old_text = old_text[: old_text.index("### Changes:")]
    old_file = tmp_path / "news/2017/09/10" / (OLD_FERRIES_KEY.rsplit("/", 1)[1] + ".md")
    old_file.parent.mkdir(parents=True)
    old_file.write_text(old_text)

    await import_archive(storage, [old_file])
    old = await storage.events.get_by_key(OLD_FERRIES_KEY)
    assert old is not None and "34 people" in old.headline
    events_before = (await storage.stats()).events

    report = await import_archive(storage, [current])
    assert report.replaced == 1
    assert (await storage.stats()).events == events_before  # replaced, not duplicated
    new = await storage.events.get_by_key(OLD_FERRIES_KEY)  # the old key still finds it
    assert new is not None and new.id == old.id
    assert "including 9 children" in new.headline
    assert new.key != OLD_FERRIES_KEY

    # The older version arriving again changes nothing.
    report = await import_archive(storage, [old_file])
    assert (report.new, report.updated) == (0, 0)
    assert (await storage.events.get_by_key(OLD_FERRIES_KEY)).headline == new.headline


async def test_a_chain_of_changes_in_one_batch_keeps_one_event(storage: Storage) -> None:
    """Version 2 renames version 1's event; version 3, in the same batch, names version 2's
    key: it must find the renamed event, not a key that did not exist when the batch began."""
    date = dt.date(2020, 5, 1)
    v1, v2, v3 = (f"2020/05/1/quake-v{n}" for n in (1, 2, 3))
    await storage.events.import_batch([PageRecord(key=v1, date=date, headline="Quake v1")])
    first = await storage.events.get_by_key(v1)
    assert first is not None

    outcome = await storage.events.import_batch(
        [
            PageRecord(key=v2, date=date, headline="Quake v2", replaces=(v1,)),
            PageRecord(key=v3, date=date, headline="Quake v3", replaces=(v2,)),
        ]
    )
    assert outcome.replaced == 2
    assert (await storage.stats()).events == 1
    for key in (v1, v2, v3):
        event = await storage.events.get_by_key(key)
        assert event is not None and (event.id, event.key) == (first.id, v3), key
    assert event.headline == "Quake v3"


async def test_malformed_files_are_reported_and_the_rest_imported(
    storage: Storage, tmp_path: Path
) -> None:
    tree = tmp_path / "archive"
    shutil.copytree(SAMPLE_NEWS / "2014/11/8", tree / "2014/11/8")
    (tree / "broken.md").write_bytes(b"\x00\xff not text")
    (tree / "empty.md").write_text("")
    (tree / "2014/11/8/bad-date.md").write_text(
        "### [2014-13-40](/news/2014/13/40/index.md)\n\n# X\n"
    )
    report = await import_archive(storage, [tree, tmp_path / "missing.md"])
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert set(reasons) == {"broken.md", "empty.md", "bad-date.md", "missing.md"}
    assert "not UTF-8" in reasons["broken.md"]
    assert "empty file" in reasons["empty.md"]
    assert "invalid date 2014-13-40" in reasons["bad-date.md"]
    assert "no such file" in reasons["missing.md"]
    assert report.new == 4 and not report.ok


async def test_progress_is_reported(storage: Storage) -> None:
    calls: list[tuple[int, int]] = []
    await import_archive(
        storage, [SAMPLE_NEWS], progress=lambda d, t: calls.append((d, t)), batch_files=10
    )
    assert calls[-1] == (45, 45)
    assert len(calls) == 5


class _Stopped(Exception):
    pass


async def test_the_cycle_collector_is_paused_only_while_importing(storage: Storage) -> None:
    """An import pauses Python's cycle collector (cyclic_gc_paused); the process it runs in,
    the bot's among them, gets it back however the import ends."""
    during: list[bool] = []
    report = await import_archive(
        storage, [SAMPLE_NEWS], progress=lambda d, t: during.append(gc.isenabled()), batch_files=10
    )
    assert report.ok and len(during) == 5 and not any(during)
    assert gc.isenabled()

    def stop(done: int, total: int) -> None:
        raise _Stopped

    with pytest.raises(_Stopped):
        await import_archive(storage, [SAMPLE_NEWS], progress=stop, batch_files=10)
    assert gc.isenabled()


def test_overlapping_collector_pauses_leave_it_running() -> None:
    first, second = imports.cyclic_gc_paused(), imports.cyclic_gc_paused()
    try:
        first.__enter__()
        second.__enter__()
        assert not gc.isenabled()
        first.__exit__(None, None, None)  # the first import ends while the second runs
        assert gc.isenabled()
        second.__exit__(None, None, None)
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_known_aliases_apply_while_the_import_runs(storage: Storage) -> None:
    """Someone looking an entity up during a long import finds its aliases already folded
    in, not at the end: a reader after each batch sees "ISIL" as "Islamic State" as soon as
    the archive has named it."""
    seen: list[tuple[int, str | None]] = []

    def look_up_isil(done: int, total: int) -> None:
        with closing(sqlite3.connect(f"file:{storage.db.path}?mode=ro", uri=True)) as reader:
            row = reader.execute(
                "SELECT c.name FROM entities e LEFT JOIN entities c ON c.id = e.canonical_id"
                " WHERE e.folded = ?",
                (fold("ISIL"),),
            ).fetchone()
        if row is not None:
            seen.append((done, row[0]))

    report = await import_archive(storage, [SAMPLE_NEWS], progress=look_up_isil, batch_files=5)
    assert report.ok
    assert seen and seen[0][0] < report.files  # named before the last batch
    assert {canonical for _, canonical in seen} == {"Islamic State"}


async def test_seed_pages_alone_get_archive_keys(storage: Storage) -> None:
    await import_archive(storage, SEED_PAGES)
    for path in SEED_PAGES:
        parsed = parse_file(path, path.read_bytes())
        assert isinstance(parsed, PageRecord)
        event = await storage.events.get_by_key(parsed.key)
        assert event is not None and event.complete
        assert (SAMPLE_NEWS / f"{event.key}.md").exists()


async def test_seed_articles_attach_to_the_russian_defence_ministry_event(
    sample_storage: Storage,
) -> None:
    outcomes = await import_articles(sample_storage, SEED_ARTICLES)
    for outcome in outcomes:
        assert outcome.reason is None, outcome
        assert outcome.event_key == MOD_KEY
        assert outcome.attached and outcome.score is not None and outcome.score >= 0.45
    event = await sample_storage.events.get_by_key(MOD_KEY)
    assert {a.title for a in event.articles} == {
        "Russian airstrike may kill IS leader Baghdadi in Syria: Defense Ministry",
        "Russia Says It May Have Killed ISIS Leader Abu Bakr al-Baghdadi in an Airstrike",
    }
    assert next(
        a for a in event.articles if a.title.startswith("Russia Says")
    ).published == dt.date(2017, 6, 16)

    again = await import_articles(sample_storage, SEED_ARTICLES)
    assert all(o.already and not o.attached for o in again)
    assert (await sample_storage.stats()).articles == 2


async def test_unrelated_article_is_reported_unmatched(
    sample_storage: Storage, tmp_path: Path
) -> None:
    text = tmp_path / "recipe.txt"
    text.write_text(
        "Food\n\nHow to bake a sourdough loaf at home\n\n"
        "Mix flour, water and salt with an active starter and leave the dough overnight. "
        "Bake in a hot oven until the crust is deep brown and the loaf sounds hollow.\n"
    )
    (outcome,) = await import_articles(sample_storage, [text])
    assert not outcome.attached
    assert "no event matches well enough" in outcome.reason
    assert (await sample_storage.stats()).articles == 0


async def test_article_attached_to_a_named_event(sample_storage: Storage) -> None:
    key = "2014/11/8/abu-bakr-al-baghdadi-is-critically-wounded-during-a-us-airstrike-at-al-qaim"
    (outcome,) = await import_articles(sample_storage, SEED_ARTICLES[:1], event_key=key)
    assert outcome.attached and outcome.event_key == key and outcome.score is None
    (outcome,) = await import_articles(
        sample_storage, SEED_ARTICLES[:1], event_key="2099/01/1/nothing"
    )
    assert outcome.reason == "no event with key '2099/01/1/nothing'"


async def test_chinese_sample_is_searchable_in_chinese(storage: Storage) -> None:
    report = await import_archive(storage, [TEST_DATA / "news-zh"])
    assert report.ok and report.new > 0
    for query in ("叙利亚", "叙利", "叙", "伊斯兰国", "卡米什利"):
        hits = await storage.search.search(SearchFilter(text=query), limit=50)
        assert hits, query
        for hit in hits:
            event = await storage.events.get(hit.event.id)
            # In either script: 敘利亞 is 叙利亚.
            assert query in simplified(event.headline + event.summary), (query, event.headline)


@pytest.mark.shared_data
async def test_full_archives_import_twice_with_the_same_counts(storage: Storage) -> None:
    news = shared("news")
    zh = shared("news-zh")
    first = await import_archive(storage, [news, zh])
    stats = await storage.stats()
    second = await import_archive(storage, [news, zh])
    assert await storage.stats() == stats
    assert (second.new, second.updated, second.incomplete) == (0, 0, 0)
    assert first.new == 41 + 4256
    hits = await storage.search.search(SearchFilter(text="叙利亚"), limit=20)
    assert len(hits) == 20


def test_archive_walk_ignores_non_archive_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "b.html").write_text("x")
    (tmp_path / ".hidden.md").write_text("x")
    assert [p.name for p in iter_archive_files([tmp_path])] == ["a.md"]


def test_archive_walk_goes_folder_by_folder_in_path_order(tmp_path: Path) -> None:
    for name in ["Z.md", "a/b.md", "a/x/y.txt", "a-b/c.md", "a/.h.md", "a/x/n.html"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "a")  # not followed: no file twice
    found = [p.relative_to(tmp_path).as_posix() for p in iter_archive_files([tmp_path])]
    # "a/..." before "a-b/...": parts compare, not strings ("/" sorts after "-").
    assert found == ["Z.md", "a/b.md", "a/x/y.txt", "a-b/c.md"]


# One file a batch: more batches than PARSE_AHEAD, so the pages are parsed (and their Related
# lists packed) in other processes and cross to the writer pickled.
@pytest.mark.parametrize("batch_files", [imports.BATCH_FILES, 1], ids=["here", "in workers"])
async def test_archive_related_lists_are_kept_as_given(storage: Storage, batch_files: int) -> None:
    report = await import_archive(storage, SEED_PAGES, batch_files=batch_files)
    assert report.ok, report.failed
    for path in SEED_PAGES:
        parsed = parse_file(path, path.read_bytes())
        assert isinstance(parsed, PageRecord) and parsed.related
        event = await storage.events.get_by_key(parsed.key)
        kept = await storage.events.archive_related(event.id)
        assert kept == [(r.key, r.shared) for r in parsed.related]


def _segments(db_path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db_path)) as db:
        return {
            table: db.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()[0]
            for table in BULK_FULL_TEXT_TABLES
        }


async def test_a_large_import_merges_the_search_indexes(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch leaves full-text segments that every lookup reads; an import that wrote
    a large share of the archive merges them into one (here "large" is made small)."""
    await import_archive(storage, [SAMPLE_NEWS], batch_files=5)
    assert max(_segments(storage.db.path).values()) > 1  # 41 events: left as they are

    monkeypatch.setattr(imports, "MERGE_INDEX_MIN_EVENTS", 10)
    report = await import_archive(storage, [TEST_DATA / "news-zh"], batch_files=5)
    assert report.new == 36  # of 77 complete events: a large share
    assert _segments(storage.db.path) == {"event_search": 1, "headline_pairs": 1}
    for words in ("Deir ez-Zor ferries", "叙利亚"):  # both archives are found as before
        hits = await storage.search.search(SearchFilter(text=words), limit=1)
        assert hits and fold(words.split()[-1]) in fold(hits[0].event.headline), words
