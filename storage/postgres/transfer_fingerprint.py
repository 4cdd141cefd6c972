"""The fingerprint of a SQLite archive `chronicle migrate` copies (storage.postgres.transfer):
taken when a copy begins and compared when it resumes, so that a copy never goes on over an
archive that changed meanwhile. Told cheaply, as JSON."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

# Rows changed in place, which counting rows and reading last keys does not see (a bot run
# between two runs of migrate): the small tables hashed whole (a poll's times, a pause, a
# watermark), and what the large ones change in place summed up.
HASHED = (
    "feeds",
    "portal_days",
    "portal_polls",
    "subscriptions",
    "pending_notices",
    "bot_state",
    "guild_settings",
    "digests",
    "digest_entities",
)
SUMMED = {
    "events": "SELECT max(updated_at), count(removed_at) FROM events",
    "entities": "SELECT sum(event_count) FROM entities",
    "deliveries": "SELECT sum(state = 'claimed') FROM deliveries",
    "digest_runs": "SELECT max(updated_at) FROM digest_runs",
}
IN_PLACE = "in place"


def archive_fingerprint(source: sqlite3.Connection, keys: Mapping[str, tuple[str, ...]]) -> str:
    """What the archive holds: each copied table's rows and its last key (`keys`: the
    tables and their keys, in the order they are copied), and SQLite's sequences (ids handed
    out, deleted rows' too), so that a row added or deleted changes it; and what rows
    changed in place would change (IN_PLACE)."""
    found: dict[str, Any] = {}
    for name, key in keys.items():
        columns = ", ".join(f'"{k}"' for k in key)
        descending = ", ".join(f'"{k}" DESC' for k in key)
        count = source.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        last = source.execute(
            f'SELECT {columns} FROM "{name}" ORDER BY {descending} LIMIT 1'
        ).fetchone()
        found[name] = [count, list(last) if last else None]
    found["sqlite_sequence"] = sorted(
        [name, seq] for name, seq in source.execute("SELECT name, seq FROM sqlite_sequence")
    )
    in_place: dict[str, Any] = {
        name: list(source.execute(sql).fetchone()) for name, sql in SUMMED.items()
    }
    for name in HASHED:
        columns = ", ".join(f'"{k}"' for k in keys[name])
        digest = hashlib.sha256()
        for row in source.execute(f'SELECT * FROM "{name}" ORDER BY {columns}'):
            digest.update(repr(tuple(row)).encode())
        in_place[name] = digest.hexdigest()
    found[IN_PLACE] = in_place
    return json.dumps(found, sort_keys=True)


def changed_tables(
    began: dict[str, Any], now: dict[str, Any], keys: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """The tables whose fingerprints differ, in the order they are copied. A fingerprint
    kept by an older Chronicle, without what rows changed in place would change, is compared
    on what it holds."""
    order = {name: n for n, name in enumerate(keys)}
    changed = {n for n in began.keys() - {IN_PLACE} if began.get(n) != now.get(n)}
    then, since = began.get(IN_PLACE, {}), now.get(IN_PLACE, {})
    changed |= {n for n in then if then[n] != since.get(n)}
    return sorted(changed, key=lambda name: (order.get(name, len(order)), name))
