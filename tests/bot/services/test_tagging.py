"""Tagging feed items with known entities (bot.services.tagging), by class of rule: the
examples of issue 28 among them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.tagging import (
    EntityMatcher,
    demonym_table,
    demonyms_of,
    generic_verdict,
    word_use,
)
from storage import Storage
from storage.keys import make_key
from storage.models import HeadlineMention, PageRecord


def _matcher(*names: str, aliases: dict[str, str] | None = None) -> EntityMatcher:
    matcher = EntityMatcher()
    matcher.add_many(names, aliases=aliases)
    return matcher


# --- the rules that were there before --------------------------------------------------------


def test_entity_matcher_rules() -> None:
    matcher = EntityMatcher()
    matcher.add_many(
        [
            "Iran",
            "US",
            "NATO",
            "May",
            "volcano",
            "New York",
            "New York City",
            "Abu Bakr al-Baghdadi",
            "Japanese general election, 2017",
            "叙利亚",
            "东京",
            "美",
            "124",
        ],
        aliases={"ISIS": "Islamic State", "伊斯兰国": "Islamic State"},
    )
    find = matcher.find
    # Whole words: "Iran" is not in "Irani"; a possessive still names it.
    assert find("Irani officials deny the report") == []
    assert find("Iran's president visits Moscow") == ["Iran"]
    # Short acronyms only in capitals; longer ones also as Nato; proper names capitalised.
    assert find("They told us the volcano may erupt") == ["volcano"]
    assert find("US troops join Nato drills as Theresa May watches") == ["US", "NATO", "May"]
    # Leftmost-longest, accents and punctuation folded, aliases to their entity.
    assert find("New York City mayor meets Abu Bakr al Baghdadi's envoy") == [
        "New York City",
        "Abu Bakr al-Baghdadi",
    ]
    assert find("ISIS claims the attack") == ["Islamic State"]
    assert find("Japanese general election 2017: results") == ["Japanese general election, 2017"]
    assert find("124 people died") == []
    # Chinese: substrings; one-character names are too ambiguous to use.
    assert find("叙利亚政府军收复东京以北", "伊斯兰国宣布") == ["叙利亚", "东京", "Islamic State"]
    assert find("美国总统") == []
    assert find("Trump访问叙利亚") == ["叙利亚"]
    assert len(matcher) == 14  # "美" and "124" are left out; Iran's demonym "Iranian" is in


def test_a_name_s_dots_are_one() -> None:
    """Taiwan writes 巴沙爾‧阿薩德, a Big5 feed's dot reads as •: the name as the archive has it."""
    matcher = EntityMatcher()
    matcher.add_many(["巴沙尔·阿萨德", "叙利亚"])
    for dot in "‧•·":
        assert matcher.find(f"敘利亞總統巴沙爾{dot}阿薩德會見伊朗代表團") == [
            "叙利亚",
            "巴沙尔·阿萨德",
        ]


# --- word forms ------------------------------------------------------------------------------


def test_demonyms_tag_their_country() -> None:
    find = _matcher("Syria", "Turkey", "Yemen", "Greece", "Iran", "United States").find
    assert find("Syrian refugees cross the border") == ["Syria"]
    assert find("Turkish soldiers enter Afrin") == ["Turkey"]
    assert find("Yemeni officials say") == ["Yemen"]
    assert find("Migrants reach the Greek island of Lesbos") == ["Greece"]
    assert find("Iranian officials deny the report") == ["Iran"]
    assert find("American troops") == ["United States"]
    # Plurals and possessives of demonyms too; a demonym is a capitalised word.
    assert find("Syrians flee; the Yemenis' hopes") == ["Syria", "Yemen"]
    assert find("a turkish bath") == []


def test_demonyms_need_the_country_to_be_known() -> None:
    assert _matcher("Greece").find("Syrian refugees reach the Greek island") == ["Greece"]


def test_the_demonym_table_names_its_origin_and_covers_the_examples() -> None:
    table = demonym_table()
    assert {"syria", "turkey", "yemen", "greece"} <= set(table)
    assert demonyms_of("Syria") == ("Syrian",)
    assert "Greek" in demonyms_of("Hellenic Republic")  # any of a country's names
    assert demonyms_of("Chile") == ("Chilean",)
    from bot.services.tagging import default_demonym_file

    header = default_demonym_file().read_text(encoding="utf-8")[:2000]
    assert "countryinfo" in header and "MIT License" in header


