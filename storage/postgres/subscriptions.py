"""PostgreSQL: members' subscriptions to entities, the ledger of their alerts, pending
notices and small bot state.

Several bot processes may share the database: a claim is one INSERT ... ON CONFLICT DO
NOTHING, so of two processes claiming the same alert exactly one gets it, and taking back a
claim a dead process left is one conditional UPDATE, which goes to one of them too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import notices
from storage import rows as domain_rows
from storage.api_delivery import TooManySubscriptions
from storage.models import Match, RetakenClaims, Subscription
from storage.news_rules import NOTHING_WAITS, WAITING_SQL, Announced, announced
from storage.postgres import event_rows, feed_corrections
from storage.postgres.db import Database
from storage.postgres.ledgers import PRUNED_THROUGH, hold_pruned_through
from storage.times import utc_now


def _changed(status: str) -> int:
    """The rows a command's status ("UPDATE 3", "DELETE 0", "INSERT 0 1") says it touched."""
    return int(status.rsplit(" ", 1)[-1])


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
        Past ``most`` a new one is refused."""
        key = (guild_id, user_id, entity_id)
        async with self.db.transaction() as conn:
            if most is not None:
                # The member's subscribes take turns, in every process: under READ COMMITTED
                # two at once would each count the rows before the other's insert.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('chronicle.subscribe:'"
                    " || current_schema() || ':' || $1::bigint || ':' || $2::bigint, 0))",
                    guild_id,
                    user_id,
                )
                counted = await conn.fetchrow(
                    "SELECT COUNT(*) AS following, COUNT(*) FILTER (WHERE entity_id = $3) AS held"
                    " FROM subscriptions WHERE guild_id = $1 AND user_id = $2",
                    *key,
                )
                assert counted is not None  # an aggregate's one row
                if not counted["held"] and counted["following"] >= most:
                    raise TooManySubscriptions(counted["following"])
            created = await conn.fetchval(
                "INSERT INTO subscriptions(guild_id, user_id, entity_id, delivery, channel_id,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (guild_id, user_id, entity_id) DO NOTHING RETURNING id",
                *key,
                delivery,
                channel_id,
                utc_now(),
            )
            if created is None:
                # Subscribed already (or by a concurrent call, committed: ON CONFLICT waited).
                await conn.execute(
                    "UPDATE subscriptions SET delivery = $4, channel_id = $5, paused_reason = NULL"
                    " WHERE guild_id = $1 AND user_id = $2 AND entity_id = $3",
                    *key,
                    delivery,
                    channel_id,
                )
            row = await conn.fetchrow(
                f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.guild_id = $1 AND s.user_id = $2 AND s.entity_id = $3",
                *key,
            )
        assert row is not None  # written just above, in this transaction
        return domain_rows.subscription(row), created is not None

    async def unsubscribe(self, *, guild_id: int, user_id: int, entity_id: int) -> bool:
        removed = await self._delete(
            "guild_id = $1 AND user_id = $2 AND entity_id = $3", guild_id, user_id, entity_id
        )
        return removed > 0

    async def remove(self, subscription_id: int) -> bool:
        return await self._delete("id = $1", subscription_id) > 0

    async def _delete(self, where: str, *params: object) -> int:
        """Delete the subscriptions matching ``where``; how many. Their alerts' ledger stays
        until the daily prune takes it (storage.ledgers says why)."""
        async with self.db.transaction() as conn:
            return _changed(await conn.execute(f"DELETE FROM subscriptions WHERE {where}", *params))

    async def get(self, subscription_id: int) -> Subscription | None:
        row = await self.db.fetchrow(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.id = $1", subscription_id
        )
        return domain_rows.subscription(row) if row else None

    async def for_member(self, guild_id: int, user_id: int) -> list[Subscription]:
        # COLLATE "C": code point order, as SQLite orders text, whatever the server's locale.
        rows = await self.db.fetch(
            f'{domain_rows.SUBSCRIPTION_SELECT} WHERE s.guild_id = $1 AND s.user_id = $2 ORDER BY e.folded COLLATE "C"',
            guild_id,
            user_id,
        )
        return [domain_rows.subscription(r) for r in rows]

    async def for_user(self, user_id: int) -> list[Subscription]:
        rows = await self.db.fetch(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.user_id = $1"
            ' ORDER BY s.guild_id, e.folded COLLATE "C"',
            user_id,
        )
        return [domain_rows.subscription(r) for r in rows]

    async def count_for_member(self, guild_id: int, user_id: int) -> int:
        count: int = await self.db.fetchval(
            "SELECT count(*) FROM subscriptions WHERE guild_id = $1 AND user_id = $2",
            guild_id,
            user_id,
        )
        return count

    async def pause(self, subscription_ids: Sequence[int], reason: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET paused_reason = $1 WHERE id = ANY($2::bigint[])",
                reason,
                list(subscription_ids),
            )

    async def resume_dm(self, user_id: int, reason: str) -> int:
        """Resume every DM subscription of the member (in any server) paused for
        ``reason``; how many."""
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "UPDATE subscriptions SET paused_reason = NULL"
                " WHERE user_id = $1 AND delivery = 'dm' AND paused_reason = $2",
                user_id,
                reason,
            )
        return _changed(status)

    async def here_subscriptions(
        self, channel_id: int, user_id: int | None = None
    ) -> list[Subscription]:
        """The active subscriptions delivered in this channel: one member's, or everyone's."""
        rows = await self.db.fetch(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.channel_id = $1 AND s.delivery = 'here'"
            " AND s.paused_reason IS NULL AND ($2::bigint IS NULL OR s.user_id = $2)"
            ' ORDER BY s.user_id, e.folded COLLATE "C"',
            channel_id,
            user_id,
        )
        return [domain_rows.subscription(r) for r in rows]

    async def remove_member(self, guild_id: int, user_id: int) -> int:
        """Remove a member's subscriptions in a server (they left it); how many."""
        return await self._delete("guild_id = $1 AND user_id = $2", guild_id, user_id)

    async def remove_guild(self, guild_id: int) -> int:
        """Remove every subscription in a server (Chronicle was removed from it); how many."""
        return await self._delete("guild_id = $1", guild_id)

    async def dm_subscriptions(self, user_id: int) -> list[Subscription]:
        rows = await self.db.fetch(
            f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.user_id = $1 AND s.delivery = 'dm' AND s.paused_reason IS NULL"
            " ORDER BY s.guild_id, s.id",  # as SQLite reads them, by its index on them
            user_id,
        )
        return [domain_rows.subscription(r) for r in rows]

    # --- alerts --------------------------------------------------------------------------

    async def announced_after(
        self, event_id: int, *, limit: int, waiting_since: dt.datetime | None = None
    ) -> Announced:
        rows = await self.db.fetch(
            f"SELECT e.id, {WAITING_SQL.format('$3')} FROM events e"
            " WHERE e.announce AND e.id > $1 AND e.removed_at IS NULL ORDER BY e.id LIMIT $2",
            event_id,
            limit,
            waiting_since or NOTHING_WAITS,
        )
        return announced([(r[0], r[1]) for r in rows], event_id)

    async def newest_event_id(self) -> int:
        newest: int = await self.db.fetchval("SELECT COALESCE(max(id), 0) FROM events")
        return newest

    async def matches(self, event_ids: Sequence[int]) -> list[Match]:
        """Active subscriptions whose entity is in these events, not yet delivered there."""
        return await self._matching(event_ids, undelivered=True)

    async def newest_corrected_link(self) -> int:
        return await feed_corrections.newest_corrected_link(self.db)

    async def corrected_matches(self, after: int, *, limit: int) -> tuple[list[Match], int]:
        return await feed_corrections.corrected_matches(self.db, after, limit=limit)

    async def _matching(self, event_ids: Sequence[int], *, undelivered: bool) -> list[Match]:
        if not event_ids:
            return []
        rows = await self.db.fetch(
            "SELECT s.id AS sub_id, s.guild_id, s.user_id, s.entity_id, en.name AS entity,"
            f" s.delivery, s.channel_id, s.paused_reason, {event_rows.BRIEF_COLUMNS}"
            " FROM event_entities ee"
            " JOIN subscriptions s ON s.entity_id = ee.entity_id AND s.paused_reason IS NULL"
            " JOIN entities en ON en.id = s.entity_id"
            " JOIN events e ON e.id = ee.event_id"
            " WHERE ee.event_id = ANY($1::bigint[])"
            + (
                " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND"
                " d.target = CASE s.delivery WHEN 'dm' THEN 'dm:' || s.user_id"
                "  ELSE 'here:' || s.channel_id || ':' || s.user_id END)"
                if undelivered
                else ""
            )
            # Within an event, as SQLite's plan yields them: by entity, then subscription.
            + " ORDER BY e.id, ee.entity_id, s.id",
            sorted(set(event_ids)),
        )
        return [
            Match(domain_rows.subscription(r, id_column="sub_id"), event_rows.brief(r))
            for r in rows
        ]

    async def claim(
        self, target: str, event_ids: Sequence[int], *, guild_id: int | None = None
    ) -> list[int]:
        """Record deliveries before sending (at most once); returns the ids newly claimed,
        in the order given, pending until mark_sent. Of two processes claiming one
        delivery, one gets it. Not an event at or below ALERTS_PRUNED_THROUGH, read in the
        claim's transaction, after any prune step under way has committed (and before the
        next begins: storage.postgres.ledgers): its rows may have been pruned, by a step
        that committed after the caller read the mark (a sweep starting from behind), and a
        missing row would not stop a second alert."""
        wanted = list(dict.fromkeys(event_ids))
        if not wanted:
            return []
        async with self.db.transaction() as conn:
            await hold_pruned_through(conn)
            rows = await conn.fetch(
                "INSERT INTO deliveries(target, event_id, delivered_at, state, attempts, guild_id)"
                " SELECT $1, e.id, $3, 'claimed', 1, $4 FROM events e WHERE e.id = ANY($2::bigint[])"
                f" AND e.id > {PRUNED_THROUGH}"
                " ON CONFLICT (target, event_id) DO NOTHING RETURNING event_id",
                target,
                wanted,
                utc_now(),
                guild_id,
            )
        fresh = {r[0] for r in rows}
        return [i for i in wanted if i in fresh]

    async def mark_sent(self, target: str, event_ids: Sequence[int]) -> None:
        await self._settle(target, event_ids, "sent")

    async def mark_failed(self, target: str, event_ids: Sequence[int]) -> None:
        await self._settle(target, event_ids, "failed")

    async def _settle(self, target: str, event_ids: Sequence[int], state: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET state = $3, delivered_at = $4"
                " WHERE target = $1 AND event_id = ANY($2::bigint[]) AND state = 'claimed'",
                target,
                list(event_ids),
                state,
                utc_now(),
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
        kept, which no alert reaches any more; read after any prune step under way, as a
        claim reads it). Each is one conditional UPDATE: of two processes updating a claim
        at once, the second waits for the first's row lock, then reads the row again and
        finds it no longer matches (attempts = 2, or not 'claimed'), so each claim goes to
        one of them."""
        everyone = shard_ids is None or shard_count is None
        where = (
            "state = 'claimed' AND delivered_at <= $2"
            " AND ($3 OR (guild_id >> 22) % $4 = ANY($5::int[]))"
        )
        now = utc_now()
        params = (
            now,
            now - grace,
            everyone,
            1 if everyone else shard_count,
            [] if everyone else sorted(set(shard_ids or ())),
        )
        async with self.db.transaction() as conn:
            await hold_pruned_through(conn)
            # Given up first: a claim retaken below is stamped now, and with no grace would
            # otherwise count as pending again at once.
            given_up = await conn.fetch(
                f"UPDATE deliveries SET state = 'failed', delivered_at = $1"
                f" WHERE {where} AND (attempts >= 2 OR event_id <= {PRUNED_THROUGH})"
                " RETURNING target, event_id",
                *params,
            )
            retried = await conn.fetch(
                f"UPDATE deliveries SET attempts = attempts + 1, delivered_at = $1"
                f" WHERE {where} AND attempts = 1 AND event_id > {PRUNED_THROUGH}"
                " RETURNING target, event_id",
                *params,
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
                "INSERT INTO pending_notices(user_id, text, created_at) VALUES ($1, $2, $3)",
                user_id,
                text,
                utc_now(),
            )

    async def take_notice(self, user_id: int) -> str | None:
        """The member's waiting notices, taken and joined (oldest first, as many as one
        message holds; the rest wait for the next command). Of two processes taking at
        once, each notice goes to the one whose DELETE returns it. Read first: every
        command asks, and most members have none (no write for them)."""
        rows = await self.db.fetch(
            "SELECT id, text FROM pending_notices WHERE user_id = $1 ORDER BY id", user_id
        )
        if not rows:
            return None
        ids = [r["id"] for r in rows[: notices.fitting([r["text"] for r in rows])]]
        async with self.db.transaction() as conn:
            taken = await conn.fetch(
                "DELETE FROM pending_notices WHERE id = ANY($1::bigint[]) RETURNING id, text",
                ids,
            )
        return notices.joined([r["text"] for r in sorted(taken, key=lambda r: r["id"])])

    async def state(self, name: str) -> str | None:
        value: str | None = await self.db.fetchval(
            "SELECT value FROM bot_state WHERE name = $1", name
        )
        return value

    async def set_state(self, name: str, value: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO bot_state(name, value) VALUES ($1, $2)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                name,
                value,
            )
