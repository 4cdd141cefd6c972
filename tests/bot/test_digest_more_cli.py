"""`chronicle digest preview new` on a real archive file: each story cut short says how many
more it has, as the bot's post does, and the last line counts only the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import open_storage
from tests.bot.test_cli import Cli
from tests.storage.digests_support import news
from tests.storage.events_support import arrive

STORIES = [("Syria", 12), ("Russia", 8), ("Iraq", 5), ("Iran", 5), ("Egypt", 3), ("Turkey", 2)]


@pytest.fixture
def busy_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """45 new events: six stories, and ten that name nothing."""
    cli = Cli(tmp_path / "chronicle.db", capsys)

    async def arrange() -> None:
        storage = await open_storage(cli.db)
        try:
            pages = [
                news(f"Talks in {name} day {n}", name)
                for name, count in STORIES
                for n in range(count)
            ]
            pages += [news(f"Weather report number {n}") for n in range(10)]
            await arrive(storage, *pages)
        finally:
            await storage.close()

    asyncio.run(arrange())
    return cli


def test_the_preview_counts_what_each_story_leaves_out(busy_day: Cli) -> None:
    code, out, err = busy_day("digest", "preview", "new")
    assert code == 0, err
    lines = out.splitlines()
    syria = lines.index("Syria")
    assert lines[syria + 6] == "  … and 7 more about Syria"
    assert [line for line in lines if line.startswith("  … and")] == [
        "  … and 7 more about Syria",
        "  … and 3 more about Russia",
    ]
    # Every language, where a server's /search reads one: no search is named.
    assert lines[-1] == "… and 10 more besides"


def test_the_preview_as_json_counts_each_story_and_the_whole(busy_day: Cli) -> None:
    preview = busy_day.json("digest", "preview", "new")
    assert isinstance(preview, dict)
    sections = {s["heading"]: (len(s["items"]), s["more"]) for s in preview["sections"]}
    assert sections == {
        "Syria": (5, 7),
        "Russia": (5, 3),
        "Iraq": (5, 0),
        "Iran": (5, 0),
        "Egypt": (3, 0),
        "Turkey": (2, 0),
    }
    # "more" is every event not listed: the stories' own and the 10 of "Other news".
    assert preview["more"] == 20 and len(preview["events"]) == 45