def test_plurals_and_possessives() -> None:
    find = _matcher("Houthis", "Kurd", "Iran", "Philippines").find
    assert find("Houthi rebels fire a missile") == ["Houthis"]
    assert find("The Houthis' missile") == ["Houthis"]
    assert find("Kurds protest") == ["Kurd"]
    assert find("Iran’s foreign minister") == ["Iran"]
    assert find("Philippine troops") == ["Philippines"]


# --- longest name wins ---------------------------------------------------------------------


def test_a_known_name_inside_a_longer_unknown_one_does_not_tag() -> None:
    find = _matcher("United States", "New York", "Russia", "Vladimir Putin").find
    assert find("United States Federal Reserve raises rates") == []
    assert find("New York City Police arrest a suspect") == []
    # ... unless the text names it on its own too.
    assert find("United States Federal Reserve raises rates", "The United States reacts") == [
        "United States"
    ]
    # A name at the end of a longer capitalised run, or joined by "and", still tags.
    assert find("Russian President Vladimir Putin says") == ["Russia", "Vladimir Putin"]
    assert find("Russia and United States agree") == ["Russia", "United States"]
    assert find("Talks in New York, Russia says") == ["New York", "Russia"]


def test_a_known_name_followed_by_another_known_name_is_two_names() -> None:
    """What follows is a name the archive knows: no longer unknown name is being written."""
    find = _matcher("Russian President", "Vladimir Putin", "German Chancellor", "Helmut Kohl").find
    assert find("Russian President Vladimir Putin says he hopes") == [
        "Russian President",
        "Vladimir Putin",
    ]
    assert find("Former German Chancellor Helmut Kohl dies at the age of 87.") == [
        "German Chancellor",
        "Helmut Kohl",
    ]
    assert find("German Chancellor Office issues a statement") == []  # unknown: still one name


def test_syrian_observatory_and_syrian_army() -> None:
    """Decided by measurement (benchmarks/FINDINGS.md): the archive links "Syrian army",
    not Syria, for the army; a demonym starting an unknown name still names its country."""
    find = _matcher("Syria", "Syrian army", "Syrian Observatory for Human Rights").find
    assert find("The Syrian Army advances") == ["Syrian army"]
    assert find("The Syrian Observatory for Human Rights says") == [
        "Syrian Observatory for Human Rights"
    ]
    assert _matcher("Syria").find("The Syrian Observatory for Human Rights says") == ["Syria"]


# --- generic words -------------------------------------------------------------------------


def _mentions(*headlines: tuple[str, bool]) -> list[HeadlineMention]:
    return [HeadlineMention(dt.date(2017, 1, 1), h, linked) for h, linked in headlines]


def test_generic_verdict_from_the_archives_own_use() -> None:
    murder = _mentions(
        ("A man is charged with murder", False),
        ("Police investigate a murder in Leeds", False),
        ("The murder rate falls", False),
        ("Two charged with the murder of a boy", False),
        ("Murder of Jo Cox: a man is convicted", True),
    )
    assert generic_verdict("murder", murder)
    syria = _mentions(
        ("Syria talks resume", True),
        ("Syria says", False),
        ("Refugees leave Syria", True),
    )
    assert not generic_verdict("Syria", syria)
    jr = _mentions(
        ("Martin Luther King Jr. Day", False),
        ("Donald Trump Jr. testifies", False),
        ("Andal Ampatuan Jr. convicted", False),
    )
    assert generic_verdict("Jr.", jr)
    assert word_use("girl", "A girl is rescued") and word_use("Girl", "Girl Scouts join")
    assert not word_use("Girl", "The film Girl wins")
    assert word_use("警察", "警察逮捕了一名男子")


def test_generic_names_need_a_capitalised_mention_of_their_own() -> None:
    words = ["murder", "girl", "prisoner", "refugee", "mosque", "airspace", "Jr."]
    matcher = _matcher(*words, "Great Mosque of al-Nuri", "Andal Ampatuan")
    for word in words:
        matcher.judge(word, True)
    find = matcher.find
    assert find("A girl is charged with murder after a prisoner escapes") == []
    assert find("A refugee prays in a mosque") == []
    assert find("Jets violate Turkish airspace") == []
    assert find("Andal Ampatuan Jr. is convicted") == ["Andal Ampatuan"]
    # The headline's first word is capitalised whatever it is.
    assert find("Murder charges are dropped") == []
    # A capitalised mention on its own is a name; a longer known name still wins.
    assert find("The film Girl wins") == ["girl"]
    assert find("ISIL blows up the Great Mosque of al-Nuri") == ["Great Mosque of al-Nuri"]


