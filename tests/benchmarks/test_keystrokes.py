"""The keystroke sweep types every prefix of real headlines and names into autocomplete."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks import keystrokes
from storage import open_storage
from storage.textindex import has_cjk


def test_every_prefix_is_typed_as_written() -> None:
    assert keystrokes.keystrokes(["Iraq's vote", "中國"], 6) == [
        "I",
        "Ir",
        "Ira",
        "Iraq",
        "Iraq'",
        "Iraq's",
        "中",
        "中國",
    ]


async def test_the_sweep_times_every_keystroke_of_the_archive_s_texts(
    sample_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with await open_storage(sample_database) as storage:
        headlines = [r[0] for r in await storage.db.fetchall("SELECT headline FROM events")]
        names = [r[0] for r in await storage.db.fetchall("SELECT name FROM entities")]
    sweeps = await keystrokes.measure(sample_database, headlines=5, chinese=3, names=6, seed=1)
    typed, named = (dict((text, ms) for ms, text in s.times_ms) for s in sweeps)
    # Each input a prefix of a text in the archive, and every keystroke before it typed too.
    assert typed and all(
        any(h.lower().startswith(t) or h.startswith(t) for h in headlines) for t in typed
    )
    assert any(has_cjk(t) for t in typed)  # Chinese headlines too
    assert named and all(any(n.startswith(t) for n in names) for t in named)
    for texts in (typed, named):
        for text in texts:
            assert all(text[:end] in texts for end in range(1, len(text)))

    command = [str(sample_database), "--headlines", "2", "--chinese", "1"]
    assert await asyncio.to_thread(keystrokes.main, command) == 0  # it runs its own loop
    printed = capsys.readouterr().out
    assert "headlines: " in printed and "entity names: " in printed and "p99" in printed
