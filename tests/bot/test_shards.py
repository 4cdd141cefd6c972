"""Sharding settings and flags, which servers a process owns, and the refusal of shards on
SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, Settings
from bot.shards import (
    describe_shards,
    owns_guild,
    parse_shard_ids,
    shard_of,
    sqlite_refusal,
)

# A server id whose timestamp part (id >> 22) is odd: on shard 1 of 2, shard 1001 % n of n.
GUILD = (1001 << 22) + 77
SQLITE_WORDS = ("SQLite", "CHRONICLE_DATABASE_URL=postgresql://", "Running at scale")


def settings(**values: str) -> Settings:
    return Settings.from_mapping(values)


def refusal(**values: str) -> str:
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping(values)
    return str(refused.value)


# --- which servers a process owns -------------------------------------------------------


def test_a_server_belongs_to_the_shard_discord_says() -> None:
    assert shard_of(GUILD, 2) == (GUILD >> 22) % 2 == 1
    assert shard_of(GUILD, 1) == 0
    assert owns_guild(GUILD, [1], 2)
    assert owns_guild(GUILD, [0, 1], 2)
    assert not owns_guild(GUILD, [0], 2)
    assert not owns_guild(GUILD, (), 2)


def test_a_process_of_every_shard_owns_every_server() -> None:
    assert owns_guild(GUILD, None, None)
    assert owns_guild(GUILD, None, 4)
    assert owns_guild(GUILD, [0], None)  # no count: discord.py runs them all


def test_the_low_22_bits_do_not_move_a_server() -> None:
    base = 12_345 << 22
    assert {shard_of(base + low, 7) for low in (0, 1, 10, (1 << 22) - 1)} == {12_345 % 7}


def test_every_server_has_exactly_one_owner_among_the_processes() -> None:
    processes = [(0, 1), (2,), (3, 4)]
    for guild_id in range(0, 1000 << 22, 7 << 22):
        owners = [p for p in processes if owns_guild(guild_id, p, 5)]
        assert len(owners) == 1


# --- shard ids as written ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("0", (0,)),
        ("0-3", (0, 1, 2, 3)),
        ("0,2", (0, 2)),
        ("4, 0-1", (0, 1, 4)),
        (" 2 - 3 ", (2, 3)),
        ("5-5", (5,)),
    ],
)
def test_shard_ids_are_ranges_and_ids(raw: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(raw) == ids


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("3-1", "runs backwards: write 1-3"),
        ("0,,1", "empty item"),
        ("a", "neither a shard id nor a range"),
        ("-1", "neither a shard id nor a range"),
        ("0-", "neither a shard id nor a range"),
        ("1.5", "neither a shard id nor a range"),
        ("0-2,2", "names a shard twice"),
        # Refused before anything is sized by it.
        ("0-5000000", "shard ids go up to 99999 at most"),
        ("99999999999999999999", "shard ids go up to 99999 at most"),
    ],
)
def test_wrong_shard_ids_say_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_shard_ids(raw)


def test_describing_shards() -> None:
    assert describe_shards([0, 1, 2, 5], 8) == "shards 0-2,5 of 8"
    assert describe_shards([3], 4) == "shard 3 of 4"
    assert describe_shards(None, 4) == "all 4 shards"
    assert describe_shards(None, None) == "every shard"


# --- settings ---------------------------------------------------------------------------


def test_without_settings_discord_chooses_and_this_process_runs_all() -> None:
    plain = settings()
    assert plain.shard_count is None and plain.shard_ids is None


def test_shard_settings_are_read() -> None:
    read = settings(DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="0-1")
    assert read.shard_count == 4
    assert read.shard_ids == (0, 1)
    assert settings(DISCORD_SHARD_COUNT="4").shard_ids is None


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT='0' must be a whole number"),
        ({"DISCORD_SHARD_COUNT": "two"}, "DISCORD_SHARD_COUNT='two' must be a whole number"),
        (
            {"DISCORD_SHARD_COUNT": "99999999999", "DISCORD_SHARD_IDS": "0"},
            "DISCORD_SHARD_COUNT='99999999999' is more shards than a bot runs (at most 100000",
        ),
        ({"DISCORD_SHARD_IDS": "0-1"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT too"),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1-2"},
            "DISCORD_SHARD_IDS names shard 2, but with DISCORD_SHARD_COUNT=2 the shards are 0-1",
        ),
        (
            {"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3-0"},
            "DISCORD_SHARD_IDS='3-0' has the range '3-0', which runs backwards",
        ),
    ],
)
def test_wrong_shard_settings_are_refused_clearly(values: dict[str, str], says: str) -> None:
    assert says in refusal(**values)


def test_a_wrong_count_is_reported_once_not_again_through_the_ids() -> None:
    message = refusal(DISCORD_SHARD_COUNT="x", DISCORD_SHARD_IDS="0")
    assert message.startswith("Invalid setting: DISCORD_SHARD_COUNT='x'")


# --- chronicle run's flags --------------------------------------------------------------


def test_flags_override_the_settings() -> None:
    base = settings(DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="0-1")
    assert base.with_shards(None, None) is base
    flagged = base.with_shards(8, "6-7")
    assert (flagged.shard_count, flagged.shard_ids) == (8, (6, 7))
    assert base.with_shards(None, "2,3").shard_ids == (2, 3)
    assert base.with_shards(2, None).shard_ids == (0, 1)


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        (0, None, "--shard-count 0 must be 1 or more"),
        (None, "0-1", "--shards needs DISCORD_SHARD_COUNT too"),
        (2, "0-2", "--shards names shard 2, but with --shard-count=2 the shards are 0-1"),
        (4, "2-1", "--shards '2-1' has the range '2-1', which runs backwards"),
        (10**20, "0", "--shard-count 100000000000000000000 is more shards than a bot runs"),
    ],
)
def test_wrong_flags_are_refused_clearly(count: int | None, ids: str | None, says: str) -> None:
    with pytest.raises(ConfigError, match="Invalid setting") as refused:
        settings().with_shards(count, ids)
    assert says in str(refused.value)


def test_a_smaller_count_on_the_command_line_checks_the_ids_of_the_settings() -> None:
    base = settings(DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="2-3")
    with pytest.raises(ConfigError) as refused:
        base.with_shards(2, None)
    assert "DISCORD_SHARD_IDS names shard 2, 3, but with --shard-count=2" in str(refused.value)


# --- SQLite is one process's ------------------------------------------------------------


def test_some_shards_on_sqlite_are_refused_with_the_reason_and_the_way() -> None:
    message = sqlite_refusal(Path("chronicle.db"), (0, 1), 4, "--shards")
    assert message is not None
    for words in (*SQLITE_WORDS, "--shards", "several processes cannot share"):
        assert words in message


def test_every_shard_in_one_process_or_postgresql_is_fine() -> None:
    assert sqlite_refusal(Path("chronicle.db"), None, 4, "--shards") is None
    assert sqlite_refusal(Path("chronicle.db"), (0, 1), 2, "--shards") is None
    assert sqlite_refusal("postgresql://chronicle@db/chronicle", (1,), 2, "--shards") is None


def test_chronicle_run_refuses_shards_on_sqlite_before_making_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS", "CHRONICLE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "chronicle.db"
    status = cli.main(["--db", str(db), "run", "--shard-count", "2", "--shards", "1"])
    err = capsys.readouterr().err
    assert status == 2
    for words in (*SQLITE_WORDS, "--shards"):
        assert words in err
    assert not db.exists()


def test_chronicle_run_refuses_shards_of_the_settings_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "4")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "0-1")
    monkeypatch.delenv("CHRONICLE_DATABASE_URL", raising=False)
    assert cli.main(["--db", str(tmp_path / "c.db"), "run"]) == 2
    assert "DISCORD_SHARD_IDS runs this process as one of several" in capsys.readouterr().err


def test_chronicle_run_refuses_wrong_shard_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    assert (
        cli.main(["--db", str(tmp_path / "c.db"), "run", "--shard-count", "2", "--shards", "5"])
        == 2
    )
    assert "--shards names shard 5" in capsys.readouterr().err
