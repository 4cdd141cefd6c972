"""The phrase sweep searches quoted runs of words from the archive's own texts."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from benchmarks import phrases
from bot.services import lookups
from storage import open_storage


def test_a_chinese_phrase_is_a_run_of_four_to_eight_characters_spaced_apart() -> None:
    texts = ["美国总统唐纳德·特朗普表态", "Iraq 中国", "中华人民共和国国务院总理李克强"]
    drawn = phrases.spaced_chinese(texts, random.Random(2))
    assert len(drawn) == 2  # no run of four characters in "Iraq 中国"
    for phrase, text in zip(drawn, texts[::2], strict=True):
        first, second = phrase.removeprefix('"').removesuffix('"').split(" ")
        assert 4 <= len(first + second) <= 8 and first and second
        assert first + second in text


def test_a_phrase_is_a_run_of_two_to_five_words_of_a_text() -> None:
    drawn = phrases.phrases(["Iraq's vote, delayed again", "One", "中國 人"], random.Random(1))
    assert len(drawn) == 2  # "One" has a single word
    texts_words = (["Iraq", "s", "vote", "delayed", "again"], ["中國", "人"])
    for phrase, words in zip(drawn, texts_words, strict=True):
        inner = phrase.removeprefix('"').removesuffix('"').split(" ")
        assert 2 <= len(inner) <= 5
        assert any(words[i : i + len(inner)] == inner for i in range(len(words)))


async def test_the_sweep_searches_phrases_the_archive_holds(
    sample_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    english, chinese = await phrases.measure(sample_database, count=30, seed=1)
    for sweep in (english, chinese):
        searched = [text for _, text in sweep.times_ms]
        assert len(searched) >= 10 and all(t.startswith('"') and t.endswith('"') for t in searched)
        async with await open_storage(sample_database) as storage:
            for phrase in searched:  # each from an event's text, so each finds one at least
                assert await lookups.search(storage, phrase, limit=1), phrase
    assert all(" " in text for _, text in chinese.times_ms)

    assert await asyncio.to_thread(phrases.main, [str(sample_database), "--phrases", "5"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("quoted phrases: ") and "p99" in printed[0]
    assert any(line.startswith("Chinese phrases spaced apart: ") for line in printed)
