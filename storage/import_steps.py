"""The steps of an import batch that are the same on every backend: which versions of the
batch's pages to apply, and how a page's Changes list folds older events into its own. The
backends give the reads and writes (their SQL); the order and the decisions are here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from storage.archive_rules import held_is_newer, version_rank
from storage.models import BatchOutcome, DayEntryRecord, PageRecord


@dataclass(slots=True)
class Known:
    """An event as an import finds it by one of its keys."""

    id: int
    key: str
    complete: bool
    content_hash: str | None = None
    page_version: str | None = None

    def newer_than(self, page: PageRecord) -> bool:
        """Whether the page version held is newer than this page."""
        return held_is_newer(
            page,
            complete=self.complete,
            content_hash=self.content_hash,
            page_version=self.page_version,
        )


def days_named(pages: Sequence[PageRecord], days: Sequence[DayEntryRecord]) -> set[dt.date]:
    """The days a batch names: its pages' own, those of the events their Related lists link
    and those of its index entries, whether the batch writes anything or not (a page already
    applied names them too). Every stub an import of these files can leave is of one of
    them, and so is every event such a stub can be folded into (reconcile_stubs)."""
    named = {page.date for page in pages}
    named.update(item.date for page in pages for item in page.related)
    named.update(entry.date for entry in days)
    return named


class NamedDays:
    """The days an import's batches named (days_named) since its stubs were last
    reconciled: their incomplete events are reconciled with the stubs the import made."""

    def __init__(self) -> None:
        self._days: set[dt.date] = set()

    def add(self, pages: Sequence[PageRecord], days: Sequence[DayEntryRecord]) -> None:
        self._days |= days_named(pages, days)

    @contextmanager
    def taken(self) -> Iterator[set[dt.date]]:
        """The days named so far, for one reconciliation; given back if it fails."""
        named, self._days = self._days, set()
        try:
            yield named
        except BaseException:
            self._days |= named  # for the next call
            raise


def fresh_pages(
    pages: Sequence[PageRecord],
    current: Mapping[str, Known],
    applied: set[str],
    outcome: BatchOutcome,
) -> tuple[list[PageRecord], list[PageRecord]]:
    """Split pages into (to apply, older versions outdone by a later one in the batch).

    ``current``: the events the pages' keys name; ``applied``: the content hashes of the
    page versions applied before, which are dropped (importing any set of files again, in
    any order, changes nothing). Counts what it drops in ``outcome``.
    """
    seen = set(applied)
    latest: dict[str, PageRecord] = {}
    outdone: list[PageRecord] = []
    for page in pages:
        if page.content_hash in seen:
            outcome.unchanged += 1
            continue
        seen.add(page.content_hash)
        held = current.get(page.key)
        if held is not None and held.key == page.key and held.newer_than(page):
            outdone.append(page)  # older than the version held: whatever the order
            outcome.superseded.append(page.key)
            continue
        rival = latest.get(page.key)
        if rival is not None and page.version and version_rank(rival) > version_rank(page):
            outdone.append(page)
            continue
        if rival is not None:
            outdone.append(rival)  # the newest version in the batch wins
        latest[page.key] = page
    return list(latest.values()), outdone


class ReplacementSQL(Protocol):
    """What folding older events into a page's needs of a backend, in its transaction."""

    async def resolve(self, keys: Iterable[str]) -> dict[str, Known]:
        """Events by key, following older keys to the event that now holds them."""
        ...

    async def rekey(self, event_id: int, key: str) -> None: ...

    async def merge(self, *, source_id: int, target_id: int) -> None: ...

    async def add_aliases(self, aliases: list[tuple[str, int]]) -> None: ...


async def apply_replacements(
    pages: Sequence[PageRecord],
    outcome: BatchOutcome,
    current: Mapping[str, Known],
    sql: ReplacementSQL,
) -> bool:
    """Fold the older versions a page's Changes list names into the page's event
    (current: the events the pages' keys name). Returns whether any key or row changed.

    The oldest surviving row keeps its id (so what was delivered about it stays
    delivered) and takes the current key; any other old row is merged into it.
    """
    pages = [p for p in pages if p.replaces]
    if not pages:
        return False
    # Every key resolved in one go (most pages name older keys that were never imported);
    # a key or row this loop has changed is looked up again.
    known = dict(current)
    known.update(await sql.resolve({k for p in pages for k in p.replaces} - known.keys()))
    changed_keys: set[str] = set()
    changed_ids: set[int] = set()
    aliases: list[tuple[str, int]] = []
    for page in pages:
        keys = {page.key, *page.replaces}
        if keys & changed_keys or any(known[k].id in changed_ids for k in keys if k in known):
            await sql.add_aliases(aliases)
            aliases = []
            for key in keys:
                known.pop(key, None)
            known.update(await sql.resolve(keys))
        target = known.get(page.key)
        for old_key in page.replaces:
            old = known.get(old_key)
            if old is None or (target is not None and old.id == target.id):
                continue
            if target is None:
                await sql.rekey(old.id, page.key)
                target = replace(old, key=page.key, content_hash=None, page_version=None)
            else:
                await sql.merge(source_id=old.id, target_id=target.id)
            changed_ids.add(old.id)
            changed_keys.add(page.key)
            outcome.replaced += 1
        if target is not None:
            aliases.extend((k, target.id) for k in page.replaces)
            changed_keys.update(page.replaces)
    await sql.add_aliases(aliases)
    return bool(changed_keys)
