"""The exactly-once ledgers, the same on every backend: who a delivery row belongs to, and
in what steps a ledger's rows are deleted.

`deliveries` holds a row per target and event: a digest's ('digest:<id>'), or a member's
alerts' ('dm:<user>', 'here:<channel>:<user>'). A target's rows go with it: a removed
digest's, and those of a member's target once no subscription of theirs is delivered there.
"""

from __future__ import annotations

# A target's rows are deleted this many to a transaction: a live digest of a busy archive
# holds tens of thousands, and one long delete would hold the write lock that long.
FORGET_BATCH = 5000

DIGEST_TARGET_PREFIX = "digest:"

# A subscription's target (storage.models.Subscription.target), written in SQL over the
# subscriptions row `s`: the same text on SQLite and PostgreSQL.
SUBSCRIPTION_TARGET_SQL = (
    "CASE s.delivery WHEN 'dm' THEN 'dm:' || s.user_id"
    " ELSE 'here:' || s.channel_id || ':' || s.user_id END"
)


def digest_target(digest_id: int) -> str:
    """The ledger's target of a digest's deliveries."""
    return f"{DIGEST_TARGET_PREFIX}{digest_id}"


def alert_target(delivery: str, user_id: int, channel_id: int | None) -> str:
    """The ledger's target of a subscription's alerts (as Subscription.target)."""
    return f"dm:{user_id}" if delivery == "dm" else f"here:{channel_id}:{user_id}"
