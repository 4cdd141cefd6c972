"""Server settings: the timezone digests and on-this-day use, and the language shown."""

from __future__ import annotations

from storage.models import LANGUAGES, GuildSettings
from storage.sqlite.db import Database
from storage.times import now_timestamp


class GuildSettingsRepository:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        row = await self.db.fetchone(
            "SELECT timezone, language FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return GuildSettings(row["timezone"], row["language"]) if row else GuildSettings()

    async def set_timezone(self, guild_id: int, timezone: str) -> None:
        await self._set(guild_id, "timezone", timezone)

    async def set_language(self, guild_id: int, language: str | None) -> None:
        """The server's language; None: follow its preferred locale again."""
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        await self._set(guild_id, "language", language)

    async def _set(self, guild_id: int, column: str, value: str | None) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO guild_settings(guild_id, {column}, updated_at) VALUES (?, ?, ?)"
                f" ON CONFLICT(guild_id) DO UPDATE SET {column} = excluded.{column},"
                " updated_at = excluded.updated_at",
                (guild_id, value, now_timestamp()),
            )
