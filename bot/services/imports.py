"""Importing the archive and article texts into storage, with progress and a report."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.ingest.archive import (
    ArchiveFormatError,
    CutShort,
    ParsedDay,
    iter_archive_files,
    parse_file,
    read_archive_file,
)
from bot.ingest.articles import (
    ArticleFormatError,
    lead,
    match_score,
    parse_article,
    read_article_file,
)
from bot.services.entities import apply_alias_pairs, default_alias_file, read_alias_file
from storage import Storage
from storage.models import ArticleRecord, BatchOutcome, DayEntryRecord, PageRecord

log = logging.getLogger(__name__)

BATCH_FILES = 2000
PARSE_AHEAD = 2  # chunks parsed ahead of the database
PARSE_WORKERS = max(1, min(2, (os.cpu_count() or 1)))
# An import that wrote this many events, and at least this share of the archive, ends by
# merging the full-text indexes (Database.merge_full_text): the merge costs per event of the
# whole archive, so it pays only after an import that is large beside the archive.
MERGE_INDEX_MIN_EVENTS = 10_000
MERGE_INDEX_MIN_SHARE = 0.25
ARTICLE_WINDOW_DAYS = 3
ARTICLE_THRESHOLD = 0.45

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class FileFailure:
    path: str
    reason: str


# Why an archive file was read but not applied (README: "Importing").
_OLDER = (
    "not applied: the archive holds a newer version of this page (newer by its dates, its"
    " format, its changes, else by its content)"
)


@dataclass(slots=True)
class ImportReport:
    files: int = 0
    new: int = 0
    updated: int = 0
    incomplete: int = 0
    unchanged: int = 0
    replaced: int = 0
    superseded: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    suspect: list[FileFailure] = field(default_factory=list)  # read, but not trusted
    skipped: list[FileFailure] = field(default_factory=list)  # older than the version held
    new_event_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "new": self.new,
            "updated": self.updated,
            "incomplete": self.incomplete,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
            "superseded": self.superseded,
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
            "suspect": [{"path": f.path, "reason": f.reason} for f in self.suspect],
            "skipped": [{"path": f.path, "reason": f.reason} for f in self.skipped],
        }


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector paused while records pile up. Records hold no cycles and
    are freed as they go (a large import leaves next to nothing for the collector), but
    each full collection walks every record in flight, a real share of the writing
    process's time. Overlapping pauses (imports in two coroutines) never leave it
    off: it runs again when the first of them ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_and_parse(
    paths: Sequence[Path],
) -> list[PageRecord | ParsedDay | CutShort | FileFailure]:
    """Runs in a worker process or thread: file reading and parsing never block the event
    loop."""
    with cyclic_gc_paused():
        return [_read_and_parse_one(path) for path in paths]


def _read_and_parse_one(path: Path) -> PageRecord | ParsedDay | CutShort | FileFailure:
    try:
        return parse_file(path, read_archive_file(path))
    except ArchiveFormatError as exc:
        return FileFailure(
            str(path), exc.reason if exc.line is None else f"line {exc.line}: {exc.reason}"
        )


async def import_archive(
    storage: Storage,
    paths: Sequence[str | Path],
    *,
    progress: Progress | None = None,
    batch_files: int = BATCH_FILES,
    announce: bool = False,
) -> ImportReport:
    """Import archive files and folders. A bad file is reported and the rest imported.

    An import is history: its events are not announced (digests, alerts) unless asked.

    Cancelled (Ctrl-C on the command line), it stops between two batches: the batch being
    written is written whole (and reported to `progress`), nothing is written after it,
    and the cancellation goes on. The same import run again finishes the work, to the same
    archive as a run never stopped. The writing runs in a task of its own, so that a
    cancellation never lands inside a database transaction.
    """
    stop = asyncio.Event()
    work = asyncio.ensure_future(
        _import_archive(
            storage,
            paths,
            progress=progress,
            batch_files=batch_files,
            announce=announce,
            stop=stop,
        )
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([work])
        if not work.cancelled() and (failure := work.exception()) is not None:
            log.warning("while the import stopped: %s", failure, exc_info=failure)
        raise


async def _import_archive(
    storage: Storage,
    paths: Sequence[str | Path],
    *,
    progress: Progress | None,
    batch_files: int,
    announce: bool,
    stop: asyncio.Event,
) -> ImportReport:
    """import_archive's work; raises CancelledError between two batches once `stop` is
    set."""
    report = ImportReport()
    files = list(iter_archive_files(paths))
    report.files = len(files)
    created_incomplete: set[int] = set()
    completed: set[int] = set()
    updated: set[int] = set()
    chunks = [files[start : start + batch_files] for start in range(0, len(files), batch_files)]
    # Parsing is pure Python: for a large import it runs in other processes, ahead of the
    # database, which meanwhile writes the chunk parsed before.
    # Spawned, not forked: a fork copies this process mid-flight (the database thread, the
    # event loop, locks held by other threads) and can deadlock the child.
    pool = (
        ProcessPoolExecutor(
            max_workers=PARSE_WORKERS, mp_context=multiprocessing.get_context("spawn")
        )
        if len(chunks) > PARSE_AHEAD
        else None
    )
    loop = asyncio.get_running_loop()

    def parse(
        chunk: list[Path],
    ) -> asyncio.Future[list[PageRecord | ParsedDay | CutShort | FileFailure]]:
        # A worker process starts when a chunk is handed over (none idle).
        with sigint_ignored_by_children():
            return loop.run_in_executor(pool, _read_and_parse, chunk)

    # Known aliases are applied as soon as either name appears, not at the end: links from
    # then on go straight to the canonical entity (lookups are right while a long import
    # runs), and a fresh large import does not move the known aliases' links at its end
    # (each moved link reindexing its event).
    aliases_waiting = read_alias_file(default_alias_file())
    with cyclic_gc_paused():
        async with storage.bulk_writes():
            ahead = [parse(chunk) for chunk in chunks[:PARSE_AHEAD]]
            done = 0
            try:
                for index, chunk in enumerate(chunks):
                    next_chunk = ahead.pop(0)
                    if not await _unless_stopped(next_chunk, stop):
                        raise asyncio.CancelledError
                    parsed = next_chunk.result()
                    if index + PARSE_AHEAD < len(chunks):
                        ahead.append(parse(chunks[index + PARSE_AHEAD]))
                    pages: list[PageRecord] = []
                    days: list[DayEntryRecord] = []
                    files_of: dict[str, list[str]] = {}  # a page's key: the files giving it
                    for path, item in zip(chunk, parsed, strict=True):
                        if isinstance(item, FileFailure):
                            log.warning("not imported: %s: %s", item.path, item.reason)
                            report.failed.append(item)
                        elif isinstance(item, ParsedDay):
                            days.extend(item.entries)
                        elif isinstance(item, CutShort):
                            log.warning("suspect: %s: %s", item.path, item.reason)
                            report.suspect.append(FileFailure(item.path, item.reason))
                            days.append(item.entry)
                        else:
                            files_of.setdefault(item.key, []).append(str(path))
                            pages.append(
                                dataclasses.replace(item, announce=True) if announce else item
                            )
                    outcome: BatchOutcome = await storage.events.import_batch(pages, days)
                    created_incomplete |= outcome.created_incomplete
                    completed |= outcome.completed
                    updated |= outcome.updated
                    report.unchanged += outcome.unchanged
                    report.replaced += outcome.replaced
                    report.superseded += len(outcome.superseded)
                    for key in outcome.superseded:
                        if files_of.get(key):
                            report.skipped.append(FileFailure(files_of[key].pop(0), _OLDER))
                    if aliases_waiting:
                        _, aliases_waiting = await apply_alias_pairs(storage, aliases_waiting)
                    done += len(chunk)
                    if progress:
                        progress(done, len(files))
                    if stop.is_set():
                        raise asyncio.CancelledError
            finally:
                for future in ahead:
                    future.cancel()
                if pool is not None:
                    pool.shutdown(cancel_futures=True)
            # Stubs this import made that no page completed. Those an earlier run of these
            # files left (one stopped before it came here) are the backend's to find: every
            # incomplete event of a day the import's files name is reconciled with them.
            stubs = created_incomplete - completed
            report.replaced += await storage.events.reconcile_stubs(stubs)
            await storage.events.index_pending()
            await storage.events.pack_postings()
    report.new = len(completed)
    report.updated = len(updated - completed)
    # Those stubs counted, not taken as a difference of totals (an import re-run after a
    # kill completes the stubs of the first run).
    report.incomplete = await storage.events.count_incomplete(stubs)
    stats = await storage.stats()
    written = len(completed | updated)
    complete = stats.events - stats.incomplete
    if written >= max(MERGE_INDEX_MIN_EVENTS, MERGE_INDEX_MIN_SHARE * complete):
        log.info("merging the search indexes after %d events written", written)
        await storage.optimize_search()
    report.new_event_ids = sorted(completed)
    return report


async def _unless_stopped(future: asyncio.Future[Any], stop: asyncio.Event) -> bool:
    """Wait for the future, or for `stop`: whether the future is done."""
    if not future.done() and not stop.is_set():
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([future, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
    return future.done() and not stop.is_set()


@contextmanager
def sigint_ignored_by_children() -> Iterator[None]:
    """Processes started in here ignore SIGINT from their first instruction: an ignored
    signal stays ignored across exec, and Python then installs no KeyboardInterrupt handler
    of its own. A terminal's Ctrl-C goes to the whole process group; the parse workers are
    then stopped by the import, with no traceback of their own. (Only the main thread may
    set handlers; elsewhere nothing changes.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # set outside Python: left alone
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(slots=True)
class ArticleOutcome:
    path: str
    event_key: str | None = None
    headline: str | None = None
    score: float | None = None
    attached: bool = False
    already: bool = False
    reason: str | None = None  # why it was not attached
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best near-misses


async def import_articles(
    storage: Storage, paths: Sequence[str | Path], *, event_key: str | None = None
) -> list[ArticleOutcome]:
    """Attach article texts to events: to the one named, or to the best match above the bar."""
    outcomes: list[ArticleOutcome] = []
    target = None
    if event_key is not None:
        target = await storage.events.get_by_key(event_key)
    for raw in paths:
        path = str(raw)
        outcome = ArticleOutcome(path)
        outcomes.append(outcome)
        try:
            article = parse_article(path, await asyncio.to_thread(read_article_file, path))
        except ArticleFormatError as exc:
            outcome.reason = exc.reason
            continue
        except OSError as exc:
            outcome.reason = f"cannot read: {exc.strerror or exc}"
            continue
        if event_key is not None:
            if target is None:
                outcome.reason = f"no event with key {event_key!r}"
                continue
            await _attach(storage, outcome, article, target.id, target.key, target.headline, None)
            continue
        ranked = await rank_events_for(storage, article)
        outcome.candidates = [(key, score) for key, _, _, score in ranked[:3]]
        if not ranked or ranked[0][3] < ARTICLE_THRESHOLD:
            best = f" (best: {ranked[0][0]} at {ranked[0][3]:.2f})" if ranked else ""
            outcome.reason = f"no event matches well enough (needs {ARTICLE_THRESHOLD:.2f}){best}"
            continue
        key, event_id, headline, score = ranked[0]
        await _attach(storage, outcome, article, event_id, key, headline, score)
    return outcomes


async def rank_events_for(
    storage: Storage, article: ArticleRecord
) -> list[tuple[str, int, str, float]]:
    """(key, id, headline, score) of candidate events, best first."""
    words = f"{article.title} {lead(article.text)}"
    candidates = await storage.articles.candidates(
        words, around=article.published, days=ARTICLE_WINDOW_DAYS
    )
    scored = [
        (
            c.key,
            c.id,
            c.headline,
            match_score(article, c.headline, c.summary, c.date, window_days=ARTICLE_WINDOW_DAYS),
        )
        for c in candidates
    ]
    scored.sort(key=lambda item: (-item[3], item[0]))
    return scored


async def _attach(
    storage: Storage,
    outcome: ArticleOutcome,
    article: ArticleRecord,
    event_id: int,
    key: str,
    headline: str,
    score: float | None,
) -> None:
    outcome.event_key, outcome.headline, outcome.score = key, headline, score
    if existing := await storage.articles.attached_to(article):
        outcome.already = True
        outcome.event_key = existing
        return
    outcome.attached = await storage.articles.attach(event_id, article, score=score)
