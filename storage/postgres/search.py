"""Full-text search over events on PostgreSQL (storage.api.SearchProvider): /search,
autocomplete of headlines, and suggestions for text that matched nothing.

The same answers as storage.sqlite.search, in the same order: a parsed query becomes a
tsquery (storage.postgres.tsquery) over the vectors Chronicle writes (events.search:
headline A, summary B, period words D; articles.search: title A, text B), and matches are
ranked by FTS5's own bm25, computed in Python over the few rows ranked
(storage.postgres.bm25). SQLite's shortcuts that only make FTS5 faster (cut prefixes, a
scan for a lone Chinese character, headline checks in Python) have no counterpart here: a
GIN index finds prefixes and phrases itself."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from storage.matching import phrase_matcher
from storage.models import EventBrief, SearchFilter, SearchHit
from storage.postgres import bm25, event_rows
from storage.postgres.db import Database
from storage.postgres.textsearch import HEADLINE, PAIRS, index_tokens, lexeme
from storage.postgres.tsquery import (
    TEXT,
    Estimate,
    Phrase,
    any_of,
    compile_query,
    contradicts_itself,
    counted_phrases,
    estimate,
    folded_tokens,
    headline_words,
    phrase,
    ranking_phrases,
    stop_word_phrase,
)
from storage.query import STOP_WORDS, SearchQuery, parse_query
from storage.search_rules import (
    ARTICLE_SHARE,
    ARTICLE_WEIGHTS,
    COMMON_TERM_EVENTS,
    EVENT_WEIGHTS,
    HEADLINE_POOL,
    MAX_COUNTED_BEYOND,
    SEARCH_WINDOW,
    STOP_PHRASE_EVENTS,
)
from storage.textindex import any_script, fold, has_cjk, same_script
from storage.words import suggestion_words, without_letter_typed

# Choosing how to read a query's matches (PostgresSearch._newest_first): the share of them
# a language or a start date is taken to pass, and what reading an
# event an index found costs, in events walked (a page of its own, where walked events
# share theirs).
FILTERED_SHARE = 0.25
INDEXED_ROW_COST = 6
# A prefix more lexemes start with is not counted: too common to tell (_lexeme_counts).
PREFIX_LEXEMES = 500


def _past(prefix: str) -> str:
    """The first text after every text starting with prefix, in code point order."""
    last = ord(prefix[-1])
    if last == sys.maxunicode:
        return _past(prefix[:-1]) if len(prefix) > 1 else chr(sys.maxunicode)
    return prefix[:-1] + chr(last + 1)


def newest_matches(order: str) -> str:
    """SQL: the newest events whose text matches a tsquery ($1), at most $2, read in the
    order PostgresSearch._newest_first chose."""
    return f"SELECT e.id FROM events e WHERE e.search @@ $1::tsquery ORDER BY {order} LIMIT $2"


# What bm25 needs of event e: its length, the tokens of its vector (migration 0009) and its
# entities, which SQLite's index holds as words of a column bm25 weighs at 0 (migration
# 0005); and its vector, as text, where Positions finds the words ranked by (cheaper than
# unnesting it in SQL, or than splitting its texts again).
RANKING_COLUMNS = (
    "coalesce(e.search_tokens, 0)"
    " + (SELECT count(*) FROM event_entities l WHERE l.event_id = e.id) AS length,"
    " e.search::text AS vector"
)


class Positions:
    """Where the words of some phrases are in a vector's text ('word':3A,17B ...)."""

    def __init__(self, phrases: Sequence[Phrase]):
        words = {t for p in phrases for t in (p.tokens[:-1] if p.prefix else p.tokens)}
        starts = {p.tokens[-1] for p in phrases if p.prefix and p.tokens}
        alternatives = [re.escape(lexeme(w)[1:-1]) for w in sorted(words)]
        alternatives += [re.escape(lexeme(w)[1:-1]) + "(?:[^']|'')*" for w in sorted(starts)]
        self._item = re.compile("'(" + "|".join(alternatives or ["(?!)"]) + ")':([0-9A-D,]+)")

    def of(self, vector: str) -> dict[str, list[tuple[int, str]]]:
        """Each word's positions and their weights (D, the default, is not written)."""
        held: dict[str, list[tuple[int, str]]] = {}
        for match in self._item.finditer(vector):
            word = match.group(1).replace("''", "'")
            held[word] = [
                (int(p.rstrip("ABCD")), p[-1] if p[-1] in "ABCD" else "D")
                for p in match.group(2).split(",")
            ]
        return held


