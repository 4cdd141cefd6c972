"""An entity named by its id (autocomplete's value for a name too long for a choice)."""

from __future__ import annotations

import datetime as dt

from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord

DAY = dt.date(2019, 4, 8)
LONG_NAME = "The International Conference on " + "the Reconstruction of Cities " * 6


async def test_an_id_finds_its_entity_and_an_aliass_finds_the_entity_it_names(
    storage: Storage,
) -> None:
    page = PageRecord(make_key(DAY, "talks"), DAY, "Talks open", entities=(LONG_NAME, "ISIL"))
    await storage.events.import_batch([page])
    await storage.entities.alias("ISIL", "Islamic State")
    long_entity = await storage.entities.find(LONG_NAME)
    alias = await storage.entities.find("Islamic State")
    assert long_entity is not None and alias is not None

    assert await storage.entities.find_by_id(long_entity[0]) == (long_entity[0], LONG_NAME)
    (isil_id,) = [n.id for n in await storage.entities.names() if n.name == "ISIL"]
    assert await storage.entities.find_by_id(isil_id) == alias
    assert await storage.entities.find_by_id(10**12) is None
