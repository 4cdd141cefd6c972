"""Chinese in one script: a name written in traditional or simplified characters is one
entity, a search in either script finds both, and a database from before is brought
together by its migration."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import unicodedata
from contextlib import closing
from pathlib import Path

from storage import open_storage
from storage.keys import make_key
from storage.models import (
    DigestFilters,
    GuildSettings,
    PageRecord,
    SearchFilter,
)
from storage.sqlite import SQLiteStorage, event_rows
from storage.sqlite.db import connect_plain, migrations
from storage.textindex import CJK_RUN, cjk_tokens, fold, has_cjk, simplified
from tests.storage.digests_support import (
    SLOT,
    _slug,
    headlines,
    history,
    make_digest,
)
from tests.storage.events_support import arrive, entity
from tests.storage.test_chinese_scripts import SIMPLIFIED, TRADITIONAL
from tests.support.archives import archive_at_schema

GUILD, CHANNEL, USER = 1, 10, 100


async def test_a_database_from_before_is_brought_together(tmp_path: Path) -> None:
    """Written before the migration, the two spellings were two entities, each with its
    event and the traditional one with a subscriber: after it, one entity with both events
    and the subscriber, and the indexes answer in either script."""
    database = tmp_path / "c.db"
    async with await open_storage(database) as storage:
        await storage.events.import_batch([TRADITIONAL, SIMPLIFIED])
        simplified_event = await storage.events.get_by_key(SIMPLIFIED.key)
        assert simplified_event is not None
    db = connect_plain(database)
    # As a Chronicle from before wrote it: each spelling its own entity and folded name.
    db.execute("UPDATE entities SET folded = name WHERE name = '蘋果公司'")
    traditional = db.execute("SELECT id FROM entities WHERE name = '蘋果公司'").fetchone()[0]
    db.execute("INSERT INTO entities(name, folded) VALUES ('苹果公司', '苹果公司')")
    simplified = db.execute("SELECT id FROM entities WHERE name = '苹果公司'").fetchone()[0]
    db.execute(
        "UPDATE event_entities SET entity_id = ? WHERE event_id = ? AND entity_id = ?",
        (simplified, simplified_event.id, traditional),
    )
    db.execute(
        "INSERT INTO subscriptions(guild_id, user_id, entity_id, delivery, created_at)"
        " VALUES (1, 2, ?, 'dm', '2019-01-01T00:00:00Z')",
        (simplified,),
    )
    db.execute("DELETE FROM schema_migrations WHERE version = 12")
    db.close()
    async with await open_storage(database) as storage:  # the migration runs
        rows = await storage.db.fetchall(
            "SELECT id, name, folded FROM entities WHERE name LIKE '%果公司'"
        )
        assert [tuple(r) for r in rows] == [(traditional, "蘋果公司", fold("蘋果公司"))]
        assert (await storage.entities.profile(traditional)).event_count == 2
        (subscription,) = await storage.subscriptions.for_member(1, 2)
        assert subscription.entity_id == traditional
        for query in ("苹果", "蘋果"):
            hits = await storage.search.search(SearchFilter(text=query))
            assert {h.event.key for h in hits} == {TRADITIONAL.key, SIMPLIFIED.key}
        assert (await storage.stats()).entities == 2  # 蘋果公司 and 美國


def _database_before_news_channels(path: Path) -> None:
    """Migrations 1 to 12 as Database._migrate applies them, on a plain connection that
    knows the functions their triggers and 0012 call; then a guild, a digest, a sent run
    and its deliveries as a Chronicle from before wrote them."""
    db = connect_plain(path)
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for version, name, sql in migrations():
            if version > 12:
                break
            db.executescript(
                "BEGIN IMMEDIATE;\n"
                "INSERT INTO schema_migrations(version, name, applied_at)"
                f" VALUES ({version}, '{name}', '2026-01-01T00:00:00Z');\n" + sql + "\nCOMMIT;"
            )
        stamp = "2026-12-06T08:00:00.000000Z"
        for n, headline in enumerate(("Sent before", "Waiting one", "Waiting two"), 1):
            db.execute(
                "INSERT INTO events(id, key, date, headline, complete, origin, announce,"
                " added_at, updated_at) VALUES (?, ?, '2026-12-06', ?, 1, 'feed', 1, ?, ?)",
                (n, f"2026/12/6/{_slug(headline)}", headline, stamp, stamp),
            )
        db.execute(
            "INSERT INTO guild_settings(guild_id, timezone, updated_at) VALUES (?, ?, ?)",
            (GUILD, "Europe/Berlin", stamp),
        )
        db.execute(
            "INSERT INTO digests(id, guild_id, channel_id, kind, time, timezone, created_by,"
            " created_at, updated_at, last_event_id) VALUES (7, ?, ?, 'new', '08:30',"
            " 'Europe/Berlin', ?, ?, ?, 0)",
            (GUILD, CHANNEL, USER, stamp, stamp),
        )
        db.execute(
            "INSERT INTO digests(id, guild_id, channel_id, kind, time, timezone, created_by,"
            " created_at, updated_at, paused_reason, paused_at) VALUES (8, ?, ?, 'onthisday',"
            " '07:00', 'Europe/Berlin', ?, ?, ?, 'Missing Access', ?)",
            (GUILD, CHANNEL, USER, stamp, stamp, stamp),
        )
        db.execute(
            "INSERT INTO digest_runs(digest_id, local_date, status, parts, parts_sent, attempts,"
            " items, detail, updated_at) VALUES (7, '2026-12-06', 'sent', 1, 1, 1, ?, NULL, ?)",
            (json.dumps([1]), stamp),
        )
        db.execute(
            "INSERT INTO deliveries(target, event_id, delivered_at) VALUES ('digest:7', 1, ?)",
            (stamp,),
        )
    finally:
        db.close()


async def test_a_database_from_before_keeps_its_digests_runs_and_settings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "before.db"
    _database_before_news_channels(path)
    async with await open_storage(path) as storage:
        applied = await storage.db.fetchall("SELECT MAX(version) FROM schema_migrations")
        assert applied[0][0] == max(v for v, _, _ in migrations())

        digest = await storage.digests.get(7)
        assert digest is not None
        assert (digest.guild_id, digest.channel_id, digest.kind, digest.every) == (
            GUILD,
            CHANNEL,
            "new",
            "daily",
        )
        assert digest.time == dt.time(8, 30) and digest.timezone == "Europe/Berlin"
        assert digest.filters == DigestFilters() and digest.entity_names == ()
        assert digest.role_id is None and not digest.publish and not digest.paused
        paused = await storage.digests.get(8)
        assert paused is not None and paused.paused_reason == "Missing Access"
        assert [d.id for d in await storage.digests.for_guild(GUILD)] == [7, 8]

        (run,) = await storage.digests.runs_for(7)
        assert (run.slot, run.status, run.items, run.covers_to, run.thread_id) == (
            "2026-12-06",
            "sent",
            (1,),
            0,
            None,
        )
        assert await storage.digests.claim_run(7, "2026-12-06", parts=1, items=[2]) is None

        settings = await storage.settings.get(GUILD)
        assert settings.timezone == "Europe/Berlin" and settings.language is None

        # Deliveries from before were sent: none is pending, to be taken back as a crash's.
        rows = await storage.db.fetchall("SELECT target, state, attempts FROM deliveries")
        assert [tuple(r) for r in rows] == [("digest:7", "sent", 1)]
        taken = await storage.subscriptions.retake_claims(
            grace=dt.timedelta(0), shard_ids=None, shard_count=None
        )
        assert (taken.retried, taken.given_up) == ([], [])

        # Deliveries still hold: what was sent is not posted again; the rest is.
        found = await storage.digests.new_events(digest)
        assert [e.brief.headline for e in found.events] == ["Waiting one", "Waiting two"]
        run = await storage.digests.claim_run(
            7, SLOT, parts=1, items=[e.brief.id for e in found.events], covers_to=found.covers_to
        )
        assert run is not None
        await storage.digests.finish_run(7, SLOT, "sent")
        assert await headlines(storage, digest) == []

        # The same channel and kind with filters is a second digest; the old one, set
        # again without filters, is still the one, and resumed.
        await arrive(storage, history("Old", dt.date(2015, 1, 1), "Italy"))
        filtered = await make_digest(
            storage, DigestFilters(entity_ids=(await entity(storage, "Italy"),))
        )
        assert filtered.id > 8
        same = await make_digest(storage, kind="onthisday", time=dt.time(7))
        assert same.id == 8 and not same.paused
        assert [d.id for d in await storage.digests.for_guild(GUILD)] == [7, filtered.id, 8]
        # Removing a digest takes its entities and runs with it.
        await storage.digests.remove(filtered.id)
        left = await storage.db.fetchall(
            "SELECT COUNT(*) FROM digest_entities WHERE digest_id = ?", (filtered.id,)
        )
        assert left[0][0] == 0
        await storage.digests.remove(7)
        runs = await storage.db.fetchall("SELECT COUNT(*) FROM digest_runs WHERE digest_id = 7")
        assert runs[0][0] == 0
        problems = await storage.db.fetchall("PRAGMA foreign_key_check")
        assert list(problems) == []


async def test_a_guild_set_before_with_no_timezone_row_reads_as_unset(tmp_path: Path) -> None:
    path = tmp_path / "before.db"
    _database_before_news_channels(path)
    async with await open_storage(path) as storage:
        assert await storage.settings.get(GUILD + 1) == GuildSettings()
        await storage.settings.set_language(GUILD, "zh")
        settings = await storage.settings.get(GUILD)
        assert (settings.timezone, settings.language) == ("Europe/Berlin", "zh")


def _pair_rows(path: Path, phrase: str) -> list[int]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT rowid FROM headline_pairs WHERE headline_pairs MATCH ? ORDER BY rowid",
            (phrase,),
        )
        return [row[0] for row in rows]


async def test_an_archive_from_before_the_pairs_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    archive_at_schema(
        path,
        7,
        [
            ("2020/03/1/a", "2020-03-01", "Floods in the north"),
            ("2020/07/1/b", "2020-07-01", "The north floods again"),
        ],
    )
    async with await open_storage(path) as storage:
        typed = await storage.search.suggest_headlines("north flo")
        assert [b.headline for b in typed] == ["The north floods again"]
    assert _pair_rows(path, '"north_floods"') == [2]


async def test_an_archive_indexed_before_periods_is_indexed_again(
    tmp_path: Path,
) -> None:
    """A database at schema 5 (no filter columns) is upgraded on open: its events are found
    by words, dates and entities, through the new index."""
    path = tmp_path / "old.db"
    archive_at_schema(
        path,
        5,
        [
            ("2020/03/1/a", "2020-03-01", "Flood in the north"),
            ("2020/07/1/b", "2020-07-01", "Flood in the south"),
        ],
    )
    with closing(sqlite3.connect(path)) as db:
        assert "period" not in {r[1] for r in db.execute("PRAGMA table_info(event_search)")}

    async with await open_storage(path) as storage:
        hits = await storage.search.search(
            SearchFilter(text="flood", since=dt.date(2020, 6, 1), until=dt.date(2020, 12, 31))
        )
        assert [h.event.headline for h in hits] == ["Flood in the south"]
        async with storage.db.transaction() as conn:
            await event_rows.link_entities(conn, [(1, "North")])  # after indexing
        north = (await storage.entities.find("North"))[0]
        hits = await storage.search.search(SearchFilter(text="flood", entity_ids=(north,)))
        assert [h.event.headline for h in hits] == ["Flood in the north"]
        with closing(sqlite3.connect(path)) as db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(event_search)")}
        assert "period" in columns


async def test_entity_words_left_by_moved_links_are_rewritten(tmp_path: Path) -> None:
    """Before 0014 a link moved to another entity left its word (e12) in the full-text
    index; such events are indexed again with their links' words alone."""
    path = tmp_path / "old.db"
    archive_at_schema(path, 13, [("2020/01/01/a", "2020-01-01", "Flood in the north")])
    with closing(connect_plain(path)) as db:
        db.execute("INSERT INTO entities(id, name, folded) VALUES (1, 'North', 'north')")
        db.execute("INSERT INTO entities(id, name, folded) VALUES (2, 'Norte', 'norte')")
        # As an alias moved the link before: the target's link added, the source's removed.
        for entity in (2, 1):
            db.execute("INSERT INTO event_entities VALUES (1, ?, '2020-01-01')", (entity,))
        db.execute("DELETE FROM event_entities WHERE entity_id = 2")
        stale = db.execute("SELECT search_entities FROM events").fetchone()[0]
    assert stale.split() == ["e2", "e1"]  # the moved link's word stayed
    await (await open_storage(path)).close()  # migrations run
    with closing(connect_plain(path)) as db:
        assert db.execute("SELECT search_entities FROM events").fetchone()[0] == "e1"
        found = db.execute("SELECT rowid FROM event_search WHERE event_search MATCH 'e1'")
        assert [r[0] for r in found] == [1]
        assert not list(db.execute("SELECT rowid FROM event_search WHERE event_search MATCH 'e2'"))


