"""An archive of the Chinese edition imported before Chronicle read MediaWiki's variant markup
(-{zh-cn:伊斯兰国;zh-tw:伊斯蘭國;}-) kept it in headlines, summaries, stories, publishers' and
entity names: the upgrade (SQLite 0025, PostgreSQL 0019) writes them as an import writes
them now, on both backends. /event and /search find the clean headlines by their words, a
name once written with markup and once without is one entity with the events of both, and a
member who followed the marked-up name is alerted of that entity, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.archive
from bot.services.imports import import_archive
from bot.services.lookups import find_event
from storage import Storage
from storage.keys import make_key
from storage.models import PageRecord, SearchFilter, SourceRecord
from storage.variant_markup import Joining, joining, resolve_variants, without_variant_markup
from tests.conftest import TEST_DATA
from tests.storage.conftest import BACKENDS, OpenArchive
from tests.storage.events_support import arrive, entity
from tests.storage.test_subscriptions import ALICE, BOB, CAROL, GUILD, news, subscribe

# The migration that cleans the markup.
UPGRADE = {"sqlite": 25, "postgresql": 19}
# Five days of the Chinese edition (2013-2017) naming al-Qaeda, NASA and Cannes with markup
# on some pages and without it on others.
SAMPLE = TEST_DATA / "news-zh-variants"

MARKED = "-{zh-cn:伊斯兰国; zh-hk:伊斯蘭國; zh-tw:伊斯蘭國;}-"
NAME = "伊斯兰国"
MANCHESTER = dt.date(2017, 5, 23)
RAQQA = dt.date(2017, 6, 16)
# As an import from before stored the Manchester page: the markup in its texts and names.
OLD_PAGE = PageRecord(
    key=make_key(MANCHESTER, "英国曼彻斯特体育场发生爆炸-伊斯兰国宣称负责"),
    date=MANCHESTER,
    headline=f"英国曼彻斯特体育场发生爆炸，{MARKED}宣称负责",
    summary="-{zh-hans:曼彻斯特竞技场; zh-hant:曼徹斯特體育館;}-的演唱会结束时发生爆炸，22人死亡。",
    story="-{zh-cn:曼彻斯特竞技场爆炸案; zh-tw:曼徹斯特體育館爆炸案;}-",
    lang="zh",
    sources=(SourceRecord("-{zh-hans:BBC中文网; zh-hant:BBC中文網;}-", "https://bbc.example/1"),),
    entities=(MARKED, "英国"),
)
PLAIN_PAGE = PageRecord(
    key=make_key(RAQQA, "俄罗斯称可能已击毙伊斯兰国领导人巴格达迪"),
    date=RAQQA,
    headline="俄罗斯称可能已击毙伊斯兰国领导人巴格达迪",
    lang="zh",
    entities=(NAME, "俄罗斯"),
)
CLEAN_HEADLINE = "英国曼彻斯特体育场发生爆炸，伊斯兰国宣称负责"


async def before_the_upgrade(open_archive: OpenArchive, backend: str) -> None:
    """The archive closed at the schema before the upgrade: the next open runs it."""
    storage = await open_archive("upgraded")
    await BACKENDS[backend][1](
        storage, "DELETE FROM schema_migrations WHERE version = ?", (UPGRADE[backend],)
    )
    await storage.close()


async def test_an_archive_from_before_is_found_by_its_words_and_its_names_are_one(
    open_archive: OpenArchive, backend: str
) -> None:
    """Alice followed the name written with markup, Bob both spellings, Carol the clean
    one. After the upgrade /event finds the Manchester event by its words and shows it
    clean, its entity's page lists both events, and news naming the entity alerts each of
    them once (Bob's two subscriptions are one, and he is told so)."""
    storage = await open_archive("upgraded")
    old, plain = await arrive(storage, OLD_PAGE, PLAIN_PAGE)
    assert await entity(storage, MARKED) != await entity(storage, NAME)  # two entities
    alice = await subscribe(storage, ALICE, MARKED)
    await subscribe(storage, BOB, MARKED)
    bob = await subscribe(storage, BOB, NAME)
    carol = await subscribe(storage, CAROL, NAME)
    await storage.close()
    await before_the_upgrade(open_archive, backend)

    async with await open_archive("upgraded") as storage:
        shown = await find_event(storage, "体育场发生爆炸，伊斯兰国宣称负责", language="zh")
        assert shown.id == old
        assert shown.headline == CLEAN_HEADLINE
        assert shown.summary == "曼彻斯特竞技场的演唱会结束时发生爆炸，22人死亡。"
        assert shown.story == "曼彻斯特竞技场爆炸案"
        assert [s.name for s in shown.sources] == ["BBC中文网"]
        hits = await storage.search.search(SearchFilter(text='"伊斯兰国宣称负责"'))
        assert [(h.event.id, h.event.headline) for h in hits] == [(old, CLEAN_HEADLINE)]
        suggested = await storage.search.suggest_headlines("曼彻斯特")
        assert [b.headline for b in suggested] == [CLEAN_HEADLINE]

        # One entity, under its clean name, with the events of both spellings.
        found = await storage.entities.find(NAME)
        assert found is not None and found[1] == NAME
        assert await storage.entities.find(MARKED) is None
        profile = await storage.entities.profile(found[0])
        assert profile.event_count == 2
        assert {b.id for b in profile.recent} == {old, plain}
        assert [r.event.id for r in await storage.events.related(old)] == [plain]
        assert not [n.name for n in await storage.entities.names() if "-{" in n.name]
        known = await storage.entities.names()
        assert (await storage.stats()).entities == len({n.entity_id for n in known})

        # Each member keeps one subscription, to the entity; news naming it alerts each once.
        (kept,) = await storage.subscriptions.for_member(GUILD, ALICE)
        assert (kept.id, kept.entity_id, kept.entity) == (alice.id, found[0], NAME)
        assert await storage.subscriptions.for_member(GUILD, BOB) == [
            await storage.subscriptions.get(bob.id)
        ]
        (news_id,) = await arrive(storage, news("伊斯兰国宣称对袭击负责", NAME))
        matches = await storage.subscriptions.matches([news_id])
        assert sorted((m.subscription.user_id, m.subscription.id) for m in matches) == [
            (ALICE, alice.id),
            (BOB, bob.id),
            (CAROL, carol.id),
        ]
        told = await storage.subscriptions.take_notice(BOB)
        assert told is not None and f"now a name of “{NAME}”" in told
        assert await storage.subscriptions.take_notice(ALICE) is None


async def test_names_with_markup_alone_or_as_aliases_are_written_clean(
    open_archive: OpenArchive, backend: str
) -> None:
    """A name no other entity has is renamed in place (its id, events and followers kept);
    an alias written with markup whose clean name is another alias of its entity goes; an
    entity whose clean name was its own alias takes that name."""
    storage = await open_archive("upgraded")
    cannes = "-{zh-cn:戛纳; zh-hk:康城; zh-tw:坎城;}-"
    trump = "-{zh-cn:特朗普; zh-hk:特朗普; zh-tw:川普;}-"
    sanaa = "-{zh-tw:沙那; zh-hans:萨那; zh-hk:薩那;}-"
    day = dt.date(2017, 5, 18)
    (festival, visit, yemen) = await arrive(
        storage,
        PageRecord(
            make_key(day, "戛纳"), day, f"第70届{cannes}电影节开幕", lang="zh", entities=(cannes,)
        ),
        PageRecord(
            make_key(day, "特朗普"),
            day,
            "唐納德·特朗普访问沙特",
            lang="zh",
            entities=("唐納德·特朗普",),
        ),
        PageRecord(make_key(day, "萨那"), day, "也门萨那遭空袭", lang="zh", entities=(sanaa,)),
    )
    await storage.entities.alias(trump, "唐納德·特朗普")
    await storage.entities.alias("特朗普", "唐納德·特朗普")
    await storage.entities.alias("川普", "唐納德·特朗普")
    await storage.entities.alias("萨那", sanaa)  # the clean name, an alias of the marked one
    cannes_id = await entity(storage, cannes)
    follower = await subscribe(storage, ALICE, cannes)
    await storage.close()
    await before_the_upgrade(open_archive, backend)

    async with await open_archive("upgraded") as storage:
        assert await storage.entities.find("戛纳") == (cannes_id, "戛纳")
        followed = await storage.subscriptions.get(follower.id)
        assert followed is not None and followed.entity == "戛纳"
        (event,) = [b.id for b in (await storage.entities.profile(cannes_id)).recent]
        assert event == festival
        trump_id = await entity(storage, "唐納德·特朗普")
        assert await storage.entities.find("特朗普") == (trump_id, "唐納德·特朗普")
        assert set(await storage.entities.aliases(trump_id)) == {"川普", "特朗普"}
        assert [b.id for b in (await storage.entities.profile(trump_id)).recent] == [visit]
        found = await storage.entities.find("萨那")
        assert found is not None and found[1] == "萨那"
        assert await storage.entities.aliases(found[0]) == []
        assert [b.id for b in (await storage.entities.profile(found[0])).recent] == [yemen]


def _keeping_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive read as a Chronicle from before read it: variant markup kept."""
    monkeypatch.setattr(bot.ingest.archive, "resolve_variants", lambda text: text)


async def _what_users_see(storage: Storage, backend: str) -> dict[str, Any]:
    """Names as entities know them (folded: of two spellings of one name, 美國… and 美国…, an
    import keeps the one it reads first, the upgrade the one the archive had already)."""
    run = BACKENDS[backend][1]
    events = await run(storage, "SELECT key, headline, summary, story, weight FROM events", ())
    sources = await run(
        storage,
        "SELECT e.key, s.position, s.name FROM sources s JOIN events e ON e.id = s.event_id",
        (),
    )
    links = await run(
        storage,
        "SELECT e.key, n.folded FROM event_entities l JOIN events e ON e.id = l.event_id"
        " JOIN entities n ON n.id = l.entity_id",
        (),
    )
    counts = await run(storage, "SELECT folded, event_count FROM entities", ())
    related = {}
    for key, *_ in events:
        event = await storage.events.get_by_key(key)
        assert event is not None
        related[key] = await storage.events.archive_related(event.id)
    return {
        "events": sorted(events),
        "sources": sorted(sources),
        "links": sorted(links),
        "entities": sorted(counts),
        "related": related,
        "stats": await storage.stats(),
    }


NASA_MARKED = "美國-{zh-tw:國家航空暨太空總署; zh-hk:太空總署; zh-cn:国家航空航天局}-"
NASA = "美国国家航空航天局"


async def test_the_upgrade_writes_what_an_import_writes_now(
    open_archive: OpenArchive, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five days of the Chinese edition, imported as before (NASA's name with markup on
    some pages, without on others; Cannes, al-Qaeda, the Mars orbiter with markup) and
    upgraded, hold what the same days imported now hold: texts, sources, each event's
    names, names' counts, Related lists."""
    with monkeypatch.context() as patched:
        _keeping_markup(patched)
        storage = await open_archive("upgraded")
        report = await import_archive(storage, [SAMPLE])
        assert report.ok, report.failed
        marked = await storage.entities.find(NASA_MARKED)
        plain = await storage.entities.find(NASA)
        assert marked is not None and plain is not None and marked != plain
        await storage.close()
    await before_the_upgrade(open_archive, backend)
    fresh = await open_archive("fresh")
    try:
        assert (await import_archive(fresh, [SAMPLE])).ok
        async with await open_archive("upgraded") as upgraded:
            assert await _what_users_see(upgraded, backend) == await _what_users_see(fresh, backend)
            assert await upgraded.entities.find(NASA) == plain  # the name it had, its id
            profile = await upgraded.entities.profile(plain[0])
            assert profile.name == NASA and profile.event_count == 11
    finally:
        await fresh.close()


# --- the rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("-{zh-cn:特朗普; zh-hk:特朗普; zh-tw:川普;}-访华", "特朗普访华"),
        ("-{zh-tw:蓋達組織; zh-hk:基地組織; zh-cn:基地组织;}-", "基地组织"),
        ("-{zh-tw:莫三比克; zh-hk:莫桑比克; zh-hans:莫桑比克;}-", "莫桑比克"),
        ("板-{栗}-", "板栗"),
        ("公-{}-车拍卖", "公车拍卖"),
        ("-{zh-tw:沙那; zh-hk:薩那;}- 遭空袭", "沙那 遭空袭"),
        ("no markup: -{ left open", "no markup: -{ left open"),
    ],
)
def test_a_stored_text_is_cleaned_as_an_import_cleans_the_page(stored: str, shown: str) -> None:
    assert without_variant_markup(stored) == shown
    assert bot.ingest.archive.clean_text(stored) == shown
    assert resolve_variants(shown) == shown


def test_a_name_joins_the_entity_its_clean_name_names() -> None:
    # Two entities: the one written with markup joins the other.
    assert joining(5, None, 9, None) == Joining(5, 9)
    # The clean name is an alias of another entity: that entity.
    assert joining(5, None, 9, 3) == Joining(5, 3)
    # An alias written with markup of an entity the clean name does not name: its entity joins.
    assert joining(5, 2, 9, None) == Joining(2, 9)
    # Two names of one entity: nothing moves.
    assert joining(5, 2, 9, 2) == Joining(None, 2)
    # The clean name was the marked entity's own alias: it becomes the entity.
    assert joining(5, None, 9, 5) == Joining(5, 9, promoted=True)


def test_the_sample_holds_the_markup_it_is_for() -> None:
    texts = [p.read_text(encoding="utf-8") for p in Path(SAMPLE).rglob("*.md")]
    assert sum("-{" in text for text in texts) >= 3
