"""A setting given under a name Chronicle does not read: in lower case (`discord_token=`),
misspelled (`CHRONICLE_DATABASE=`, `FEED_POLL_MINUTE=`), or with a prefix of Chronicle's and
no such setting. It had been dropped without a word: the bot said DISCORD_TOKEN was not set,
or a lookup read ./chronicle.db instead of the database named. Each such name is now said to
be ignored, with the setting it is like; other programs' names are left alone, and no value
is shown."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from tests.bot.test_cli_failures import TOKEN, chronicle
from tests.conftest import SEED_PAGES


def warnings(stderr: str) -> list[str]:
    return [line.split(" chronicle: ", 1)[1] for line in stderr.splitlines() if " WARNING " in line]


def test_a_misspelled_setting_in_dotenv_is_said_to_be_ignored(tmp_path: Path) -> None:
    imported = chronicle(tmp_path, "--db", "news.db", "import", *map(str, SEED_PAGES))
    assert imported.returncode == 0, imported.stderr
    (tmp_path / ".env").write_text(
        f"discord_token={TOKEN}\n"
        "CHRONICLE_DATABASE=news.db\n"
        "FEED_POLL_MINUTE=5\n"
        "CHRONICLE_CACHE=x\n"
        "POSTGRES_PASSWORD=for-docker-compose\n",
        encoding="utf-8",
    )
    result = chronicle(tmp_path, "stats")
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr
    assert warnings(result.stderr) == [
        "discord_token in .env is no setting, and is ignored: did you mean DISCORD_TOKEN?",
        "CHRONICLE_DATABASE in .env is no setting, and is ignored: did you mean"
        " CHRONICLE_DATABASE_URL?",
        "FEED_POLL_MINUTE in .env is no setting, and is ignored: did you mean FEED_POLL_MINUTES?",
        "CHRONICLE_CACHE in .env is no setting, and is ignored (README.md lists them under"
        " Settings)",
    ]
    # The lookup read the default database, as before; the operator now knows why.
    assert f"there is no database at {tmp_path / 'chronicle.db'}" in result.stderr


def test_a_misspelled_setting_in_the_environment_is_said_to_be_ignored(tmp_path: Path) -> None:
    result = chronicle(
        tmp_path,
        "--db",
        "news.db",
        "import",
        *map(str, SEED_PAGES),
        CHRONICLE_DATABSE_URL="sqlite:///elsewhere.db",
        CHRONICLE_SHARED_DATA="/srv/data",  # the test suite's, not the bot's
        DISCORD_WEBHOOK="https://example.com/hook",  # another program's
    )
    assert result.returncode == 0, result.stderr
    assert warnings(result.stderr) == [
        "CHRONICLE_DATABSE_URL in the environment is no setting, and is ignored: did you mean"
        " CHRONICLE_DATABASE_URL?"
    ]


def test_the_example_env_file_and_the_settings_names_say_nothing() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    assert Settings.load(environ={}, env_file=example).notices == ()
