"""The nonce each post is sent with: derived from what the ledger claims, so that a retry of
the same digest part or alert sends the same one.

Discord checks a message's nonce, when `enforce_nonce` is set (discord.py sets it whenever a
nonce is given), against the same author's messages of the past few minutes and answers a
second create with the first message. That closes the gap the ledger cannot: a message
Discord took whose process died before recording it is not posted again by the retry, if the
retry comes within those few minutes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

NONCE_LENGTH = 25  # Discord's longest string nonce


def nonce(*key: str | int) -> str:
    """A nonce for a claim's key: the same key, the same nonce, in any process."""
    # JSON keeps the parts apart ("1", "23" is not "12", "3"); 25 hex digits are 100 bits.
    text = json.dumps(key, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:NONCE_LENGTH]


def digest_part_nonce(digest_id: int, slot: str, part: int) -> str:
    """The nonce of a digest run's message: its digest, its slot and which part it is."""
    return nonce("digest", digest_id, slot, part)


def alert_nonce(target: str, event_ids: Iterable[int]) -> str:
    """The nonce of an alert: whom it goes to and the events it lists, in any order."""
    return nonce("alert", target, *sorted(set(event_ids)))
