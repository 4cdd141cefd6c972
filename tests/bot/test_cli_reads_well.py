"""The command line reads well (issue 26, part 6): plurals, headlines wrapped to the
terminal, keys only with --keys, a search --help that explains the search, a leading
-word, a year in `onthisday`, suggestions in the query's script, aliases of unknown names,
and "N years ago" written one way. Run as real subprocesses where the terminal or the exit
status is the point, in-process otherwise."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bot import render
from bot.cli import main
from bot.cli.feeds import outcome_line
from bot.digests import onthisday_content
from bot.errors import NotFound
from bot.services import lookups
from bot.services.feeds.reports import FeedOutcome
from storage import Storage, open_storage
from storage.keys import make_key
from storage.models import FeedItem, PageRecord
from storage.textindex import has_cjk
from tests.bot.test_cli import Cli
from tests.bot.test_cli_failures import environment, one_clear_line
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_PAGES, TEST_DATA

DATABASE = "chronicle.db"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample archive, the seed pages and the Chinese slice, imported once."""
    folder = tmp_path_factory.mktemp("template")
    paths = [str(SAMPLE_NEWS), *map(str, SEED_PAGES), str(TEST_DATA / "news-zh")]
    result = run(folder, "import", *paths)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder / DATABASE


@pytest.fixture
def database(template: Path, tmp_path: Path) -> Path:
    """A copy of the template of this test's own (some tests change it)."""
    shutil.copy(template, tmp_path / DATABASE)
    return tmp_path / DATABASE


@pytest.fixture
def cli(
    database: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "88")
    return Cli(database, capsys)


