"""Full-text search over events (storage.api.SearchProvider): /search, autocomplete of
headlines, and suggestions for text that matched nothing. The FTS5 expressions are built by
storage.sqlite.fts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiosqlite

from storage.matching import phrase_matcher, text_matcher
from storage.models import EventBrief, SearchFilter, SearchHit
from storage.query import STOP_WORDS
from storage.search_rules import (
    COMMON_TERM_EVENTS,
    HEADLINE_POOL,
    MAX_COUNTED_BEYOND,
    SEARCH_WINDOW,
    STOP_PHRASE_EVENTS,
)
from storage.sqlite import event_rows
from storage.sqlite.db import Database, placeholders
from storage.sqlite.fts import (
    EVENT_RANK,
    INDEXED_PREFIX,
    build_match,
    contradicts_itself,
    entities_match,
    excluded_match,
    few_matches_likely,
    headline_phrase,
    in_text,
    lone_character,
    period_match,
    prefix_check,
    quoted,
    ranking_match,
    stop_word_phrase,
    token_expressions,
)
from storage.textindex import any_script, fold, has_cjk, same_script
from storage.words import suggestion_words, without_letter_typed

# A long prefix looked up by its first letters (fts.INDEXED_PREFIX) is worth it while at
# least one in this many of the newest matches holds the whole prefix ("russ*" among "rus*");
# when fewer do ("derl*" among "der*"), FTS5 looks the prefix up itself, a rare one cheaply.
CUT_PREFIX_YIELD = 8
# Search checks this many of the newest matches before going on with a cut prefix.
PREFIX_SAMPLE = 100
# When a search of common words has at most this many matches, which of them hold the words
# in their headline is checked in Python, cheaply, rather than by FTS5.
HEADLINE_CHECKS = 100
# A Chinese character alone (typed for autocomplete, or a common one searched for) is looked
# for in this many of the newest events before FTS5 is asked (see _newest_holding).
CHARACTER_SCAN = 2_000
# The newest events whose headline holds a headline_phrase() (its two parameters: the phrase
# and how many).
NEWEST_IN_A_ROW = (
    "SELECT rowid FROM headline_pairs WHERE headline_pairs MATCH ? ORDER BY rowid DESC LIMIT ?"
)


def _too_few_hold(kept: int, read: int) -> bool:
    """Whether a cut prefix is not worth it: fewer than 1 in CUT_PREFIX_YIELD of the
    matches read hold the whole prefix."""
    return kept * CUT_PREFIX_YIELD < read


@dataclass(frozen=True, slots=True)
class _WordSearch:
    """What search() hands on to its word matching: the text, its filters as index
    expressions, and the exact conditions (SQL on events e) with their parameters."""

    text: str
    filters: list[str]
    where: str
    params: Sequence[object]
    want: int
    language: str | None = None  # 'en', 'zh': matches are walked in that edition only


def _headlines_holding(rows: Iterable[Sequence[Any]], text: str) -> list[int]:
    """The ids of the (id, headline, ...) rows whose headline holds the words of text."""
    holds = text_matcher(text)
    return [row[0] for row in rows if holds(row[1])]


class SQLiteSearch:
    """Events found by their words, and by their dates and entities alone."""

    def __init__(self, db: Database):
        self.db = db
        # term_counts(): expression -> the largest cap it was counted beyond. Events are
        # added far more than removed, so a common word stays common, and counting it
        # again (up to COMMON_TERM_EVENTS + 1) is not free.
        self._counted_beyond: dict[str, int] = {}

    async def search(
        self, query: SearchFilter, *, limit: int = 10, offset: int = 0
    ) -> list[SearchHit]:
        """Events matching words (headline, summary, attached articles) and the filters.

        First the events whose headline holds the words as typed, in a row, newest first
        (_in_headline). Then the best matches: bm25 over the rarer words (headline words
        weigh more); when every word is common or a stop word, headline matches first,
        then newest first (COMMON_TERM_EVENTS). Matches are ranked among the newest
        SEARCH_WINDOW of them, more when the filters leave too few. Dates and entities are
        words of the index too (migration 0006), so FTS5 intersects them with the text's
        words rather than scoring every match of a common word.
        """
        # An item taken off the portal page it came from is not offered (its card says so).
        conditions: list[str] = ["e.removed_at IS NULL"]
        params: list[object] = []
        if query.entity_ids is not None:
            if not query.entity_ids:
                return []
            conditions.append(
                "EXISTS (SELECT 1 FROM event_entities f WHERE f.event_id = e.id"
                f" AND f.entity_id IN ({placeholders(len(query.entity_ids))}))"
            )
            params.extend(query.entity_ids)
        if query.since:
            conditions.append("e.date >= ?")
            params.append(query.since.isoformat())
        if query.until:
            conditions.append("e.date <= ?")
            params.append(query.until.isoformat())
        if (lang := event_rows.edition(query.language)) is not None:
            # Not a word of the index: the rows are filtered, and matches walked in the
            # edition only (_newest_matches).
            conditions.append("e.lang = ?")
            params.append(lang)
        where = " AND ".join(conditions)
        if not query.text.strip():
            return await self._browse(query, limit=limit, offset=offset)
        if contradicts_itself(query.text):
            return []
        want = offset + limit
        # The filters as words of the index, for FTS5 to intersect with the text's.
        filters = [f for f in (await self._period_match(query),) if f]
        if query.entity_ids:
            filters.append(entities_match(query.entity_ids))
        words = _WordSearch(
            query.text, filters, where, params, want, event_rows.edition(query.language)
        )
        in_headline = await self._in_headline(words)
        if len(in_headline) < want:
            # The others as ranked, enough of them that those already found can go.
            words = replace(words, want=want + len(in_headline))
            check = prefix_check(query.text)
            rows = await self._search_words(words, check) if check else None
            if rows is None:
                rows = await self._search_words(words, None) or []
            first = {row["id"] for row in in_headline}
            in_headline += [row for row in rows if row["id"] not in first]
        return [SearchHit(event_rows.brief(row)) for row in in_headline[offset:want]]

    async def _in_headline(self, words: _WordSearch) -> list[aiosqlite.Row]:
        """Among the newest SEARCH_WINDOW events whose headline holds the words in a row
        (headline_phrase), those passing the filters, newest first: what search puts
        first. headline_pairs finds them cheaply, even for common words."""
        phrase = headline_phrase(words.text)
        if phrase is None:
            return []
        return await self.db.fetchall(
            f"WITH phrase(id) AS MATERIALIZED ({NEWEST_IN_A_ROW})"
            f" SELECT {event_rows.BRIEF_COLUMNS} FROM phrase JOIN events e ON e.id = phrase.id"
            f" WHERE {words.where} ORDER BY e.date DESC, e.id DESC LIMIT ?",
            (phrase, SEARCH_WINDOW, *words.params, words.want),
        )

    async def _search_words(
        self, words: _WordSearch, check: Callable[[str], bool] | None
    ) -> list[aiosqlite.Row] | None:
        """search() once it has words. With a check, long prefixes are looked up by their
        first letters (prefix_check); None when too few of the newest matches hold the whole
        prefix, and FTS5 should look it up itself."""
        text = words.text
        cut = INDEXED_PREFIX if check else None
        match = build_match(text, cut=cut)
        if match is None:
            return []
        event_match = " AND ".join(f"({part})" for part in (in_text(match), *words.filters))
        # Ranked by the rare words only (COMMON_TERM_EVENTS); with none, headline matches
        # first. Either way the matches of the full expression are what is ranked.
        counts = await self.term_counts(token_expressions(text, cut=cut), cap=COMMON_TERM_EVENTS)
        common = {t for t, n in counts.items() if n > COMMON_TERM_EVENTS}
        rank_by = ranking_match(text, common, cut=cut)
        if rank_by is not None:
            scored_match, event_score = in_text(rank_by), EVENT_RANK
            article_score = "bm25(article_search, 2.0, 1.0) / 2"
        else:
            scored_match = " AND ".join([f"headline : ({match})", *words.filters])
            event_score, article_score = "-1.0", "0"
        articles_match = build_match(text)  # articles: few, and found by what was typed
        # An excluded term leaves an event out when its own text or any of its articles
        # holds it, wherever the words to find were: the event's own matches hold none of
        # their text's already, those found by an article are checked against the event's
        # text, and every candidate against its articles (by their index, by rowid: few,
        # like the terms), before the LIMIT, so that a page is never short.
        excluded = excluded_match(text)
        own_text = left_out = ""
        own_params: tuple[str, ...] = ()
        left_out_params: tuple[str, ...] = ()
        if excluded is not None:
            own_text = (
                " AND NOT EXISTS (SELECT 1 FROM event_search"
                " WHERE event_search MATCH ? AND rowid = a.event_id)"
            )
            own_params = (in_text(excluded),)
            # CROSS JOIN: an event's articles by their index, each looked up in FTS5 by rowid.
            left_out = (
                " AND NOT EXISTS (SELECT 1 FROM articles x CROSS JOIN article_search"
                " ON article_search.rowid = x.id"
                " WHERE x.event_id = e.id AND article_search MATCH ?)"
            )
            left_out_params = (excluded,)
        floor = 0
        if stop_word_phrase(text):
            row = await self.db.fetchone("SELECT max(id) FROM events")
            floor = max(0, (row[0] if row and row[0] else 0) - STOP_PHRASE_EVENTS + 1)
        window = SEARCH_WINDOW
        few_likely = few_matches_likely(text)
        # A common character alone (rare ones FTS5 finds cheaply): see _newest_holding.
        character = None if rank_by or words.filters else lone_character(text)
        while True:
            held = None
            if character is not None:
                held = await self._newest_holding(
                    character, window, in_summary=True, language=words.language
                )
            if held is not None:
                newest = [row[0] for row in held]
            else:
                newest = await self._newest_matches(
                    event_match, window, floor, few_likely=few_likely, language=words.language
                )
            lowest = newest[-1] if len(newest) == window else floor
            ids = newest
            if check is not None:
                # Only while the window is full is there more to find that FTS5 could.
                holding = await self._holding(ids, check, may_give_up=lowest > floor)
                if holding is None:
                    return None
                ids = holding
            few = lowest == floor and len(ids) <= HEADLINE_CHECKS
            if rank_by is None and (few or character is not None):
                # ids are all the matches, and few (or FTS5 would merge a character's
                # bigrams again): which hold the words in their headline is quicker to
                # check here than by FTS5 walking every event of each again.
                scored = "SELECT value AS id, -1.0 AS score FROM json_each(?)"
                holders = (
                    _headlines_holding(held, text)  # their headlines are read already
                    if held is not None
                    else await self._headline_holders(ids, text)
                )
                scored_params: tuple[object, ...] = (json.dumps(holders),)
            else:
                # `+rowid`: an IN handed to FTS5 would start its query (and bm25's
                # counting) anew for every id.
                scored = (
                    f"SELECT rowid AS id, {event_score} AS score FROM event_search"
                    " WHERE event_search MATCH ? AND rowid >= ? AND +rowid IN newest"
                )
                scored_params = (scored_match, lowest)
            rows = await self.db.fetchall(
                "WITH newest(id) AS (SELECT value FROM json_each(?)),"
                # MATERIALIZED: FTS5 walks the matches once.
                f" scored AS MATERIALIZED ({scored}), hits AS ("
                "  SELECT n.id, coalesce(s.score, 0) AS score"
                "  FROM newest n LEFT JOIN scored s ON s.id = n.id"
                "  UNION ALL"
                f"  SELECT a.event_id, {article_score}"
                "  FROM article_search JOIN articles a ON a.id = article_search.rowid"
                f"  WHERE article_search MATCH ?{own_text}"
                " ), best AS (SELECT id, MIN(score) AS score FROM hits GROUP BY id)"
                f" SELECT {event_rows.BRIEF_COLUMNS} FROM best JOIN events e ON e.id = best.id"
                f" WHERE {words.where}{left_out}"
                " ORDER BY best.score, e.date DESC, e.id DESC LIMIT ?",
                (
                    json.dumps(ids),
                    *scored_params,
                    articles_match,
                    *own_params,
                    *words.params,
                    *left_out_params,
                    words.want,
                ),
            )
            if len(rows) >= words.want or lowest == floor:
                return list(rows)
            window *= 8

    async def _newest_matches(
        self,
        match: str,
        limit: int,
        floor: int = 0,
        *,
        few_likely: bool = False,
        language: str | None = None,
    ) -> list[int]:
        """The ids of the newest `limit` events matching in event_search (from id floor),
        newest first. FTS5 walks its doclists forwards faster than backwards. When few
        matches are likely (few_matches_likely), they are read forwards, and FTS5 walks
        back from the newest only when they turn out to be more than the limit. Over the
        benchmark's searches that saves time overall, and a walk done twice costs little.

        With a language ('en', 'zh'), only the matches in that edition count: each match's
        event is looked up by id as FTS5 walks, so that a search in one edition does not
        rank (and throw away) the other's matches, all of them when none are its own."""
        if language is None:
            walk = "SELECT rowid FROM event_search WHERE event_search MATCH ? AND rowid >= ?"
            params: tuple[object, ...] = (match, floor)
        else:
            walk = (
                "SELECT s.rowid FROM event_search s JOIN events e ON e.id = s.rowid"
                " WHERE event_search MATCH ? AND s.rowid >= ? AND e.lang = ?"
            )
            params = (match, floor, language)
        order = "rowid" if language is None else "s.rowid"
        if few_likely:
            rows = await self.db.fetchall(f"{walk} ORDER BY {order} LIMIT ?", (*params, limit + 1))
            if len(rows) <= limit:
                return [row[0] for row in reversed(rows)]
        rows = await self.db.fetchall(f"{walk} ORDER BY {order} DESC LIMIT ?", (*params, limit))
        return [row[0] for row in rows]

    async def _headline_holders(self, ids: list[int], text: str) -> list[int]:
        """The events among ids whose headline holds the words of text."""
        rows = await self.db.fetchall(
            "SELECT id, headline FROM events WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        return _headlines_holding(rows, text)

    async def _holding(
        self, ids: list[int], check: Callable[[str], bool], *, may_give_up: bool
    ) -> list[int] | None:
        """The events among ids (newest first) whose text passes check (prefix_check).
        None, when it may, if too few of the first PREFIX_SAMPLE do (CUT_PREFIX_YIELD)."""
        kept: list[int] = []
        for part in (ids[:PREFIX_SAMPLE], ids[PREFIX_SAMPLE:]):
            if not part:
                break
            rows = await self.db.fetchall(
                "SELECT id, headline, summary FROM events"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(part),),
            )
            kept += [row[0] for row in rows if check(f"{row[1]}\n{row[2]}")]
            if may_give_up and _too_few_hold(len(kept), len(part)):
                return None
            may_give_up = False  # the sample decides
        return kept

    async def term_counts(self, expressions: Sequence[str], *, cap: int) -> dict[str, int]:
        """How many events' text holds each expression, counted up to cap + 1: enough to
        tell a rare word from a common one without walking all of a common word's events.
        One counted beyond the cap once is not counted again (_counted_beyond)."""
        known = {e: cap + 1 for e in expressions if self._counted_beyond.get(e, -1) >= cap}
        unknown = [e for e in expressions if e not in known]
        if not unknown:
            return known
        count = (
            "(SELECT count(*) FROM (SELECT 1 FROM event_search WHERE event_search MATCH ? LIMIT ?))"
        )
        row = await self.db.fetchone(
            "SELECT " + ", ".join([count] * len(unknown)),
            [value for e in unknown for value in (in_text(e), cap + 1)],
        )
        assert row is not None
        counted = dict(zip(unknown, row, strict=True))
        if len(self._counted_beyond) > MAX_COUNTED_BEYOND:
            self._counted_beyond.clear()
        for expression, count_found in counted.items():
            if count_found > cap:
                self._counted_beyond[expression] = cap
        return known | counted

    async def _period_match(self, query: SearchFilter) -> str | None:
        """The search's date range as an event_search expression (see period_match)."""
        if not (query.since or query.until):
            return None
        since, until = query.since, query.until
        if since is None or until is None:
            # Two subqueries: each MIN/MAX alone is one step down the date index.
            row = await self.db.fetchone(
                "SELECT (SELECT MIN(date) FROM events), (SELECT MAX(date) FROM events)"
            )
            if row is None or row[0] is None:
                return None
            since, until = since or event_rows.as_date(row[0]), until or event_rows.as_date(row[1])
        return period_match(since, until)

    async def _browse(self, query: SearchFilter, *, limit: int, offset: int) -> list[SearchHit]:
        """No words: the newest events of the entity and/or date range, from an index."""
        bounds: list[object] = [
            query.since.isoformat() if query.since else "0000-00-00",
            query.until.isoformat() if query.until else "9999-99-99",
        ]
        lang = event_rows.edition(query.language)
        in_edition = " AND e.lang = ?" if lang else ""
        if lang:
            bounds.append(lang)
        if query.entity_ids:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM event_entities f JOIN events e ON e.id = f.event_id"
                f" WHERE f.entity_id IN ({placeholders(len(query.entity_ids))})"
                f" AND f.date >= ? AND f.date <= ?{in_edition} AND e.removed_at IS NULL"
                " ORDER BY f.date DESC, f.event_id DESC LIMIT ? OFFSET ?",
                (*query.entity_ids, *bounds, limit, offset),
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.date >= ? AND e.date <= ?"
                f"{in_edition} AND e.removed_at IS NULL ORDER BY e.date DESC, e.id DESC"
                " LIMIT ? OFFSET ?",
                (*bounds, limit, offset),
            )
        return [SearchHit(event_rows.brief(row)) for row in rows]

    async def suggest_headlines(
        self, text: str, *, limit: int = 25, language: str | None = None
    ) -> list[EventBrief]:
        """Autocomplete: the headlines holding the words typed in a row (headline_phrase;
        among the newest HEADLINE_POOL, newest first). When none do, or the words are not
        pairs (one word, Chinese), among the newest HEADLINE_POOL headlines holding all the
        words, those holding them as a phrase first, then the others; newest first within
        each. Empty input: the newest events. A language ('en', 'zh') keeps that edition's
        events of the pool ('all', None: both).

        Newest first lets FTS5 stop after the pool instead of ranking every match, and the
        phrase is checked in Python within the pool: asked of event_search, a phrase of
        common words is checked in every headline holding them all.
        A letter starting a word is not looked up (without_letter_typed), but the headlines
        holding it as typed come first."""
        typed = text
        lang = event_rows.edition(language)
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        if (shorter := without_letter_typed(text)) is not None:
            text = shorter
        if not text.strip():
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.removed_at IS NULL"
                f"{in_edition} ORDER BY e.date DESC, e.id DESC LIMIT ?",
                (*edition_params, limit),
            )
            return [event_rows.brief(row) for row in rows]
        words = text.split()
        # A last word that is a stop word as typed ("their") is left out like the others,
        # rather than looked up as a prefix of thousands of words; the phrase keeps it.
        prefix_last = text.endswith(" ") or fold(words[-1]) not in STOP_WORDS
        phrase = headline_phrase(text, prefix_last=prefix_last)
        if phrase is not None:
            rows = await self.db.fetchall(
                f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e WHERE e.id IN ({NEWEST_IN_A_ROW})"
                f"{in_edition} AND e.removed_at IS NULL ORDER BY e.date DESC, e.id DESC LIMIT ?",
                (phrase, HEADLINE_POOL, *edition_params, limit),
            )
            if rows:
                return [event_rows.brief(row) for row in rows]
        pool = None
        if (character := lone_character(text, prefix_last=prefix_last)) is not None:
            pool = await self._newest_holding(character, HEADLINE_POOL, language=lang)
        if pool is None and (check := prefix_check(text, prefix_last=prefix_last)) is not None:
            pool = await self._newest_headlines(text, prefix_last, check, language=lang)
        if pool is None:
            pool = await self._newest_headlines(text, prefix_last, None, language=lang) or []
        in_phrase = phrase_matcher(typed)
        pool.sort(key=lambda row: (row[2], row[0]), reverse=True)
        pool.sort(key=lambda row: not in_phrase(row[1]))  # stable: newest first within
        ids = [row[0] for row in pool[:limit]]
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM events e"
            " WHERE e.id IN (SELECT value FROM json_each(?)) AND e.removed_at IS NULL",
            (json.dumps(ids),),
        )
        briefs = {row["id"]: event_rows.brief(row) for row in rows}
        return [briefs[i] for i in ids if i in briefs]

    async def _newest_headlines(
        self,
        text: str,
        prefix_last: bool,
        check: Callable[[str], bool] | None,
        *,
        language: str | None = None,
    ) -> list[tuple[int, str, str]] | None:
        """(id, headline, date) of the newest HEADLINE_POOL events whose headline holds the
        words; with a language ('en', 'zh'), those of them in it. With a check, a long
        prefix is looked up by its first letters and checked; None when too few of them
        hold it (CUT_PREFIX_YIELD, over all the languages)."""
        match = build_match(text, prefix_last=prefix_last, cut=INDEXED_PREFIX if check else None)
        if match is None:
            return []
        ids = await self._newest_matches(
            f"headline : ({match})",
            HEADLINE_POOL,
            few_likely=few_matches_likely(text, prefix_last=prefix_last),
        )
        rows = await self.db.fetchall(
            "SELECT id, headline, date, lang FROM events"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        pool = [(row[0], row[1], row[2]) for row in rows]
        if check is not None:
            kept = [row for row in pool if check(row[1])]
            if len(pool) == HEADLINE_POOL and _too_few_hold(len(kept), len(pool)):
                return None
            pool = kept
        if language is not None:
            in_language = {row[0] for row in rows if row[3] == language}
            pool = [row for row in pool if row[0] in in_language]
        return pool

    async def _newest_holding(
        self, character: str, limit: int, *, in_summary: bool = False, language: str | None = None
    ) -> list[tuple[int, str, str]] | None:
        """(id, headline, date) of the newest `limit` events whose headline (or summary)
        holds one Chinese character (lone_character), read from the newest CHARACTER_SCAN
        events (only those in a language, 'en' or 'zh', if given); None when fewer hold it
        there. FTS5 finds a character alone by merging the
        doclists of every bigram that starts with it, slow for a common character, which
        the newest few hundred headlines hold often enough. A rarer character costs this
        scan, short, and then a cheap lookup in FTS5."""
        # In simplified characters, as the index holds them (texts are kept as written).
        holds = (
            "(instr(simplified(headline), ?1) OR instr(simplified(summary), ?1))"
            if in_summary
            else "instr(simplified(headline), ?1)"
        )
        in_edition = " AND lang = ?4" if language else ""
        rows = await self.db.fetchall(
            "SELECT id, headline, date FROM events"
            f" WHERE id > (SELECT max(id) FROM events) - ?2 AND searchable AND {holds}"
            f"{in_edition} ORDER BY id DESC LIMIT ?3",
            (character, CHARACTER_SCAN, limit, *((language,) if language else ())),
        )
        if len(rows) < limit:
            return None
        return [(row[0], row[1], row[2]) for row in rows]

    async def closest(
        self, text: str, *, limit: int = 5, language: str | None = None
    ) -> list[EventBrief]:
        """Suggestions for text that matched nothing. When some of its words are not in the
        archive (a typo, a word never used): the events holding the others and a word that
        starts as each unknown one does (its first four letters), else the others alone.
        Failing that, events holding any of the known words, ranked by the rare ones, else
        newest first. Only headlines in the text's script are suggested: Chinese for
        Chinese, none for Latin (a Chinese headline quoting two English words is no help),
        either for text in both or neither; and with a language ('en', 'zh'; 'all' or None:
        both), only events in it."""
        lang = event_rows.edition(language)
        # More than are shown when some may be in the other script and left out.
        pool = limit if any_script(text) else limit * 4

        def in_script(briefs: list[EventBrief]) -> list[EventBrief]:
            return [b for b in briefs if same_script(text, b.headline)][:limit]

        words = suggestion_words(text)
        exact = {word: quoted([word]) for word in words}
        counts = await self.term_counts(list(exact.values()), cap=COMMON_TERM_EVENTS)
        known = [exact[word] for word in words if counts[exact[word]]]
        starts = [
            start
            for word in words
            if not counts[exact[word]] and len(word) > 4 and not has_cjk(word)
            if await self.search(SearchFilter(start := f"{word[:4]}*", language=lang), limit=1)
        ]
        if len(known) < len(words):
            for terms in ([*known, *starts], known if starts else []):
                if not terms:
                    continue
                hits = await self.search(SearchFilter(" ".join(terms), language=lang), limit=pool)
                if found := in_script([hit.event for hit in hits]):
                    return found
        if not known:
            return []
        rare = [term for term in known if counts[term] <= COMMON_TERM_EVENTS]
        # bm25 over rare words only: it counts every event holding each word it ranks by.
        order = EVENT_RANK if rare else "event_search.rowid DESC"
        in_edition, edition_params = (" AND e.lang = ?", (lang,)) if lang else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {event_rows.BRIEF_COLUMNS} FROM event_search JOIN events e ON e.id = event_search.rowid"
            f" WHERE event_search MATCH ?{in_edition} ORDER BY {order} LIMIT ?",
            (in_text(" OR ".join(rare or known)), *edition_params, pool),
        )
        return in_script([event_rows.brief(row) for row in rows])
