"""The captured day pages in the template layouts, read exactly: content= (2019 March 15)
and top=yes ... bottom=yes (2024 January 8); and what the items of every captured page share.

Every expected value below was worked out from the page text and the portal's rules (what a
reader of the day page sees), not from the parser's output.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.models import PortalItemRecord, SourceRecord
from tests.bot.ingest.portal_support import (
    ARMED,
    BUSINESS,
    DISASTERS,
    JANUARY_8,
    JUNE_16,
    LAW,
    MARCH_15,
    MAY_5,
    SPORTS,
    fixture,
    key,
)

# --- the content= layout: 2019 March 15 ------------------------------------------------------


def test_march_15_content_layout_items_and_categories() -> None:
    """'''Heading''' lines in the content= parameter: seven events under three headings."""
    parsed = fixture("2019_March_15.wiki", MARCH_15)
    assert [item.category for item in parsed.items] == [ARMED] * 4 + [DISASTERS] * 2 + [SPORTS]
    assert [item.position for item in parsed.items] == list(range(7))
    assert parsed.warnings == ()


def test_march_15_three_sources_with_italic_labels() -> None:
    """(''The New Zealand Herald'') is named "The New Zealand Herald"; [[mosque]]s reads "mosques"."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[0]
    headline = (
        "Fifty people are killed and 50 others injured in mass shootings at two mosques in"
        " Christchurch, New Zealand."
    )
    assert item == PortalItemRecord(
        key=key(MARCH_15, headline),
        date=MARCH_15,
        headline=headline,
        category=ARMED,
        topics=("Christchurch mosque shootings",),
        entities=("Christchurch mosque shootings", "Mosque", "Christchurch", "New Zealand"),
        sources=(
            SourceRecord(
                "The New Zealand Herald",
                "https://www.nzherald.co.nz/nz/news/article.cfm?c_id=1&objectid=12213268",
            ),
            SourceRecord("BBC", "https://www.bbc.com/news/world-asia-47578798"),
            SourceRecord(
                "Stuff", "https://www.stuff.co.nz/national/111313744/christchurch-shooting"
            ),
        ),
        position=0,
    )
    assert item.key.startswith("2019/03/15/fifty-people-are-killed-and-50-others-injured-")


def test_march_15_topics_three_deep_and_zero_width_space() -> None:
    """Syrian Civil War > Deir ez-Zor campaign > Battle of Baghuz Fawqani; the zero-width
    space after "Baghuz." is dropped."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[2]
    headline = "The Syrian Democratic Forces say that about 1,000 ISIL fighters remain in Baghuz."
    assert item == PortalItemRecord(
        key="2019/03/15/the-syrian-democratic-forces-say-that-about-1-000-isil-fighters-remain-in-baghuz",
        date=MARCH_15,
        headline=headline,
        category=ARMED,
        topics=("Syrian Civil War", "Deir ez-Zor campaign", "Battle of Baghuz Fawqani"),
        entities=(
            "Syrian Civil War",
            "Deir ez-Zor campaign (2017–present)",
            "Battle of Baghuz Fawqani",
            "Syrian Democratic Forces",
            "Islamic State of Iraq and the Levant",
            "Baghuz Fawqani",
        ),
        sources=(
            SourceRecord(
                "Reuters",
                "https://www.reuters.com/article/us-mideast-crisis-syria-baghuz-idUSKCN1QW0SK",
            ),
        ),
        position=2,
    )
    assert item.story == "Syrian Civil War"


def test_march_15_afp_via_fmt_and_nbsp() -> None:
    """(''AFP'' via ''FMT'') is the source "AFP via FMT"; &nbsp; reads as a space."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[3]
    assert item.headline == "Kurdish-led forces evacuate civilians from the last ISIL enclave."
    assert item.topics == ("Syrian Civil War", "Deir ez-Zor campaign", "Battle of Baghuz Fawqani")
    assert item.entities == (
        "Syrian Civil War",
        "Deir ez-Zor campaign (2017–present)",
        "Battle of Baghuz Fawqani",
        "Kurdish people",
    )
    assert item.sources == (
        SourceRecord("AFP via FMT", "https://apnews.com/7f6fd1e1b4c74c0f8d3a0aa6d5d6c2b1"),
    )


def test_march_15_entities_in_quotes_and_sibling_under_topic() -> None:
    """The second event under a topic has that topic; &quot;…&quot; reads as quote marks."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[1]
    assert item.headline == (
        "Prime Minister Jacinda Ardern describes the attack as \"one of New Zealand's darkest"
        ' days".'
    )
    assert item.topics == ("Christchurch mosque shootings",)
    assert item.entities == (
        "Christchurch mosque shootings",
        "Prime Minister of New Zealand",
        "Jacinda Ardern",
    )
    assert item.sources == (
        SourceRecord(
            "RNZ", "https://www.rnz.co.nz/news/national/384707/ardern-one-of-nz-s-darkest-days"
        ),
    )


def test_march_15_convert_template_and_uncited_item() -> None:
    """{{convert|177|km/h|mph|abbr=on}} reads "177 km/h"; no source is still an event."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[4]
    assert item.headline == (
        "Cyclone Idai makes landfall near Beira, Mozambique, with sustained winds of 177 km/h."
    )
    assert item.category == DISASTERS
    assert item.topics == ()
    assert item.entities == (
        "Cyclone Idai",
        "Beira, Mozambique",
        "Mozambique",
        "Maximum sustained wind",
    )
    assert item.sources == ()


