"""A PostgreSQL URL as messages and logs show it: every password masked, in every form
libpq and asyncpg take one (before the "@", or as ?password= / ?sslpassword=), and a host
or port asyncpg cannot read refused in one line before any connection is tried."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import cli
from storage import StorageError, open_storage
from storage.postgres.db import _pool_options, redacted
from tests.conftest import SEED_PAGES

SECRET = "s3cr3t-pa55word"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (f"postgresql://u:{SECRET}@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            f"postgresql://h:1/db?user=u&password={SECRET}",
            "postgresql://h:1/db?user=u&password=***",
        ),
        (
            f"postgresql://u:{SECRET}@h/db?password={SECRET}&sslpassword={SECRET}",
            "postgresql://u:***@h/db?password=***&sslpassword=***",
        ),
        # However the name is written: case, percent-escapes, '+' for a space around it.
        (f"postgresql://h/db?PASSWORD={SECRET}", "postgresql://h/db?PASSWORD=***"),
        (f"postgresql://h/db?pass%77ord={SECRET}", "postgresql://h/db?pass%77ord=***"),
        (f"postgresql://h/db?password+={SECRET}", "postgresql://h/db?password+=***"),
        # Given twice (asyncpg takes the last), both are masked.
        (
            f"postgresql://h/db?password={SECRET}&password=2{SECRET}",
            "postgresql://h/db?password=***&password=***",
        ),
        # Other parameters, the fragment and a Unix socket's folder stay as written.
        (
            f"postgresql:///db?host=/run/postgresql&password={SECRET}&statement_cache_size=0#x",
            "postgresql:///db?host=/run/postgresql&password=***&statement_cache_size=0#x",
        ),
        ("postgresql://h/db?user=a@b", "postgresql://h/db?user=a@b"),
        ("postgresql://h/db?password", "postgresql://h/db?password"),  # nothing to hide
        # A URL that does not parse is masked all the same.
        (f"postgresql://u:{SECRET}@[::1:1/db", "postgresql://u:***@[::1:1/db"),
        (f"postgresql://u:{SECRET}@h:99999/db", "postgresql://u:***@h:99999/db"),
        # An unescaped '#', '?' or '@' in the password goes with it.
        ("postgresql://u:a#b?c@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:a@b@h/db", "postgresql://u:***@h/db"),
    ],
)
def test_redacted_masks_every_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"postgresql://u:{SECRET}@h:99999/db", "port 99999 is not a port (1-65535)"),
        (f"postgresql://u:{SECRET}@[::1/db", "an IPv6 address is written whole"),
        (f"postgresql://h/db?port=5432,abc&password={SECRET}", "port= is not a port number"),
    ],
)
def test_a_url_asyncpg_cannot_read_is_refused_before_connecting(url: str, reason: str) -> None:
    with pytest.raises(StorageError) as refused:
        _pool_options(url)
    message = str(refused.value)
    assert message.startswith(f"the database URL {redacted(url)}: ")
    assert reason in message and SECRET not in message


async def test_migration_logs_mask_a_query_string_password(
    target_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The audit's case: "applying migration 0001_archive.sql to postgresql://…&password=…"."""
    url = target_url + ("&" if "?" in target_url else "?") + f"password={SECRET}"
    caplog.set_level(logging.DEBUG)
    storage = await open_storage(url)
    try:
        assert storage.location == redacted(url) and SECRET not in storage.location
    finally:
        await storage.close()
    applied = [r.getMessage() for r in caplog.records if "applying migration" in r.getMessage()]
    assert applied and all(m.endswith("password=***") for m in applied)
    assert SECRET not in caplog.text


async def test_the_import_command_masks_it_too(
    target_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CHRONICLE_DB", "CHRONICLE_DATABASE_URL", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    url = target_url + ("&" if "?" in target_url else "?") + f"password={SECRET}"
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    # cli.main runs its own event loop: in a thread of its own, apart from the test's.
    assert await asyncio.to_thread(cli.main, ["--db", url, "import", str(SEED_PAGES[0])]) == 0
    out, err = capsys.readouterr()
    assert "applying migration" in err
    assert SECRET not in out + err
