"""`chronicle digest preview` with a digest's filters, on a real archive file."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main
from storage import open_storage
from storage.sqlite.db import connect_plain
from storage.textindex import has_cjk
from storage.times import utc_now
from tests.bot.test_cli import Cli
from tests.conftest import SAMPLE_NEWS, TEST_DATA
from tests.storage.digests_support import news
from tests.storage.events_support import arrive

ZH_JUNE_16 = TEST_DATA / "news-zh-06-16"
DAY = ("--date", "2026-06-16")


@pytest.fixture
def both_editions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "chronicle.db", capsys)
    assert main(["--db", str(cli.db), "import", str(SAMPLE_NEWS), str(ZH_JUNE_16)]) == 0
    return cli


def headlines(preview: object) -> list[str]:
    assert isinstance(preview, dict)
    return [item for section in preview["sections"] for item in section["items"]]


def test_preview_takes_the_language(both_editions: Cli) -> None:
    everything = headlines(both_editions.json("digest", "preview", "onthisday", *DAY))
    assert any(has_cjk(h) for h in everything) and not all(has_cjk(h) for h in everything)
    english = headlines(
        both_editions.json("digest", "preview", "onthisday", *DAY, "--language", "en")
    )
    assert english and not any(has_cjk(h) for h in english)
    chinese = headlines(
        both_editions.json("digest", "preview", "onthisday", *DAY, "--language", "zh")
    )
    assert chinese and all(has_cjk(h) for h in chinese)


def test_preview_takes_entities_and_words(both_editions: Cli) -> None:
    (only,) = headlines(
        both_editions.json(
            "digest", "preview", "onthisday", *DAY, "--entity", "Russia", "--words", "Baghdadi"
        )
    )
    assert "The Russian Ministry of Defence says" in only
    code, out, err = both_editions(
        "digest", "preview", "new", "--entity", "Nobody Anyone Knows", "--words", "Syria"
    )
    assert code != 0 and not out
    assert "No entity is called" in err
    code, _, err = both_editions("digest", "preview", "new", "--words=-Russia")
    assert code != 0 and "only says what to leave out" in err


def test_a_preview_of_new_events_leaves_out_the_portal_item_that_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A portal item the last poll found waits for the next one before digests post it
    (storage.news_rules): the command line's preview leaves it out as the bot's does."""
    cli = Cli(tmp_path / "chronicle.db", capsys)

    async def arrange() -> None:
        storage = await open_storage(cli.db)
        try:
            ids = await arrive(
                storage,
                news("Earthquake strikes Italy", "Italy"),
                news("Parliament of Italy dissolved", "Italy"),
            )
            polled = utc_now() - dt.timedelta(minutes=1)
            await storage.portal.record_poll(
                "en", at=polled, next_poll_at=polled + dt.timedelta(minutes=10)
            )
        finally:
            await storage.close()
        db = connect_plain(cli.db)
        db.execute("UPDATE events SET origin = 'wikipedia' WHERE id = ?", (ids[1],))
        db.close()

    asyncio.run(arrange())
    (shown,) = headlines(cli.json("digest", "preview", "new"))
    assert shown.endswith("Earthquake strikes Italy")
