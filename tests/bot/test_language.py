"""A server's language (bot.language), lookups in one edition, and `--language` on the
command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord import Locale

from bot.errors import NotFound
from bot.language import language_of_locale, resolve_language, server_language
from bot.services import lookups
from bot.services.imports import import_archive
from storage import Storage
from storage.textindex import has_cjk
from tests.bot.test_cli import Cli
from tests.conftest import SAMPLE_NEWS, SEED_PAGES, TEST_DATA

ZH_06_16 = TEST_DATA / "news-zh-06-16"
KOHL_ZH = "曾长期担任德国总理的赫尔穆特·科尔因病逝世，享年87岁"
KOHL_ZH_KEY = "2017/06/16/曾长期担任德国总理的赫尔穆特-科尔因病逝世-享年87岁"
PATHS = [SAMPLE_NEWS, *SEED_PAGES, ZH_06_16]


@pytest.fixture
async def editions(storage: Storage) -> Storage:
    report = await import_archive(storage, PATHS)
    assert report.ok, report.failed
    return storage


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        (Locale.chinese, "zh"),
        (Locale.taiwan_chinese, "zh"),
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh", "zh"),
        ("ZH_hant", "zh"),
        (Locale.american_english, "en"),
        (Locale.japanese, "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_locale_has_a_language(locale: Locale | str | None, language: str) -> None:
    assert language_of_locale(locale) == language


async def test_a_servers_language_is_its_setting_else_the_default(storage: Storage) -> None:
    guild_id = 1_180_000_000_000_009_000
    assert await server_language(storage, None, None) == "all"  # a DM: nothing hidden
    assert (await resolve_language(storage, None, None)).origin == "dm"
    # A server not in the bot's cache, with no setting: English.
    unknown = await resolve_language(storage, None, guild_id)
    assert (unknown.language, unknown.origin) == ("en", "default")
    await storage.settings.set_language(guild_id, "zh")
    saved = await resolve_language(storage, None, guild_id)
    assert (saved.language, saved.origin, saved.describe()) == ("zh", "setting", "set by a manager")
    assert await server_language(storage, None, guild_id) == "zh"
    assert await server_language(storage, None, guild_id + 1) == "en"  # one server's only


async def test_an_event_named_by_its_key_is_found_in_any_language(editions: Storage) -> None:
    event = await lookups.find_event(editions, KOHL_ZH_KEY, language="en")
    assert event.headline == KOHL_ZH
    assert (await lookups.find_event(editions, "赫尔穆特·科尔", language="zh")).id == event.id
    with pytest.raises(NotFound) as refused:
        await lookups.find_event(editions, "赫尔穆特·科尔", language="en")
    assert not any(has_cjk(s) for s in refused.value.suggestions)
    english = await lookups.find_event(editions, "Helmut Kohl", language="en")
    assert english.lang == "en"
    card = await lookups.event_card(editions, "Helmut Kohl", language="all")
    assert card.event.id == english.id


async def test_the_services_pass_the_language_on(editions: Storage) -> None:
    _, _, chinese = await lookups.on_this_day(editions, "06-16", language="zh")
    assert chinese and all(has_cjk(b.headline) for b in chinese)
    _, _, english = await lookups.on_this_day(editions, "06-16", language="en")
    assert english and not any(has_cjk(b.headline) for b in english)
    _, _, both = await lookups.on_this_day(editions, "06-16", language="all")
    assert len(both) == len(chinese) + len(english)
    hits = await lookups.search(
        editions, "*", since="2017-06-16", until="2017-06-16", language="zh"
    )
    assert {h.event.headline for h in hits} == {b.headline for b in chinese if b.complete}
    profile = await lookups.entity_profile(editions, "Islamic State", language="zh")
    assert profile.recent == () and profile.event_count > 0


def test_the_command_line_shows_every_language_unless_told(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    cli = Cli(tmp_path / "chronicle.db", capsys)
    code, _, err = cli("import", *map(str, PATHS))
    assert code == 0, err

    def headlines(*args: str) -> list[str]:
        found = cli.json(*args)
        assert isinstance(found, list)
        return [item["headline"] for item in found]

    both = headlines("onthisday", "06-16")
    assert KOHL_ZH in both and any(not has_cjk(h) for h in both)
    assert headlines("onthisday", "06-16", "--language", "all") == both
    english = headlines("onthisday", "06-16", "--language", "en")
    chinese = headlines("onthisday", "06-16", "--language", "zh")
    assert english and not any(has_cjk(h) for h in english)
    assert chinese and all(has_cjk(h) for h in chinese) and KOHL_ZH in chinese
    assert sorted(english + chinese) == sorted(both)

    assert headlines("search", "科尔") == [KOHL_ZH]
    assert headlines("search", "科尔", "--language", "en") == []
    assert headlines("search", "Helmut", "Kohl", "--language", "zh") == []
    assert headlines("search", "Helmut", "Kohl", "--language", "en")

    card = cli.json("show", "赫尔穆特·科尔", "--language", "zh")
    assert isinstance(card, dict) and card["headline"] == KOHL_ZH
    card = cli.json("show", KOHL_ZH_KEY, "--language", "en")  # a key: any language
    assert isinstance(card, dict) and card["headline"] == KOHL_ZH
    code, _, err = cli("show", "科尔", "--language", "en")
    assert code == 1 and "No event matches “科尔”" in err and "Did you mean" not in err
    code, _, err = cli("show", "Helmutt Kohl", "--language", "zh")
    assert code == 1 and "Did you mean" not in err
    code, _, err = cli("show", "Helmutt Kohl", "--language", "en")
    assert code == 1 and "Did you mean" in err and "Helmut Kohl" in err

    with pytest.raises(SystemExit) as refused:
        cli("onthisday", "06-16", "--language", "fr")
    assert refused.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err