def _score(
    phrases: Sequence[Phrase], positions: Positions, corpus: bm25.Corpus, row: asyncpg.Record
) -> float:
    """bm25 of an event (a row with RANKING_COLUMNS): how many times each phrase is in its
    headline and in its summary, and its length."""
    held = positions.of(row["vector"])
    hits = [p.hits_at(held, TEXT) for p in phrases]
    return bm25.score(hits, corpus, EVENT_WEIGHTS, row["length"])


@dataclass(frozen=True, slots=True)
class _Where:
    """A search's filters as SQL conditions on events e, their parameters numbered from
    `first` on (sql(first))."""

    entity_ids: tuple[int, ...] | None
    since: dt.date | None
    until: dt.date | None
    language: str | None

    @property
    def params(self) -> list[object]:
        values: list[object] = []
        if self.entity_ids:
            values.append(list(self.entity_ids))
        values += [v for v in (self.since, self.until, self.language) if v is not None]
        return values

    def sql(self, first: int) -> str:
        n = first
        conditions = []
        if self.entity_ids:
            conditions.append(
                "EXISTS (SELECT 1 FROM event_entities f WHERE f.event_id = e.id"
                f" AND f.entity_id = ANY(${n}::bigint[]))"
            )
            n += 1
        for value, condition in (
            (self.since, "e.date >= ${}::date"),
            (self.until, "e.date <= ${}::date"),
            (self.language, "e.lang = ${}"),
        ):
            if value is not None:
                conditions.append(condition.format(n))
                n += 1
        return " AND ".join(conditions) or "true"