async def test_a_merge_leaves_the_moved_events_the_words_of_their_links(
    storage: SQLiteStorage,
) -> None:
    page = PageRecord(
        key=make_key(dt.date(2020, 1, 1), "flood"),
        date=dt.date(2020, 1, 1),
        headline="Flood in the north",
        entities=("Norte", "Rain"),
    )
    await storage.events.import_batch([page])
    await storage.entities.merge("Norte", "Rain")
    rain = await storage.entities.find("Rain")
    assert rain is not None
    rows = await storage.db.fetchall("SELECT search_entities FROM events")
    assert [row[0].split() for row in rows] == [[f"e{rain[0]}"]]


async def test_an_index_damaged_by_an_edit_in_place_is_built_again(tmp_path: Path) -> None:
    """Before 0020 an event whose headline changed in place lost, from both full-text
    indexes, every word its old and new headlines shared (the new text went in before the
    old came out). Upgraded, the indexes are built again from the events, and later edits
    keep them whole."""
    path = tmp_path / "old.db"
    rows = [
        ("2024/01/3/a", "2024-01-03", "Heavy floods hit Valencia"),
        ("2024/01/4/b", "2024-01-04", "Talks resume in Geneva"),
    ]
    archive_at_schema(path, 19, rows)
    with closing(connect_plain(path)) as db:
        db.execute("UPDATE events SET searchable = 1, search_entities = ''")
        db.execute("UPDATE events SET headline = 'Heavy rains hit Valencia' WHERE id = 1")
        gone = db.execute("SELECT rowid FROM event_search WHERE event_search MATCH 'valencia'")
        assert list(gone) == []  # the damage: a word both headlines hold is not found
    async with await open_storage(path) as storage:
        assert await storage.search.search(SearchFilter(text="Valencia")) != []
        async with storage.db.transaction() as conn:
            await conn.execute(
                "UPDATE events SET headline = 'Heavy snow hits Valencia' WHERE id = 1"
            )
        for words in ("Valencia", "heavy snow", '"snow hits"'):
            hits = await storage.search.search(SearchFilter(text=words))
            assert [h.event.headline for h in hits] == ["Heavy snow hits Valencia"], words
        assert await storage.search.search(SearchFilter(text="rains")) == []
        typed = await storage.search.suggest_headlines("heavy sno")
        assert [b.headline for b in typed] == ["Heavy snow hits Valencia"]


