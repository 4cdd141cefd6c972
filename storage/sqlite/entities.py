"""Entities: canonical names and aliases, finding one by a typed name, its profile.

The archive spells some entities several ways ("ISIL", "Islamic State"); an alias row keeps
its spelling, so it can still be typed and found in text, and points at the canonical entity.
Events link only to canonical entities, so related events, profiles, digests and
subscriptions all see one entity however it was spelled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import aiosqlite

from storage import rows as domain_rows
from storage.entity_rules import (
    CLOSEST_CANDIDATES,
    CLOSEST_SUGGESTIONS,
    CO_ENTITY_WINDOW,
    HEADLINE_MENTIONS,
    closest_names,
)
from storage.matching import text_matcher
from storage.models import (
    AliasResult,
    EntityError,
    EntityName,
    EntityProfile,
    EventBrief,
    HeadlineMention,
    KnownName,
    LinkedEvent,
)
from storage.sqlite import event_rows
from storage.sqlite.db import Database, chunked, placeholders
from storage.sqlite.digests import refresh_filter_keys
from storage.sqlite.fts import any_word_match, build_match, phrase_match
from storage.subscription_rules import folded
from storage.textindex import fold
from storage.times import now_timestamp
from storage.words import without_letter_typed

# Names starting with what is typed are ordered by popularity when fewer than this many do;
# with more, the popularity index is walked instead.
NAMES_TO_ORDER = 1000

_NAMES = (
    "SELECT e.name AS name, COALESCE(c.name, e.name) AS canonical,"
    " COALESCE(c.event_count, e.event_count) AS events"
    " FROM entities e LEFT JOIN entities c ON c.id = e.canonical_id"
)


# Canonical entities, walked from the most events down (add conditions with AND).
_BY_POPULARITY = (
    "SELECT e.name AS name, e.name AS canonical, e.event_count AS events"
    " FROM entities e INDEXED BY entities_by_count WHERE e.canonical_id IS NULL"
)
# Aliases, with their entity's name and events (a few: read through their own index).
_ALIASES = (
    "SELECT e.name AS name, c.name AS canonical, c.event_count AS events"
    " FROM entities e INDEXED BY entities_by_canonical JOIN entities c ON c.id = e.canonical_id"
)


def _most_events(rows: list[aiosqlite.Row], limit: int) -> list[aiosqlite.Row]:
    return sorted(rows, key=lambda r: (-r["events"], fold(r["name"])))[:limit]


class EntityRepository:
    def __init__(self, db: Database):
        self.db = db

    async def find(self, name: str) -> tuple[int, str] | None:
        """(id, name) of the canonical entity a name means, ignoring case and accents."""
        row = await self.db.fetchone(
            "SELECT COALESCE(c.id, e.id), COALESCE(c.name, e.name) FROM entities e"
            " LEFT JOIN entities c ON c.id = e.canonical_id WHERE e.folded = ?",
            (fold(name),),
        )
        return (row[0], row[1]) if row else None

    async def find_by_id(self, entity_id: int) -> tuple[int, str] | None:
        row = await self.db.fetchone(
            "SELECT COALESCE(c.id, e.id), COALESCE(c.name, e.name) FROM entities e"
            " LEFT JOIN entities c ON c.id = e.canonical_id WHERE e.id = ?",
            (entity_id,),
        )
        return (row[0], row[1]) if row else None

    async def known(self, names: Iterable[str]) -> set[str]:
        """The names among these that some entity has (folded: case and accents ignored)."""
        found: set[str] = set()
        for chunk in chunked(sorted({fold(name) for name in names})):
            rows = await self.db.fetchall(
                f"SELECT folded FROM entities WHERE folded IN ({placeholders(len(chunk))})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    async def aliases(self, entity_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT name FROM entities WHERE canonical_id = ? ORDER BY folded", (entity_id,)
        )
        return [r[0] for r in rows]

    # --- names in text (bot.services.tagging) --------------------------------------------

    async def names(self, *, after_id: int = 0) -> list[KnownName]:
        """Every name (canonical or alias) created after ``after_id``, in id order, with
        its canonical entity: a name matcher loads them all once, then what is new."""
        rows = await self.db.fetchall(
            "SELECT e.id, e.name, COALESCE(c.id, e.id), COALESCE(c.name, e.name),"
            " COALESCE(c.event_count, e.event_count)"
            " FROM entities e LEFT JOIN entities c ON c.id = e.canonical_id"
            " WHERE e.id > ? ORDER BY e.id",
            (after_id,),
        )
        return [KnownName(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def headline_mentions(
        self, name: str, *, limit: int = HEADLINE_MENTIONS
    ) -> list[HeadlineMention]:
        """The newest headlines holding a name's words in a row (case ignored, as the
        full-text index has them), and whether each event links the entity the name means:
        how the archive uses the name as a common word (``murder``) or as a name."""
        phrase = phrase_match(name + " ")
        if phrase is None:
            return []
        found = await self.find(name)
        rows = await self.db.fetchall(
            "SELECT ev.date, ev.headline, EXISTS(SELECT 1 FROM event_entities ee"
            "  WHERE ee.event_id = ev.id AND ee.entity_id = ?)"
            " FROM event_search s JOIN events ev ON ev.id = s.rowid"
            " WHERE event_search MATCH ? ORDER BY s.rowid DESC LIMIT ?",
            (found[0] if found else -1, f"headline : ({phrase})", limit),
        )
        return [HeadlineMention(dt.date.fromisoformat(r[0]), r[1], bool(r[2])) for r in rows]

    async def linked_events(self, *, after_id: int = 0, limit: int = 5000) -> list[LinkedEvent]:
        """Events after ``after_id`` in id order (at most ``limit``), each with its text
        and the ids of the entities it links: the archive's own tagging, to measure a
        tagger against (``python -m benchmarks.tagging``)."""
        rows = await self.db.fetchall(
            "SELECT id, key, date, lang, complete, story, headline, summary FROM events"
            " WHERE id > ? AND removed_at IS NULL ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        links: dict[int, list[int]] = {}
        for chunk in chunked([r[0] for r in rows]):
            for link in await self.db.fetchall(
                "SELECT event_id, entity_id FROM event_entities"
                f" WHERE event_id IN ({placeholders(len(chunk))}) ORDER BY event_id, entity_id",
                chunk,
            ):
                links.setdefault(link[0], []).append(link[1])
        return [
            LinkedEvent(
                r[0],
                r[1],
                dt.date.fromisoformat(r[2]),
                r[3],
                bool(r[4]),
                r[5],
                r[6],
                r[7],
                tuple(links.get(r[0], ())),
            )
            for r in rows
        ]

    async def suggest(self, text: str, *, limit: int = 25) -> list[EntityName]:
        """Names for what is typed, aliases included: names starting with it first, then
        names with a word starting so; entities with the most events first."""
        folded = fold(text)
        if not folded:
            rows = await self.db.fetchall(
                f"{_NAMES} WHERE e.canonical_id IS NULL ORDER BY e.event_count DESC LIMIT ?",
                (limit,),
            )
            return [EntityName(r[0], r[1], r[2]) for r in rows]
        rows = await self._names_starting(folded, limit)
        # Words of names starting so, without a last letter typed (without_letter_typed).
        shorter = without_letter_typed(text)
        words = text if shorter is None else shorter
        if len(rows) < limit and (match := build_match(words, prefix_last=True)):
            rows += await self._names_with_words(words, match, limit * 2)
        found: dict[str, EntityName] = {}
        for row in rows:
            found.setdefault(row[0], EntityName(row[0], row[1], row[2]))
        return list(found.values())[:limit]

    async def _names_starting(self, folded: str, limit: int) -> list[aiosqlite.Row]:
        """Names starting with folded text, the entities with the most events first (an
        alias counts its entity's). Fewer than NAMES_TO_ORDER such names are ordered; with
        more ("s"), the names are walked by popularity until enough start so."""
        bounds = (folded, folded + "\U0010ffff")
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT 1 FROM entities WHERE folded >= ? AND folded < ? LIMIT ?)",
            (*bounds, NAMES_TO_ORDER),
        )
        if row is not None and row[0] < NAMES_TO_ORDER:
            return list(
                await self.db.fetchall(
                    f"{_NAMES} WHERE e.folded >= ? AND e.folded < ?"
                    " ORDER BY events DESC, e.folded LIMIT ?",
                    (*bounds, limit),
                )
            )
        canonical = await self.db.fetchall(
            f"{_BY_POPULARITY} AND e.folded >= ? AND e.folded < ?"
            " ORDER BY e.event_count DESC, e.folded LIMIT ?",
            (*bounds, limit),
        )
        aliases = await self.db.fetchall(f"{_ALIASES} WHERE e.folded >= ? AND e.folded < ?", bounds)
        return _most_events([*canonical, *aliases], limit)

    async def _names_with_words(self, text: str, match: str, limit: int) -> list[aiosqlite.Row]:
        """Names holding the words (`match` in entity_search), most events first. When
        thousands do ("gene*"), the names are walked by popularity until enough do, and
        the few aliases are tested in Python (text_matcher): ordering all of them, or
        asking FTS5 about each alias, takes tens of milliseconds in a big archive."""
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT 1 FROM entity_search WHERE entity_search MATCH ? LIMIT ?)",
            (match, NAMES_TO_ORDER),
        )
        if row is not None and row[0] < NAMES_TO_ORDER:
            return list(
                await self.db.fetchall(
                    f"{_NAMES} JOIN entity_search s ON s.rowid = e.id WHERE entity_search MATCH ?"
                    " ORDER BY events DESC, e.folded LIMIT ?",
                    (match, limit),
                )
            )
        canonical = await self.db.fetchall(
            f"{_BY_POPULARITY} AND e.id IN"
            " (SELECT rowid FROM entity_search WHERE entity_search MATCH ?)"
            " ORDER BY e.event_count DESC, e.folded LIMIT ?",
            (match, limit),
        )
        matches = text_matcher(text, prefix_last=True)
        aliases = [row for row in await self.db.fetchall(_ALIASES) if matches(row["name"])]
        return _most_events([*canonical, *aliases], limit)

    async def closest(self, text: str, *, limit: int = 5) -> list[str]:
        """Known canonical names nearest to a name that matched nothing (typos included)."""
        candidates = {
            n.canonical: n.name for n in await self.suggest(text, limit=CLOSEST_SUGGESTIONS)
        }
        if match := any_word_match(text):
            rows = await self.db.fetchall(
                f"{_NAMES} JOIN entity_search s ON s.rowid = e.id WHERE entity_search MATCH ?"
                " ORDER BY events DESC LIMIT ?",
                (match, CLOSEST_CANDIDATES),
            )
            for row in rows:
                candidates.setdefault(row[1], row[0])
        return closest_names(text, candidates, limit)

    # --- aliases -------------------------------------------------------------------------

    async def alias(
        self,
        alias: str,
        canonical: str,
        *,
        create_canonical: bool = True,
        require_known: bool = False,
    ) -> AliasResult:
        """Make `alias` another name of `canonical`: its events, subscriptions and aliases
        move to the canonical entity. Idempotent. `require_known`: refuse when neither name
        is known (a person's typo would make two entities no event names; an import or the
        portal may name both before their events arrive)."""
        alias_folded, canonical_folded = fold(alias), fold(canonical)
        if not alias_folded or not canonical_folded:
            raise EntityError("Both names must have letters in them.")
        if alias_folded == canonical_folded:
            raise EntityError(f"“{alias}” and “{canonical}” are the same name.")
        async with self.db.transaction() as conn:
            target = await self._row(conn, canonical_folded)
            source = await self._row(conn, alias_folded)
            if require_known and target is None and source is None:
                raise EntityError(
                    f"Neither “{alias}” nor “{canonical}” is a known entity: an alias joins a"
                    " new name to one the archive knows (check the spelling with"
                    " `chronicle entities show NAME`)."
                )
            if target is None:
                if not create_canonical:
                    raise EntityError(f"No entity is called “{canonical}”.")
                target_id = await self._insert(conn, canonical.strip())
            elif source is not None and target["canonical_id"] in (
                source["id"],
                source["canonical_id"],
            ):
                # The target is itself a name of the alias's entity: it becomes the canonical one.
                await conn.execute(
                    "UPDATE entities SET canonical_id = NULL WHERE id = ?", (target["id"],)
                )
                target_id = target["id"]
            else:
                target_id = target["canonical_id"] or target["id"]
            created = source is None
            source_id = await self._insert(conn, alias.strip()) if source is None else source["id"]
            if source_id == target_id:
                raise EntityError(f"“{canonical}” is already an alias of “{alias}”; nothing to do.")
            if source is not None and source["canonical_id"] == target_id:
                names = await self._names(conn, source_id, target_id)
                return AliasResult(names[source_id], names[target_id], 0, False)
            old_canonical = source["canonical_id"] if source is not None else None
            moved = await move_entity(conn, old_canonical or source_id, target_id)
            # The target's packed events were dropped with the new links; related() would
            # read its rows until the next ingest, hundreds of ms for a popular entity.
            await event_rows.pack_postings(conn, self.db.packed_postings_min)
            if old_canonical is not None:
                # The alias belonged to another entity: that whole entity joins the target.
                await conn.execute(
                    "UPDATE entities SET canonical_id = ? WHERE id = ?", (target_id, old_canonical)
                )
            await conn.execute(
                "UPDATE entities SET canonical_id = ? WHERE id = ? OR canonical_id IN (?, ?)",
                (target_id, source_id, source_id, old_canonical or source_id),
            )
            names = await self._names(conn, source_id, target_id)
        return AliasResult(names[source_id], names[target_id], moved, created)

    async def merge(self, source: str, target: str) -> AliasResult:
        """Fold one known entity (and its aliases) into another."""
        if await self.find(source) is None:
            raise EntityError(f"No entity is called “{source}”.")
        return await self.alias(source, target, create_canonical=False)

    @staticmethod
    async def _row(conn: aiosqlite.Connection, folded: str) -> aiosqlite.Row | None:
        cursor = await conn.execute(
            "SELECT id, name, canonical_id FROM entities WHERE folded = ?", (folded,)
        )
        return await cursor.fetchone()

    @staticmethod
    async def _insert(conn: aiosqlite.Connection, name: str) -> int:
        cursor = await conn.execute(
            "INSERT INTO entities(name, folded) VALUES (?, ?)", (name, fold(name))
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
    async def _names(conn: aiosqlite.Connection, *ids: int) -> dict[int, str]:
        cursor = await conn.execute(
            f"SELECT id, name FROM entities WHERE id IN ({placeholders(len(ids))})", ids
        )
        return {row[0]: row[1] for row in await cursor.fetchall()}

    # --- profile -------------------------------------------------------------------------

    async def profile(
        self,
        entity_id: int,
        *,
        recent: int = 10,
        co_entities: int = 10,
        language: str | None = None,
    ) -> EntityProfile:
        """What the archive knows of an entity: its counts and dates (every language), its
        latest events (only those in a language, 'en' or 'zh', if given; 'all' or None:
        both) and the entities seen with it lately."""
        lang = event_rows.edition(language)
        in_edition, edition_params = (" AND ev.lang = ?", (lang,)) if lang else ("", ())
        # Its count, dates and companions are of the events it lists: not those taken off
        # their portal page (event_rows.offered), which entities' counts leave out too.
        offered = event_rows.offered("ee")
        head = await self.db.fetchone(
            "SELECT name, event_count,"
            " (SELECT ee.date FROM event_entities ee WHERE ee.entity_id = e.id"
            f"  AND {offered} ORDER BY ee.date, ee.event_id LIMIT 1) AS first,"
            " (SELECT ee.date FROM event_entities ee WHERE ee.entity_id = e.id"
            f"  AND {offered} ORDER BY ee.date DESC, ee.event_id DESC LIMIT 1) AS last"
            " FROM entities e WHERE id = ?",
            (entity_id,),
        )
        if head is None:
            raise KeyError(entity_id)
        rows = await self.db.fetchall(
            "SELECT ev.id, ev.key, ev.date, ev.headline, ev.complete,"
            " (SELECT url FROM sources s WHERE s.event_id = ev.id AND s.is_image = 0"
            "  ORDER BY position LIMIT 1) AS url"
            " FROM event_entities ee JOIN events ev ON ev.id = ee.event_id"
            f" WHERE ee.entity_id = ?{in_edition} AND ev.removed_at IS NULL"
            " ORDER BY ee.date DESC, ee.event_id DESC LIMIT ?",
            (entity_id, *edition_params, recent),
        )
        briefs = tuple(
            EventBrief(
                r["id"],
                r["key"],
                dt.date.fromisoformat(r["date"]),
                r["headline"],
                bool(r["complete"]),
                r["url"],
            )
            for r in rows
        )
        # Companions are counted over the entity's latest events: for one in tens of
        # thousands of events, who appears with it lately, at a bounded cost. Counted
        # before names are looked up: one lookup per companion, not per link.
        co_rows = await self.db.fetchall(
            "SELECT en.name, c.together FROM ("
            "  SELECT other.entity_id AS id, COUNT(*) AS together FROM ("
            f"   SELECT event_id FROM event_entities ee WHERE entity_id = ? AND {offered}"
            "   ORDER BY date DESC, event_id DESC LIMIT ?) mine"
            "  JOIN event_entities other"
            "   ON other.event_id = mine.event_id AND other.entity_id != ?"
            "  GROUP BY other.entity_id) c"
            " JOIN entities en ON en.id = c.id ORDER BY c.together DESC, en.folded LIMIT ?",
            (entity_id, CO_ENTITY_WINDOW, entity_id, co_entities),
        )
        return EntityProfile(
            name=head["name"],
            event_count=head["event_count"],
            first_date=dt.date.fromisoformat(head["first"]) if head["first"] else None,
            last_date=dt.date.fromisoformat(head["last"]) if head["last"] else None,
            recent=briefs,
            co_entities=tuple((r[0], r[1]) for r in co_rows),
            co_entities_window=CO_ENTITY_WINDOW if head["event_count"] > CO_ENTITY_WINDOW else None,
            aliases=tuple(await self.aliases(entity_id)),
        )


async def move_entity(conn: aiosqlite.Connection, source_id: int, target_id: int) -> int:
    """Re-point what links to one entity at another; the links moved (an event naming both
    keeps its one link to the target). Run inside the caller's transaction."""
    # An event naming both loses a link: what the archive says of it is counted again.
    named_both = [
        row[0]
        for row in await conn.execute_fetchall(
            "SELECT event_id FROM event_entities WHERE entity_id = ? AND event_id IN"
            " (SELECT event_id FROM event_entities WHERE entity_id = ?)",
            (source_id, target_id),
        )
    ]
    linked = [
        row[0]
        for row in await conn.execute_fetchall(
            "SELECT event_id FROM event_entities WHERE entity_id = ?", (source_id,)
        )
    ]
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO event_entities(event_id, entity_id, date)"
        " SELECT event_id, ?, date FROM event_entities WHERE entity_id = ?",
        (target_id, source_id),
    )
    moved = cursor.rowcount
    await conn.execute("DELETE FROM event_entities WHERE entity_id = ?", (source_id,))
    await event_rows.refresh_entity_words(conn, linked)
    await event_rows.recount_entities(conn, [target_id, source_id])
    await event_rows.refresh_weights(conn, named_both)
    await _move_subscriptions(conn, source_id, target_id)
    await conn.execute(
        "UPDATE OR IGNORE digest_entities SET entity_id = ? WHERE entity_id = ?",
        (target_id, source_id),
    )
    await conn.execute("DELETE FROM digest_entities WHERE entity_id = ?", (source_id,))
    await refresh_filter_keys(conn, target_id)
    return moved


async def _move_subscriptions(conn: aiosqlite.Connection, source_id: int, target_id: int) -> None:
    """Members' subscriptions to one entity become subscriptions to the other; a member who
    followed both keeps one and is told (storage.subscription_rules)."""
    rows = await conn.execute_fetchall(
        f"{domain_rows.SUBSCRIPTION_SELECT} WHERE s.entity_id IN (?, ?)"
        " AND (s.guild_id, s.user_id) IN (SELECT guild_id, user_id FROM subscriptions"
        "  WHERE entity_id IN (?, ?) GROUP BY guild_id, user_id HAVING COUNT(*) = 2)",
        (source_id, target_id, source_id, target_id),
    )
    pairs = folded([domain_rows.subscription(r) for r in rows], source_id, target_id)
    await conn.executemany(
        "DELETE FROM subscriptions WHERE id = ?", [(pair.dropped.id,) for pair in pairs]
    )
    await conn.execute(
        "UPDATE subscriptions SET entity_id = ? WHERE entity_id = ?", (target_id, source_id)
    )
    await conn.executemany(
        "INSERT INTO pending_notices(user_id, text, created_at) VALUES (?, ?, ?)",
        [(pair.kept.user_id, pair.notice, now_timestamp()) for pair in pairs],
    )
