"""Subscriptions to entities, the alert ledger, pending notices and small bot state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import notices
from storage import rows as domain_rows
from storage.api_delivery import TooManySubscriptions
from storage.models import Match, RetakenClaims, Subscription
from storage.news_rules import NOTHING_WAITS, WAITING_SQL, Announced, announced
from storage.sqlite import event_rows, feed_corrections
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.ledgers import PRUNED_THROUGH
from storage.times import now_timestamp, to_timestamp, utc_now


class SubscriptionRepository:
    def __init__(self, db: Database):
        self.db = db

    async def subscribe(
        self,
        *,
        guild_id: int,
        user_id: int,
        entity_id: int,
        delivery: str,
        channel_id: int | None,
        most: int | None = None,
    ) -> tuple[Subscription, bool]:
        """Subscribe, or change delivery (and resume) if subscribed. (subscription, created).
        Past ``most`` a new one is refused; the count and the insert are one transaction, and
        write transactions take turns (BEGIN IMMEDIATE), so two at once cannot both pass."""
        key = (guild_id, user_id, entity_id)
        async with self.db.transaction() as conn:
            existing = await (
                await conn.execute(
                    "SELECT id FROM subscriptions WHERE guild_id = ? AND user_id = ? AND entity_id = ?",
                    key,
                )
            ).fetchone()
            if existing is None and most is not None:
                counted = await (
                    await conn.execute(
                        "SELECT COUNT(*) FROM subscriptions WHERE guild_id = ? AND user_id = ?",
                        (guild_id, user_id),
                    )
                ).fetchone()
                following = counted[0] if counted else 0
                if following >= most:
                    raise TooManySubscriptions(following)
            if existing:
                await conn.execute(
                    "UPDATE subscriptions SET delivery = ?, channel_id = ?, paused_reason = NULL WHERE id = ?",
                    (delivery, channel_id, existing[0]),
                )
            else:
                await conn.execute(
                    "INSERT INTO subscriptions(guild_id, user_id, entity_id, delivery, channel_id,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, delivery, channel_id, now_timestamp()),
                )
            row = await (
                await conn.execute(
                    f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.guild_id = ? AND s.user_id = ? AND s.entity_id = ?",
                    key,
                )
            ).fetchone()
        assert row is not None  # written just above, in this transaction
        return domain_rows.subscription(row), existing is None

    async def unsubscribe(self, *, guild_id: int, user_id: int, entity_id: int) -> bool:
        removed = await self._delete(
            "guild_id = ? AND user_id = ? AND entity_id = ?", (guild_id, user_id, entity_id)
        )
        return removed > 0

    async def remove(self, subscription_id: int) -> bool:
        return await self._delete("id = ?", (subscription_id,)) > 0

    async def _delete(self, where: str, params: Sequence[object]) -> int:
        """Delete the subscriptions matching ``where``; how many. Their alerts' ledger stays
        until the daily prune takes it (storage.ledgers says why)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(f"DELETE FROM subscriptions WHERE {where}", tuple(params))
            return cursor.rowcount

    async def get(self, subscription_id: int) -> Subscription | None:
        row = await self.db.fetchone(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.id = ?", (subscription_id,)
        )
        return domain_rows.subscription(row) if row else None

    async def for_member(self, guild_id: int, user_id: int) -> list[Subscription]:
        rows = await self.db.fetchall(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.guild_id = ? AND s.user_id = ? ORDER BY e.folded",
            (guild_id, user_id),
        )
        return [domain_rows.subscription(r) for r in rows]

    async def for_user(self, user_id: int) -> list[Subscription]:
        rows = await self.db.fetchall(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.user_id = ? ORDER BY s.guild_id, e.folded",
            (user_id,),
        )
        return [domain_rows.subscription(r) for r in rows]

    async def count_for_member(self, guild_id: int, user_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM subscriptions WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return row[0] if row else 0

    async def pause(self, subscription_ids: Sequence[int], reason: str) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE subscriptions SET paused_reason = ? WHERE id = ?",
                [(reason, i) for i in subscription_ids],
            )

    async def resume_dm(self, user_id: int, reason: str) -> int:
        """Resume every DM subscription of the member (in any server) paused for
        ``reason``; how many."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE subscriptions SET paused_reason = NULL"
                " WHERE user_id = ? AND delivery = 'dm' AND paused_reason = ?",
                (user_id, reason),
            )
            return cursor.rowcount

    async def here_subscriptions(
        self, channel_id: int, user_id: int | None = None
    ) -> list[Subscription]:
        """The active subscriptions delivered in this channel: one member's, or everyone's."""
        rows = await self.db.fetchall(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.channel_id = ? AND s.delivery = 'here'"
            " AND s.paused_reason IS NULL AND (? IS NULL OR s.user_id = ?)"
            " ORDER BY s.user_id, e.folded",
            (channel_id, user_id, user_id),
        )
        return [domain_rows.subscription(r) for r in rows]

    async def remove_member(self, guild_id: int, user_id: int) -> int:
        """Remove a member's subscriptions in a server (they left it); how many."""
        return await self._delete("guild_id = ? AND user_id = ?", (guild_id, user_id))

    async def remove_guild(self, guild_id: int) -> int:
        """Remove every subscription in a server (Chronicle was removed from it); how many."""
        return await self._delete("guild_id = ?", (guild_id,))

    async def dm_subscriptions(self, user_id: int) -> list[Subscription]:
        rows = await self.db.fetchall(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.user_id = ? AND s.delivery = 'dm' AND s.paused_reason IS NULL",
            (user_id,),
        )
        return [domain_rows.subscription(r) for r in rows]

    # --- alerts --------------------------------------------------------------------------

    async def announced_after(
        self, event_id: int, *, limit: int, waiting_since: dt.datetime | None = None
    ) -> Announced:
        rows = await self.db.fetchall(
            f"SELECT e.id, {WAITING_SQL.format('?')} FROM events e"
            " WHERE e.announce = 1 AND e.id > ? AND e.removed_at IS NULL ORDER BY e.id LIMIT ?",
            (to_timestamp(waiting_since or NOTHING_WAITS), event_id, limit),
        )
        return announced([(r[0], bool(r[1])) for r in rows], event_id)

    async def newest_event_id(self) -> int:
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) FROM events")
        return row[0] if row else 0

    async def matches(self, event_ids: Sequence[int]) -> list[Match]:
        """Active subscriptions whose entity is in these events, not yet delivered there."""
        return await self._matching(event_ids, undelivered=True)

    async def newest_corrected_link(self) -> int:
        return await feed_corrections.newest_corrected_link(self.db)

    async def corrected_matches(self, after: int, *, limit: int) -> tuple[list[Match], int]:
        return await feed_corrections.corrected_matches(self.db, after, limit=limit)

    async def _matching(self, event_ids: Sequence[int], *, undelivered: bool) -> list[Match]:
        found: list[Match] = []
        for chunk in chunked(list(event_ids)):
            rows = await self.db.fetchall(
                f"SELECT s.id AS sub_id, s.guild_id, s.user_id, s.entity_id, en.name AS entity,"
                f" s.delivery, s.channel_id, s.paused_reason, {event_rows.BRIEF_COLUMNS}"
                " FROM event_entities ee"
                " JOIN subscriptions s ON s.entity_id = ee.entity_id AND s.paused_reason IS NULL"
                " JOIN entities en ON en.id = s.entity_id"
                " JOIN events e ON e.id = ee.event_id"
                f" WHERE ee.event_id IN ({placeholders(len(chunk))})"
                + (
                    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND"
                    " d.target = CASE s.delivery WHEN 'dm' THEN 'dm:' || s.user_id"
                    "  ELSE 'here:' || s.channel_id || ':' || s.user_id END)"
                    if undelivered
                    else ""
                )
                + " ORDER BY e.id",
                list(chunk),
            )
            found.extend(
                Match(domain_rows.subscription(r, id_column="sub_id"), event_rows.brief(r))
                for r in rows
            )
        return found

    async def claim(
        self, target: str, event_ids: Sequence[int], *, guild_id: int | None = None
    ) -> list[int]:
        """Record deliveries before sending (at most once); returns the ids newly claimed,
        in the order given, pending until mark_sent. An event gone meanwhile (merged into
        another by an import) is not claimed, and the others still are; nor is an event at
        or below ALERTS_PRUNED_THROUGH, read here, in the claim's transaction: its rows may
        have been pruned, by a step that committed after the caller read the mark (a sweep
        starting from behind), and a missing row would not stop a second alert."""
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT event_id FROM deliveries WHERE target = ? AND event_id IN ({placeholders(len(event_ids))})",
                (target, *event_ids),
            )
            done = {r[0] for r in rows}
            rows = await conn.execute_fetchall(
                f"SELECT id FROM events WHERE id IN ({placeholders(len(event_ids))})"
                f" AND id > {PRUNED_THROUGH}",
                tuple(event_ids),
            )
            existing = {r[0] for r in rows}
            fresh = [i for i in dict.fromkeys(event_ids) if i in existing and i not in done]
            await conn.executemany(
                "INSERT INTO deliveries(target, event_id, delivered_at, state, attempts, guild_id)"
                " VALUES (?, ?, ?, 'claimed', 1, ?)",
                [(target, i, now_timestamp(), guild_id) for i in fresh],
            )
        return fresh

    async def mark_sent(self, target: str, event_ids: Sequence[int]) -> None:
        await self._settle(target, event_ids, "sent")

    async def mark_failed(self, target: str, event_ids: Sequence[int]) -> None:
        await self._settle(target, event_ids, "failed")

    async def _settle(self, target: str, event_ids: Sequence[int], state: str) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE deliveries SET state = ?, delivered_at = ?"
                " WHERE target = ? AND event_id = ? AND state = 'claimed'",
                [(state, now_timestamp(), target, i) for i in event_ids],
            )

    async def retake_claims(
        self,
        *,
        grace: dt.timedelta,
        shard_ids: Sequence[int] | None,
        shard_count: int | None,
    ) -> RetakenClaims:
        """Claims pending for longer than ``grace``, of the servers on these shards: those on
        their first attempt taken for a second, those on their second given up, and so are
        those of events at or below ALERTS_PRUNED_THROUGH (news older than alert rows are
        kept, which no alert reaches any more). The write transaction (BEGIN IMMEDIATE) is
        the one writer of the file at a time, so of two processes asking at once the second
        finds the claims on their second attempt already, and too recent to give up."""
        where = "state = 'claimed' AND delivered_at <= ?"
        params: list[object] = [to_timestamp(utc_now() - grace)]
        if shard_ids is not None and shard_count is not None:
            ids = sorted(set(shard_ids))
            where += f" AND (guild_id >> 22) % ? IN ({placeholders(len(ids))})"
            params += [shard_count, *ids]
        now = now_timestamp()
        async with self.db.transaction() as conn:
            # Given up first: a claim retaken below is stamped now, and with no grace would
            # otherwise count as pending again at once.
            given_up = await conn.execute_fetchall(
                f"UPDATE deliveries SET state = 'failed', delivered_at = ?"
                f" WHERE {where} AND (attempts >= 2 OR event_id <= {PRUNED_THROUGH})"
                " RETURNING target, event_id",
                (now, *params),
            )
            retried = await conn.execute_fetchall(
                f"UPDATE deliveries SET attempts = attempts + 1, delivered_at = ?"
                f" WHERE {where} AND attempts = 1 AND event_id > {PRUNED_THROUGH}"
                " RETURNING target, event_id",
                (now, *params),
            )
        taken = sorted((r[0], r[1]) for r in retried)
        wanted = set(taken)
        found = await self._matching(sorted({e for _, e in taken}), undelivered=False)
        return RetakenClaims(
            retried=taken,
            matches=[m for m in found if (m.subscription.target, m.event.id) in wanted],
            given_up=sorted((r[0], r[1]) for r in given_up),
        )

    # --- notices and state ---------------------------------------------------------------

    async def add_notice(self, user_id: int, text: str) -> None:
        """Keep a notice for the member's next command, beside any other waiting."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO pending_notices(user_id, text, created_at) VALUES (?, ?, ?)",
                (user_id, text, now_timestamp()),
            )

    async def take_notice(self, user_id: int) -> str | None:
        """The member's waiting notices, taken and joined (oldest first, as many as one
        message holds; the rest wait for the next command): of two processes, one gets
        each. Read first: every command asks, and a write would wait for any other
        process's (an import)."""
        if not await self.db.fetchone(
            "SELECT 1 FROM pending_notices WHERE user_id = ?", (user_id,)
        ):
            return None
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id, text FROM pending_notices WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
            taken = list(rows)[: notices.fitting([r[1] for r in rows])]
            await conn.executemany(
                "DELETE FROM pending_notices WHERE id = ?", [(r[0],) for r in taken]
            )
        return notices.joined([str(r[1]) for r in taken])

    async def state(self, name: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM bot_state WHERE name = ?", (name,))
        return row[0] if row else None

    async def set_state(self, name: str, value: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO bot_state(name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
