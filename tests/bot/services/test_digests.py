"""A digest's filters from what a manager picked in /digest set."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import NotFound
from bot.services.digests import resolve_filters
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord

DAY = dt.date(2018, 3, 7)
LONG_NAME = "International Conference on the Reconstruction of Cities after the War " * 2


async def test_an_entity_picked_by_its_id_is_the_filter(storage: Storage) -> None:
    """Autocomplete sends a name longer than a choice holds as entity:<id>."""
    page = PageRecord(make_key(DAY, "talks"), DAY, "Talks", entities=(LONG_NAME.strip(),))
    await storage.events.import_batch([page])
    found = await storage.entities.find(LONG_NAME)
    assert found is not None

    filters, names = await resolve_filters(storage, entities=[f"entity:{found[0]}"])

    assert filters.entity_ids == (found[0],) and names == (LONG_NAME.strip(),)
    with pytest.raises(NotFound, match="no longer in the archive"):
        await resolve_filters(storage, entities=[f"entity:{found[0] + 1000}"])
