"""benchmarks.portal_parse times every shape it names, and each parses to its items."""

from __future__ import annotations

import pytest

from benchmarks import portal_parse


def test_every_page_is_timed_with_its_items(capsys: pytest.CaptureFixture[str]) -> None:
    portal_parse.main(["--rounds", "1"])
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows][-4:] == ["flat,", "nested", "nested", "nested"]
    assert rows[-1].split()[-3] == "3000" and rows[-1].endswith(" s")
