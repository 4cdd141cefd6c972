"""How a prune is told: the summary line the bot logs and `chronicle prune` prints, and
sizes as people read them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.services.ledgers import PruneReport, byte_size, compaction_summary, prune_summary
from storage.ledgers import Compaction


def test_the_summary_says_what_went_and_what_stays() -> None:
    report = PruneReport(
        before=dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC),
        runs_removed=3750,
        deliveries_removed=1,
        runs_kept=52_500,
        deliveries_kept=1_182_300,
    )
    assert prune_summary(report) == (
        "Pruned 3,750 digest runs and 1 delivery finished before 2026-11-23 09:30 UTC"
        " (14 days ago); kept 52,500 runs and 1,182,300 deliveries"
    )
    assert report.removed == 3751
    corrections = dataclasses.replace(report, corrections_removed=2)
    assert prune_summary(corrections).startswith(
        "Pruned 3,750 digest runs, 1 delivery and 2 corrected links finished before"
    )
    assert corrections.removed == 3753


def test_vacuum_says_what_it_gave_back() -> None:
    compaction = Compaction(bytes_before=3_100_000_000, bytes_after=2_787_600_000)
    assert compaction_summary("/srv/chronicle.db", compaction) == (
        "VACUUM gave back 312.4 MB: /srv/chronicle.db takes 2.8 GB (was 3.1 GB)"
    )


def test_sizes_read_as_people_read_them() -> None:
    assert [byte_size(n) for n in (0, 1, 812, 4_200, 999_949, 999_999, 3_100_000_000)] == [
        "0 bytes",
        "1 byte",
        "812 bytes",
        "4.2 KB",
        "999.9 KB",
        "1.0 MB",
        "3.1 GB",
    ]
