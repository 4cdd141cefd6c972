"""How a search on PostgreSQL reads its matches (storage.postgres.search): how many events
hold a word (term_events, migration 0009), and so whether to walk the events from the
newest or to take the matches an index finds. SQLite's FTS5 walks its own postings and
needs none of this."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence

from storage.postgres.db import Database
from storage.postgres.tsquery import Estimate, Phrase

# Choosing how to read a query's matches (Reading.newest_first): the share of them a
# language is taken to pass, and what reading an event an index found costs, in events
# walked (a page of its own, where walked events share theirs).
FILTERED_SHARE = 0.25
INDEXED_ROW_COST = 6
# A prefix more lexemes start with is not counted: too common to tell (Reading.lexeme_counts).
PREFIX_LEXEMES = 500


def _past(prefix: str) -> str:
    """The first text after every text starting with prefix, in code point order."""
    last = ord(prefix[-1])
    if last == sys.maxunicode:
        return _past(prefix[:-1]) if len(prefix) > 1 else chr(sys.maxunicode)
    return prefix[:-1] + chr(last + 1)


def newest_matches(order: str) -> str:
    """SQL: the newest events whose text matches a tsquery ($1), at most $2, read in the
    order Reading.newest_first chose."""
    return f"SELECT e.id FROM events e WHERE e.search @@ $1::tsquery ORDER BY {order} LIMIT $2"


class Reading:
    """Counts of words, and the order to read a query's matches in."""

    def __init__(self, db: Database):
        self.db = db

    async def events(self) -> int:
        """The events of the archive (a counter kept by triggers)."""
        return int(
            await self.db.fetchval("SELECT value FROM counters WHERE name = 'events'") or 0
        )

    async def lexeme_counts(self, phrases: Sequence[Phrase]) -> dict[Phrase, int]:
        """How many events hold each phrase that is one lexeme (a word, or a headline's
        pair: term_events, kept by triggers, one row read a word): exactly for a whole
        lexeme; for a prefix, the sum over the lexemes starting so (at most that many),
        left out when more than PREFIX_LEXEMES lexemes start so (too common to tell)."""
        single = [p for p in dict.fromkeys(phrases) if len(p.tokens) == 1]
        if not single:
            return {}
        keys = [("_" if "_" in p.tokens[0] else "") + p.tokens[0] for p in single]
        rows = await self.db.fetch(
            # A prefix's lexemes are the keys from it up to the next prefix of its length
            # (byte order is code point order), a range of term_events' index.
            "SELECT CASE WHEN t.past IS NULL"
            " THEN (SELECT coalesce(sum(events), 0) FROM term_events WHERE lexeme = t.word)"
            " ELSE (SELECT CASE WHEN count(*) <= $3 THEN sum(events) END FROM"
            " (SELECT events FROM term_events WHERE lexeme >= t.word AND lexeme < t.past"
            " LIMIT $3 + 1) s) END"
            " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(word, past, n)"
            " ORDER BY t.n",
            keys,
            [_past(key) if p.prefix else None for p, key in zip(single, keys, strict=True)],
            PREFIX_LEXEMES,
        )
        return {p: int(r[0]) for p, r in zip(single, rows, strict=True) if r[0] is not None}

    async def held_beyond(self, prefixes: Sequence[Phrase], cap: int) -> set[Phrase]:
        """The prefixes (of one token) one of whose words alone is in more than cap events,
        and so are they, whatever the others."""
        starts = [p for p in dict.fromkeys(prefixes) if p.prefix and len(p.tokens) == 1]
        if not starts:
            return set()
        rows = await self.db.fetch(
            "SELECT EXISTS (SELECT 1 FROM term_events WHERE lexeme >= t.word"
            " AND lexeme < t.past AND events > $3)"
            " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(word, past, n)"
            " ORDER BY t.n",
            [p.tokens[0] for p in starts],
            [_past(p.tokens[0]) for p in starts],
            cap,
        )
        return {p for p, row in zip(starts, rows, strict=True) if row[0]}

    async def pairs_estimate(self, in_a_row: Phrase) -> Estimate:
        """How many headlines hold words in a row: at most as many as hold their rarest
        pair; as many as hold the pair, when there is one (not known when every pair is a
        prefix of too many)."""
        last = len(in_a_row.tokens) - 1
        pairs = [
            Phrase((pair,), in_a_row.prefix and n == last) for n, pair in enumerate(in_a_row.tokens)
        ]
        counts = await self.lexeme_counts(pairs)
        if not counts:
            return Estimate(None, None)
        bound = min(counts.values())
        return Estimate(bound, float(bound) if len(pairs) == 1 else None)

    async def newest_first(
        self,
        guess: Estimate,
        window: int,
        *,
        entity_ids: Sequence[int] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        language: str | None = None,
        events: int | None = None,
    ) -> str:
        """How to order a query's matches to read the newest `window` of them passing the
        filters: walking the events from the newest, testing each, or (`e.id + 0`, which
        no index gives) letting the planner take the events an index finds (the full-text
        index, an entity's links, the dates'), then sorting them. The walk reads about
        window * events / (the matches passing the filters) rows, every row when few pass;
        an index reads the events it finds, each costing about INDEXED_ROW_COST walked rows
        (a page of its own). The planner cannot choose well alone: it guesses phrases and
        prefixes, and walks when it overestimates them.

        Words too common to count (stop words, common prefixes) are taken to be in every
        event; a phrase may be in a handful however common its words, and is read through
        an index. A date range that ends before the newest events is read by an index:
        events are mostly added in the order of their dates, and the walk would read every
        later event first. Another is taken to hold its share of the days. `events`: the
        archive's count, when the caller has read it already."""
        if events is None:
            events = await self.events()
        if not events:
            return "e.id DESC"
        share = 1.0
        indexed: list[float] = [] if guess.bound is None else [float(guess.bound)]
        if entity_ids:
            linked = await self.db.fetchval(
                "SELECT coalesce(sum(event_count), 0) FROM entities WHERE id = ANY($1::bigint[])",
                list(entity_ids),
            )
            share *= min(1.0, int(linked) / events)
            indexed.append(float(linked))
        if since is not None or until is not None:
            span = await self.db.fetchrow("SELECT min(date), max(date) FROM events")
            first, last = (span[0], span[1]) if span else (dt.date.min, dt.date.min)
            if until is not None and until < last:
                return "e.id + 0 DESC"
            days = (min(until or last, last) - max(since or first, first)).days + 1
            dated = max(days, 0) / ((last - first).days + 1)
            share *= dated
            indexed.append(dated * events)
        if language:
            share *= FILTERED_SHARE
        if not indexed:
            return "e.id DESC"
        likely = float(events) if guess.bound is None else guess.likely
        if likely is None:
            return "e.id + 0 DESC"
        walked = window * events / max(likely * share, 1.0)
        return "e.id DESC" if walked < min(indexed) * INDEXED_ROW_COST else "e.id + 0 DESC"
