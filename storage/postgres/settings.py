"""PostgreSQL: server settings, the timezone digests and on this day use, and the language
shown."""

from __future__ import annotations

from storage.models import LANGUAGES, GuildSettings
from storage.postgres.db import Database
from storage.times import utc_now


class GuildSettingsRepository:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        row = await self.db.fetchrow(
            "SELECT timezone, language FROM guild_settings WHERE guild_id = $1", guild_id
        )
        return GuildSettings(row["timezone"], row["language"]) if row else GuildSettings()

    async def set_timezone(self, guild_id: int, timezone: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings(guild_id, timezone, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone,"
                " updated_at = excluded.updated_at",
                guild_id,
                timezone,
                utc_now(),
            )

    async def set_language(self, guild_id: int, language: str | None) -> None:
        """The server's language; None: follow its preferred locale again."""
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings(guild_id, language, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (guild_id) DO UPDATE SET language = excluded.language,"
                " updated_at = excluded.updated_at",
                guild_id,
                language,
                utc_now(),
            )
