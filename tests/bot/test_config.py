"""Which database the settings name: CHRONICLE_DATABASE_URL (a sqlite:/// URL or a path),
the older CHRONICLE_DB, and --db over both; what is refused, in one line, without secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, Settings
from storage.location import database_location
from tests.conftest import SEED_PAGES

SECRET = "s3cr3t-pa55word"


def database(**values: str) -> Path:
    return Settings.from_mapping(values).database


def refusal(**values: str) -> str:
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping(values)
    message = str(refused.value)
    assert "\n" not in message and SECRET not in message
    return message


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///chronicle.db", Path("chronicle.db")),  # three slashes: relative
        ("sqlite:///data/news/chronicle.db", Path("data/news/chronicle.db")),
        ("sqlite:///../chronicle.db", Path("../chronicle.db")),
        ("sqlite:////srv/chronicle/chronicle.db", Path("/srv/chronicle/chronicle.db")),  # four
        ("SQLite:///chronicle.db", Path("chronicle.db")),  # schemes ignore case
        ("sqlite+aiosqlite:///chronicle.db", Path("chronicle.db")),  # SQLAlchemy's async form
        ("sqlite+pysqlite:////srv/c.db", Path("/srv/c.db")),
        ("sqlite:///my news #1.db", Path("my news #1.db")),  # as SQLAlchemy: taken as written
        ("  sqlite:///chronicle.db  ", Path("chronicle.db")),  # spaces around are trimmed
    ],
)
def test_a_sqlite_url_names_a_file_as_sqlalchemy_reads_it(url: str, path: Path) -> None:
    assert database(CHRONICLE_DATABASE_URL=url) == path
    assert database_location("CHRONICLE_DATABASE_URL", url.strip()) == path


@pytest.mark.parametrize(
    "path", ["chronicle.db", "data/chronicle.db", "/srv/chronicle.db", "C:\\Chronicle\\c.db"]
)
def test_a_plain_path_is_taken_as_written(path: str) -> None:
    assert database(CHRONICLE_DATABASE_URL=path) == Path(path)
    assert database(CHRONICLE_DB=path) == Path(path)


def test_without_either_setting_the_file_is_chronicle_db_here() -> None:
    assert database() == Path("chronicle.db")
    assert database(CHRONICLE_DATABASE_URL="", CHRONICLE_DB="  ") == Path("chronicle.db")


def test_chronicle_db_keeps_working_and_takes_a_url_too() -> None:
    assert database(CHRONICLE_DB="/srv/old.db") == Path("/srv/old.db")
    assert database(CHRONICLE_DB="sqlite:////srv/old.db") == Path("/srv/old.db")
    assert database(CHRONICLE_DATABASE_URL="", CHRONICLE_DB="old.db") == Path("old.db")
    assert Settings.from_mapping({"CHRONICLE_DB": "old.db"}).database_notice is None


def test_the_url_wins_over_chronicle_db_and_says_so_without_values() -> None:
    settings = Settings.from_mapping(
        {"CHRONICLE_DATABASE_URL": "sqlite:////srv/new.db", "CHRONICLE_DB": "/srv/old.db"}
    )
    assert settings.database == Path("/srv/new.db")
    assert settings.database_notice == (
        "CHRONICLE_DB is ignored: CHRONICLE_DATABASE_URL is set, and wins"
    )
    same = Settings.from_mapping(
        {"CHRONICLE_DATABASE_URL": "sqlite:///c.db", "CHRONICLE_DB": "c.db"}
    )
    assert same.database == Path("c.db") and same.database_notice is None


def test_an_ignored_chronicle_db_is_not_checked() -> None:
    settings = Settings.from_mapping(
        {"CHRONICLE_DATABASE_URL": "sqlite:///c.db", "CHRONICLE_DB": "mysql://x/y"}
    )
    assert settings.database == Path("c.db") and settings.database_notice


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"postgresql://chronicle:{SECRET}@db.example.org:5432/chronicle",
            f"postgresql://chronicle:{SECRET}@db.example.org:5432/chronicle",
        ),
        (
            f"postgres://chronicle:{SECRET}@localhost/chronicle",
            f"postgresql://chronicle:{SECRET}@localhost/chronicle",
        ),
        (
            f"postgresql+asyncpg://chronicle:{SECRET}@localhost/chronicle",
            f"postgresql://chronicle:{SECRET}@localhost/chronicle",
        ),
        (
            "POSTGRESQL://chronicle@localhost/chronicle?statement_cache_size=0",
            "postgresql://chronicle@localhost/chronicle?statement_cache_size=0",
        ),
        (
            "postgresql:///chronicle?host=/run/postgresql",
            "postgresql:///chronicle?host=/run/postgresql",
        ),
    ],
)
def test_a_postgresql_url_names_the_database(url: str, expected: str) -> None:
    settings = Settings.from_mapping({"CHRONICLE_DATABASE_URL": url})
    assert settings.database == expected
    assert SECRET not in repr(settings)  # the password stays out of logs and reprs


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"postgresql:chronicle:{SECRET}@localhost", "looks like a URL without its '//'"),
        (f"postgresql://chronicle:{SECRET}@localhost", "names no database"),
        (f"postgresql://chronicle:{SECRET}@localhost/", "names no database"),
        ("postgresql:///chronicle", "names no server"),
        (f"postgresql+psycopg://chronicle:{SECRET}@localhost/c", "Chronicle reaches PostgreSQL"),
    ],
)
def test_a_postgresql_url_without_what_it_needs_is_refused(url: str, reason: str) -> None:
    message = refusal(CHRONICLE_DATABASE_URL=url)
    assert reason in message and SECRET not in message


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        (f"mysql://root:{SECRET}@localhost/chronicle", "mysql"),
        ("https://example.org/chronicle.db", "https"),
        ("file:///srv/chronicle.db", "file"),
        ("sqlite+pysqlcipher:///chronicle.db", "sqlite+pysqlcipher"),
    ],
)
def test_an_unknown_scheme_is_refused(url: str, scheme: str) -> None:
    assert refusal(CHRONICLE_DATABASE_URL=url) == (
        f"Invalid setting: CHRONICLE_DATABASE_URL has the scheme {scheme}://, which Chronicle"
        " does not know: use sqlite:///path/to/chronicle.db (or a plain path) or"
        " postgresql://user@host/database"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"sqlite:///chronicle.db?mode=ro&key={SECRET}", "no options in a sqlite URL's query"),
        ("sqlite:///chronicle.db?", "no options in a sqlite URL's query"),
        ("sqlite:///my%20news.db", "cannot be percent-encoded"),
        ("sqlite:////srv/caf%C3%A9.db", "cannot be percent-encoded"),
        (f"sqlite://me:{SECRET}@host/chronicle.db", "names no host"),
        ("sqlite://chronicle.db", "names no host"),  # two slashes: a host, as in SQLAlchemy
        ("sqlite://", "names no file"),  # SQLAlchemy's in-memory database
        ("sqlite:///", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("sqlite:chronicle.db", "looks like a URL without its '//'"),
    ],
)
def test_a_sqlite_url_chronicle_cannot_read_exactly_is_refused(url: str, reason: str) -> None:
    message = refusal(CHRONICLE_DATABASE_URL=url)
    assert message.startswith("Invalid setting: CHRONICLE_DATABASE_URL")
    assert reason in message


def test_a_percent_sign_that_is_no_escape_is_part_of_the_name() -> None:
    assert database(CHRONICLE_DATABASE_URL="sqlite:///100%.db") == Path("100%.db")


def test_several_problems_are_still_listed_one_per_line() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping({"CHRONICLE_DATABASE_URL": "mysql://h/d", "LOG_LEVEL": "LOUD"})
    lines = str(refused.value).splitlines()
    assert lines[0] == "Invalid settings:" and len(lines) == 3


def test_the_environments_database_is_not_overridden_by_a_env_files(tmp_path: Path) -> None:
    """A service's CHRONICLE_DB, then .env.example copied to .env for the token: "the
    environment overrides this file", for the database as a whole, whichever name it uses."""
    env_file = tmp_path / ".env"
    env_file.write_text("CHRONICLE_DATABASE_URL=sqlite:///chronicle.db\nLOG_LEVEL=DEBUG\n")
    settings = Settings.load({"CHRONICLE_DB": "/srv/chronicle.db"}, env_file)
    assert settings.database == Path("/srv/chronicle.db") and settings.database_notice is None
    assert settings.log_level == "DEBUG"  # the file's other settings still count
    assert Settings.load({}, env_file).database == Path("chronicle.db")


