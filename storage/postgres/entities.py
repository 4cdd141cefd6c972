"""Entities on PostgreSQL: canonical names and aliases, finding one by a typed name, its
profile (storage.sqlite.entities is the reference: same answers, same order).

SQLite finds names by their words in an FTS5 index (entity_search). Here, names starting
with what is typed are a range of folded names in byte order, and names holding a word
that starts so are found by trigrams of the folded name (migration 0006), a superset that
storage.matching then checks word by word as the index would: both backends agree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg

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
from storage.postgres import event_rows
from storage.postgres.db import Connection, Database
from storage.postgres.entity_moves import move_entity
from storage.postgres.textsearch import HEADLINE, index_tokens
from storage.postgres.tsquery import any_of, phrase
from storage.query import SearchQuery, parse_phrase, parse_query
from storage.textindex import fold
from storage.words import without_letter_typed, word_starts

# Names starting with what is typed are ordered by popularity when fewer than this many do;
# with more, the popularity index is walked instead (so are names holding a word).
NAMES_TO_ORDER = 1000

# Text compared byte by byte, as SQLite compares it: ties between names are broken alike.
BYTES = 'COLLATE "C"'

_NAMES = (
    "SELECT e.name AS name, COALESCE(c.name, e.name) AS canonical,"
    " COALESCE(c.event_count, e.event_count) AS events"
    " FROM entities e LEFT JOIN entities c ON c.id = e.canonical_id"
)
# Canonical entities, walked from the most events down (add conditions with AND).
_BY_POPULARITY = (
    "SELECT e.name AS name, e.name AS canonical, e.event_count AS events"
    " FROM entities e WHERE e.canonical_id IS NULL"
)
# Aliases, with their entity's name and events.
_ALIASES = (
    "SELECT e.name AS name, c.name AS canonical, c.event_count AS events"
    " FROM entities e JOIN entities c ON c.id = e.canonical_id"
)
# Folded names from $1 (included) to $2 (excluded), in byte order.
_STARTING = f"e.folded {BYTES} >= $1 AND e.folded {BYTES} < $2"


def _most_events(rows: Sequence[asyncpg.Record], limit: int) -> list[asyncpg.Record]:
    return sorted(rows, key=lambda r: (-r["events"], fold(r["name"])))[:limit]


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _holding(query: SearchQuery, first: int) -> tuple[str, list[str]]:
    """A condition on e.folded true of every name that holds the query's words to find (and
    of some that do not: each word is only looked for somewhere in the name), with its
    parameters, numbered from ``first``."""
    params: list[str] = []
    groups = []
    for group in query.required:
        alternatives = []
        for term in group:
            parts = []
            for word in sorted({fold(token) for token in term.tokens}):
                params.append(f"%{_like_escaped(word)}%")
                parts.append(f"e.folded LIKE ${first + len(params) - 1}")
            alternatives.append("(" + " AND ".join(parts) + ")")
        groups.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(groups), params


def _starts_a_word(starts: Sequence[str]) -> Callable[[str], bool]:
    """Whether a name has a word (an index token) starting with one of ``starts``."""

    def holds(name: str) -> bool:
        return any(
            token.startswith(starts_so) for token in index_tokens(name) for starts_so in starts
        )

    return holds


class EntityRepository:
    def __init__(self, db: Database):
        self.db = db

    async def find(self, name: str) -> tuple[int, str] | None:
        """(id, name) of the canonical entity a name means, ignoring case and accents."""
        row = await self.db.fetchrow(
            "SELECT COALESCE(c.id, e.id), COALESCE(c.name, e.name) FROM entities e"
            " LEFT JOIN entities c ON c.id = e.canonical_id WHERE e.folded = $1",
            fold(name),
        )
        return (row[0], row[1]) if row else None

    async def find_by_id(self, entity_id: int) -> tuple[int, str] | None:
        row = await self.db.fetchrow(
            "SELECT COALESCE(c.id, e.id), COALESCE(c.name, e.name) FROM entities e"
            " LEFT JOIN entities c ON c.id = e.canonical_id WHERE e.id = $1",
            entity_id,
        )
        return (row[0], row[1]) if row else None

    async def known(self, names: Iterable[str]) -> set[str]:
        """The names among these that some entity has (folded: case and accents ignored)."""
        folded = sorted({fold(name) for name in names})
        if not folded:
            return set()
        rows = await self.db.fetch(
            "SELECT folded FROM entities WHERE folded = ANY($1::text[])", folded
        )
        return {row[0] for row in rows}

    async def aliases(self, entity_id: int) -> list[str]:
        rows = await self.db.fetch(
            f"SELECT name FROM entities WHERE canonical_id = $1 ORDER BY folded {BYTES}",
            entity_id,
        )
        return [r[0] for r in rows]

    # --- names in text (bot.services.tagging) --------------------------------------------

    async def names(self, *, after_id: int = 0) -> list[KnownName]:
        """Every name (canonical or alias) created after ``after_id``, in id order, with
        its canonical entity: a name matcher loads them all once, then what is new."""
        rows = await self.db.fetch(
            "SELECT e.id, e.name, COALESCE(c.id, e.id), COALESCE(c.name, e.name),"
            " COALESCE(c.event_count, e.event_count)"
            " FROM entities e LEFT JOIN entities c ON c.id = e.canonical_id"
            " WHERE e.id > $1 ORDER BY e.id",
            after_id,
        )
        return [KnownName(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def headline_mentions(
        self, name: str, *, limit: int = HEADLINE_MENTIONS
    ) -> list[HeadlineMention]:
        """The newest headlines holding a name's words in a row (case ignored, as the
        full-text index has them), and whether each event links the entity the name means:
        how the archive uses the name as a common word (``murder``) or as a name."""
        forms = parse_phrase(name + " ")
        if not forms:
            return []
        found = await self.find(name)
        rows = await self.db.fetch(
            "SELECT ev.date, ev.headline, EXISTS(SELECT 1 FROM event_entities ee"
            "  WHERE ee.event_id = ev.id AND ee.entity_id = $1)"
            " FROM events ev WHERE ev.search @@ $2::tsquery ORDER BY ev.id DESC LIMIT $3",
            found[0] if found else -1,
            any_of([phrase(term) for term in forms], HEADLINE),
            limit,
        )
        return [HeadlineMention(r[0], r[1], bool(r[2])) for r in rows]

    async def linked_events(self, *, after_id: int = 0, limit: int = 5000) -> list[LinkedEvent]:
        """Events after ``after_id`` in id order (at most ``limit``), each with its text
        and the ids of the entities it links: the archive's own tagging, to measure a
        tagger against (``python -m benchmarks.tagging``)."""
        rows = await self.db.fetch(
            "SELECT id, key, date, lang, complete, story, headline, summary FROM events"
            " WHERE id > $1 AND removed_at IS NULL ORDER BY id LIMIT $2",
            after_id,
            limit,
        )
        links: dict[int, list[int]] = {}
        if rows:
            for link in await self.db.fetch(
                "SELECT event_id, entity_id FROM event_entities"
                " WHERE event_id = ANY($1::bigint[]) ORDER BY event_id, entity_id",
                [r[0] for r in rows],
            ):
                links.setdefault(link[0], []).append(link[1])
        return [
            LinkedEvent(
                r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], tuple(links.get(r[0], ()))
            )
            for r in rows
        ]

    # --- autocomplete --------------------------------------------------------------------

    async def suggest(self, text: str, *, limit: int = 25) -> list[EntityName]:
        """Names for what is typed, aliases included: names starting with it first, then
        names with a word starting so; entities with the most events first."""
        folded = fold(text)
        if not folded:
            # Ties in the order of SQLite's popularity index: the older entity first.
            rows = await self.db.fetch(
                f"{_NAMES} WHERE e.canonical_id IS NULL ORDER BY e.event_count DESC, e.id LIMIT $1",
                limit,
            )
            return [EntityName(r[0], r[1], r[2]) for r in rows]
        rows = await self._names_starting(folded, limit)
        # Words of names starting so, without a last letter typed (without_letter_typed).
        shorter = without_letter_typed(text)
        words = text if shorter is None else shorter
        if len(rows) < limit and (query := parse_query(words, prefix_last=True)).required:
            rows += await self._names_with_words(words, query, limit * 2)
        found: dict[str, EntityName] = {}
        for row in rows:
            found.setdefault(row[0], EntityName(row[0], row[1], row[2]))
        return list(found.values())[:limit]

    async def _names_starting(self, folded: str, limit: int) -> list[asyncpg.Record]:
        """Names starting with folded text, the entities with the most events first (an
        alias counts its entity's). Fewer than NAMES_TO_ORDER such names are ordered; with
        more ("s"), the names are walked by popularity until enough start so."""
        bounds = (folded, folded + "\U0010ffff")
        count = await self.db.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM entities e WHERE {_STARTING} LIMIT $3) n",
            *bounds,
            NAMES_TO_ORDER,
        )
        if count < NAMES_TO_ORDER:
            return await self.db.fetch(
                f"{_NAMES} WHERE {_STARTING} ORDER BY events DESC, e.folded {BYTES} LIMIT $3",
                *bounds,
                limit,
            )
        canonical = await self.db.fetch(
            f"{_BY_POPULARITY} AND {_STARTING}"
            f" ORDER BY e.event_count DESC, e.folded {BYTES} LIMIT $3",
            *bounds,
            limit,
        )
        aliases = await self.db.fetch(f"{_ALIASES} WHERE {_STARTING}", *bounds)
        return _most_events([*canonical, *aliases], limit)

    async def _names_with_words(
        self, text: str, query: SearchQuery, limit: int
    ) -> list[asyncpg.Record]:
        """Names holding the words (the last one a start), most events first. Trigrams
        find the names holding each word somewhere; storage.matching keeps those holding
        them as words. When thousands might ("gene*"), the canonical names are walked by
        popularity until enough do, and the few aliases are tested apart."""
        matches = text_matcher(text, prefix_last=True)
        holding, params = _holding(query, 1)
        count = await self.db.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM entities e WHERE {holding}"
            f" LIMIT ${len(params) + 1}) n",
            *params,
            NAMES_TO_ORDER,
        )
        if count < NAMES_TO_ORDER:
            rows = await self.db.fetch(
                f"{_NAMES} WHERE {holding} ORDER BY events DESC, e.folded {BYTES}", *params
            )
            return [row for row in rows if matches(row["name"])][:limit]
        canonical = await self._first_matching(
            f"{_BY_POPULARITY} AND {holding} ORDER BY e.event_count DESC, e.folded {BYTES}",
            params,
            matches,
            limit,
        )
        aliases = await self.db.fetch(f"{_ALIASES} WHERE {holding}", *params)
        return _most_events([*canonical, *(a for a in aliases if matches(a["name"]))], limit)

    async def _first_matching(
        self, sql: str, params: Sequence[Any], matches: Callable[[str], bool], limit: int
    ) -> list[asyncpg.Record]:
        """The first ``limit`` rows of a query whose name matches, read as needed."""
        found: list[asyncpg.Record] = []
        async with self.db.pool.acquire() as conn, conn.transaction(readonly=True):
            async for row in conn.cursor(sql, *params, prefetch=max(limit, 50)):
                if matches(row["name"]):
                    found.append(row)
                    if len(found) >= limit:
                        break
        return found

    async def closest(self, text: str, *, limit: int = 5) -> list[str]:
        """Known canonical names nearest to a name that matched nothing (typos included)."""
        candidates = {
            n.canonical: n.name for n in await self.suggest(text, limit=CLOSEST_SUGGESTIONS)
        }
        starts = [fold(start) for start in word_starts(text)]
        if starts:
            params = [f"%{_like_escaped(start)}%" for start in starts]
            holding = " OR ".join(f"e.folded LIKE ${n}" for n in range(1, len(params) + 1))
            # Ties by id, the order SQLite reads its index in.
            rows = await self._first_matching(
                f"{_NAMES} WHERE ({holding}) ORDER BY events DESC, e.id",
                params,
                _starts_a_word(starts),
                CLOSEST_CANDIDATES,
            )
            for row in rows:
                candidates.setdefault(row["canonical"], row["name"])
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
            # In turns with imports and other aliases (of any process): a name missing here
            # is inserted below, and another transaction inserting it meanwhile would make
            # the insert fail (two processes applying the shipped aliases at once, say).
            await event_rows.lock_announcing(conn)
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
                    "UPDATE entities SET canonical_id = NULL WHERE id = $1", target["id"]
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
            # read its rows until the next ingest.
            await event_rows.pack_postings(conn, self.db.packed_postings_min)
            if old_canonical is not None:
                # The alias belonged to another entity: that whole entity joins the target.
                await conn.execute(
                    "UPDATE entities SET canonical_id = $1 WHERE id = $2", target_id, old_canonical
                )
            await conn.execute(
                "UPDATE entities SET canonical_id = $1"
                " WHERE id = $2 OR canonical_id = ANY($3::bigint[])",
                target_id,
                source_id,
                [source_id, old_canonical or source_id],
            )
            names = await self._names(conn, source_id, target_id)
        return AliasResult(names[source_id], names[target_id], moved, created)

    async def merge(self, source: str, target: str) -> AliasResult:
        """Fold one known entity (and its aliases) into another."""
        if await self.find(source) is None:
            raise EntityError(f"No entity is called “{source}”.")
        return await self.alias(source, target, create_canonical=False)

    @staticmethod
    async def _row(conn: Connection, folded: str) -> asyncpg.Record | None:
        # Locked: two merges of one entity at once wait for each other.
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT id, name, canonical_id FROM entities WHERE folded = $1 FOR UPDATE", folded
        )
        return row

    @staticmethod
    async def _insert(conn: Connection, name: str) -> int:
        entity_id: int = await conn.fetchval(
            "INSERT INTO entities(name, folded) VALUES ($1, $2) RETURNING id", name, fold(name)
        )
        return entity_id

    @staticmethod
    async def _names(conn: Connection, *ids: int) -> dict[int, str]:
        rows = await conn.fetch(
            "SELECT id, name FROM entities WHERE id = ANY($1::bigint[])", list(ids)
        )
        return {row[0]: row[1] for row in rows}

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
        # Its count, dates and companions are of the events it lists: not those taken off
        # their portal page (event_rows.offered), which entities' counts leave out too.
        offered = event_rows.offered("ee")
        head = await self.db.fetchrow(
            "SELECT name, event_count,"
            " (SELECT ee.date FROM event_entities ee WHERE ee.entity_id = e.id"
            f"  AND {offered} ORDER BY ee.date, ee.event_id LIMIT 1) AS first,"
            " (SELECT ee.date FROM event_entities ee WHERE ee.entity_id = e.id"
            f"  AND {offered} ORDER BY ee.date DESC, ee.event_id DESC LIMIT 1) AS last"
            " FROM entities e WHERE id = $1",
            entity_id,
        )
        if head is None:
            raise KeyError(entity_id)
        rows = await self.db.fetch(
            "SELECT ev.id, ev.key, ev.date, ev.headline, ev.complete,"
            " (SELECT url FROM sources s WHERE s.event_id = ev.id AND NOT s.is_image"
            "  ORDER BY position LIMIT 1) AS url"
            " FROM event_entities ee JOIN events ev ON ev.id = ee.event_id"
            " WHERE ee.entity_id = $1 AND ($2::text IS NULL OR ev.lang = $2)"
            " AND ev.removed_at IS NULL ORDER BY ee.date DESC, ee.event_id DESC LIMIT $3",
            entity_id,
            lang,
            recent,
        )
        briefs = tuple(
            EventBrief(r["id"], r["key"], r["date"], r["headline"], bool(r["complete"]), r["url"])
            for r in rows
        )
        # Companions are counted over the entity's latest events: for one in tens of
        # thousands of events, who appears with it lately, at a bounded cost. Counted
        # before names are looked up: one lookup per companion, not per link.
        co_rows = await self.db.fetch(
            "SELECT en.name, c.together FROM ("
            "  SELECT other.entity_id AS id, COUNT(*) AS together FROM ("
            f"   SELECT event_id FROM event_entities ee WHERE entity_id = $1 AND {offered}"
            "   ORDER BY date DESC, event_id DESC LIMIT $2) mine"
            "  JOIN event_entities other"
            "   ON other.event_id = mine.event_id AND other.entity_id <> $1"
            "  GROUP BY other.entity_id) c"
            f" JOIN entities en ON en.id = c.id ORDER BY c.together DESC, en.folded {BYTES}"
            " LIMIT $3",
            entity_id,
            CO_ENTITY_WINDOW,
            co_entities,
        )
        return EntityProfile(
            name=head["name"],
            event_count=head["event_count"],
            first_date=head["first"],
            last_date=head["last"],
            recent=briefs,
            co_entities=tuple((r[0], r[1]) for r in co_rows),
            co_entities_window=CO_ENTITY_WINDOW if head["event_count"] > CO_ENTITY_WINDOW else None,
            aliases=tuple(await self.aliases(entity_id)),
        )
