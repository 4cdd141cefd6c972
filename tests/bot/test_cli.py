"""The `chronicle` command line, run in-process and as a real subprocess."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage import open_storage
from storage.keys import make_key
from storage.models import PageRecord
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_ARTICLES, SEED_PAGES

RUN = [sys.executable, "-m", "bot"]


class Cli:
    """Runs `chronicle --db <file> ...` in this process and captures what it prints."""

    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str]):
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--db", str(self.db), *args])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    def json(self, *args: str) -> object:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return Cli(tmp_path / "chronicle.db", capsys)


@pytest.fixture
def archive(cli: Cli) -> Cli:
    code, out, _ = cli("import", str(SAMPLE_NEWS), *map(str, SEED_PAGES))
    assert code == 0
    assert out.startswith("Imported 48 files: 41 new, 0 updated,")
    # Events named in Related lists whose pages did not come are not called incomplete.
    assert out.rstrip().endswith("more events known only by links to them")
    assert "incomplete" not in out
    return cli


def test_an_import_names_each_file_it_read_but_did_not_apply(cli: Cli) -> None:
    """Older copies of pages the archive holds newer (the sample's, after the seeds)."""
    assert cli("import", *map(str, SEED_PAGES))[0] == 0
    code, out, err = cli("import", str(SAMPLE_NEWS))
    assert code == 0 and "outdated versions skipped" in out
    skipped = [line for line in err.splitlines() if line.startswith("  skipped: ")]
    assert skipped and all(
        f"{SAMPLE_NEWS}" in line and ": not applied: the archive holds a newer version" in line
        for line in skipped
    )


def test_show_seed_001_lists_most_shared_related_first(archive: Cli) -> None:
    card = archive.json("show", MOD_KEY)
    assert card["key"] == MOD_KEY
    assert card["date"] == "2017-06-16"
    assert card["headline"].startswith("The Russian Ministry of Defence says")
    assert card["sources"][0] == {
        "name": "The Independent",
        "url": "http://www.independent.co.uk/news/world/middle-east/abu-bakr-al-baghdadi-dead-isis-leader-russia-raqqa-air-strike-killed-syria-islamic-state-chief-a7792801.html",
    }
    related = card["related"]
    assert len(related) == 10
    counts = [len(r["shared"]) for r in related]
    assert counts == sorted(counts, reverse=True)
    first = related[0]
    assert first["date"] == "2017-09-24"
    assert first["headline"].startswith("A Russian lieutenant general, Valery Asapov")
    assert {
        "Russia",
        "Russian Defence Ministry",
        "Russian military intervention in the Syrian Civil War",
    } <= set(first["shared"])
    assert {"ISIL", "Islamic State"} & set(first["shared"])  # both spellings occur in the sample
    for item in related:
        assert item["shared"] and set(item["shared"]) <= set(card["entities"])
        assert set(item) >= {"key", "date", "headline", "shared"}
    assert set(card) >= {
        "key",
        "date",
        "headline",
        "summary",
        "story",
        "entities",
        "sources",
        "related",
        "articles",
    }

    code, text, _ = archive("show", MOD_KEY)
    assert code == 0
    assert "shared: " in text and "Related (10 shown" in text
    assert "cover image: https://static.independent.co.uk/" in text


def test_show_by_words_and_json_carries_the_summary_as_stored(archive: Cli) -> None:
    card = archive.json("show", "Kudhaa Island")
    assert card["headline"].startswith("Al-Shabaab recaptures Kudhaa Island")
    stub = archive.json(
        "show", "2014/08/3/the-islamic-state-seizes-the-yazidi-dominated-town-of-sinjar"
    )
    assert stub["complete"] is False
    assert stub["headline"] == "The Islamic State seizes the Yazidi-dominated town of Sinjar."
    assert stub["summary"] == ""  # the page has none; a renderer may show the headline


def test_show_articles_after_import(archive: Cli) -> None:
    code, out, _ = archive("import-articles", *map(str, SEED_ARTICLES))
    assert code == 0
    assert out.count(f"-> {MOD_KEY}") == 2 and "score" in out
    card = archive.json("show", MOD_KEY)
    assert len(card["articles"]) == 2
    assert all(a["title"] and a["text"] for a in card["articles"])
    code, text, _ = archive("show", MOD_KEY)
    assert "Article: Russia Says It May Have Killed ISIS Leader" in text
    assert "(MOSCOW) — Russia claimed Friday" in " ".join(text.split())  # not the captions


def test_search_filters(archive: Cli) -> None:
    hits = archive.json("search", "Baghdadi")
    assert hits and all("baghdadi" in h["headline"].lower() for h in hits[:3])
    in_2017 = archive.json(
        "search", "Baghdadi", "--since", "2017-01-01", "--until", "2017-12-31", "--limit", "50"
    )
    assert in_2017 and all(h["date"].startswith("2017") for h in in_2017)
    by_entity = archive.json("search", "Russia", "--entity", "russian defence ministry")
    assert by_entity
    entity_only = archive.json("search", "", "--entity", "Abu Bakr al-Baghdadi", "--limit", "100")
    assert len(entity_only) > len(archive.json("search", "", "--entity", "Al Qaim"))


def test_onthisday_newest_year_first(archive: Cli) -> None:
    events = archive.json("onthisday", "06-16")
    assert len(events) >= 9
    assert all(e["date"][5:] == "06-16" for e in events)
    years = [e["date"][:4] for e in events]
    assert years == sorted(years, reverse=True)
    code, text, _ = archive("onthisday", "11-08")
    assert code == 0 and "years ago — 2014" in text


def test_related_and_entity(archive: Cli) -> None:
    related = archive.json("related", MOD_KEY, "--limit", "20")
    assert len(related) == 20 and all(r["shared"] for r in related)
    profile = archive.json("entity", "abu bakr AL-BAGHDADI")
    assert profile["name"] == "Abu Bakr al-Baghdadi"
    assert profile["events"] >= 10
    assert profile["first_date"] <= profile["last_date"]
    assert profile["recent"][0]["date"] == profile["last_date"]
    assert (
        profile["co_entities"]
        and profile["co_entities"][0]["events"] >= profile["co_entities"][-1]["events"]
    )


def test_stats_json(archive: Cli) -> None:
    stats = archive.json("stats")
    assert set(stats) >= {
        "events",
        "incomplete",
        "entities",
        "sources",
        "articles",
        "first_date",
        "last_date",
    }
    assert stats["events"] - stats["incomplete"] == 41
    assert stats["articles"] == 0


@pytest.mark.parametrize(
    "text",
    [
        '"Islamic State',
        "*",
        "NEAR(",
        "AND",
        "OR OR",
        "(((",
        ")",
        "Baghdadi)",
        "a" * 10_000,
        "-Russia",
        "title:x",
        "^",
        "'",
        "\\",
        "\x00",
        "🙂",
        "NEAR(Russia ISIL, 2)",
        "Russia*",
    ],
)
def test_hostile_search_text_never_crashes(archive: Cli, text: str) -> None:
    code, out, err = archive("search", "--json", "--", text)
    assert code in (0, 1)
    if code == 0:
        assert isinstance(json.loads(out), list)
    else:
        assert err.startswith("chronicle: ")
    code, _, err = archive("show", "--", text)
    assert code in (0, 1)


def test_dates_typed_in_fullwidth_digits_are_read(archive: Cli) -> None:
    """As a Chinese keyboard types them: ０６-１６, ２０１７－０１－０１."""
    assert archive("onthisday", "０６-１６") == archive("onthisday", "06-16")
    fullwidth = archive("search", "Syria", "--since", "２０１７－０１－０１", "--json")
    assert fullwidth[0] == 0 and fullwidth == archive(
        "search", "Syria", "--since", "2017-01-01", "--json"
    )


def test_a_date_without_a_four_digit_year_first_is_refused_with_the_order(archive: Cli) -> None:
    """17-12-31 is not taken as December 31 of the year 17 (an empty answer); 16-06-2017
    (day first, as Europe writes it) and 06-16-2017 (month first, as the US does) are real
    days in another order, not "not a real date"."""
    code, out, err = archive("search", "Syria", "--until", "17-12-31")
    assert code == 1 and "needs its year in four digits: use YYYY-MM-DD" in err, out
    code, out, err = archive("onthisday", "17-06-16")
    assert code == 1 and "'17-06-16' needs its year in four digits" in err, out
    for typed in ("16-06-2017", "06-16-2017"):
        code, _, err = archive("search", "Syria", "--since", typed)
        assert code == 1 and "not a real date" not in err
        assert f"'{typed}' has its year last: the order is YYYY-MM-DD, 2017-06-16" in err
    code, _, err = archive("search", "Syria", "--since", "06-07-2017")  # either order
    assert code == 1 and "has its year last: the order is YYYY-MM-DD, e.g." in err


def test_bad_input_gets_clear_messages(archive: Cli) -> None:
    code, _, err = archive("entity", "Abu Bakr al-Bagdadi")
    assert code == 1 and "No entity is called" in err and "Abu Bakr al-Baghdadi" in err
    code, _, err = archive("search", "x", "--entity", "Nobody At All")
    assert code == 1 and "No entity is called “Nobody At All”" in err
    for blank in ("", "  "):
        code, _, err = archive("entity", blank)
        assert code == 1 and "Give an entity's name" in err
    # Words /search refuses are refused by show and related too (not answered with an event,
    # or with suggestions of the very events -Russia leaves out).
    for command in ("show", "related"):
        code, _, err = archive(command, "s*")
        assert code == 1 and "would match almost every event" in err
        code, out, err = archive(command, "--", "-Russia")
        assert code == 1 and "only says what to leave out" in err and "Russia" not in out
    code, _, err = archive("search", " ".join(f"word{n}" for n in range(20)))
    assert code == 1 and "A search takes 16 words at most" in err and "word16" in err
    code, _, err = archive("onthisday", "0000-06-16")
    assert code == 1 and "is not a real day (year 0 is out of range)" in err
    code, _, err = archive("search", "Russia", "--since", "2017-02-30")
    assert code == 1 and "not a real date" in err
    code, _, err = archive("search", "Russia", "--since", "yesterday")
    assert code == 1 and "YYYY-MM-DD" in err
    code, _, err = archive("search", "Russia", "--since", "2018-01-01", "--until", "2017-01-01")
    assert code == 1 and "after the until date" in err
    code, _, err = archive("onthisday", "13-45")
    assert code == 1 and "not a real day" in err
    code, _, err = archive("onthisday", "June 16")
    assert code == 1 and "MM-DD" in err
    code, _, err = archive("show", "zzqxv wqpfk")
    assert code == 1 and "No event matches" in err
    code, _, err = archive("search", "Russia", "--limit", "0")
    assert code == 1 and "limit" in err


def test_import_failure_sets_exit_status(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("# no date\n")
    code, out, err = cli("import", str(bad), str(SAMPLE_NEWS / "2014/11/8"))
    assert code == 1
    assert "4 new" in out and "1 failed" in out
    assert f"failed: {bad}: no date heading" in err


def test_python_dash_m_bot_is_the_same_command_line(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = subprocess.run(
        [*RUN, "--db", str(db), "import", str(SAMPLE_NEWS / "2017/09/28")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "8 new" in run.stdout
    shown = subprocess.run(
        [*RUN, "--db", str(db), "show", "Catalonia vote", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert json.loads(shown.stdout)["story"] == "Secession"


def test_lookups_write_no_control_characters_to_the_terminal(cli: Cli) -> None:
    """A headline stored with terminal escape sequences (by a Chronicle that kept them, or
    another program): show, search and "Did you mean" print it without them."""
    day = dt.date(2019, 4, 7)
    headline = "Storm \x1b]0;pwned\x07 hits \x1b[2J coast\x9b"

    async def store() -> None:
        storage = await open_storage(cli.db)
        try:
            await storage.events.import_batch([PageRecord(make_key(day, "storm"), day, headline)])
            await storage.events.index_pending()
        finally:
            await storage.close()

    asyncio.run(store())
    for args in (("show", "storm", "hits"), ("search", "storm")):
        code, out, err = cli(*args)
        assert code == 0, err
        assert "Storm ]0;pwned hits [2J coast" in out
        assert not any(c in out for c in "\x1b\x07\x9b"), repr(out)
    code, out, err = cli("show", "stormy", "hitting", "coasts")
    assert code == 1 and "Storm ]0;pwned hits [2J coast" in err
    assert not any(c in err for c in "\x1b\x07\x9b"), repr(err)