def test_an_alias_is_explicit_and_unjudged_names_are_collected() -> None:
    matcher = _matcher("refugee", aliases={"refugees": "Refugee crisis"})
    matcher.judge("refugee", True)
    assert matcher.find("Thousands of refugees arrive") == ["Refugee crisis"]
    matcher = _matcher("prisoner", "警察")
    unjudged: list[str] = []
    assert matcher.find("A prisoner escapes", "警察到场", unjudged=unjudged) == ["prisoner", "警察"]
    assert unjudged == ["prisoner", "警察"]
    matcher.judge("警察", True)
    assert matcher.find("警察到场") == []  # Chinese has no capitals: a generic name never tags


# --- variants --------------------------------------------------------------------------------


def test_spelling_variants_fold_alike() -> None:
    find = _matcher("Al-Qaeda", "Al Qaim", "Recep Tayyip Erdoğan", "蘋果公司").find
    assert find("Al Qaeda claims the attack") == ["Al-Qaeda"]
    assert find("al-Qaeda claims the attack") == ["Al-Qaeda"]
    assert find("AL-QAEDA") == ["Al-Qaeda"]
    assert find("Fighting near Al-Qa'im") == ["Al Qaim"]
    assert find("Recep Tayyip Erdogan speaks") == ["Recep Tayyip Erdoğan"]
    assert find("苹果公司发布新手机") == ["蘋果公司"]


def test_of_two_names_that_fold_alike_the_one_with_more_events_wins() -> None:
    matcher = EntityMatcher()
    matcher.add("Al Qaeda", events=2)
    matcher.add("Al-Qaeda", events=40)
    assert matcher.find("Al Qaeda claims the attack") == ["Al-Qaeda"]


# --- storage: what the matcher is built from ---------------------------------------------------


def _page(day: dt.date, headline: str, entities: tuple[str, ...]) -> PageRecord:
    return PageRecord(
        key=make_key(day, headline.lower().replace(" ", "-")),
        date=day,
        headline=headline,
        entities=entities,
    )


@pytest.fixture
async def tagged(storage: Storage) -> Storage:
    day = dt.date(2017, 6, 16)
    await storage.events.import_batch(
        [
            _page(day, "A man is charged with murder in Leeds", ("Leeds",)),
            _page(day, "Police investigate a murder", ("Police",)),
            _page(day + dt.timedelta(days=1), "Murder of Jo Cox trial opens", ("murder",)),
            _page(day, "ISIL fighters retreat from Mosul", ("ISIL", "Mosul")),
        ]
    )
    await storage.entities.alias("ISIL", "Islamic State")
    return storage


async def test_names_carry_their_canonical_entity(tagged: Storage) -> None:
    names = await tagged.entities.names()
    by_name = {n.name: n for n in names}
    assert by_name["ISIL"].canonical == "Islamic State"
    assert by_name["ISIL"].entity_id == by_name["Islamic State"].entity_id
    assert by_name["Mosul"].canonical == "Mosul" and by_name["Mosul"].event_count == 1
    assert [n.id for n in names] == sorted(n.id for n in names)
    assert await tagged.entities.names(after_id=names[-1].id) == []


async def test_headline_mentions_say_which_events_link_the_name(tagged: Storage) -> None:
    mentions = await tagged.entities.headline_mentions("murder")
    assert sorted((m.headline, m.linked) for m in mentions) == [
        ("A man is charged with murder in Leeds", False),
        ("Murder of Jo Cox trial opens", True),
        ("Police investigate a murder", False),
    ]
    assert len(await tagged.entities.headline_mentions("murder", limit=1)) == 1
    assert await tagged.entities.headline_mentions("murderer") == []
    assert not generic_verdict("murder", mentions)  # two unlinked uses: too few to say


async def test_linked_events_give_each_events_text_and_links(tagged: Storage) -> None:
    events = await tagged.entities.linked_events()
    assert len(events) == 4
    mosul = next(e for e in events if "Mosul" in e.headline)
    names = {n.entity_id: n.canonical for n in await tagged.entities.names()}
    assert sorted(names[i] for i in mosul.entity_ids) == ["Islamic State", "Mosul"]
    assert await tagged.entities.linked_events(after_id=events[1].id, limit=1) == [events[2]]
