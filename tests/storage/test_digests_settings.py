"""Server settings: the timezone a server's digests and dates are read in, and the
language of its news, each kept without the other."""

from __future__ import annotations

import pytest

from storage import Storage
from tests.storage.digests_support import GUILD


async def test_server_settings_keep_a_timezone_and_a_language(storage: Storage) -> None:
    unset = await storage.settings.get(GUILD)
    assert (unset.timezone, unset.language) == (None, None)
    await storage.settings.set_language(GUILD, "zh")  # a language without a timezone
    assert (await storage.settings.get(GUILD)).language == "zh"
    assert (await storage.settings.get(GUILD)).timezone is None
    await storage.settings.set_timezone(GUILD, "Asia/Shanghai")
    await storage.settings.set_language(GUILD, "all")
    settings = await storage.settings.get(GUILD)
    assert (settings.timezone, settings.language) == ("Asia/Shanghai", "all")
    await storage.settings.set_timezone(GUILD, "Europe/Paris")
    assert (await storage.settings.get(GUILD)).language == "all"  # kept
    with pytest.raises(ValueError, match="language"):
        await storage.settings.set_language(GUILD, "fr")
    assert (await storage.settings.get(GUILD)).language == "all"
    assert (await storage.settings.get(GUILD + 1)).timezone is None
