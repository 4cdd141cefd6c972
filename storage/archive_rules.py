"""How archive pages are applied, the same on every backend: which of two versions of a page
is newer, what an outdone version still tells, and when an incomplete event (a stub) is
another version of an event of its day (EventRepository.import_batch, reconcile_stubs)."""

from __future__ import annotations

from fractions import Fraction

from storage.models import DayEntryRecord, PageRecord

# reconcile_stubs(): a stub is folded into an event of its day whose headline tokens are at
# least this similar (Jaccard) to its own;
STUB_MATCH = Fraction(3, 4)
# ... or at least this similar while sharing at least STUB_SHARED_ENTITIES of its entities:
# "The Syrian army breaks the Islamic States' nine month long siege of the Deir ez-Zor
# airport" is "The Syrian Army breaks the nine-month-long siege of the Deir ez-Zor Airport
# by ISIL militants" (13 of 18 words), and both are of the Syrian Civil War and the army.
STUB_MATCH_SHARING = Fraction(7, 10)
STUB_SHARED_ENTITIES = 2
# A stub with fewer headline tokens is too short to tell versions from different events.
STUB_MIN_TOKENS = 4
# index_pending(): events made searchable per transaction (the interface's default).
PENDING_BATCH = 5000


def what_it_knows(page: PageRecord) -> list[DayEntryRecord]:
    """An outdone page version's knowledge as index entries: its own event's names, and
    the events its Related list links with the names they share."""
    return [
        DayEntryRecord(page.key, page.date, page.headline, None, page.entities, None, page.lang),
        *(
            DayEntryRecord(r.key, r.date, r.headline, None, r.shared, None, page.lang)
            for r in page.related
        ),
    ]


def version_rank(page: PageRecord) -> tuple[str, str]:
    """Which of two versions of a page is newer (PageRecord.version), equal versions told
    apart by their content, so that no order of import decides."""
    return page.version, page.content_hash


def held_is_newer(
    page: PageRecord,
    *,
    complete: bool,
    content_hash: str | None,
    page_version: str | None,
) -> bool:
    """Whether the page version an event holds is newer than this page. A record without a
    version (not read from an archive file) is taken as the newest."""
    if not complete or content_hash is None or not page.version:
        return False
    return version_rank(page) < (page_version or "", content_hash)