def _segment_before_0023(text: str | None) -> str:
    """segment() as it was: text unfolded, left to FTS5's unicode61 to fold."""
    if not text or not has_cjk(text):
        return text or ""
    return CJK_RUN.sub(lambda m: " " + " ".join(cjk_tokens(simplified(m.group(0)))) + " ", text)


async def test_an_archive_indexed_before_folding_is_indexed_again(tmp_path: Path) -> None:
    """Before 0023 SQLite's index held text as unicode61 folds it (fullwidth digits kept,
    Greek accents kept) and Korean names were folded as letters (jamo). Upgraded, the
    archive's words are found as PostgreSQL finds them, its Korean name is still the one
    entity of that name, and an edit in place keeps the index whole."""
    path = tmp_path / "old.db"
    rows = [
        ("2006/01/13/a", "2006-01-13", "至少造成18人死亡，其中包括５名妇女和５名儿童。"),
        ("2019/04/02/b", "2019-04-02", "Απεργία στην Αθήνα"),
    ]
    archive_at_schema(path, 22, rows)
    with closing(connect_plain(path)) as db:
        db.create_function("segment", 1, _segment_before_0023, deterministic=True)
        db.execute("UPDATE events SET searchable = 1, search_entities = ''")
        db.execute(
            "INSERT INTO entities(id, name, folded) VALUES (1, '대검찰청', ?)",
            (unicodedata.normalize("NFKD", "대검찰청"),),
        )
        db.execute("INSERT INTO event_entities VALUES (1, 1, '2006-01-13')")
    async with await open_storage(path) as storage:
        for words in ("５名妇女", "5名妇女", "Αθηνα", "ΑΘΗΝΑ"):
            assert len(await storage.search.search(SearchFilter(text=words))) == 1, words
        assert await storage.entities.find("대검찰청") == (1, "대검찰청")
        async with storage.db.transaction() as conn:
            await conn.execute("UPDATE events SET headline = 'Απεργία στην Πάτρα' WHERE id = 2")
        hits = await storage.search.search(SearchFilter(text="απεργια"))
        assert [h.event.headline for h in hits] == ["Απεργία στην Πάτρα"]
        assert await storage.search.search(SearchFilter(text="Αθηνα")) == []


