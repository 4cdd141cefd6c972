"""What storage tests share to put events in and read them back: import pages, and find an
event's or an entity's id."""

from __future__ import annotations

from storage import Storage
from storage.models import PageRecord


async def arrive(storage: Storage, *pages: PageRecord) -> list[int]:
    """Import pages; their event ids, in order."""
    await storage.events.import_batch(pages)
    ids = []
    for page in pages:
        event = await storage.events.get_by_key(page.key)
        assert event is not None
        ids.append(event.id)
    return ids


async def entity(storage: Storage, name: str) -> int:
    """The id of the entity of that name or alias."""
    found = await storage.entities.find(name)
    assert found is not None, name
    return found[0]
