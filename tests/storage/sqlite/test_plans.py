"""Query plans that keep lookups fast however big an entity gets (EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from storage import Storage


async def test_an_entitys_newest_events_are_read_from_the_index_not_sorted(
    storage: Storage,
) -> None:
    with closing(sqlite3.connect(storage.db.path)) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT event_id FROM event_entities WHERE entity_id = ?"
            " ORDER BY date DESC, event_id DESC LIMIT 10",
            (1,),
        ).fetchall()
    details = " / ".join(row[3] for row in plan)
    assert "event_entities_by_entity" in details
    assert "TEMP B-TREE" not in details, details