async def test_entities_counted_with_removed_portal_items_are_counted_again(
    tmp_path: Path,
) -> None:
    """Before 0022 an entity counted the events taken off their portal page: Vandor said
    "2 events" over one, and Qelmara, named only by the removed item, "1 event". Upgraded,
    each counts the events its page lists, and autocomplete ranks by that."""
    path = tmp_path / "old.db"
    archive_at_schema(
        path,
        21,
        [
            ("2024/01/7/vandor-holds-an-election", "2024-01-07", "Vandor holds an election"),
            ("2024/01/8/vandor-closes-its-border", "2024-01-08", "Vandor closes its border"),
        ],
    )
    with closing(connect_plain(path)) as db:
        db.execute(
            "UPDATE events SET origin = 'wikipedia', removed_at = '2024-01-09T18:00:00Z'"
            " WHERE id = 2"
        )
        for entity, name in ((1, "Vandor"), (2, "Elections in Vandor"), (3, "Qelmara")):
            db.execute(
                "INSERT INTO entities(id, name, folded) VALUES (?, ?, ?)",
                (entity, name, fold(name)),
            )
        links = [
            (1, 1, "2024-01-07"),
            (1, 2, "2024-01-07"),
            (2, 1, "2024-01-08"),
            (2, 3, "2024-01-08"),
        ]
        for event, entity, date in links:
            db.execute("INSERT INTO event_entities VALUES (?, ?, ?)", (event, entity, date))
        # As Chronicle counted them then: every link.
        db.execute(
            "UPDATE entities SET event_count ="
            " (SELECT COUNT(*) FROM event_entities WHERE entity_id = entities.id)"
        )
        db.commit()
    async with await open_storage(path) as storage:
        vandor = await storage.entities.profile(1)
        assert (vandor.event_count, vandor.first_date, vandor.last_date) == (
            1,
            dt.date(2024, 1, 7),
            dt.date(2024, 1, 7),
        )
        assert vandor.co_entities == (("Elections in Vandor", 1),)
        qelmara = await storage.entities.profile(3)
        assert (qelmara.event_count, qelmara.first_date, qelmara.recent) == (0, None, ())
        names = await storage.entities.suggest("")
        assert [(n.name, n.event_count) for n in names][-1] == ("Qelmara", 0)