def test_march_15_interlanguage_link_adds_nothing() -> None:
    """[[fr:Boeing 737 MAX]] is a link to the French article: no words, no entity."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[5]
    assert item.headline == (
        "A Boeing 737 MAX is grounded by the FAA after the Ethiopian Airlines crash."
    )
    assert item.entities == (
        "Boeing 737 MAX",
        "Federal Aviation Administration",
        "Ethiopian Airlines Flight 302",
    )
    assert item.sources == (
        SourceRecord(
            "The New York Times", "https://www.nytimes.com/2019/03/15/business/boeing-737-max.html"
        ),
    )


def test_march_15_named_ref_with_citation_removed() -> None:
    """A <ref name="…"> and the URL of its citation are neither text nor a source."""
    item = fixture("2019_March_15.wiki", MARCH_15).items[6]
    assert item == PortalItemRecord(
        key=(
            "2019/03/15/2019-cricket-world-cup-the-icc-names-the-ulster-born-umpire-for-the"
            "-opening-match"
        ),
        date=MARCH_15,
        headline=(
            "2019 Cricket World Cup: the ICC names the Ulster-born umpire for the opening match."
        ),
        category=SPORTS,
        topics=(),
        entities=("2019 Cricket World Cup", "International Cricket Council", "Ulster"),
        sources=(SourceRecord("ESPNcricinfo", "https://www.espncricinfo.com/story/1"),),
        position=6,
    )


# --- the top=yes ... bottom=yes layout: 2024 January 8 -----------------------------------------


def test_january_8_sandwich_layout() -> None:
    """Between the top=yes and bottom=yes templates: four events under three headings."""
    parsed = fixture("2024_January_8.wiki", JANUARY_8)
    assert [item.category for item in parsed.items] == [ARMED, ARMED, BUSINESS, LAW]
    assert [item.story for item in parsed.items] == [
        "Israel–Hamas war",
        "Ecuadorian security crisis",
        None,
        None,
    ]
    assert parsed.warnings == ()
    assert parsed.items[0].sources == (
        SourceRecord("Al Jazeera", "https://www.aljazeera.com/news/2024/1/8/x"),
        SourceRecord("Reuters", "https://www.reuters.com/world/middle-east/y"),
    )
    assert parsed.items[2].key == (
        "2024/01/8/boeing-shares-fall-8-after-the-alaska-airlines-flight-1282-blowout"
    )


def test_january_8_full_record_with_accented_names() -> None:
    """José Adolfo Macías: the label shows, the article is the entity, the slug turns every
    non-ASCII letter into "a"."""
    item = fixture("2024_January_8.wiki", JANUARY_8).items[1]
    assert item == PortalItemRecord(
        key=(
            "2024/01/8/president-daniel-noboa-declares-a-60-day-state-of-emergency-after-gang"
            "-leader-josa-adolfo-macaas-escapes-from-a-prison-in-guayaquil"
        ),
        date=JANUARY_8,
        headline=(
            "President Daniel Noboa declares a 60-day state of emergency after gang leader José"
            " Adolfo Macías escapes from a prison in Guayaquil."
        ),
        category=ARMED,
        topics=("Ecuadorian security crisis",),
        entities=(
            "Ecuadorian security crisis",
            "President of Ecuador",
            "Daniel Noboa",
            "State of emergency",
            "Adolfo Macías Villamar",
            "Guayaquil",
        ),
        sources=(SourceRecord("AP", "https://apnews.com/article/ecuador-z"),),
        position=1,
    )


# --- every captured page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "date", "count"),
    [
        ("2017_May_5.wiki", MAY_5, 6),
        ("2017_June_16.wiki", JUNE_16, 10),
        ("2019_March_15.wiki", MARCH_15, 7),
        ("2024_January_8.wiki", JANUARY_8, 4),
    ],
)
def test_every_page_item_is_dated_keyed_and_numbered(name: str, date: dt.date, count: int) -> None:
    """Each event carries the page's date, a key made of it and its headline, its place."""
    parsed = fixture(name, date)
    assert len(parsed.items) == count
    assert [item.position for item in parsed.items] == list(range(count))
    for item in parsed.items:
        assert item.date == date
        assert item.lang == "en"
        assert item.key == key(date, item.headline)
        assert item.headline == item.headline.strip() and "  " not in item.headline
        assert not any(mark in item.headline for mark in ("[[", "]]", "{{", "''", "<", "http"))
    assert len({item.key for item in parsed.items}) == count
