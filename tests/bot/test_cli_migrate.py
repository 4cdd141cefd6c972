"""`chronicle migrate`'s arguments, checked before anything is opened (the copy itself:
tests/storage/postgres/test_transfer.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from storage import held_by_one_bot
from tests.conftest import SEED_PAGES


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "CHRONICLE_DATABASE_URL", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["--db", "chronicle.db", "migrate", *args])
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    "url", ["mysql://root:s3cret@db/chronicle", "sqlite:///other.db", "s3cret.db"]
)
def test_to_must_be_postgresql(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, err = run(capsys, "--to", url)
    assert code == 2
    assert "argument --to: must be a PostgreSQL URL: postgresql://" in err
    assert "s3cret" not in err  # the value, which may hold a password, is not repeated
    assert not Path("chronicle.db").exists()


def test_to_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys)
    assert code == 2 and "--to" in err


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_batch_is_a_positive_number(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, err = run(capsys, "--to", "postgresql://u@h/db", "--batch", value)
    assert code == 2 and "argument --batch: must be a whole number, 1 or more" in err


def test_a_missing_archive_is_not_made(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "missing.db", "migrate", "--to", "postgresql://u@h/db"]) == 1
    assert "missing.db" in capsys.readouterr().err
    assert not Path("missing.db").exists()
    assert not Path("missing.db.bot-lock").exists()  # nothing to hold, nothing held


def test_an_archive_a_bot_is_using_is_not_copied(capsys: pytest.CaptureFixture[str]) -> None:
    """The bot would change the file under the copy: migrate is refused while a bot holds
    it, before anything is opened."""
    assert main(["--db", "chronicle.db", "import", str(SEED_PAGES[0])]) == 0
    capsys.readouterr()
    with held_by_one_bot(Path("chronicle.db")):  # as `chronicle run` holds it
        assert main(["--db", "chronicle.db", "migrate", "--to", "postgresql://u@h/db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"chronicle: {Path('chronicle.db').absolute()} is in use by a Chronicle bot"
    )
    assert err.rstrip().endswith("stop it first: it would change the file while it is copied")
    assert "Copying" not in err
