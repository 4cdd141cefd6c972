"""An import stopped part-way and run again ends in exactly the archive one uninterrupted
run makes (DESIGN: "an interrupted import can be re-run"): the same events, keys, links and
sources, and no stub left beside the event it is another version of. A database an older
version left with such stubs is repaired by the next import of the same files. Runs on
every backend; each run opens the archive afresh, as a new `chronicle import` does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.services.imports import import_archive
from storage import Storage
from storage.models import SearchFilter
from tests.conftest import SAMPLE_NEWS, shared
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.test_stubs import NEW_SLUG, OLD_SLUG  # the airport event's two slugs

BATCH = 10  # the sample's 45 files in 5 batches

SNAPSHOT = {
    "events": "SELECT key, date, headline, summary, story, lang, complete, origin, weight"
    " FROM events",
    "keys": "SELECT k.key, e.key FROM event_keys k JOIN events e ON e.id = k.event_id",
    "versions": "SELECT v.content_hash, e.key FROM page_versions v"
    " JOIN events e ON e.id = v.event_id",
    "links": "SELECT e.key, n.name FROM event_entities x JOIN events e ON e.id = x.event_id"
    " JOIN entities n ON n.id = x.entity_id",
    "entities": "SELECT name, event_count FROM entities",
    "sources": "SELECT e.key, s.position, s.name, s.url FROM sources s"
    " JOIN events e ON e.id = s.event_id",
}


class Interrupted(Exception):
    """A run stopped after a batch, as by a kill or a Ctrl-C."""


def stop_after(files: int) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done >= files:
            raise Interrupted

    return progress


async def snapshot(backend: str, storage: Storage) -> dict[str, list[tuple[Any, ...]]]:
    run = BACKENDS[backend][1]
    return {name: sorted(await run(storage, sql, ())) for name, sql in SNAPSHOT.items()}


async def whole(backend: str, open_archive: OpenArchive, paths: list[Path], **kw: Any) -> Any:
    """The archive one uninterrupted run makes."""
    store = await open_archive("whole")
    try:
        report = await import_archive(store, paths, **kw)
        assert report.ok, report.failed
        return await snapshot(backend, store)
    finally:
        await store.close()


async def run(open_archive: OpenArchive, paths: list[Path], **kw: Any) -> None:
    store = await open_archive("resumed")
    try:
        await import_archive(store, paths, **kw)
    finally:
        await store.close()


# After the first batch, and the last (45 files: before reconciling its stubs).
@pytest.mark.parametrize("files", [BATCH, 45])
async def test_an_import_stopped_after_a_batch_and_run_again_is_one_run(
    backend: str, open_archive: OpenArchive, files: int
) -> None:
    expected = await whole(backend, open_archive, [SAMPLE_NEWS], batch_files=BATCH)
    with pytest.raises(Interrupted):
        await run(open_archive, [SAMPLE_NEWS], batch_files=BATCH, progress=stop_after(files))
    await run(open_archive, [SAMPLE_NEWS], batch_files=BATCH)
    store = await open_archive("resumed")
    try:
        assert await snapshot(backend, store) == expected
        old = await store.events.get_by_key(OLD_SLUG)
        new = await store.events.get_by_key(NEW_SLUG)
        assert old is not None and new is not None and old.id == new.id and new.complete
        # Running it once more changes nothing.
        again = await import_archive(store, [SAMPLE_NEWS], batch_files=BATCH)
        assert (again.new, again.updated, again.incomplete, again.replaced) == (0, 0, 0, 0)
        assert await snapshot(backend, store) == expected
    finally:
        await store.close()


async def test_a_database_left_with_unfolded_stubs_is_repaired_by_the_next_import(
    backend: str, open_archive: OpenArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an older version's re-run left after an interruption: every page imported, the
    first run's stubs made searchable but never folded (the airport event twice). The next
    import of the same files folds them."""
    expected = await whole(backend, open_archive, [SAMPLE_NEWS], batch_files=BATCH)
    with pytest.raises(Interrupted):
        await run(open_archive, [SAMPLE_NEWS], batch_files=BATCH, progress=stop_after(BATCH))
    store = await open_archive("resumed")
    try:

        async def folds_nothing(stub_ids: object, **kw: object) -> int:
            return 0

        with monkeypatch.context() as patch:
            patch.setattr(store.events, "reconcile_stubs", folds_nothing)
            await import_archive(store, [SAMPLE_NEWS], batch_files=BATCH)
        old = await store.events.get_by_key(OLD_SLUG)
        new = await store.events.get_by_key(NEW_SLUG)
        assert old is not None and new is not None and old.id != new.id  # twice
        assert len(expected["events"]) < len((await snapshot(backend, store))["events"])
    finally:
        await store.close()
    await run(open_archive, [SAMPLE_NEWS], batch_files=BATCH)
    store = await open_archive("resumed")
    try:
        assert await snapshot(backend, store) == expected
    finally:
        await store.close()


# On SQLite alone: the rule is the backends' shared step, which the sample's cases above
# check on both; the whole archive twice on PostgreSQL would add half a minute to the suite.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_shared_archive_stopped_after_its_first_batch(
    backend: str, open_archive: OpenArchive
) -> None:
    """The audit's case: both editions (7,699 files, batches of 2,000), stopped after the
    first batch; the re-run had left 7,025 events, two of them stubs of complete events."""
    paths = [shared("news"), shared("news-zh")]
    expected = await whole(backend, open_archive, paths)
    with pytest.raises(Interrupted):
        await run(open_archive, paths, progress=stop_after(1))
    await run(open_archive, paths)
    store = await open_archive("resumed")
    try:
        assert await snapshot(backend, store) == expected
        stats = await store.stats()
        assert (stats.events, stats.incomplete) == (7023, 2726)
        hits = await store.search.search(SearchFilter(text="siege Deir ez-Zor airport"))
        assert [h.event.key for h in hits if "nine month" in h.event.headline] == [NEW_SLUG]
    finally:
        await store.close()
