"""Lookup latency: what people ask, timed through Chronicle and as the bare SQL beneath it.

Each row is one kind of lookup, made with at least --queries varied inputs drawn from the
database itself (popular and rare entities, short and long words, Chinese, dates across the
range). Every input is timed twice, back to back: once through the code the bot and the CLI
run (bot.services.lookups / the storage repositories, over aiosqlite), once as the single
bare SQL statement that lookup is built on, on a plain sqlite3 connection. The ratio says
how much Chronicle adds to what SQLite must do anyway; a bare time that is itself too slow
says the schema or the query shape must change, not the Python around it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.errors import UserError
from bot.services import lookups
from storage import Storage
from storage.models import EntityName, EventBrief
from storage.sqlite.fts import EVENT_RANK, build_match, headline_phrase, in_text, phrase_match
from storage.sqlite.search import NEWEST_IN_A_ROW
from storage.textindex import CJK_RUN, fold

Progress = Callable[[str, int, int], None]
_WORD = re.compile(r"[^\W_]+")
_TYPED_WORD = re.compile(r"\S+")

# What "bare" means, row by row (printed under the results table).
BARE = {
    "key": "the key's index lookup: SELECT id FROM events WHERE key = ?",
    "fts1": "the FTS5 MATCH of the same expression, best 1 by the same bm25 weights, rowid only",
    "pairs1": "the headline_pairs MATCH of the words in a row, newest 1, rowid only (when one is)",
    "fts25": "the FTS5 MATCH on headlines (the phrase expression), best 25 by bm25, rowid only",
    "newest": "the newest 25 events from the date index",
    "prefix": "the folded-name index range scan: SELECT id FROM entities WHERE folded >= ? AND folded < ? LIMIT 25",
    "fts11": "the FTS5 MATCH of the same expression, best 11 by the same bm25 weights, rowid only",
    "fts11_dates": "the FTS5 MATCH joined to events for the date range, best 11 by bm25",
    "fts11_entity": "the FTS5 MATCH, each hit checked against the entity by primary key, best 11 by bm25",
    "month_day": "the month-day index lookup: SELECT id FROM events WHERE month_day = ? AND date < ? ORDER BY date DESC LIMIT 11",
    "postings": "reading the postings the rule ranks: COUNT(*) of event_entities rows of the event's entities",
    "entity": "the folded-name index lookup: SELECT id, event_count FROM entities WHERE folded = ?",
}


@dataclass(slots=True)
class Query:
    """One input: how Chronicle answers it, and the bare statement underneath."""

    label: str
    run: Callable[[Storage], Awaitable[Any]]
    bare_sql: str
    bare_params: tuple[Any, ...]
    bare_kind: str


@dataclass(slots=True)
class LatencyRow:
    name: str
    target_ms: float | None
    bare_kinds: list[str] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    errors: int = 0  # inputs Chronicle answered with a user error (no match, ...): still timed
    bare_failed: str | None = None  # the bare statement could not run (schema changed)
    stopped_early: bool = False
    slowest: list[tuple[float, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.times_ms)

    @property
    def p50(self) -> float:
        return percentile(self.times_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.times_ms, 99)

    @property
    def bare_p50(self) -> float | None:
        return percentile(self.bare_ms, 50) if self.bare_ms else None

    @property
    def bare_p99(self) -> float | None:
        return percentile(self.bare_ms, 99) if self.bare_ms else None

    @property
    def passed(self) -> bool | None:
        return None if self.target_ms is None or not self.times_ms else self.p99 < self.target_ms


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 values is the 10th largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# --- inputs drawn from the database ----------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """What the queries are made of, read once from the database."""

    events: list[tuple[int, str, str, str, str]]  # id, key, headline, lang, date
    zh_events: list[tuple[int, str, str, str, str]]
    hot_events: list[tuple[int, str, str, str, str]]  # events naming a top-20 entity
    hot_entities: list[tuple[int, str, int]]  # id, name, event count (top 100)
    entities: list[tuple[int, str, int]]  # uniformly random: mostly the long tail
    first_year: int
    last_year: int


def _event_rows(db: sqlite3.Connection, ids: Sequence[int]) -> list[tuple[int, str, str, str, str]]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return db.execute(
        f"SELECT id, key, headline, lang, date FROM events WHERE complete = 1 AND id IN ({marks})",
        list(ids),
    ).fetchall()


def sample(db: sqlite3.Connection, rng: random.Random, count: int) -> Sample:
    max_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    events: list[tuple[int, str, str, str, str]] = []
    for _ in range(20):
        if len(events) >= count or not max_id:
            break
        events += _event_rows(db, [rng.randint(1, max_id) for _ in range(min(900, count * 2))])
    zh_ids = [r[0] for r in db.execute("SELECT id FROM events WHERE lang = 'zh' AND complete = 1")]
    zh_events = _event_rows(db, rng.sample(zh_ids, min(len(zh_ids), 900)))
    hot_entities = db.execute(
        "SELECT id, name, event_count FROM entities WHERE event_count > 0"
        " ORDER BY event_count DESC LIMIT 100"
    ).fetchall()
    hot_ids: list[int] = []
    for entity_id, _, n in hot_entities[:20]:
        offset = rng.randrange(max(1, n - 60))
        hot_ids += [
            r[0]
            for r in db.execute(
                "SELECT event_id FROM event_entities WHERE entity_id = ? LIMIT 60 OFFSET ?",
                (entity_id, offset),
            )
        ]
    hot_events = _event_rows(db, rng.sample(hot_ids, min(len(hot_ids), 900)))
    max_entity = db.execute("SELECT COALESCE(MAX(id), 0) FROM entities").fetchone()[0]
    entities: list[tuple[int, str, int]] = []
    for _ in range(20):
        if len(entities) >= count or not max_entity:
            break
        ids = [rng.randint(1, max_entity) for _ in range(min(900, count * 2))]
        entities += db.execute(
            "SELECT id, name, event_count FROM entities WHERE event_count > 0"
            f" AND id IN ({','.join('?' * len(ids))})",
            ids,
        ).fetchall()
    first, last = db.execute("SELECT MIN(date), MAX(date) FROM events").fetchone()
    return Sample(
        events=events[: count * 2],
        zh_events=zh_events,
        hot_events=hot_events,
        hot_entities=hot_entities,
        entities=entities[: count * 2],
        first_year=int(first[:4]) if first else 1990,
        last_year=int(last[:4]) if last else 2026,
    )


def words_of(text: str) -> list[str]:
    """The words of a text as the index splits them (punctuation and spaces between)."""
    return _WORD.findall(text)


def _typed(rng: random.Random, headline: str, lang: str) -> str:
    """What someone has typed so far of a headline: a few words, the last one cut short."""
    if lang == "zh" or CJK_RUN.search(headline):
        run = max(CJK_RUN.findall(headline) or [headline], key=len)
        start = rng.randrange(max(1, len(run) - 4))
        return run[start : start + rng.randint(1, 4)]
    # As written, punctuation and all ("iraq's", "al-a"): a word's parts are looked up too.
    words = list(_TYPED_WORD.finditer(headline.lower()))
    start = 0 if rng.random() < 0.6 else rng.randrange(len(words))
    chosen = words[start : start + rng.randint(1, 3)]
    last = chosen[-1]
    end = last.start() + rng.randint(1, len(last.group())) if rng.random() < 0.7 else last.end()
    return headline.lower()[chosen[0].start() : end]


def _few_words(rng: random.Random, headline: str, lang: str, low: int, high: int) -> str:
    """A run of words from a headline, as someone remembering it would type them."""
    if lang == "zh" or CJK_RUN.search(headline):
        run = max(CJK_RUN.findall(headline) or [headline], key=len)
        start = rng.randrange(max(1, len(run) - 3))
        return run[start : start + rng.randint(2, 4)]
    words = [w for w in words_of(headline) if not w.isdigit()]
    size = rng.randint(low, high)
    start = rng.randrange(max(1, len(words) - size + 1))
    return " ".join(words[start : start + size])


def _suggest_headlines(st: Storage, text: str) -> Awaitable[list[EventBrief]]:
    return st.search.suggest_headlines(text, limit=25)


def _suggest_entities(st: Storage, text: str) -> Awaitable[list[EntityName]]:
    return st.entities.suggest(text, limit=25)


def _bm25_bare(match: str | None, limit: int) -> tuple[str, tuple[Any, ...]]:
    return (
        f"SELECT rowid FROM event_search WHERE event_search MATCH ? ORDER BY {EVENT_RANK} LIMIT ?",
        (in_text(match or '""'), limit),
    )


def show_by_key(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        pool = s.hot_events if s.hot_events and rng.random() < 0.2 else s.events
        _, key, _, _, _ = rng.choice(pool)
        typed = key if rng.random() < 0.8 else f"https://thecontext.net/news/{key}.html"
        out.append(
            Query(
                typed,
                partial(lookups.event_card, query=typed),
                "SELECT id FROM events WHERE key = ?",
                (key,),
                "key",
            )
        )
    return out


def show_by_words(s: Sample, rng: random.Random, db: sqlite3.Connection, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        pool = s.zh_events if s.zh_events and rng.random() < 0.05 else s.events
        _, _, headline, lang, _ = rng.choice(pool)
        text = _few_words(rng, headline, lang, 2, 6)
        # Built on the headline pairs when the words are in a row in some headline.
        sql = NEWEST_IN_A_ROW
        phrase = headline_phrase(text)
        if phrase is not None and db.execute(sql, (phrase, 1)).fetchone():
            params: tuple[Any, ...] = (phrase, 1)
            kind = "pairs1"
        else:
            sql, params = _bm25_bare(build_match(text), 1)
            kind = "fts1"
        out.append(Query(text, partial(lookups.event_card, query=text), sql, params, kind))
    return out


def autocomplete_events(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        if rng.random() < 0.03:
            text = ""
            sql = "SELECT id FROM events ORDER BY date DESC, id DESC LIMIT 25"
            params: tuple[Any, ...] = ()
            kind = "newest"
        else:
            pool = s.zh_events if s.zh_events and rng.random() < 0.05 else s.events
            _, _, headline, lang, _ = rng.choice(pool)
            text = _typed(rng, headline, lang)
            phrase = phrase_match(text) or '""'
            sql, params = _bm25_bare(f"headline : ({phrase})", 25)
            kind = "fts25"
        out.append(
            Query(
                text,
                partial(_suggest_headlines, text=text),
                sql,
                params,
                kind,
            )
        )
    return out


def autocomplete_entities(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    names = [name for _, name, _ in s.entities] or ["a"]
    popular = [name for _, name, _ in s.hot_entities] or names
    for _ in range(n):
        name = rng.choice(popular if rng.random() < 0.3 else names)
        if rng.random() < 0.2:
            # A word from inside the name ("election" for "... general election, 2017").
            words = words_of(name) or [name]
            typed = rng.choice(words)[: rng.randint(2, 8)]
        else:
            typed = name[: rng.randint(1, min(10, len(name)))]
        folded = fold(typed)
        out.append(
            Query(
                typed,
                partial(_suggest_entities, text=typed),
                "SELECT id FROM entities WHERE folded >= ? AND folded < ? LIMIT 25",
                (folded, folded + "\U0010ffff"),
                "prefix",
            )
        )
    return out


def _english_text(rng: random.Random, s: Sample) -> str:
    _, _, headline, _, _ = rng.choice(s.events)
    words = [w for w in words_of(headline) if not w.isdigit()] or ["news"]
    shape = rng.random()
    if shape < 0.35:
        return rng.choice(words)  # one word: common or rare, as the headline has them
    if shape < 0.6:
        return _few_words(rng, headline, "en", 2, 3)
    if shape < 0.7:
        return f'"{_few_words(rng, headline, "en", 2, 3)}"'
    if shape < 0.8:  # one letter and a star is refused (it would match almost everything)
        return rng.choice([w for w in words if len(w) > 1] or ["news"])[:4] + "*"
    if shape < 0.9:
        other = rng.choice(s.events)[2]
        return f"{rng.choice(words)} OR {rng.choice(words_of(other) or ['news'])}"
    return f"{rng.choice(words)} -{rng.choice(words)}"


def search_english(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        text = _english_text(rng, s)
        match = build_match(text)
        since = until = None
        if rng.random() < 0.25:
            year = rng.randint(s.first_year, s.last_year)
            since = dt.date(year, rng.randint(1, 12), 1)
            until = since + dt.timedelta(days=rng.choice((30, 365, 365 * 5)))
        if since and until:
            sql = (
                "SELECT s.rowid FROM event_search s JOIN events e ON e.id = s.rowid"
                " WHERE event_search MATCH ? AND e.date >= ? AND e.date <= ?"
                f" ORDER BY {EVENT_RANK} LIMIT 11"
            )
            params: tuple[Any, ...] = (
                in_text(match or '""'),
                since.isoformat(),
                until.isoformat(),
            )
            kind = "fts11_dates"
        else:
            sql, params = _bm25_bare(match, 11)
            kind = "fts11"
        out.append(
            Query(
                text + (f" [{since}..{until}]" if since else ""),
                partial(lookups.search, text=text, since=since, until=until, limit=11),
                sql,
                params,
                kind,
            )
        )
    return out


def search_chinese(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    pool = s.zh_events or s.events
    for _ in range(n):
        _, _, headline, lang, _ = rng.choice(pool)
        text = _few_words(rng, headline, lang, 1, 2)
        sql, params = _bm25_bare(build_match(text), 11)
        out.append(Query(text, partial(lookups.search, text=text, limit=11), sql, params, "fts11"))
    return out


def search_entity(s: Sample, rng: random.Random, db: sqlite3.Connection, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        entity_id, name, _ = rng.choice(
            s.hot_entities if s.hot_entities and rng.random() < 0.3 else s.entities
        )
        # A word from one of the entity's events, or any word: a hit is likely, not certain.
        row = db.execute(
            "SELECT e.headline FROM event_entities ee JOIN events e ON e.id = ee.event_id"
            " WHERE ee.entity_id = ? LIMIT 1 OFFSET ?",
            (entity_id, rng.randrange(5)),
        ).fetchone()
        source = row[0] if row and rng.random() < 0.7 else rng.choice(s.events)[2]
        words = [w for w in words_of(source) if not w.isdigit()] or ["news"]
        text = rng.choice(words)
        out.append(
            Query(
                f"{text} @ {name}",
                partial(lookups.search, text=text, entity=name, limit=11),
                # Not "rowid IN (SELECT ...)": SQLite then runs the MATCH once per event of
                # the entity (seconds for a popular one). Scan the matches, check each.
                "SELECT s.rowid FROM event_search s JOIN event_entities ee"
                " ON ee.event_id = s.rowid AND ee.entity_id = ?"
                f" WHERE event_search MATCH ? ORDER BY {EVENT_RANK} LIMIT 11",
                (entity_id, in_text(build_match(text) or '""')),
                "fts11_entity",
            )
        )
    return out


def on_this_day(s: Sample, rng: random.Random, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(366))  # 2000: has 02-29
        typed = f"{day.month:02d}-{day.day:02d}"
        today = dt.date(rng.randint(s.first_year, s.last_year + 1), 6, 1)
        earlier = rng.random() < 0.5
        bound = f"{today.year:04d}-01-01" if earlier else "9999-12-31"
        out.append(
            Query(
                f"{typed}{' before ' + str(today.year) if earlier else ''}",
                partial(
                    lookups.on_this_day,
                    day=typed,
                    today=today,
                    earlier_years_only=earlier,
                    limit=11,
                ),
                "SELECT id FROM events WHERE month_day = ? AND date < ?"
                " ORDER BY date DESC LIMIT 11",
                (typed, bound),
                "month_day",
            )
        )
    return out


def related(s: Sample, rng: random.Random, n: int, hot_share: float) -> list[Query]:
    out = []
    for _ in range(n):
        pool = s.hot_events if s.hot_events and rng.random() < hot_share else s.events
        event_id, key, _, _, _ = rng.choice(pool)
        out.append(
            Query(
                key,
                partial(lookups.related_events, query=key, limit=10),
                "SELECT COUNT(*) FROM event_entities WHERE entity_id IN"
                " (SELECT entity_id FROM event_entities WHERE event_id = ?)",
                (event_id,),
                "postings",
            )
        )
    return out


def entity_profiles(s: Sample, rng: random.Random, n: int, hot_share: float) -> list[Query]:
    out = []
    for _ in range(n):
        _, name, _ = rng.choice(
            s.hot_entities if s.hot_entities and rng.random() < hot_share else s.entities
        )
        out.append(
            Query(
                name,
                partial(lookups.entity_profile, name=name),
                "SELECT id, event_count FROM entities WHERE folded = ?",
                (fold(name),),
                "entity",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class RowSpec:
    name: str
    target_ms: float | None
    make: Callable[[Sample, random.Random, sqlite3.Connection, int], list[Query]]


ROWS: tuple[RowSpec, ...] = (
    RowSpec("show by key", 25, lambda s, r, db, n: show_by_key(s, r, n)),
    RowSpec("show by words", 25, show_by_words),
    RowSpec("autocomplete: event headlines", 20, lambda s, r, db, n: autocomplete_events(s, r, n)),
    RowSpec("autocomplete: entity names", 20, lambda s, r, db, n: autocomplete_entities(s, r, n)),
    RowSpec("search (English)", 50, lambda s, r, db, n: search_english(s, r, n)),
    RowSpec("search (Chinese)", 50, lambda s, r, db, n: search_chinese(s, r, n)),
    RowSpec("search with entity filter", 50, lambda s, r, db, n: search_entity(s, r, db, n)),
    RowSpec("onthisday", 25, lambda s, r, db, n: on_this_day(s, r, n)),
    RowSpec("related (mixed)", 25, lambda s, r, db, n: related(s, r, n, 0.3)),
    RowSpec("related (top-20 entities)", 25, lambda s, r, db, n: related(s, r, n, 1.0)),
    RowSpec("entity (mixed)", 25, lambda s, r, db, n: entity_profiles(s, r, n, 0.2)),
    RowSpec("entity (top-100)", 25, lambda s, r, db, n: entity_profiles(s, r, n, 1.0)),
)


async def measure(
    storage: Storage,
    bare: sqlite3.Connection,
    *,
    queries: int,
    seed: int,
    budget_s: float,
    progress: Progress | None = None,
    rows: Sequence[RowSpec] = ROWS,
    time_bare: bool = True,
) -> list[LatencyRow]:
    """Run every row; a row that exceeds its time budget stops early and says so.

    `bare` (a plain sqlite3 connection to the archive) is where the inputs are drawn from;
    the bare statements are timed on it unless time_bare is False (Chronicle then runs on
    another backend, and SQLite's statements say nothing about it).

    A row's inputs go through Chronicle first, then the same inputs as bare SQL. Taken in
    turns, each Chronicle query followed a bare one that may have read a word's whole
    doclist (1.5 s at p99 for headline autocomplete at 1,000,000 events), and paid for
    the pages that read displaced: on the same database and code, headline autocomplete
    p99 6 ms alone and 34-38 ms in turns. A bot runs nothing like the bare queries."""
    rng = random.Random(f"{seed}:queries")
    inputs = sample(bare, rng, max(queries, 50))
    results: list[LatencyRow] = []
    for spec in rows:
        batch = spec.make(inputs, random.Random(f"{seed}:{spec.name}"), bare, queries)
        row = LatencyRow(spec.name, spec.target_ms, list(dict.fromkeys(q.bare_kind for q in batch)))
        for query in batch[: min(10, len(batch))]:  # warm-up: not timed
            await _timed(storage, query)
        started = time.perf_counter()
        for number, query in enumerate(batch, start=1):
            elapsed, failed = await _timed(storage, query)
            row.times_ms.append(elapsed)
            row.errors += failed
            row.slowest = sorted([*row.slowest, (elapsed, query.label)], reverse=True)[:5]
            if progress and (number % 50 == 0 or number == len(batch)):
                progress(spec.name, number, len(batch))
            if time.perf_counter() - started > budget_s and number < len(batch):
                row.stopped_early = True
                break
        for query in batch[: row.count if time_bare else 0]:
            try:
                row.bare_ms.append(_bare(bare, query))
            except sqlite3.Error as exc:
                row.bare_failed = f"{type(exc).__name__}: {exc}"
                break
        results.append(row)
    return results


async def _timed(storage: Storage, query: Query) -> tuple[float, bool]:
    started = time.perf_counter()
    failed = False
    try:
        await query.run(storage)
    except UserError:
        failed = True  # "no such event/entity": a real answer, and it was timed
    return (time.perf_counter() - started) * 1000, failed


def _bare(db: sqlite3.Connection, query: Query) -> float:
    started = time.perf_counter()
    db.execute(query.bare_sql, query.bare_params).fetchall()
    return (time.perf_counter() - started) * 1000
