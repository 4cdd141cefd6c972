"""Archives as older versions of Chronicle left them: what an upgrade starts from."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from storage.sqlite.db import connect_plain, migrations


def archive_at_schema(path: Path, version: int, events: Sequence[tuple[str, str, str]]) -> None:
    """A database with the migrations up to `version` applied and these events (key, date,
    headline) in it, written through that schema's triggers."""
    with closing(connect_plain(path)) as db:
        db.execute(
            "CREATE TABLE schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for number, name, sql in migrations():
            if number <= version:
                db.executescript(f"BEGIN; {sql}; COMMIT;")
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, 'x')", (number, name))
        db.executemany(
            "INSERT INTO events(key, date, headline, added_at, updated_at)"
            " VALUES (?, ?, ?, 'x', 'x')",
            events,
        )
