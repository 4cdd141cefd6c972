"""Full-text search over events on PostgreSQL (storage.api.SearchProvider): /search,
autocomplete of headlines, and suggestions for text that matched nothing.

The same answers as storage.sqlite.search, in the same order: a parsed query becomes a
tsquery (storage.postgres.tsquery) over the vectors Chronicle writes (events.search:
headline A, summary B, headline word pairs C, period words D; articles.search: title A,
text B), and matches are ranked by FTS5's own bm25, computed in Python over the few rows
ranked (storage.postgres.bm25). How many events hold a word, and so how to read a query's
newest matches, is storage.postgres.reading's. SQLite's shortcuts that only make FTS5
faster (cut prefixes, a scan for a lone Chinese character, headline checks in Python)
have no counterpart here."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from storage.matching import phrase_matcher, terms_matcher
from storage.models import EventBrief, SearchFilter, SearchHit
from storage.postgres import bm25, event_rows
from storage.postgres.db import Database
from storage.postgres.reading import Reading, newest_matches
from storage.postgres.textsearch import COLUMN_GAP, HEADLINE, MAX_POSITION, PAIRS, index_tokens
from storage.postgres.tsquery import (
    TEXT,
    Phrase,
    any_of,
    compile_query,
    contradicts_itself,
    counted_phrases,
    estimate,
    headline_words,
    phrase,
    ranking_phrases,
    stop_word_phrase,
    words_anywhere,
)
from storage.query import STOP_WORDS, SearchQuery, folded_tokens, parse_query
from storage.search_rules import (
    ARTICLE_SHARE,
    ARTICLE_WEIGHTS,
    COMMON_TERM_EVENTS,
    HEADLINE_POOL,
    MAX_COUNTED_BEYOND,
    SEARCH_WINDOW,
    STOP_PHRASE_EVENTS,
)
from storage.textindex import any_script, fold, has_cjk, same_script
from storage.words import suggestion_words, without_letter_typed


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
        # An item taken off the portal page it came from is not offered (its card says so).
        conditions = ["e.removed_at IS NULL"]
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
        return " AND ".join(conditions)


def _left_out(excluded: str | None, number: int, *, own_text: bool) -> str:
    """The condition (on events e, after others: it starts with AND) leaving out the
    events whose articles, and with own_text their own text too, hold any of the excluded
    terms, the tsquery `excluded` being parameter $number; none without one. An event's
    articles are read by their event (articles_by_event): few, and their vectors checked."""
    if excluded is None:
        return ""
    own = f" AND NOT e.search @@ ${number}::tsquery" if own_text else ""
    return (
        f"{own} AND NOT EXISTS (SELECT 1 FROM articles a"
        f" WHERE a.event_id = e.id AND a.search @@ ${number}::tsquery)"
    )


def _in_a_column(parsed: SearchQuery) -> Callable[[str, str], bool]:
    """Whether an article's title or text holds a term of each group to find, and neither
    an excluded term (storage.matching: as FTS5 finds them, a phrase within one column)."""
    groups = [[terms_matcher([[term]], []) for term in group] for group in parsed.required]
    unwanted = [terms_matcher([[term]], []) for term in parsed.excluded]

    def holds(title: str, text: str) -> bool:
        def found(test: Callable[[str], bool]) -> bool:
            return test(title) or test(text)

        return all(any(map(found, group)) for group in groups) and not any(map(found, unwanted))

    return holds


class PostgresSearch:
    """Events found by their words, and by their dates and entities alone."""

    def __init__(self, db: Database):
        self.db = db
        self.reading = Reading(db)
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
        order = await self.reading.newest_first(await self.reading.pairs_estimate(in_a_row), SEARCH_WINDOW)
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
        # An excluded term leaves an event out when its own text or any of its articles
        # holds it, wherever the words to find were: the events matching hold none in their
        # text already, and each is checked against its articles (by event, few) before the
        # LIMIT, so that a page is never short; those found by an article alone, against
        # both (_left_out).
        excluded = any_of([phrase(term) for term in parsed.excluded]) if parsed.excluded else None
        corpus = await self._corpus(rank_by, counted=counts) if rank_by is not None else None
        positions = bm25.Positions(rank_by or [])
        in_headline = compile_query(parsed, HEADLINE)
        params = where.params
        window = SEARCH_WINDOW
        events = await self.reading.events()
        guess = estimate(parsed, counts, cap=COMMON_TERM_EVENTS, events=events)
        while True:
            order = await self.reading.newest_first(
                guess,
                window,
                entity_ids=where.entity_ids,
                since=where.since,
                until=where.until,
                language=where.language,
                events=events,
            )
            rows = await self.db.fetch(
                "SELECT e.id, e.date, e.search @@ $2::tsquery AS in_headline,"
                f" {bm25.EVENT_COLUMNS if corpus is not None else 'NULL AS vector'}"
                f" FROM events e WHERE e.search @@ $1::tsquery AND e.id >= $3 AND {where.sql(5)}"
                f"{_left_out(excluded, 5 + len(params), own_text=False)}"
                f" ORDER BY {order} LIMIT $4",
                match,
                in_headline,
                floor,
                window,
                *params,
                *([excluded] if excluded else []),
            )
            scores: dict[int, float] = {}
            dates: dict[int, dt.date] = {}
            for row in rows:
                dates[row["id"]] = row["date"]
                if corpus is not None and rank_by is not None:
                    scores[row["id"]] = bm25.event_score(rank_by, positions, corpus, row)
                else:
                    scores[row["id"]] = -1.0 if row["in_headline"] else 0.0
            for event_id, article_score in by_articles.items():
                scores[event_id] = min(scores.get(event_id, article_score), article_score)
            if missing := [i for i in scores if i not in dates]:
                dates |= {
                    r["id"]: r["date"]
                    for r in await self.db.fetch(
                        "SELECT e.id, e.date FROM events e"
                        f" WHERE e.id = ANY($1::bigint[]) AND {where.sql(2)}"
                        f"{_left_out(excluded, 2 + len(params), own_text=True)}",
                        missing,
                        *params,
                        *([excluded] if excluded else []),
                    )
                }
            best = sorted(dates, key=lambda i: (scores[i], -dates[i].toordinal(), -i))
            if len(best) >= want or len(rows) < window:
                return await self._brief_rows(best[:want])
            window *= 8

    async def _article_scores(self, parsed: SearchQuery, *, ranked: bool) -> dict[int, float]:
        """The events whose attached articles match the query, each with its best article's
        score: bm25 (title and text, ARTICLE_WEIGHTS) counting ARTICLE_SHARE of an event's
        when the search is ranked, else 0 (after headline matches, with the others)."""
        match = compile_query(parsed)
        if match is None:
            return {}
        past = await self._past_positions(parsed, match)
        if not ranked:
            rows = await self.db.fetch(
                "SELECT DISTINCT event_id FROM articles WHERE search @@ $1::tsquery", match
            )
            return {row[0]: 0.0 for row in [*rows, *past]}
        rows = await self.db.fetch(
            "SELECT event_id, title, text, chronicle_tokens(search) AS length"
            " FROM articles WHERE search @@ $1::tsquery",
            match,
        )
        rows += past
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

    async def _past_positions(self, parsed: SearchQuery, match: str) -> list[asyncpg.Record]:
        """The articles holding a phrase of the query where their vector cannot tell it:
        past its last position (MAX_POSITION), every word is there. Those long enough,
        holding the phrase's words, are checked in their text, as FTS5 finds a phrase: in
        one column (_in_a_column)."""
        anywhere = words_anywhere(parsed)
        if anywhere is None:
            return []
        rows = await self.db.fetch(
            "SELECT event_id, title, text, chronicle_tokens(search) AS length"
            " FROM articles WHERE search @@ $1::tsquery AND NOT search @@ $2::tsquery"
            # Each token takes a byte of the text at least: a shorter article has no word
            # past the last position. A longer one, none unless a word is at it.
            " AND octet_length(title) + octet_length(text) + $3 >= $4"
            " AND EXISTS (SELECT 1 FROM unnest(search) w"
            " WHERE w.positions[array_upper(w.positions, 1)] = $4)",
            anywhere,
            match,
            COLUMN_GAP,
            MAX_POSITION,
        )
        holds = _in_a_column(parsed)
        return [row for row in rows if holds(row["title"], row["text"])]

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
            known |= await self.reading.lexeme_counts(
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

    async def _term_counts(self, phrases: Sequence[Phrase], *, cap: int) -> dict[Phrase, int]:
        """How many events' text holds each phrase: a whole word exactly (term_events);
        others (prefixes) counted up to cap + 1, enough to tell a rare one from a common
        one, unless one of their words alone is beyond the cap. One counted beyond the cap
        once is not counted again."""
        known = await self.reading.lexeme_counts([p for p in phrases if not p.prefix])
        queries = {p: p.tsquery(TEXT) for p in phrases if p not in known}
        known |= {p: cap + 1 for p, q in queries.items() if self._counted_beyond.get(q, -1) >= cap}
        beyond = await self.reading.held_beyond([p for p in queries if p not in known], cap)
        known |= {p: cap + 1 for p in beyond}
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
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.removed_at IS NULL"
                f"{' AND e.lang = $2' if lang else ''} ORDER BY e.date DESC, e.id DESC LIMIT $1",
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
            order = await self.reading.newest_first(await self.reading.pairs_estimate(in_a_row), HEADLINE_POOL)
            rows = await self.db.fetch(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
                f" WHERE e.id = ANY(ARRAY({newest_matches(order)})) AND e.removed_at IS NULL"
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
        counts = await self.reading.lexeme_counts(counted_phrases(parsed))
        events = await self.reading.events()
        guess = estimate(parsed, counts, cap=sys.maxsize, events=events)
        pool = await self.db.fetch(
            "SELECT e.id, e.headline, e.date, e.lang, e.removed_at FROM events e"
            " WHERE e.search @@ $1::tsquery"
            f" ORDER BY {await self.reading.newest_first(guess, HEADLINE_POOL, events=events)} LIMIT $2",
            match,
            HEADLINE_POOL,
        )
        pool = [
            row
            for row in pool
            if row["removed_at"] is None and (lang is None or row["lang"] == lang)
        ]
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
        positions = bm25.Positions(rare)
        rows = await self.db.fetch(
            f"SELECT {event_rows.BRIEF_COLUMNS}, {bm25.EVENT_COLUMNS} FROM events e"
            f" WHERE e.search @@ $1::tsquery{' AND e.lang = $2' if lang else ''}",
            match,
            *((lang,) if lang else ()),
        )
        scored = sorted(rows, key=lambda r: (bm25.event_score(rare, positions, corpus, r), r["id"]))
        return in_script([event_rows.brief(row) for row in scored[:pool]])
