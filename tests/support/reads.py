"""What a repository asks of the database: the reads' text parameters, MATCH expressions
among them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from storage import Storage

# A MATCH expression with a one-letter prefix: '"iraq s"*', '"a"*', '"al_a"*'. FTS5 merges
# every word starting with that letter to answer it: a second at a million events.
ONE_LETTER_PREFIX = re.compile(r'(?<=[\s"_])[^\W_]"\*')


def text_parameters(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text parameter of the reads made from now on, in order."""
    asked: list[str] = []
    for name in ("fetchall", "fetchone"):
        read = getattr(storage.db, name)

        async def spy(sql: str, params: Sequence[Any] = (), read: Any = read) -> Any:
            asked.extend(p for p in params if isinstance(p, str))
            return await read(sql, params)

        monkeypatch.setattr(storage.db, name, spy)
    return asked
