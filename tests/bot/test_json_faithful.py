"""JSON carries what the archive holds: a page's summary as stored (empty when it has none)
and every cover image, not a renderer's choices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import TEST_DATA

TWO_IMAGES = next(
    p
    for p in (TEST_DATA / "news-zh" / "2019" / "11" / "20").glob("*.md")
    if p.read_text(encoding="utf-8").count("[IMG](") == 2
)


def test_every_cover_image_is_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = str(tmp_path / "c.db")
    assert main(["--db", database, "import", str(TWO_IMAGES)]) == 0
    capsys.readouterr()
    text = TWO_IMAGES.read_text(encoding="utf-8")
    expected = [part.split(")")[0] for part in text.split("[IMG](")[1:]]
    key = "2019/11/20/" + TWO_IMAGES.stem
    assert main(["--db", database, "show", key, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["images"] == expected and len(expected) == 2
    assert card["image"] == expected[0]
    assert all(s["url"] not in expected for s in card["sources"])  # images are not sources
