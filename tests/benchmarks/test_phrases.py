"""The phrase sweep searches quoted runs of words from the archive's own texts."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from benchmarks import phrases
from bot.services import lookups
from bot.services.imports import import_archive
from storage import Storage
from tests.conftest import SAMPLE_NEWS


def test_a_phrase_is_a_run_of_two_to_five_words_of_a_text() -> None:
    drawn = phrases.phrases(["Iraq's vote, delayed again", "One", "中國 人"], random.Random(1))
    assert len(drawn) == 2  # "One" has a single word
    texts_words = (["Iraq", "s", "vote", "delayed", "again"], ["中國", "人"])
    for phrase, words in zip(drawn, texts_words, strict=True):
        inner = phrase.removeprefix('"').removesuffix('"').split(" ")
        assert 2 <= len(inner) <= 5
        assert any(words[i : i + len(inner)] == inner for i in range(len(words)))


async def test_the_sweep_searches_phrases_the_archive_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "chronicle.db"
    async with await Storage.open(database) as storage:
        report = await import_archive(storage, [SAMPLE_NEWS])
        assert report.ok, report.failed
    sweep = await phrases.measure(database, count=12, seed=1)
    searched = [text for _, text in sweep.times_ms]
    assert len(searched) >= 10 and all(t.startswith('"') and t.endswith('"') for t in searched)
    async with await Storage.open(database) as storage:
        for phrase in searched:  # each from an event's text, so each finds one at least
            assert await lookups.search(storage, phrase, limit=1), phrase

    assert await asyncio.to_thread(phrases.main, [str(database), "--phrases", "5"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("quoted phrases: ") and "p99" in printed
