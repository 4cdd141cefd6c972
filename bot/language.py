"""Which edition of the archive a server sees: English ('en'), Chinese ('zh') or both ('all').

A server's language is the one a manager set with /settings language; else it follows the
server's preferred locale (Server Settings → Community → Server Primary Language): any
Chinese locale (zh-CN, zh-TW) is 'zh', anything else 'en'. Direct messages belong to no
server and nobody can set a language for them, so they show 'all': a guess from the
person's client language could hide events with no way to show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import discord

from storage import Storage
from storage.models import LANGUAGES

DEFAULT_LANGUAGE = "en"  # a server whose locale is unknown (not in the bot's cache)
DM_LANGUAGE = "all"  # no server: nothing to go by, and nothing hidden
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese (中文)",
    "all": "all languages (English and Chinese)",
}

Origin = Literal["setting", "locale", "default", "dm"]

__all__ = [
    "DEFAULT_LANGUAGE",
    "DM_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "ServerLanguage",
    "language_of_locale",
    "resolve_language",
    "server_language",
]


@dataclass(frozen=True, slots=True)
class ServerLanguage:
    """A server's language and where it comes from."""

    language: str  # 'en', 'zh' or 'all'
    origin: Origin  # set by a manager, the server's locale, the default, a DM
    locale: str | None = None  # the server's preferred locale, when it decided

    @property
    def name(self) -> str:
        return LANGUAGE_NAMES[self.language]

    def describe(self) -> str:
        """Where the language comes from, for people: "from the server's locale zh-CN"."""
        if self.origin == "setting":
            return "set by a manager"
        if self.origin == "locale":
            return f"from the server's locale {self.locale}"
        if self.origin == "dm":
            return "direct messages show every language"
        return "the default (the server's locale is not known)"


def _locale_text(locale: discord.Locale | str | None) -> str | None:
    if locale is None:
        return None
    return locale.value if isinstance(locale, discord.Locale) else str(locale)


def language_of_locale(locale: discord.Locale | str | None) -> str:
    """'zh' for a Chinese locale (zh-CN, zh-TW, zh, zh_Hant...), else 'en'."""
    text = (_locale_text(locale) or "").strip().casefold()
    return "zh" if text == "zh" or text.startswith(("zh-", "zh_")) else "en"


async def resolve_language(
    storage: Storage, guild: discord.Guild | None, guild_id: int | None = None
) -> ServerLanguage:
    """The language of a server (guild_id defaults to guild.id): the saved setting, else
    from the guild's preferred locale, else DEFAULT_LANGUAGE. No server at all (a direct
    message): DM_LANGUAGE."""
    if guild_id is None and guild is not None:
        guild_id = guild.id
    if guild_id is None:
        return ServerLanguage(DM_LANGUAGE, "dm")
    saved = (await storage.settings.get(guild_id)).language
    if saved is not None:
        return ServerLanguage(saved, "setting")
    if guild is not None:
        locale = _locale_text(guild.preferred_locale)
        return ServerLanguage(language_of_locale(locale), "locale", locale)
    return ServerLanguage(DEFAULT_LANGUAGE, "default")


async def server_language(
    storage: Storage, guild: discord.Guild | None, guild_id: int | None = None
) -> str:
    """The language lookups in a server show ('en', 'zh' or 'all'); see resolve_language.
    Digests whose own language is unset (NULL) use this."""
    return (await resolve_language(storage, guild, guild_id)).language
