"""An event merged into another leaves its id in cards already posted (their Related and
Sources buttons) and in values autocomplete offered: the id still finds the event it now is."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, RelatedRecord, SourceRecord

DAY = dt.date(2019, 5, 4)


def page(slug: str, headline: str, replaces: tuple[str, ...] = ()) -> PageRecord:
    return PageRecord(
        make_key(DAY, slug),
        DAY,
        headline,
        sources=(SourceRecord("NHK", f"https://nhk.example/{slug}"),),
        entities=("Tokyo",),
        replaces=replaces,
    )


async def event_id(storage: Storage, slug: str) -> int:
    event = await storage.events.get_by_key(make_key(DAY, slug))
    assert event is not None
    return event.id


async def test_an_id_finds_the_newer_version_of_its_page(storage: Storage) -> None:
    await storage.events.import_batch([page("quake-hits-tokyo", "Quake hits Tokyo")])
    await storage.events.import_batch([page("strong-quake-hits-tokyo", "Strong quake hits Tokyo")])
    old_id = await event_id(storage, "quake-hits-tokyo")

    newer = page(
        "strong-quake-hits-tokyo",
        "Strong quake hits Tokyo",
        replaces=(make_key(DAY, "quake-hits-tokyo"),),
    )
    await storage.events.import_batch([newer])

    found = await storage.events.get(old_id)
    assert found is not None
    assert found.key == make_key(DAY, "strong-quake-hits-tokyo")
    assert found.id == await event_id(storage, "strong-quake-hits-tokyo") != old_id


async def test_an_id_follows_merge_after_merge(storage: Storage) -> None:
    """A merged into B, then B into C: A's id finds C."""
    slugs = ("quake", "strong-quake", "strong-quake-kills-two")
    for slug in slugs:
        await storage.events.import_batch([page(slug, slug.replace("-", " ").capitalize())])
    first, second, third = [await event_id(storage, slug) for slug in slugs]
    await storage.events.import_batch(
        [page(slugs[1], "Strong quake", replaces=(make_key(DAY, slugs[0]),))]
    )
    await storage.events.import_batch(
        [page(slugs[2], "Strong quake kills two", replaces=(make_key(DAY, slugs[1]),))]
    )
    for old in (first, second, third):
        found = await storage.events.get(old)
        assert found is not None and found.id == third


async def test_an_id_finds_the_event_its_stub_was_folded_into(storage: Storage) -> None:
    headline = "A strong earthquake of magnitude 6.8 strikes off the coast of Tokyo, Japan."
    linking = PageRecord(
        make_key(DAY + dt.timedelta(days=1), "aftershocks"),
        DAY + dt.timedelta(days=1),
        "Aftershocks follow",
        related=(RelatedRecord(make_key(DAY, "an-earthquake-strikes"), DAY, headline, ("Tokyo",)),),
    )
    complete = page("a-strong-earthquake-strikes-off-tokyo", headline)
    await storage.events.import_batch([complete, linking])
    stub = await storage.events.get_by_key(make_key(DAY, "an-earthquake-strikes"))
    assert stub is not None and not stub.complete
    complete_id = await event_id(storage, "a-strong-earthquake-strikes-off-tokyo")
    assert stub.id != complete_id
    assert await storage.events.reconcile_stubs([stub.id]) == 1

    found = await storage.events.get(stub.id)
    assert found is not None and found.id == complete_id and found.complete


async def test_an_unknown_id_finds_nothing(storage: Storage) -> None:
    await storage.events.import_batch([page("quake-hits-tokyo", "Quake hits Tokyo")])
    assert await storage.events.get(10**12) is None
