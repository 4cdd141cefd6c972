"""Settings the command line cannot use, as an operator meets them: a poll interval that is
no number of minutes (nan, inf, 1e308), a .env file that cannot be read, is not UTF-8 or
has a line that is no setting, a PostgreSQL URL whose host or port cannot be, and a
password in a URL's query string. Each is one clear line naming the setting (or the file
and line), a known exit status, no traceback, and no secret anywhere."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from tests.bot.test_cli_failures import chronicle, one_clear_line
from tests.conftest import SEED_PAGES

SECRET = "s3cr3t-pa55word"
TOKEN = "MTIzNDU2Nzg5.secret-token.do-not-print"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line run in an empty folder, with none of Chronicle's settings set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("DISCORD_", "CHRONICLE_", "FEED_", "WIKIPEDIA_", "LOG_")):
            monkeypatch.delenv(name)
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], *args: str, status: int = 2) -> str:
    """The one line `chronicle args` says on stderr, refusing with `status`."""
    assert cli.main(list(args)) == status
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert SECRET not in err and TOKEN not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# FEED_POLL_MINUTES and WIKIPEDIA_POLL_MINUTES: finite, from a minute to a day.


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e308", "1e9", "1441", "abc"])
def test_a_feed_poll_interval_that_is_no_number_of_minutes_is_refused(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("FEED_POLL_MINUTES", value)
    assert refused(capsys, "--db", "p.db", "feeds", "poll", "--once") == (
        f"chronicle: Invalid setting: FEED_POLL_MINUTES={value!r} must be a number of minutes"
        " from 1 to 1440 (a day)"
    )
    assert list(here.iterdir()) == []  # refused before the database is opened


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "0.5", "-5", "1441"])
def test_a_portal_poll_interval_that_is_no_number_of_minutes_is_refused(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("WIKIPEDIA_POLL_MINUTES", value)
    assert refused(capsys, "--db", "p.db", "wikipedia", "status") == (
        f"chronicle: Invalid setting: WIKIPEDIA_POLL_MINUTES={value!r} must be 0 (off) or a"
        " number of minutes from 1 to 1440 (a day)"
    )


def test_feeds_and_run_refuse_nan_minutes_in_a_process_of_their_own(tmp_path: Path) -> None:
    """The audit's case: every feeds command and `chronicle run` ended in "unexpected error
    (ValueError: cannot convert float NaN to integer)"."""
    for args in (["feeds", "poll", "--once"], ["feeds", "list"], ["run"]):
        result = chronicle(
            tmp_path, "--db", "p.db", *args, FEED_POLL_MINUTES="nan", DISCORD_TOKEN=TOKEN
        )
        assert result.returncode == 2, result.stderr
        assert one_clear_line(result) == (
            "chronicle: Invalid setting: FEED_POLL_MINUTES='nan' must be a number of minutes"
            " from 1 to 1440 (a day)"
        )
        assert TOKEN not in result.stdout + result.stderr
    assert not (tmp_path / "p.db").exists()


# The .env file.


def test_a_dotenv_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(
        f"DISCORD_TOKEN={TOKEN}\nLOG_LEVEL=INFO\n".encode() + b"\xff\xfe garbage\n"
    )
    result = chronicle(tmp_path, "--db", "e.db", "stats")
    assert result.returncode == 2
    assert one_clear_line(result) == (
        "chronicle: .env: line 3 is not UTF-8 text (byte 0xff); save the file as UTF-8"
    )
    assert result.stdout == "" and TOKEN not in result.stderr
    assert not (tmp_path / "e.db").exists()


def test_a_dotenv_line_that_is_no_setting_is_named_not_dropped(tmp_path: Path) -> None:
    """The setting had been dropped with a warning naming no file; the operator was then
    told DISCORD_TOKEN is not set, with the token there in .env."""
    (tmp_path / ".env").write_text(
        f'LOG_LEVEL=INFO\nDISCORD_TOKEN = "{TOKEN}" extra\nthis is garbage\n', encoding="utf-8"
    )
    result = chronicle(tmp_path, "--db", "e.db", "stats")
    assert result.returncode == 2
    assert one_clear_line(result) == (
        "chronicle: .env: lines 2 (DISCORD_TOKEN), 3 are not NAME=value (a quoted value is"
        ' quoted whole: NAME="a b"); nothing was read from it'
    )
    assert TOKEN not in result.stdout + result.stderr
    assert "python-dotenv" not in result.stderr


