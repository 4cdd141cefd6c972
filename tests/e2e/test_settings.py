"""A server's language and timezone end to end (/settings, and lookups in the server's
language), with the real bot over the loopback Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.client import ChronicleBot
from bot.services.imports import import_archive
from storage import Storage
from storage.textindex import has_cjk
from tests.conftest import SAMPLE_NEWS, SEED_PAGES, TEST_DATA
from tests.e2e.harness import running_bot
from tests.e2e.standin.constants import DEFAULT_GUILD_ID
from tests.e2e.standin.model import GuildSpec
from tests.e2e.standin.server import DiscordStandIn

EPHEMERAL = 64
MANAGE_GUILD = 1 << 5
MANAGER: dict[str, Any] = {"member_permissions": MANAGE_GUILD | 0x400 | 0x800}
NOT_MANAGER: dict[str, Any] = {"member_permissions": 0x400 | 0x800}
# The Chinese edition's 2017-06-16 (the English sample has that day too).
ZH_06_16 = TEST_DATA / "news-zh-06-16"
KOHL_EN = "Former German Chancellor Helmut Kohl dies"
KOHL_ZH = "曾长期担任德国总理的赫尔穆特·科尔因病逝世"
KOHL_ZH_KEY = "2017/06/16/曾长期担任德国总理的赫尔穆特-科尔因病逝世-享年87岁"


async def editions(storage: Storage) -> None:
    report = await import_archive(storage, [SAMPLE_NEWS, *SEED_PAGES, ZH_06_16])
    assert report.ok, report.failed


@asynccontextmanager
async def server(
    tmp_path: Path, locale: str = "en-US"
) -> AsyncIterator[tuple[DiscordStandIn, ChronicleBot]]:
    """The bot in one server whose preferred locale is `locale`, both editions imported."""
    async with (
        DiscordStandIn(guilds=[GuildSpec(preferred_locale=locale)]) as standin,
        running_bot(standin, tmp_path / "chronicle.db", prepare=editions) as bot,
    ):
        yield standin, bot
    assert not standin.internal_errors


def data(callback: Any) -> dict[str, Any]:
    return callback.json.get("data") or {}


async def reply_to(standin: DiscordStandIn, command: str, **options: Any) -> dict[str, Any]:
    """A manager runs a /settings command; its (immediate) reply."""
    handle = await standin.send_slash_command(command, options, **MANAGER)
    return data(await handle.callback())


async def onthisday_text(standin: DiscordStandIn, date: str = "06-16") -> str:
    handle = await standin.send_slash_command("onthisday", {"date": date})
    message = await handle.response()
    embed = message["embeds"][0]
    assert embed["title"] == "On this day: June 16"
    return str(embed["description"])


def headlines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("• ")]


async def test_an_english_server_sees_english_events_only(tmp_path: Path) -> None:
    async with server(tmp_path) as (standin, _):
        lines = headlines(await onthisday_text(standin))
        assert len(lines) == 9 and any(KOHL_EN in line for line in lines)
        assert not any(has_cjk(line) for line in lines)

        handle = await standin.send_autocomplete("event", {"query": "科"}, focused="query")
        assert data(await handle.callback())["choices"] == []
        handle = await standin.send_autocomplete("event", {"query": "helmut"}, focused="query")
        choices = data(await handle.callback())["choices"]
        assert choices and not any(has_cjk(c["name"]) for c in choices)

        handle = await standin.send_slash_command("search", {"query": "科尔"})
        refusal = data(await handle.callback())
        assert refusal["flags"] & EPHEMERAL
        assert "No events match “科尔” among this server's English events." in refusal["content"]
        handle = await standin.send_slash_command("event", {"query": "赫尔穆特·科尔"})
        refusal = data(await handle.callback())
        assert "among this server's English events" in refusal["content"]
        assert "Did you mean" not in refusal["content"]

        # An event named by its key is shown whatever its language.
        handle = await standin.send_slash_command("event", {"query": KOHL_ZH_KEY})
        assert (await handle.response())["embeds"][0]["title"].startswith(KOHL_ZH)


async def test_a_chinese_server_sees_chinese_events(tmp_path: Path) -> None:
    async with server(tmp_path, "zh-CN") as (standin, _):
        lines = headlines(await onthisday_text(standin))
        assert lines and all(has_cjk(line) for line in lines)
        assert any(KOHL_ZH in line for line in lines)

        handle = await standin.send_autocomplete("event", {"query": "科尔"}, focused="query")
        choices = data(await handle.callback())["choices"]
        assert choices and all(has_cjk(c["name"]) for c in choices)
        handle = await standin.send_autocomplete("event", {"query": "helmut"}, focused="query")
        assert data(await handle.callback())["choices"] == []

        handle = await standin.send_slash_command("search", {"query": "科尔"})
        embed = (await handle.response())["embeds"][0]
        assert KOHL_ZH in embed["description"]

        reply = await reply_to(standin, "settings show")
        assert reply["flags"] & EPHEMERAL
        assert (
            "Chinese" in reply["content"] and "from the server's locale zh-CN" in reply["content"]
        )


async def test_a_manager_sets_the_language(tmp_path: Path) -> None:
    async with server(tmp_path) as (standin, bot):
        reply = await reply_to(standin, "settings show")
        assert (
            "English" in reply["content"] and "from the server's locale en-US" in reply["content"]
        )
        assert "UTC (the default; none set)" in reply["content"]

        reply = await reply_to(standin, "settings language", language="all")
        assert reply["flags"] & EPHEMERAL
        assert "now **all languages (English and Chinese)** (`all`)" in reply["content"]
        assert (await bot.storage.settings.get(DEFAULT_GUILD_ID)).language == "all"
        lines = headlines(await onthisday_text(standin))
        assert any(KOHL_EN in line for line in lines) and any(KOHL_ZH in line for line in lines)

        reply = await reply_to(standin, "settings language", language="zh")
        assert "now **Chinese (中文)** (`zh`)" in reply["content"]
        lines = headlines(await onthisday_text(standin))
        assert lines and all(has_cjk(line) for line in lines)

        reply = await reply_to(standin, "settings show")
        assert "Chinese (中文) (`zh`, set by a manager)" in reply["content"]

        # Back to the server's locale: English again, and said where it comes from.
        reply = await reply_to(standin, "settings language", language="locale")
        assert "now **English** (`en`, from the server's locale en-US)" in reply["content"]
        assert (await bot.storage.settings.get(DEFAULT_GUILD_ID)).language is None
        lines = headlines(await onthisday_text(standin))
        assert lines and not any(has_cjk(line) for line in lines)


async def test_a_manager_sets_the_timezone(tmp_path: Path) -> None:
    async with server(tmp_path) as (standin, bot):
        handle = await standin.send_autocomplete(
            "settings timezone", {"timezone": "berl"}, focused="timezone", **MANAGER
        )
        choices = data(await handle.callback())["choices"]
        assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in choices

        reply = await reply_to(standin, "settings timezone", timezone="europe/berlin")
        assert reply["flags"] & EPHEMERAL and "now **Europe/Berlin**" in reply["content"]
        assert (await bot.storage.settings.get(DEFAULT_GUILD_ID)).timezone == "Europe/Berlin"
        reply = await reply_to(standin, "settings show")
        assert "Europe/Berlin (set by a manager)" in reply["content"]

        # A mistake goes through the one error handler: private, with what was meant.
        reply = await reply_to(standin, "settings timezone", timezone="Europe/Berln")
        assert reply["flags"] & EPHEMERAL
        assert "is not a timezone I know" in reply["content"]
        assert "Europe/Berlin" in reply["content"]
        assert (await bot.storage.settings.get(DEFAULT_GUILD_ID)).timezone == "Europe/Berlin"


async def test_settings_are_for_managers_only(tmp_path: Path) -> None:
    async with server(tmp_path) as (standin, bot):
        command = next(
            c for c in standin.guild_commands[DEFAULT_GUILD_ID] if c["name"] == "settings"
        )
        assert int(command["default_member_permissions"]) == MANAGE_GUILD  # hidden by Discord
        assert command.get("dm_permission") is False or command.get("contexts") == [0]
        with pytest.raises(PermissionError):
            await standin.send_slash_command("settings language", {"language": "zh"}, **NOT_MANAGER)
        # A server that overrides Discord's default still meets the bot's own check.
        for name, options in (
            ("settings language", {"language": "zh"}),
            ("settings timezone", {"timezone": "Asia/Tokyo"}),
            ("settings show", {}),
        ):
            handle = await standin.send_slash_command(
                name, options, enforce_command_permissions=False, **NOT_MANAGER
            )
            reply = data(await handle.callback())
            assert reply["flags"] & EPHEMERAL
            # The permission as Discord names it, not as discord.py does (manage_guild).
            assert reply["content"] == "You need the Manage Server permission for this.", name
        settings = await bot.storage.settings.get(DEFAULT_GUILD_ID)
        assert settings.language is None and settings.timezone is None
