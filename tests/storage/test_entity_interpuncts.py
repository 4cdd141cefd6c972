"""A name's dots are one: 約翰‧貝爾 (Taiwan's ‧), 約翰·貝爾 and a Big5 feed's 約翰•貝爾 name one
entity, on both backends, and an archive made before they folded alike is folded again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from storage import Storage
from storage.models import PageRecord
from storage.textindex import fold_text
from tests.storage.conftest import BACKENDS, OpenArchive

NAME = "約翰‧貝爾‧愛德華茲"  # as the Chinese edition writes it


def page(*entities: str) -> PageRecord:
    return PageRecord(
        key="2019/12/10/john-bel-edwards",
        date=dt.date(2019, 12, 10),
        headline="路易斯安那州州长选举",
        entities=entities,
    )


@pytest.mark.parametrize(
    "typed", ["約翰‧貝爾‧愛德華茲", "約翰·貝爾·愛德華茲", "约翰•贝尔•爱德华兹"]
)
async def test_a_name_is_found_whichever_dot_it_is_written_with(
    storage: Storage, typed: str
) -> None:
    await storage.events.import_batch([page(NAME)])
    found = await storage.entities.find(typed)
    assert found is not None and found[1] == NAME


def test_the_dots_fold_alike_and_nothing_else_moves() -> None:
    assert fold_text("唐納‧川普") == fold_text("唐納·川普") == fold_text("唐納•川普")
    # Japanese ・ is katakana to the index (its words would change): not folded.
    assert fold_text("ドナルド・トランプ") != fold_text("ドナルド·トランプ")


# What every Chronicle before the migration stored: the name folded with the dot as written.
MIGRATION = {"sqlite": 17, "postgresql": 12}


async def test_an_archive_from_before_is_folded_again(
    open_archive: OpenArchive, backend: str
) -> None:
    run = BACKENDS[backend][1]

    async def sql(storage: Storage, statement: str, *params: Any) -> None:
        await run(storage, statement, params)

    def folded_before(name: str) -> str:
        return fold_text(name).replace("·", "‧")

    storage = await open_archive("upgraded")
    await storage.events.import_batch([page(NAME, "唐納·川普", "唐納川普")])
    # Back to before: a name folded with its own dot; and two names, written with two
    # dots, that now fold alike.
    await sql(storage, "UPDATE entities SET folded = ? WHERE name = ?", folded_before(NAME), NAME)
    await sql(
        storage,
        "UPDATE entities SET name = ?, folded = ? WHERE name = ?",
        "唐納‧川普",
        folded_before("唐納‧川普"),
        "唐納川普",
    )
    await sql(storage, "DELETE FROM schema_migrations WHERE version = ?", MIGRATION[backend])
    assert await storage.entities.find("約翰·貝爾·愛德華茲") is None
    await storage.close()
    async with await open_archive("upgraded") as storage:  # the migration runs
        found = await storage.entities.find("約翰·貝爾·愛德華茲")
        assert found is not None and found[1] == NAME
        # Of two that fold alike now, one keeps its old form (entities are not merged).
        found = await storage.entities.find("唐納‧川普")
        assert found is not None and found[1] == "唐納·川普"
