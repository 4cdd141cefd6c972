"""The nonces posts are sent with: what the ledger claims decides them, and nothing else."""

from __future__ import annotations

import re

from bot.nonces import NONCE_LENGTH, alert_nonce, digest_part_nonce, nonce


def test_the_same_claim_gives_the_same_nonce() -> None:
    assert digest_part_nonce(7, "2026-06-16", 0) == digest_part_nonce(7, "2026-06-16", 0)
    assert alert_nonce("dm:42", [3, 1, 2]) == alert_nonce("dm:42", [1, 2, 3])
    assert alert_nonce("dm:42", [1, 1, 2]) == alert_nonce("dm:42", [2, 1])
    # Pinned: a process started again (another interpreter, a new release) retrying a claim
    # must send what the process that died sent.
    assert digest_part_nonce(7, "2026-06-16", 0) == "f1c3490ec43df488a3ced6897"
    assert alert_nonce("dm:42", [1, 2, 3]) == "929f439e9572deca9c417697a"


def test_a_nonce_is_one_discord_takes() -> None:
    for value in (
        digest_part_nonce(1, "2026-06-16T13", 4),
        digest_part_nonce(2**62, "live:2026-06-16T12:11:00.000000Z", 99),
        alert_nonce("here:1180000000000001010:1180000000000000003", range(5000)),
    ):
        assert len(value) == NONCE_LENGTH == 25
        assert re.fullmatch(r"[0-9a-f]{25}", value)


def test_different_parts_and_alerts_get_different_nonces() -> None:
    parts = {
        digest_part_nonce(digest, slot, part)
        for digest in (1, 2, 12)
        for slot in ("2026-06-16", "2026-06-17", "2026-06-16T13")
        for part in range(5)
    }
    assert len(parts) == 3 * 3 * 5
    alerts = {
        alert_nonce("dm:1", [1]),
        alert_nonce("dm:1", [1, 2]),
        alert_nonce("dm:1", [2]),
        alert_nonce("dm:2", [1]),
        alert_nonce("here:5:1", [1]),
    }
    assert len(alerts) == 5
    assert not parts & alerts


def test_the_parts_of_a_key_are_kept_apart() -> None:
    assert nonce("digest", 1, "23") != nonce("digest", 12, "3")
    assert nonce("a", 1) != nonce("a", "1")
    assert digest_part_nonce(1, "2026-06-16", 12) != digest_part_nonce(11, "2026-06-16", 2)
