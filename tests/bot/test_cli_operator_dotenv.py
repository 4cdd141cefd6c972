"""`chronicle run` from a folder other than the one holding the operator's .env (a service
started from /, a shell in the home folder): the token is "not set", though it is in the
.env. The command says where it looked for a .env, and which database it used from there,
so that the operator knows why, and what file it made."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_cli_failures import TOKEN, chronicle


def test_run_elsewhere_says_where_it_looked_for_the_dotenv(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "chronicle", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / ".env").write_text(f"DISCORD_TOKEN={TOKEN}\n", encoding="utf-8")
    result = chronicle(elsewhere, "run")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "chronicle: DISCORD_TOKEN is not set" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"There is no .env in {elsewhere}, the folder Chronicle was run in, which is where it"
        " reads one: run it from the folder that holds yours. The database is found from there"
        f" too: this run used {elsewhere / 'chronicle.db'}."
    )


def test_a_dotenv_without_the_token_is_not_said_to_be_missing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=WARNING\n", encoding="utf-8")
    result = chronicle(tmp_path, "run")
    assert result.returncode == 2, result.stderr
    assert "chronicle: DISCORD_TOKEN is not set" in result.stderr
    assert "There is no .env" not in result.stderr