def test_the_example_env_file_copied_as_is_keeps_the_default_database() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = Settings.load({}, example)
    assert settings.database == Path("chronicle.db") and settings.discord_token is None
    assert "postgresql://" in example.read_text(encoding="utf-8")


def test_a_long_value_on_the_wrong_line_is_not_echoed() -> None:
    """The token pasted after DISCORD_GUILD_ID= (or any setting): the setting is named, the
    value is not shown."""
    token = "MTE4MDAwMDAwMDAwMDAwMDAwMQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
    for name in ("DISCORD_GUILD_ID", "DISCORD_API_BASE", "LOG_LEVEL", "FEED_POLL_MINUTES"):
        with pytest.raises(ConfigError) as refused:
            Settings.from_mapping({name: token})
        message = str(refused.value)
        assert f"{name}=(a value of {len(token)} characters, not shown)" in message
        assert token not in message and token.upper() not in message
    assert "DISCORD_GUILD_ID='news' must be a server id" in refusal(DISCORD_GUILD_ID="news")


# The command line: the setting, --db over it, and the refusal's exit status.


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "CHRONICLE_DATABASE_URL", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_command_line_opens_the_file_the_url_names(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "data").mkdir()
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", "sqlite:///data/news.db")
    monkeypatch.setenv("CHRONICLE_DB", "old.db")
    assert cli.main(["import", str(SEED_PAGES[0])]) == 0
    assert (here / "data" / "news.db").is_file() and not (here / "old.db").exists()
    notice = [line for line in capsys.readouterr().err.splitlines() if "ignored" in line]
    assert len(notice) == 1  # the names of the settings only, not their values
    assert notice[0].endswith(
        "WARNING chronicle: CHRONICLE_DB is ignored: CHRONICLE_DATABASE_URL is set, and wins"
    )

    assert cli.main(["--db", "other.db", "import", str(SEED_PAGES[0])]) == 0  # --db wins
    assert (here / "other.db").is_file()
    assert "is ignored" not in capsys.readouterr().err
    # --db after the command too, where --json goes.
    assert cli.main(["import", str(SEED_PAGES[0]), "--db", "third.db"]) == 0
    capsys.readouterr()
    assert cli.main(["stats", "--json", "--db", "third.db"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] > 0
    assert (here / "third.db").is_file()


def test_an_unreachable_postgresql_server_is_said_without_the_password(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", f"postgresql://me:{SECRET}@127.0.0.1:1/chronicle")
    assert cli.main(["stats"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and SECRET not in err
    assert err.startswith(
        "chronicle: cannot reach the PostgreSQL server of postgresql://me:***@127.0.0.1:1/chronicle"
    )
    assert list(here.iterdir()) == []


def test_db_takes_the_forms_the_settings_take(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--db sqlite:///… opens that file; --db postgresql://… opens the server's database,
    never a file named after the URL; a URL Chronicle cannot read is refused in one line."""
    assert cli.main(["--db", "sqlite:///news.db", "import", str(SEED_PAGES[0])]) == 0
    assert (here / "news.db").is_file()

    assert cli.main(["--db", f"postgresql://me:{SECRET}@127.0.0.1:1/chronicle", "stats"]) == 1
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "cannot reach the PostgreSQL server of postgresql://me:***@127.0.0.1:1/chronicle" in err
    assert sorted(p.name for p in here.iterdir()) == ["news.db"]

    for value, reason in [
        ("postgres:chronicle", "looks like a URL without its '//'"),
        ("ftp://host/chronicle.db", "has the scheme ftp://, which Chronicle does not know"),
    ]:
        with pytest.raises(SystemExit) as refused:
            cli.main(["--db", value, "stats"])
        assert refused.value.code == 2
        err = capsys.readouterr().err
        assert err.splitlines()[-1].startswith(f"chronicle: error: argument --db: {reason}"), err
    assert sorted(p.name for p in here.iterdir()) == ["news.db"]