def test_an_unreadable_dotenv_is_said_in_one_line(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """(Root reads a file of mode 000, so the refusal to open it is simulated.)"""
    (here / ".env").write_text("LOG_LEVEL=INFO\n", encoding="utf-8")
    opened = pathlib.Path.open

    def open_refused(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == ".env":
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", open_refused)
    assert refused(capsys, "--db", "e.db", "stats") == (
        "chronicle: cannot read .env: permission denied"
    )


def test_a_dotenv_with_a_byte_order_mark_is_read(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / ".env").write_bytes(b"\xef\xbb\xbfLOG_LEVEL=LOUD\n")  # read, so checked
    assert refused(capsys, "--db", "e.db", "stats") == (
        "chronicle: Invalid setting: LOG_LEVEL='LOUD' must be one of DEBUG, INFO, WARNING,"
        " ERROR, CRITICAL"
    )


# A PostgreSQL URL whose server part cannot be.

BAD_SERVERS = [
    (
        f"postgresql://u:{SECRET}@127.0.0.1:99999/db",
        "port 99999 is not a port (1-65535)",
    ),
    (
        f"postgresql://u:{SECRET}@127.0.0.1:0/db",
        "port 0 is not a port (1-65535)",
    ),
    (
        f"postgresql://u:{SECRET}@127.0.0.1:abc/db",
        "the port after the host is not a number (write host:5432); a '/', '?', '#' or '@' in"
        " the user or password is written %2F, %3F, %23, %40",
    ),
    (
        f"postgresql://u:{SECRET}@[::1:1/db",
        "an IPv6 address is written whole, in brackets: [::1] or [::1]:5432",
    ),
    (
        f"postgresql:///db?host=127.0.0.1&port=x&password={SECRET}",
        "port= is not a port number (port=5432)",
    ),
    (
        f"postgresql://u@h1,,h2/db?password={SECRET}",
        "a list of hosts holds an empty one (host1,host2: one comma between two)",
    ),
]


@pytest.mark.parametrize(("url", "reason"), BAD_SERVERS)
def test_a_bad_host_or_port_in_the_settings_is_refused(
    here: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    reason: str,
) -> None:
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", url)
    assert refused(capsys, "stats") == (
        f"chronicle: Invalid setting: CHRONICLE_DATABASE_URL: {reason}"
    )


@pytest.mark.parametrize(("url", "reason"), BAD_SERVERS)
def test_a_bad_host_or_port_in_db_is_refused(
    here: Path, capsys: pytest.CaptureFixture[str], url: str, reason: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--db", url, "stats"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and SECRET not in err and "Traceback" not in err
    assert err.splitlines()[-1] == f"chronicle: error: argument --db: {reason}"


def test_a_bad_port_in_migrate_to_is_refused(tmp_path: Path) -> None:
    assert chronicle(tmp_path, "--db", "s.db", "import", str(SEED_PAGES[0])).returncode == 0
    for url, shown, reason in [
        (
            f"postgresql://u:{SECRET}@127.0.0.1:99999/db",
            "postgresql://u:***@127.0.0.1:99999/db",
            "port 99999 is not a port (1-65535)",
        ),
        (
            f"postgresql://u:{SECRET}@[::1:1/db",
            "postgresql://u:***@[::1:1/db",
            "an IPv6 address is written whole, in brackets: [::1] or [::1]:5432",
        ),
    ]:
        result = chronicle(tmp_path, "--db", "s.db", "migrate", "--to", url, LOG_LEVEL="DEBUG")
        assert result.returncode == 1
        assert one_clear_line(result) == f"chronicle: the database URL {shown}: {reason}"
        assert SECRET not in result.stdout + result.stderr


# A password in the query string (libpq's and asyncpg's ?password=, ?sslpassword=).


def test_a_password_in_the_query_string_is_masked(tmp_path: Path) -> None:
    unreachable = "cannot reach the PostgreSQL server of"
    for url, shown in [
        (
            f"postgresql://127.0.0.1:1/db?user=u&password={SECRET}",
            "postgresql://127.0.0.1:1/db?user=u&password=***",
        ),
        (
            f"postgresql://u:{SECRET}@127.0.0.1:1/db?password=other{SECRET}",
            "postgresql://u:***@127.0.0.1:1/db?password=***",
        ),
        (
            f"postgresql://u@127.0.0.1:1/db?sslpassword={SECRET}&PassWord={SECRET}",
            "postgresql://u@127.0.0.1:1/db?sslpassword=***&PassWord=***",
        ),
    ]:
        for result in (
            chronicle(tmp_path, "--db", url, "stats", LOG_LEVEL="DEBUG"),
            chronicle(tmp_path, "stats", LOG_LEVEL="DEBUG", CHRONICLE_DATABASE_URL=url),
        ):
            assert result.returncode == 1
            assert SECRET not in result.stdout + result.stderr
            line = one_clear_line(result)
            assert line.startswith(f"chronicle: {unreachable} {shown}: "), line
            assert line.endswith("; check that it runs")


def test_migrate_to_masks_a_password_in_the_query_string(tmp_path: Path) -> None:
    assert chronicle(tmp_path, "--db", "s.db", "import", str(SEED_PAGES[0])).returncode == 0
    url = f"postgresql://127.0.0.1:1/db?user=u&password={SECRET}"
    result = chronicle(tmp_path, "--db", "s.db", "migrate", "--to", url, LOG_LEVEL="DEBUG")
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert one_clear_line(result).startswith(
        "chronicle: cannot reach the PostgreSQL server of"
        " postgresql://127.0.0.1:1/db?user=u&password=***: "
    )
