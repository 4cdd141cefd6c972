"""Rows as both backends read them (by column name: aiosqlite.Row and asyncpg.Record alike)
turned into domain types, and the statements whose columns those mappings expect."""

from __future__ import annotations

from typing import Any, Protocol

from storage.models import Subscription


class Row(Protocol):
    """A row read by column name."""

    def __getitem__(self, column: str) -> Any: ...


SUBSCRIPTION_SELECT = (
    "SELECT s.id, s.guild_id, s.user_id, s.entity_id, e.name AS entity, s.delivery,"
    " s.channel_id, s.paused_reason FROM subscriptions s JOIN entities e ON e.id = s.entity_id"
)


def subscription(row: Row, id_column: str = "id") -> Subscription:
    return Subscription(
        id=row[id_column],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        entity_id=row["entity_id"],
        entity=row["entity"],
        delivery=row["delivery"],
        channel_id=row["channel_id"],
        paused_reason=row["paused_reason"],
    )