def run(folder: Path, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """`chronicle --db chronicle.db ARGS` in folder, output to pipes (not a terminal);
    COLUMNS as a terminal of that width would set it, or none at all."""
    env = environment(LOG_LEVEL="WARNING")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", DATABASE, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def columns(line: str) -> int:
    """Terminal columns: two for a Chinese character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def unspaced(text: str) -> str:
    return "".join(text.split())


# --- 1. plurals ----------------------------------------------------------------------------------


def test_count_says_one_event_and_two_events() -> None:
    assert render.count(1, "event") == "1 event"
    assert render.count(0, "event") == "0 events"
    assert render.count(2, "consecutive failure") == "2 consecutive failures"
    assert render.count(1, "entry", "entries") == "1 entry"
    assert render.count(1200, "entry", "entries") == "1,200 entries"


def test_an_entity_in_one_event_is_in_1_event(cli: Cli) -> None:
    code, out, _ = cli("entity", "Akira Amari")
    assert code == 0
    assert out.splitlines()[1].startswith("1 event, ")  # "1 events" before
    assert "(1 events)" not in out and "(1 event)" in out  # its companions


def test_feeds_list_and_remove_count_in_the_singular(cli: Cli, database: Path) -> None:
    async def one_event_one_failure() -> None:
        storage = await open_storage(database)
        try:
            now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
            feed = await storage.feeds.add("https://example.org/world.rss", "World", now=now)
            item = FeedItem(
                "id-1",
                make_key(now.date(), "a-feed-story"),
                now.date(),
                "A feed story",
                "",
                "en",
                "https://example.org/1",
                (),
                False,
            )
            await storage.feeds.record_success(
                feed.id, at=now, next_poll_at=now, etag=None, last_modified=None, items=[item]
            )
            await storage.feeds.record_failure(
                feed.id,
                at=now,
                kind="http",
                reason="HTTP 503",
                consecutive_failures=1,
                first_parse_failure_at=None,
                next_poll_at=now,
            )
        finally:
            await storage.close()

    asyncio.run(one_event_one_failure())
    code, out, _ = cli("feeds", "list")
    assert code == 0
    assert "· 1 event added" in out and "· 1 consecutive failure\n" in out
    code, out, _ = cli("feeds", "remove", "1")
    assert code == 0 and "(its 1 event stays in the archive)" in out


def test_an_alias_moving_one_link_says_1_event_link(cli: Cli) -> None:
    code, out, _ = cli("entities", "alias", "Akira Amari", "Akira Amari (politician)")
    assert code == 0
    assert out.strip().endswith("(1 event link moved).")


def test_a_feed_outcome_line_counts_each_noun() -> None:
    one = FeedOutcome(1, "https://e.org/f", "E", "ok", entries=1, unseen=1, created=[7], merged=1)
    assert outcome_line(one).endswith(
        ": 1 entry, 1 unseen: 1 new event (0 announced), 1 joined an existing event"
    )


# --- 2. headlines wrapped to the terminal --------------------------------------------------------

WRAPPED = [
    ("show", MOD_KEY),
    ("search", "Baghdadi", "--limit", "20"),
    ("onthisday", "06-16"),
    ("related", MOD_KEY),
    ("entity", "Abu Bakr al-Baghdadi"),
    ("digest", "preview", "onthisday", "--date", "2026-06-16"),
]


@pytest.mark.parametrize("args", WRAPPED, ids=lambda a: a[0])
def test_lines_fit_a_narrow_terminal(database: Path, args: tuple[str, ...]) -> None:
    result = run(database.parent, *args, columns=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    too_long = [line for line in lines if columns(line) > 60 and "://" not in line]
    assert not too_long  # only a URL, never cut, may be longer
    assert any(line.startswith("    ") for line in lines)  # hanging indents


def test_a_list_hangs_under_its_headlines_and_nothing_is_cut(database: Path) -> None:
    folder = database.parent
    hits = json.loads(run(folder, "search", "Baghdadi", "--json").stdout)
    out = run(folder, "search", "Baghdadi", columns=60).stdout
    items = re.split(r"(?m)^ {0,2}\d{1,3}\. ", out)[1:]
    assert len(items) == len(hits)
    for hit, item in zip(hits, items, strict=True):
        first, *rest = item.splitlines()
        assert first.startswith(f"{hit['date']}  ")
        assert all(line.startswith(" " * 17) for line in rest)  # under the headline
        assert unspaced(hit["headline"]) in unspaced(item)  # every character kept
    assert sum(len(item.splitlines()) > 1 for item in items) >= 5


def test_not_a_terminal_wraps_at_88(database: Path) -> None:
    out = run(database.parent, "search", "Baghdadi", "--limit", "20").stdout
    lines = out.splitlines()
    assert max(columns(line) for line in lines) <= 88
    assert any(line.startswith(" " * 17) for line in lines)  # long headlines did wrap


def test_chinese_headlines_wrap_by_their_width(database: Path) -> None:
    """A Chinese character takes two columns and a line may break between any two."""
    out = run(database.parent, "onthisday", "11-11", columns=40).stdout
    chinese = [line for line in out.splitlines() if has_cjk(line)]
    assert len(chinese) > 10
    assert max(columns(line) for line in chinese) <= 40
    assert not any(line.lstrip().startswith(("，", "。", "、")) for line in chinese)
    assert "SpaceX在美国佛罗里达州卡纳维拉尔角空军基地" in unspaced(out)


# --- 3. keys only with --keys --------------------------------------------------------------------

LOOKUPS = [
    ("show", MOD_KEY),
    ("search", "Baghdadi"),
    ("onthisday", "06-16"),
    ("related", MOD_KEY),
    ("entity", "Abu Bakr al-Baghdadi"),
]


@pytest.mark.parametrize("args", LOOKUPS, ids=lambda a: a[0])
def test_keys_are_shown_only_with_keys(cli: Cli, args: tuple[str, ...]) -> None:
    code, out, _ = cli(*args)
    assert code == 0 and out
    assert "key:" not in out and not re.search(r"(?<![/\w])\d{4}/\d\d/\d+/", out)  # not in URLs
    code, with_keys, _ = cli(*args, "--keys")
    assert code == 0
    assert re.search(r"(?m)^ *key: \d{4}/\d\d/\d+/\S+$", with_keys)
    assert with_keys.count("key: ") >= (1 if args[0] != "show" else 11)  # its own, related


def test_json_always_carries_keys(cli: Cli) -> None:
    hits = cli.json("search", "Baghdadi")
    assert hits and all(re.fullmatch(r"\d{4}/\d\d/\d+/\S+", h["key"]) for h in hits)
    assert cli.json("show", MOD_KEY)["key"] == MOD_KEY


# --- 4. search --help ----------------------------------------------------------------------------


def test_search_help_explains_text_and_every_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # argparse would break YYYY-MM-DD at its hyphen
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for needed in (
        "TEXT",
        '"Islamic State" a phrase',
        "Russ* a prefix",
        "Syria -Russia -word leaves out events with the word",
        "Syria OR Iraq either word",
        "--entity NAME only events naming this entity",
        "--since DATE only events on or after DATE (YYYY-MM-DD)",
        "--until DATE only events on or before DATE (YYYY-MM-DD)",
        f"--limit N show at most N events, 1 to {lookups.MAX_LIMIT}",
        "--keys",
    ):
        assert needed in text, needed


# --- 5. a leading -word --------------------------------------------------------------------------

ONLY_EXCLUDES = (
    "chronicle: “-Russia” only says what to leave out (-word excludes events with the word):"
    " give a word to find too, e.g. Syria -Russia."
)


@pytest.mark.parametrize("args", [["-Russia"], ["--", "-Russia"], ["--limit", "5", "-Russia"]])
def test_search_minus_a_word_alone_says_what_is_missing(database: Path, args: list[str]) -> None:
    result = run(database.parent, "search", *args)
    assert result.returncode == 1
    assert one_clear_line(result) == ONLY_EXCLUDES
    assert result.stdout == ""


def test_a_leading_minus_word_is_part_of_the_text(database: Path) -> None:
    folder = database.parent
    quoted = run(folder, "search", "--json", "--", "Syria -Russia")
    assert quoted.returncode == 0, quoted.stderr
    expected = json.loads(quoted.stdout)
    assert expected and not any(re.search(r"\bRussia\b", h["headline"]) for h in expected)
    for args in (
        ["Syria", "-Russia", "--json"],
        ["--json", "Syria", "-Russia"],
        ["Syria", "--json", "-Russia"],  # after an option, words join the ones before it
    ):
        result = run(folder, "search", *args)
        assert result.returncode == 0, (args, result.stderr)
        assert json.loads(result.stdout) == expected, args


def test_unknown_long_options_and_help_stay_as_they_were(database: Path) -> None:
    folder = database.parent
    result = run(folder, "search", "Syria", "--bogus")
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr
    result = run(folder, "search", "-h")
    assert result.returncode == 0 and result.stdout.startswith("usage: chronicle search")
    result = run(folder, "search", "Syria", "--limit", "-Russia")
    assert result.returncode == 2 and "invalid int value: '-Russia'" in result.stderr


# --- 6. onthisday with a year --------------------------------------------------------------------


def test_onthisday_with_a_year_lists_that_year_and_earlier(cli: Cli) -> None:
    every = cli.json("onthisday", "06-16", "--limit", "100")
    assert any(e["date"] > "2016-06-16" for e in every)
    up_to = cli.json("onthisday", "2016-06-16", "--limit", "100")
    assert up_to == [e for e in every if e["date"] <= "2016-06-16"]
    assert up_to  # the Chinese slice's 2009
    code, out, _ = cli("onthisday", "2016-06-16")
    assert code == 0 and out.startswith("On this day, June 16, up to 2016:\n")
    code, out, _ = cli("onthisday", "1990-06-16")
    assert code == 0 and out == "No events on June 16 up to 1990 in the archive.\n"
    code, _, err = cli("onthisday", "2017-02-29")
    assert code == 1 and "not a real day" in err


# --- 7. suggestions in the query's script --------------------------------------------------------


def test_no_chinese_headlines_are_suggested_for_latin_words(cli: Cli) -> None:
    code, _, err = cli("show", "SpaceX Starlinkz")  # a Chinese headline quotes "SpaceX"
    assert code == 1 and "No event matches “SpaceX Starlinkz”." in err
    assert not has_cjk(err)
    code, _, err = cli("show", "Australian bushfire zzz")
    assert code == 1 and "Did you mean:" in err and not has_cjk(err)


def test_suggestions_are_wrapped_and_with_keys_carry_them(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's own example, typed as shown: each suggestion wrapped like the rest of
    the text output, and with --keys its key whole on a line of its own, to be pasted."""
    monkeypatch.setenv("COLUMNS", "60")
    code, _, err = cli("related", "2017/06/16/the-russian-ministry-of-defence-says-...", "--keys")
    assert code == 1 and "Did you mean:" in err
    key = (
        "2017/06/16/the-russian-ministry-of-defence-says-its-forces-may-have-killed-isil-s-leader"
        "-abu-bakr-al-baghdadi-in-an-airstrike-south-of-raqqa-on-28-may"
    )
    assert f"\n    key: {key}\n" in err
    suggested = err.split("Did you mean:\n")[1].splitlines()
    assert all(len(line) <= 60 for line in suggested if not line.startswith("    key: "))
    code, _, err = cli("related", "2017/06/16/the-russian-ministry-of-defence-says-...")
    assert code == 1 and "Did you mean:" in err and "key:" not in err


async def test_suggestions_stay_in_the_script_of_what_was_typed(storage: Storage) -> None:
    day = dt.date(2019, 11, 11)
    pages = [
        PageRecord(
            make_key(day, "quake"),
            day,
            "Earthquake shakes Tokyo",
            summary="东京 reports damage",
            entities=("SpaceX", "Tokyo"),
        ),
        PageRecord(
            make_key(day, "zh"),
            day,
            "东京发生地震",
            summary="Tokyo 东京",
            entities=("SpaceX星链", "东京"),
        ),
    ]
    await storage.events.import_batch(pages)
    chinese = await storage.search.closest("东京 火山喷发")
    assert [b.headline for b in chinese] == ["东京发生地震"]
    latin = await storage.search.closest("Tokyo volcanoes erupt")
    assert [b.headline for b in latin] == ["Earthquake shakes Tokyo"]
    with pytest.raises(NotFound) as found:
        await lookups.entity_ids(storage, "Spacex Falcon")
    assert found.value.suggestions == ["SpaceX"]  # not "SpaceX星链"


# --- 8. an alias of two unknown names ------------------------------------------------------------


def test_an_alias_of_two_unknown_names_is_refused(cli: Cli) -> None:
    code, out, err = cli("entities", "alias", "Foo", "Bar")
    assert code == 1 and out == ""
    assert err == (
        "chronicle: Neither “Foo” nor “Bar” is a known entity: an alias joins a new name to"
        " one the archive knows (check the spelling with `chronicle entities show NAME`).\n"
    )
    for name in ("Foo", "Bar"):
        code, _, err = cli("entities", "show", name)
        assert code == 1 and f"No entity is called “{name}”" in err  # nothing was made
    code, out, _ = cli("entities", "alias", "Foo", "Abu Bakr al-Baghdadi")
    assert code == 0 and out.startswith("“Foo” is now a name of “Abu Bakr al-Baghdadi”")
    code, out, _ = cli("entities", "alias", "Baghdadi", "Foo")  # the other way round
    assert code == 0 and "is now a name of “Abu Bakr al-Baghdadi”" in out


# --- 9. "N years ago" written one way ------------------------------------------------------------


async def test_years_ago_is_written_one_way_in_the_terminal_discord_and_digests(
    sample_storage: Storage,
) -> None:
    today = dt.date(2026, 6, 16)
    month, day, events = await lookups.on_this_day(sample_storage, "06-16", today=today)
    cli_headings = [
        line
        for line in render.onthisday_text(month, day, events, today).splitlines()
        if "ago" in line
    ]
    embed = render.onthisday_page_embed(month, day, events, today, 0, False)
    embed_headings = re.findall(r"\*\*(.+?)\*\*", embed.description or "")
    digest = await onthisday_content(sample_storage, today)
    digest_headings = [s.heading for s in digest.sections]
    assert cli_headings[0] == "9 years ago — 2017"
    assert cli_headings == embed_headings
    assert set(digest_headings) <= set(cli_headings)
    assert render.year_heading(dt.date(2025, 6, 16), today) == "1 year ago — 2025"
    assert render.year_heading(dt.date(2026, 6, 16), today) == "This year — 2026"
    # Counted back from the anniversary in today's year: June 17, 2026 is a year after.
    assert render.years_ago(dt.date(2025, 6, 17), today) == "1 year ago"
