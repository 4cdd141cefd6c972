"""The `chronicle feeds` commands, against the feed server in a thread of its own: add,
poll, list and remove, and what they say when a feed cannot be added."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.bot.services.feeds_support import (
    DATA_DIR,
    NOW,
    advert,
    entry,
    html_page,
    rss,
)
from tests.support.feed_server import FeedServer
from tests.support.local_server import free_port


class ThreadedServer:
    """The feed server in a thread of its own: the CLI runs its own event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = FeedServer(DATA_DIR)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(None, None, None), self.loop).result(
            10
        )
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def cli_server() -> Iterator[FeedServer]:
    with ThreadedServer() as srv:
        yield srv


def test_feeds_commands(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL", "FEED_POLL_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    db = str(tmp_path / "chronicle.db")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--db", db, *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    good = cli_server.url("chfr_ctvnews_ca_rss2.xml")
    code, out, _ = run("feeds", "add", good, "--name", "CTV", "--backfill", "2")
    assert code == 0
    assert out.startswith(f"Added feed 1: CTV <{good}>")
    assert "10 entries: 10 new events, 2 announced as news" in out
    code, out, _ = run("feeds", "add", cli_server.url("kde_zeit_de_rss091_iso88591.xml"), "--json")
    added = json.loads(out)
    assert code == 0 and added["feed"]["id"] == 2 and added["outcome"]["new_events"] == 3
    assert added["outcome"]["announced_ids"] == []

    code, _, err = run("feeds", "add", cli_server.url("rsa_maodoupi_account_suspended.html"))
    assert code == 1 and "Not added: the response is an HTML page ('Account Suspended')" in err
    assert "the page advertises no feed" in err
    # A page's title is quoted in the page's own charset.
    page = "<html><head><meta charset='gbk'><title>新浪首页 — 新闻中心</title></head></html>"
    cli_server.set_file("gbk.html", page.encode("gbk"), content_type="text/html")
    code, _, err = run("feeds", "add", cli_server.url("gbk.html"))
    assert code == 1 and "Not added: the response is an HTML page ('新浪首页 — 新闻中心')" in err
    # A site that cannot be reached right now is not added either: the operator is here.
    down = f"http://127.0.0.1:{free_port()}/feed.xml"
    code, out, err = run("feeds", "add", down)
    assert code == 1 and out == "" and "Not added: could not connect to 127.0.0.1:" in err
    assert err.rstrip().endswith("check the address, or try again later")
    code, _, err = run("feeds", "add", good)
    assert code == 1 and "already feed 1" in err

    # A feed that breaks: poll --once reports it, exits 1, and the list shows it.
    cli_server.set_status("kde_zeit_de_rss091_iso88591.xml", 500)
    code, out, _ = run("feeds", "poll", "--once")
    assert code == 1
    assert f"not modified  CTV <{good}>" in out
    assert "FAILED" in out and "http_status: HTTP 500 Internal Server Error" in out
    assert "Polled 2 feeds: 0 new events (0 announced), 1 failed" in out
    code, out, _ = run("feeds", "poll", "--once", "--json")
    report = json.loads(out)
    assert code == 1 and report["feeds"] == 2 and report["failed"] == 1
    assert report["outcomes"][1]["consecutive_failures"] == 2

    code, out, _ = run("feeds", "list")
    assert code == 0 and "   1  active    CTV <" in out and "10 events added" in out
    assert "(http_status): HTTP 500 Internal Server Error" in out
    assert "2 consecutive failures" in out
    listed = json.loads(run("feeds", "list", "--json")[1])
    assert [f["name"] for f in listed] == ["CTV", "DIE ZEIT: Homepage"]
    assert set(listed[1]) >= {
        "name",
        "url",
        "status",
        "last_success_at",
        "last_error",
        "consecutive_failures",
        "next_poll_at",
        "events_added",
    }
    assert listed[1]["consecutive_failures"] == 2 and listed[1]["last_error_kind"] == "http_status"

    stats = json.loads(run("stats", "--json")[1])
    assert stats["feeds"] == 2 and stats["feeds_failing"] == 1 and stats["events"] == 13
    code, out, _ = run("stats")
    assert "feeds:      2" in out and "feeds_failing: 1" in out

    code, out, _ = run("feeds", "remove", "2")
    assert code == 0 and out.startswith("Removed feed 2:") and "its 3 events stay" in out
    code, _, err = run("feeds", "remove", good + "x")
    assert code == 1 and "No feed has the id or URL" in err
    code, out, _ = run("feeds", "remove", good, "--json")
    assert json.loads(out)["id"] == 1
    assert run("feeds", "list")[1].startswith("No feeds yet")
    assert json.loads(run("stats", "--json")[1])["events"] == 13


def test_feeds_refuses_loopback_without_the_setting(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEED_ALLOW_PRIVATE_ADDRESSES", raising=False)
    code = main(["--db", str(tmp_path / "c.db"), "feeds", "add", cli_server.url("a.xml")])
    _, err = capsys.readouterr()
    assert code == 1 and "is a loopback address" in err
    # The refusal says how to allow it.
    assert err.rstrip().endswith(
        "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"
    )
    assert sum(cli_server.requests.values()) == 0


def test_feeds_add_says_which_page_advertised_the_feed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    """Given a web page, the command line says the feed added is the one it advertises."""
    monkeypatch.chdir(tmp_path)
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    cli_server.set_file("site/index.html", html_page(advert("../chfr_ctvnews_ca_rss2.xml")))
    page, feed = cli_server.url("site/index.html"), cli_server.url("chfr_ctvnews_ca_rss2.xml")
    db = str(tmp_path / "chronicle.db")
    assert main(["--db", db, "feeds", "add", page]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Added feed 1: ") and f"<{feed}>" in out.splitlines()[0]
    assert out.splitlines()[1] == f"  the feed {page} advertises (it is a web page, not a feed)"
    assert "10 entries: 10 new events, 0 announced as news" in out
    assert main(["--db", db, "feeds", "remove", "1"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "feeds", "add", page, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["discovered_from"] == page and added["feed"]["url"] == feed


def test_feeds_add_and_poll_say_what_was_wrong_with_a_feed_read_anyway(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    """A feed read despite a problem (its declared encoding is wrong) is added and polled,
    and the text output says what was wrong, as --json does."""
    monkeypatch.chdir(tmp_path)
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    warning = (
        "read despite problems: the XML declaration says utf-16, but the document is in an"
        " ASCII-based encoding; read it as UTF-8"
    )

    def serve(*items: str) -> None:
        body = rss(*items).replace(b'encoding="utf-8"', b'encoding="utf-16"', 1)
        cli_server.set_file("ru.xml", body)

    first = entry("ru-1", "Привет, мир — новости дня", link="https://news.example/1", date=NOW)
    serve(first)
    db = str(tmp_path / "chronicle.db")
    assert main(["--db", db, "feeds", "add", cli_server.url("ru.xml")]) == 0
    assert f"  {warning}\n" in capsys.readouterr().out
    second = entry("ru-2", "Второй день новостей", link="https://news.example/2", date=NOW)
    serve(second, first)
    assert main(["--db", db, "feeds", "poll", "--once"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok            ") and "1 unseen: 1 new event" in lines[0]
    assert lines[1] == f"              {warning}"


def test_feeds_commands_mask_a_private_feed_s_login_and_token(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    """A feed added with a login and a token in its URL: add, poll, list and remove show
    the URL and the failures with both masked, in text and in JSON."""
    monkeypatch.chdir(tmp_path)
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    cli_server.set_file("private.xml", rss(entry("p1", "Harbour strike ends", date=NOW)))
    login = cli_server.url("private.xml").replace("http://", "http://alice:s3cretpw@")
    shown = login.replace("s3cretpw", "***") + "?token=***"
    db = str(tmp_path / "chronicle.db")

    def run(*args: str) -> str:
        main(["--db", db, *args])
        out, err = capsys.readouterr()
        # (The test server's access log, which the command line prints too, is not its own.)
        said = out + "".join(line for line in err.splitlines() if "aiohttp.access" not in line)
        assert "s3cretpw" not in said and "t0ken" not in said
        return out

    assert run("feeds", "add", f"{login}?token=t0ken").startswith(
        f"Added feed 1: Test Wire <{shown}>"
    )
    cli_server.set_status("private.xml", 404)
    assert f"FAILED        Test Wire <{shown}>: http_status: HTTP 404" in run(
        "feeds", "poll", "--once"
    )
    assert json.loads(run("feeds", "poll", "--once", "--json"))["outcomes"][0]["url"] == shown
    listed = run("feeds", "list")
    assert f"<{shown}>" in listed and f"HTTP 404 Not Found from {shown}" in listed
    (feed,) = json.loads(run("feeds", "list", "--json"))
    assert feed["url"] == shown and feed["last_error"] == f"HTTP 404 Not Found from {shown}"
    run("feeds", "remove", f"{login}x")  # a typo: the refusal quotes it, masked
    assert run("feeds", "remove", "1").startswith(f"Removed feed 1: Test Wire <{shown}>")


def test_feeds_list_shows_where_a_feed_moved_for_good(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_server: FeedServer,
) -> None:
    """Added at an address it has left, and later moved again: `feeds add` says where it
    was added from, and `feeds list` shows where it is now."""
    monkeypatch.chdir(tmp_path)
    for name in ("CHRONICLE_DB", "DISCORD_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_ADDRESSES", "true")
    cli_server.set_file("b.xml", rss(entry("p1", "Harbour strike ends", date=NOW)))
    cli_server.redirect("a.xml", "b.xml", status=301)
    db = str(tmp_path / "chronicle.db")
    assert main(["--db", db, "feeds", "add", cli_server.url("a.xml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Added feed 1: Test Wire <{cli_server.url('b.xml')}>"
    assert out[1] == (
        f"  moved for good from {cli_server.url('a.xml')} (a permanent redirect): polled here"
    )
    cli_server.redirect("b.xml", "c.xml", status=308)
    cli_server.set_file("c.xml", rss(entry("p1", "Harbour strike ends", date=NOW)))
    assert main(["--db", db, "feeds", "poll", "--once"]) == 0
    assert f"Test Wire <{cli_server.url('c.xml')}>" in capsys.readouterr().out
    assert main(["--db", db, "feeds", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"   1  active    Test Wire <{cli_server.url('c.xml')}>" in listed