class PostgresSearch:
    """Events found by their words, and by their dates and entities alone."""

    def __init__(self, db: Database):
        self.db = db
        # _term_counts(): tsquery -> the largest cap it was counted beyond (a common word
        # stays common: events are added far more than removed).
        self._counted_beyond: dict[str, int] = {}

    async def search(
        self, query: SearchFilter, *, limit: int = 10, offset: int = 0
    ) -> list[SearchHit]:
        """Events matching words (headline, summary, attached articles) and the filters.

        First the events whose headline holds the words as typed, in a row, newest first
        (among the newest SEARCH_WINDOW holding them). Then the best matches: bm25 over the
        rarer words (headline words weigh more); when every word is common or a stop word,
        headline matches first, then newest first (COMMON_TERM_EVENTS). Matches are ranked
        among the newest SEARCH_WINDOW of them passing the filters, more when too few."""
        if query.entity_ids is not None and not query.entity_ids:
            return []
        where = _Where(
            query.entity_ids, query.since, query.until, event_rows.edition(query.language)
        )
        if not query.text.strip():
            return await self._browse(where, limit=limit, offset=offset)
        parsed = parse_query(query.text)
        match = compile_query(parsed)
        if match is None or contradicts_itself(parsed):
            return []
        want = offset + limit
        found = await self._in_headline(query.text, where, want)
        if len(found) < want:
            first = {row["id"] for row in found}
            ranked = await self._ranked(parsed, match, where, want + len(found))
            found += [row for row in ranked if row["id"] not in first]
        return [SearchHit(event_rows.brief(row)) for row in found[offset:want]]

    async def _in_headline(self, text: str, where: _Where, want: int) -> list[asyncpg.Record]:
        """Among the newest SEARCH_WINDOW events whose headline holds the words in a row
        (headline_words), those passing the filters, newest first."""
        in_a_row = headline_words(text)
        if in_a_row is None:
            return []
        order = await self._newest_first(await self._pairs_estimate(in_a_row), SEARCH_WINDOW)
        params = where.params
        return await self.db.fetch(
            # The matches looked up by id: joined, the planner may walk every event by date
            # to find them.
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
            f" WHERE e.id = ANY(ARRAY({newest_matches(order)})) AND {where.sql(3)}"
            f" ORDER BY e.date DESC, e.id DESC LIMIT ${3 + len(params)}",
            in_a_row.tsquery(PAIRS),
            SEARCH_WINDOW,
            *params,
            want,
        )

    async def _pairs_estimate(self, in_a_row: Phrase) -> Estimate:
        """How many headlines hold words in a row: at most as many as hold their rarest
        pair; as many as hold the pair, when there is one (not known when every pair is a
        prefix of too many)."""
        last = len(in_a_row.tokens) - 1
        pairs = [
            Phrase((pair,), in_a_row.prefix and n == last) for n, pair in enumerate(in_a_row.tokens)
        ]
        counts = await self._lexeme_counts(pairs)
        if not counts:
            return Estimate(None, None)
        bound = min(counts.values())
        return Estimate(bound, float(bound) if len(pairs) == 1 else None)

    async def _ranked(
        self, parsed: SearchQuery, match: str, where: _Where, want: int
    ) -> list[asyncpg.Record]:
        """The matches passing the filters, best first: the newest SEARCH_WINDOW of them
        ranked (eight times more while too few pass), with the events whose articles match."""
        counts = await self._term_counts(counted_phrases(parsed), cap=COMMON_TERM_EVENTS)
        common = {p for p, n in counts.items() if n > COMMON_TERM_EVENTS}
        rank_by = ranking_phrases(parsed, common)
        floor = 0
        if stop_word_phrase(parsed):
            newest = await self.db.fetchval("SELECT max(id) FROM events")
            floor = max(0, (newest or 0) - STOP_PHRASE_EVENTS + 1)
        by_articles = await self._article_scores(parsed, ranked=rank_by is not None)
        corpus = await self._corpus(rank_by, counted=counts) if rank_by is not None else None
        positions = Positions(rank_by or [])
        in_headline = compile_query(parsed, HEADLINE)
        params = where.params
        window = SEARCH_WINDOW
        guess = estimate(parsed, counts, cap=COMMON_TERM_EVENTS, events=await self._events())
        while True:
            order = await self._newest_first(guess, window, where)
            rows = await self.db.fetch(
                "SELECT e.id, e.date, e.search @@ $2::tsquery AS in_headline,"
                f" {RANKING_COLUMNS if corpus is not None else 'NULL AS vector'}"
                f" FROM events e WHERE e.search @@ $1::tsquery AND e.id >= $3 AND {where.sql(5)}"
                f" ORDER BY {order} LIMIT $4",
                match,
                in_headline,
                floor,
                window,
                *params,
            )
            scores: dict[int, float] = {}
            dates: dict[int, dt.date] = {}
            for row in rows:
                dates[row["id"]] = row["date"]
                if corpus is not None and rank_by is not None:
                    scores[row["id"]] = _score(rank_by, positions, corpus, row)
                else:
                    scores[row["id"]] = -1.0 if row["in_headline"] else 0.0
            for event_id, article_score in by_articles.items():
                scores[event_id] = min(scores.get(event_id, article_score), article_score)
            if missing := [i for i in scores if i not in dates]:
                dates |= {
                    r["id"]: r["date"]
                    for r in await self.db.fetch(
                        "SELECT e.id, e.date FROM events e"
                        f" WHERE e.id = ANY($1::bigint[]) AND {where.sql(2)}",
                        missing,
                        *params,
                    )
                }
            best = sorted(dates, key=lambda i: (scores[i], -dates[i].toordinal(), -i))
            if len(best) >= want or len(rows) < window:
                return await self._brief_rows(best[:want])
            window *= 8

    async def _events(self) -> int:
        return int(
            await self.db.fetchval("SELECT value FROM counters WHERE name = 'events'") or 0
        )

    async def _newest_first(
        self, guess: Estimate, window: int, where: _Where | None = None
    ) -> str:
        """How to order a query's matches to read the newest `window` of them (passing the
        filters of `where`): walking the events from the newest, testing each, or
        (`e.id + 0`, which no index gives) letting the planner take the events an index
        finds (the full-text index, or the dates'), then sorting them. The walk reads about
        window * events / (the matches passing the filters) rows, every row when few pass;
        an index reads the events it finds, each costing about INDEXED_ROW_COST walked rows
        (a page of its own).

        A date range that stops before the newest events is read by an index: the walk
        would read every later event first. Otherwise the walk is taken when the words are
        too common to count (stop words, common prefixes), or when it is likely cheaper than
        reading the events holding the rarest word: never for a phrase, which may be in a
        handful of events however common its words (tsquery.estimate). The filters are
        taken to pass a share of the matches (_share). The planner cannot choose well alone:
        it guesses phrases and prefixes, and walks when it overestimates them."""
        if where is not None and where.until is not None:
            newest = await self.db.fetchval("SELECT max(date) FROM events")
            if newest is not None and where.until < newest:
                return "e.id + 0 DESC"
        if guess.bound is None:
            return "e.id DESC"
        if guess.likely is not None:
            events = await self._events()
            passing = guess.likely * await self._share(where, events)
            if window * events / max(passing, 1.0) < guess.bound * INDEXED_ROW_COST:
                return "e.id DESC"
        return "e.id + 0 DESC"

    async def _share(self, where: _Where | None, events: int) -> float:
        """The share of events the filters are taken to pass: the entities' share of the
        archive (as if their events held the words as often as any), else FILTERED_SHARE
        for other filters."""
        if where is None:
            return 1.0
        share = 1.0
        if where.entity_ids:
            linked = await self.db.fetchval(
                "SELECT coalesce(sum(event_count), 0) FROM entities WHERE id = ANY($1::bigint[])",
                list(where.entity_ids),
            )
            share = min(1.0, int(linked) / events) if events else 1.0
        if where.since or where.language:
            share *= FILTERED_SHARE
        return share

    async def _article_scores(self, parsed: SearchQuery, *, ranked: bool) -> dict[int, float]:
        """The events whose attached articles match the query, each with its best article's
        score: bm25 (title and text, ARTICLE_WEIGHTS) counting ARTICLE_SHARE of an event's
        when the search is ranked, else 0 (after headline matches, with the others)."""
        match = compile_query(parsed)
        if match is None:
            return {}
        if not ranked:
            rows = await self.db.fetch(
                "SELECT DISTINCT event_id FROM articles WHERE search @@ $1::tsquery", match
            )
            return {row[0]: 0.0 for row in rows}
        rows = await self.db.fetch(
            "SELECT event_id, title, text, chronicle_tokens(search) AS length"
            " FROM articles WHERE search @@ $1::tsquery",
            match,
        )
        if not rows:
            return {}
        # FTS5 ranks articles by every phrase of the query (excluded ones never hit).
        phrases = [phrase(term) for group in parsed.required for term in group]
        corpus = await self._corpus(phrases, table="articles")
        scores: dict[int, float] = {}
        for row in rows:
            # From the texts, not the vector: an article's positions stop at 16,383.
            columns = (index_tokens(row["title"]), index_tokens(row["text"]))
            hits = [[p.count_in(tokens) for tokens in columns] for p in phrases]
            value = ARTICLE_SHARE * bm25.score(hits, corpus, ARTICLE_WEIGHTS, row["length"])
            scores[row["event_id"]] = min(scores.get(row["event_id"], value), value)
        return scores

    async def _corpus(
        self,
        phrases: Sequence[Phrase],
        *,
        table: str = "events",
        counted: Mapping[Phrase, int] | None = None,
    ) -> bm25.Corpus:
        """bm25's counts of events (or articles): rows, average length, and how many rows
        hold each phrase. `counted`: events' counts _term_counts made, exact when at most
        COMMON_TERM_EVENTS: not counted again (a count reads every event holding the
        phrase)."""
        names = ["events", "event_tokens", "entity_links"]
        if table == "articles":
            names = ["articles", "article_tokens"]
        counters = {
            r[0]: r[1]
            for r in await self.db.fetch(
                "SELECT name, value FROM counters WHERE name = ANY($1::text[])", names
            )
        }
        rows = counters.get(names[0], 0)
        tokens = sum(counters.get(name, 0) for name in names[1:])
        known: dict[Phrase, int] = {}
        if table == "events":
            known = {p: n for p, n in (counted or {}).items() if n <= COMMON_TERM_EVENTS}
            known |= await self._lexeme_counts(
                [p for p in phrases if p not in known and not p.prefix]
            )
        unknown = list(dict.fromkeys(p for p in phrases if p not in known))
        if unknown:
            holding = await self.db.fetch(
                "SELECT (SELECT count(*) FROM " + table + " WHERE search @@ q::tsquery)"
                " FROM unnest($1::text[]) WITH ORDINALITY AS t(q, n) ORDER BY n",
                [p.tsquery(TEXT) for p in unknown],
            )
            known |= {p: r[0] for p, r in zip(unknown, holding, strict=True)}
        return bm25.Corpus(
            rows=rows,
            average_length=tokens / rows if rows else 0.0,
            idfs=tuple(bm25.idf(rows, known[p]) for p in phrases),
        )

    async def _lexeme_counts(self, phrases: Sequence[Phrase]) -> dict[Phrase, int]:
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

    async def _term_counts(self, phrases: Sequence[Phrase], *, cap: int) -> dict[Phrase, int]:
        """How many events' text holds each phrase: a whole word exactly (_lexeme_counts);
        others (prefixes) counted up to cap + 1, enough to tell a rare one from a common
        one. One counted beyond the cap once is not counted again."""
        known = await self._lexeme_counts([p for p in phrases if not p.prefix])
        queries = {p: p.tsquery(TEXT) for p in phrases if p not in known}
        known |= {p: cap + 1 for p, q in queries.items() if self._counted_beyond.get(q, -1) >= cap}
        unknown = [p for p in queries if p not in known]
        if not unknown:
            return known
        rows = await self.db.fetch(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM events WHERE search @@ q::tsquery"
            " LIMIT $2) s) FROM unnest($1::text[]) WITH ORDINALITY AS t(q, n) ORDER BY n",
            [queries[p] for p in unknown],
            cap + 1,
        )
        counted = {p: row[0] for p, row in zip(unknown, rows, strict=True)}
        if len(self._counted_beyond) > MAX_COUNTED_BEYOND:
            self._counted_beyond.clear()
        for p, count in counted.items():
            if count > cap:
                self._counted_beyond[queries[p]] = cap
        return known | counted

    async def _browse(self, where: _Where, *, limit: int, offset: int) -> list[SearchHit]:
        """No words: the newest events of the entity and/or date range."""
        params = where.params
        if where.entity_ids and len(where.entity_ids) == 1:
            # One entity: its links, newest first, straight from their index.
            rest = _Where(None, where.since, where.until, where.language)
            rest_params = rest.params
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM event_entities f"
                " JOIN events e ON e.id = f.event_id"
                f" WHERE f.entity_id = $1 AND {rest.sql(2)}"
                f" ORDER BY f.date DESC, f.event_id DESC"
                f" LIMIT ${2 + len(rest_params)} OFFSET ${3 + len(rest_params)}",
                where.entity_ids[0],
                *rest_params,
                limit,
                offset,
            )
        else:
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE {where.sql(1)}"
                f" ORDER BY e.date DESC, e.id DESC"
                f" LIMIT ${1 + len(params)} OFFSET ${2 + len(params)}",
                *params,
                limit,
                offset,
            )
        return [SearchHit(event_rows.brief(row)) for row in rows]

    async def suggest_headlines(
        self, text: str, *, limit: int = 25, language: str | None = None
    ) -> list[EventBrief]:
        """Autocomplete: the headlines holding the words typed in a row (among the newest
        HEADLINE_POOL, newest first). When none do, or the words are not pairs (one word,
        Chinese), among the newest HEADLINE_POOL headlines holding all the words, those
        holding them as a phrase first, then the others; newest first within each. Empty
        input: the newest events. A language ('en', 'zh') keeps that edition's events of
        the pool ('all', None: both). A letter starting a word is not looked up
        (without_letter_typed), but the headlines holding it as typed come first."""
        typed = text
        lang = event_rows.edition(language)
        edition_params = (lang,) if lang else ()
        if (shorter := without_letter_typed(text)) is not None:
            text = shorter
        if not text.strip():
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
                f"{' WHERE e.lang = $2' if lang else ''} ORDER BY e.date DESC, e.id DESC LIMIT $1",
                limit,
                *edition_params,
            )
            return [event_rows.brief(row) for row in rows]
        words = text.split()
        # A last word that is a stop word as typed ("their") is left out like the others,
        # rather than looked up as a prefix of thousands of words; the phrase keeps it.
        prefix_last = text.endswith(" ") or fold(words[-1]) not in STOP_WORDS
        in_a_row = headline_words(text, prefix_last=prefix_last)
        if in_a_row is not None:
            order = await self._newest_first(await self._pairs_estimate(in_a_row), HEADLINE_POOL)
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
                f" WHERE e.id = ANY(ARRAY({newest_matches(order)}))"
                f"{' AND e.lang = $4' if lang else ''}"
                " ORDER BY e.date DESC, e.id DESC LIMIT $3",
                in_a_row.tsquery(PAIRS),
                HEADLINE_POOL,
                limit,
                *edition_params,
            )
            if rows:
                return [event_rows.brief(row) for row in rows]
        parsed = parse_query(text, prefix_last=prefix_last)
        match = compile_query(parsed, HEADLINE)
        if match is None:
            return []
        # Counted in headlines and summaries alike: at most as many headlines hold them.
        counts = await self._lexeme_counts(counted_phrases(parsed))
        guess = estimate(parsed, counts, cap=sys.maxsize, events=await self._events())
        pool = await self.db.fetch(
            "SELECT e.id, e.headline, e.date, e.lang FROM events e WHERE e.search @@ $1::tsquery"
            f" ORDER BY {await self._newest_first(guess, HEADLINE_POOL)} LIMIT $2",
            match,
            HEADLINE_POOL,
        )
        if lang is not None:
            pool = [row for row in pool if row["lang"] == lang]
        in_phrase = phrase_matcher(typed)
        ordered = sorted(pool, key=lambda row: (row["date"], row["id"]), reverse=True)
        ordered.sort(key=lambda row: not in_phrase(row["headline"]))  # stable: newest first
        ids = [row["id"] for row in ordered[:limit]]
        return await self._briefs(ids)

    async def _brief_rows(self, ids: list[int]) -> list[asyncpg.Record]:
        """The brief columns of events, in the order of ids."""
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id = ANY($1::bigint[])",
            ids,
        )
        by_id = {row["id"]: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def _briefs(self, ids: list[int]) -> list[EventBrief]:
        """The briefs of events, in the order of ids."""
        return [event_rows.brief(row) for row in await self._brief_rows(ids)]

    async def closest(
        self, text: str, *, limit: int = 5, language: str | None = None
    ) -> list[EventBrief]:
        """Suggestions for text that matched nothing. When some of its words are not in the
        archive (a typo, a word never used): the events holding the others and a word that
        starts as each unknown one does (its first four letters), else the others alone.
        Failing that, events holding any of the known words, ranked by the rare ones, else
        newest first. Only headlines in the text's script are suggested (Chinese for
        Chinese, none for Latin, either for text in both or neither); with a language
        ('en', 'zh'; 'all' or None: both), only events in it."""
        lang = event_rows.edition(language)
        # More than are shown when some may be in the other script and left out.
        pool = limit if any_script(text) else limit * 4

        def in_script(briefs: list[EventBrief]) -> list[EventBrief]:
            return [b for b in briefs if same_script(text, b.headline)][:limit]

        words = suggestion_words(text)
        exact = {word: Phrase(folded_tokens((word,))) for word in words}
        counts = await self._term_counts(list(exact.values()), cap=COMMON_TERM_EVENTS)
        known = [word for word in words if counts[exact[word]]]
        starts = [
            start
            for word in words
            if not counts[exact[word]] and len(word) > 4 and not has_cjk(word)
            if await self.search(SearchFilter(start := f"{word[:4]}*", language=lang), limit=1)
        ]
        quoted = [f'"{word}"' for word in known]
        if len(known) < len(words):
            for terms in ([*quoted, *starts], quoted if starts else []):
                if not terms:
                    continue
                hits = await self.search(SearchFilter(" ".join(terms), language=lang), limit=pool)
                if found := in_script([hit.event for hit in hits]):
                    return found
        if not known:
            return []
        rare = [exact[w] for w in known if counts[exact[w]] <= COMMON_TERM_EVENTS]
        match = any_of(rare or [exact[w] for w in known])
        in_edition = " AND e.lang = $2" if lang else ""
        if not rare:
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
                f" WHERE e.search @@ $1::tsquery{in_edition} ORDER BY e.id DESC LIMIT ${2 + bool(lang)}",
                match,
                *((lang,) if lang else ()),
                pool,
            )
            return in_script([event_rows.brief(row) for row in rows])
        # Ranked by bm25 over the rare words, every event holding them (rare: few).
        corpus = await self._corpus(rare)
        positions = Positions(rare)
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS}, {RANKING_COLUMNS} FROM events e"
            f" WHERE e.search @@ $1::tsquery{' AND e.lang = $2' if lang else ''}",
            match,
            *((lang,) if lang else ()),
        )
        scored = sorted(rows, key=lambda r: (_score(rare, positions, corpus, r), r["id"]))
        return in_script([event_rows.brief(row) for row in scored[:pool]])
