"""Reading Wikipedia's Current events day pages: the four captured pages in the portal's three
layouts, exactly, and small inline pages for each rule of the format.

Every expected value below was worked out from the page text and the portal's rules (what a
reader of the day page sees), not from the parser's output.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ingest.archive import slugify
from bot.ingest.portal import (
    ENGLISH,
    PortalDay,
    PortalFormatError,
    clean,
    link_entity,
    parse_day,
    publisher,
)
from storage.models import PortalItemRecord, SourceRecord
from tests.conftest import MOD_KEY, TEST_DATA

PAGES = TEST_DATA / "wikipedia"
MAY_5 = dt.date(2017, 5, 5)
JUNE_16 = dt.date(2017, 6, 16)
MARCH_15 = dt.date(2019, 3, 15)
JANUARY_8 = dt.date(2024, 1, 8)

ARMED = "Armed conflicts and attacks"
BUSINESS = "Business and economy"
RELATIONS = "International relations"
LAW = "Law and crime"
POLITICS = "Politics and elections"
DISASTERS = "Disasters and accidents"
SPORTS = "Sports"

BELOW = "<!-- All news items below this line -->"
ABOVE = "<!-- All news items above this line -->"


def fixture(name: str, date: dt.date) -> PortalDay:
    parsed = parse_day(date, (PAGES / name).read_text(encoding="utf-8"))
    assert parsed.date == date
    return parsed


def key(date: dt.date, headline: str) -> str:
    """The archive's key rule: YYYY/MM/D/<slug of the headline>."""
    return f"{date.year}/{date.month:02d}/{date.day}/{slugify(headline, 'en')}"


def inline(body: str, date: dt.date = MAY_5) -> PortalDay:
    """A day page in the header layout with ``body`` between the markers."""
    text = (
        "{{Current events header|2017|05|5}}\n\n"
        f"{BELOW}\n{body}\n{ABOVE}|}}\n"
        "[[Category:Current events pages]]\n"
    )
    return parse_day(date, text)


def headlines(parsed: PortalDay) -> list[str]:
    return [item.headline for item in parsed.items]


def only(parsed: PortalDay) -> PortalItemRecord:
    assert len(parsed.items) == 1, headlines(parsed)
    return parsed.items[0]


# --- titles -------------------------------------------------------------------------------


def test_day_page_titles_have_no_padding() -> None:
    """The bot asks Wikipedia for "Portal:Current events/2017 May 5"."""
    assert ENGLISH.title(MAY_5) == "Portal:Current events/2017 May 5"
    assert ENGLISH.title(JANUARY_8) == "Portal:Current events/2024 January 8"
    assert ENGLISH.title(dt.date(2019, 12, 31)) == "Portal:Current events/2019 December 31"


# --- the header layout: 2017 May 5 ----------------------------------------------------------


def test_may_5_header_layout_items_and_categories() -> None:
    """The ;Heading layout: six events under three headings; topics are not events."""
    parsed = fixture("2017_May_5.wiki", MAY_5)
    assert [item.category for item in parsed.items] == [
        ARMED,
        ARMED,
        ARMED,
        RELATIONS,
        POLITICS,
        POLITICS,
    ]
    assert [item.story for item in parsed.items] == [
        "Syrian Civil War",
        "Syrian Civil War",
        None,
        None,
        "French presidential election, 2017",
        None,
    ]
    assert [item.position for item in parsed.items] == [0, 1, 2, 3, 4, 5]
    assert parsed.warnings == ()
    assert "Syrian Civil War" not in headlines(parsed)


def test_may_5_several_sources_on_one_item() -> None:
    """An event with two external links has both as sources, named by their labels."""
    first = fixture("2017_May_5.wiki", MAY_5).items[0]
    headline = (
        'Russia, Iran and Turkey reach an agreement, effective this midnight, to establish four "safe'
        ' zones" in Syria over which all military aircraft, including Turkish, Russian, and'
        " American aircraft, will be barred from flying."
    )
    assert first == PortalItemRecord(
        key=key(MAY_5, headline),
        date=MAY_5,
        headline=headline,
        category=ARMED,
        topics=("Syrian Civil War",),
        entities=("Syrian Civil War", "Syria"),
        sources=(
            SourceRecord(
                "Reuters",
                "http://www.reuters.com/article/us-mideast-crisis-syria-agreement-idUSKBN1811KJ",
            ),
            SourceRecord(
                "Fox News",
                "http://www.foxnews.com/world/2017/05/05/report-russia-says-syria-safe-zones-will-be-shut-for-us-warplanes.html",
            ),
        ),
        position=0,
        lang="en",
    )
    assert first.key.startswith("2017/05/5/russia-iran-and-turkey-reach-an-agreement-")


def test_may_5_ref_dropped_and_three_sources() -> None:
    """A <ref> with a citation template vanishes; the label shows, not the link target."""
    second = fixture("2017_May_5.wiki", MAY_5).items[1]
    assert second.headline == (
        "The United Nations welcomed the long discussed safe zones, although they have been"
        " rejected by Syrian rebels and the Kurdish PYD."
    )
    assert second.topics == ("Syrian Civil War",)
    assert second.entities == (
        "Syrian Civil War",
        "United Nations",
        "Democratic Union Party (Syria)",
    )
    assert second.sources == (
        SourceRecord(
            "Reuters",
            "http://www.reuters.com/article/us-mideast-crisis-safezones-opposition-idUSKBN1801TF",
        ),
        SourceRecord(
            "Fox News",
            "http://www.foxnews.com/world/2017/05/05/report-russia-says-syria-safe-zones-will-be-shut-for-us-warplanes.html",
        ),
        SourceRecord(
            "Reuters", "http://www.reuters.com/article/us-mideast-crisis-syria-pyd-idUSKBN1811PZ"
        ),
    )


def test_may_5_labels_differ_from_targets() -> None:
    """Readers see "border crossing" and "Chaman"; the entities are the articles linked."""
    item = fixture("2017_May_5.wiki", MAY_5).items[2]
    headline = (
        "Afghan border police and the Pakistani military clash at a border crossing near Chaman,"
        " killing at least 13 people and wounding over 80 others. Both sides blame each other for"
        " the flareup in fighting."
    )
    assert item == PortalItemRecord(
        key=key(MAY_5, headline),
        date=MAY_5,
        headline=headline,
        category=ARMED,
        topics=(),
        entities=("Afghan National Police", "Pakistan Armed Forces", "Durand Line", "Chaman"),
        sources=(
            SourceRecord(
                "Radio Free Europe/Radio Liberty",
                "https://www.rferl.org/a/pakistan-afghanistan-border-shooting-census-team/28469536.html",
            ),
        ),
        position=2,
    )
    assert item.story is None


def test_may_5_piped_links_inside_parentheses() -> None:
    """(D-MD) and (R-FL) are built of piped links; "arms industry" becomes "Arms industry"."""
    item = fixture("2017_May_5.wiki", MAY_5).items[3]
    assert item.headline == (
        "United States senators Ben Cardin (D-MD) and Marco Rubio (R-FL) file a bill restricting"
        " arms sales to the Philippine National Police over its drug war."
    )
    assert item.category == RELATIONS
    assert item.entities == (
        "United States Senate",
        "Ben Cardin",
        "Democratic Party (United States)",
        "Maryland",
        "Marco Rubio",
        "Republican Party (United States)",
        "Florida",
        "Arms industry",
        "Philippine National Police",
        "Philippine Drug War",
    )
    assert item.sources == (
        SourceRecord(
            "Rappler",
            "http://www.rappler.com/nation/168973-us-bill-restrictions-weapons-exports-pnp",
        ),
    )


def test_may_5_entities_decoded_and_comment_removed() -> None:
    """&quot; shows as a quote mark and an editors' comment is not part of the headline."""
    item = fixture("2017_May_5.wiki", MAY_5).items[4]
    assert item.headline == (
        'Emmanuel Macron\'s campaign says it has been the target of a "massive and coordinated"'
        " hacking operation, hours before campaigning officially ends."
    )
    assert item.topics == ("French presidential election, 2017",)
    assert item.entities == ("French presidential election, 2017", "Emmanuel Macron")
    assert item.sources == (SourceRecord("BBC", "https://www.bbc.com/news/world-europe-39817689"),)


def test_may_5_uncited_item_with_file_and_category_links() -> None:
    """An item without a source is an event; a picture and a category tag add no words."""
    item = fixture("2017_May_5.wiki", MAY_5).items[5]
    headline = "An uncited item about the Storting in Oslo, with a picture and a tag."
    assert item == PortalItemRecord(
        key="2017/05/5/an-uncited-item-about-the-storting-in-oslo-with-a-picture-and-a-tag",
        date=MAY_5,
        headline=headline,
        category=POLITICS,
        topics=(),
        entities=("Storting", "Oslo"),
        sources=(),
        position=5,
    )


# --- the header layout: 2017 June 16 ---------------------------------------------------------


def test_june_16_items_and_categories() -> None:
    """Ten events under five headings, each filed under the heading above it."""
    parsed = fixture("2017_June_16.wiki", JUNE_16)
    assert [item.category for item in parsed.items] == [
        ARMED,
        ARMED,
        BUSINESS,
        RELATIONS,
        RELATIONS,
        RELATIONS,
        LAW,
        POLITICS,
        POLITICS,
        POLITICS,
    ]
    assert [item.topics for item in parsed.items] == [
        ("Israeli–Palestinian conflict",),
        ("Russian military intervention in the Syrian Civil War",),
        (),
        ("Djibouti–Eritrea relations",),
        ("Cuba–United States relations",),
        (),
        ("Shooting of Philando Castile",),
        (),
        (),
        ("Grenfell Tower fire",),
    ]
    assert parsed.warnings == ()


def test_june_16_same_key_as_the_archive() -> None:
    """The portal's item gets the key the archive gave the same event; (''The Independent'')
    is named without quote marks."""
    item = fixture("2017_June_16.wiki", JUNE_16).items[1]
    assert item.headline == (
        "The Russian Ministry of Defence says its forces may have killed ISIL's leader Abu Bakr"
        " al-Baghdadi in an airstrike, south of Raqqa on 28 May, and currently is seeking"
        " confirmation."
    )
    assert item.key == MOD_KEY
    assert item.story == "Russian military intervention in the Syrian Civil War"
    assert item.entities == (
        "Russian military intervention in the Syrian Civil War",
        "Ministry of Defence (Russia)",
        "Islamic State of Iraq and the Levant",
        "Abu Bakr al-Baghdadi",
        "Raqqa",
    )
    assert item.sources == (
        SourceRecord(
            "The Independent",
            "http://www.independent.co.uk/news/world/middle-east/abu-bakr-al-baghdadi-dead-isis-leader-russia-raqqa-air-strike-killed-syria-islamic-state-chief-a7792801.html",
        ),
        SourceRecord(
            "Reuters",
            "http://www.reuters.com/article/us-mideast-crisis-syria-russia-baghdadi-idUSKBN1970VU",
        ),
    )


def test_june_16_link_trails_and_lower_case_targets() -> None:
    """[[Israel]]i reads "Israeli"; [[peninsula]] is the entity "Peninsula"."""
    items = fixture("2017_June_16.wiki", JUNE_16).items
    assert items[0].headline.startswith(
        "In two simultaneous attacks near the Damascus Gate in Jerusalem, an Israeli policewoman"
        " is fatally stabbed; the three Palestinian assailants are shot dead."
    )
    assert items[0].entities == (
        "Israeli–Palestinian conflict",
        "Damascus Gate",
        "Jerusalem",
        "Israel",
        "Palestinian people",
        "Islamic State of Iraq and the Levant",
        "Popular Front for the Liberation of Palestine",
        "Hamas",
    )
    djibouti = items[3]
    assert djibouti.headline == (
        "Djiboutian foreign minister Mahamoud Ali Youssouf accuses Eritrea of occupying the"
        " disputed Doumeira Islands and Ras Doumeira peninsula after Qatari peacekeepers withdrew"
        " from the area."
    )
    assert djibouti.entities == (
        "Djibouti–Eritrea relations",
        "Djibouti",
        "Mahamoud Ali Youssouf",
        "Eritrea",
        "Doumeira Islands",
        "Ras Doumeira",
        "Peninsula",
        "Qatar",
    )


def test_june_16_full_record_with_two_sources() -> None:
    """Helmut Kohl's death: a top-level event with two sources."""
    item = fixture("2017_June_16.wiki", JUNE_16).items[7]
    assert item == PortalItemRecord(
        key="2017/06/16/former-german-chancellor-helmut-kohl-dies-at-the-age-of-87",
        date=JUNE_16,
        headline="Former German Chancellor Helmut Kohl dies at the age of 87.",
        category=POLITICS,
        topics=(),
        entities=("Chancellor of Germany", "Helmut Kohl"),
        sources=(
            SourceRecord("BBC", "http://www.bbc.com/news/world-europe-40307918"),
            SourceRecord("DW", "https://www.dw.com/en/helmut-kohl-dies/a-39285347"),
        ),
        position=7,
    )


def test_june_16_url_with_query_and_non_ascii_text() -> None:
    """A source URL keeps its query string as written; "£5 million" is kept."""
    items = fixture("2017_June_16.wiki", JUNE_16).items
    assert items[5].sources == (
        SourceRecord(
            "The Washington Post",
            "https://www.washingtonpost.com/powerpost/senate-overwhelmingly-passes-new-russia-and-iran-sanctions/2017/06/15/df9afc2a-51d8-11e7-91eb-9611861a988f_story.html?utm_campaign=EBB%206.16.17&utm_medium=email&utm_source=Sailthru&utm_term=.eee9a04ee279",
        ),
    )
    assert items[9].headline == (
        "British Prime Minister Theresa May announces a £5 million fund for the victims of the"
        " fire in North Kensington."
    )
    assert items[9].key == key(JUNE_16, items[9].headline)
    assert items[9].key.startswith("2017/06/16/british-prime-minister-theresa-may-announces-a-a5-")


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


# --- inline pages: headline text --------------------------------------------------------------


def test_multi_line_ref_removed_with_its_contents() -> None:
    """A <ref> spanning lines is one footnote: nothing of it shows, the item stays one item."""
    item = only(
        inline(
            "*A dam bursts in [[Laos]].<ref>\n"
            "{{cite news|title=Dam bursts|url=https://example.org/dam}}\n"
            "* not a bullet, part of the footnote\n"
            "</ref> [https://www.bbc.com/news/1 (BBC)]"
        )
    )
    assert item.headline == "A dam bursts in Laos."
    assert item.entities == ("Laos",)
    assert item.sources == (SourceRecord("BBC", "https://www.bbc.com/news/1"),)


def test_wrapping_templates_keep_their_words() -> None:
    """{{nowrap}}, {{lang}}, {{ill}} and {{convert}} show words; other templates none."""
    item = only(
        inline(
            "*The {{nowrap|Sea of Japan}} summit opens in {{lang|fr|Saint-Malo}} with"
            " {{ill|Jean Dupont|fr|Jean Dupont (homme politique)}} as winds reach"
            " {{convert|90|km/h|mph|abbr=on}}.{{citation needed|date=May 2017}}"
            " [https://www.lemonde.fr/a (''Le Monde'')]"
        )
    )
    assert item.headline == (
        "The Sea of Japan summit opens in Saint-Malo with Jean Dupont as winds reach 90 km/h."
    )
    assert item.entities == ("Jean Dupont",)
    assert item.sources == (SourceRecord("Le Monde", "https://www.lemonde.fr/a"),)


def test_html_tags_keep_their_text_and_br_is_a_space() -> None:
    """<small>, <span> and <br> are layout: their words stay, a line break is a space."""
    item = only(
        inline(
            "*Floods hit [[Kerala]].<br>Hundreds are evacuated <small>by boat</small>"
            ' <span style="color:red">tonight</span>.<br />Rain continues.'
        )
    )
    assert (
        item.headline
        == "Floods hit Kerala. Hundreds are evacuated by boat tonight. Rain continues."
    )
    assert item.entities == ("Kerala",)


def test_refs_comments_templates_and_leftover_parentheses() -> None:
    """Footnotes, comments and unknown templates vanish, and the () and " ." they leave too."""
    item = only(
        inline(
            "*The bill passes ({{citation needed}}) in the [[Senate]]<ref name=x/> "
            '<!-- check the vote count -->.<ref name="y">Vote count, p. 4</ref>'
            " &amp; goes to the &quot;House&quot;&nbsp;next."
            " [https://www.rappler.com/a (Rappler)]"
        )
    )
    assert item.headline == 'The bill passes in the Senate. & goes to the "House" next.'
    assert item.entities == ("Senate",)
    assert item.sources == (SourceRecord("Rappler", "https://www.rappler.com/a"),)


def test_zero_width_characters_removed() -> None:
    """Invisible characters editors paste in do not end up in headlines."""
    item = only(
        inline(
            "*Cease\u00adfire talks\u200b resume\u200c in\u200d [[Doha]]\u2060 to\ufeffday."
            " [https://www.aljazeera.com/b (Al Jazeera)]"
        )
    )
    assert item.headline == "Ceasefire talks resume in Doha today."
    assert item.key == "2017/05/5/ceasefire-talks-resume-in-doha-today"


def test_file_category_and_interwiki_links_show_no_text() -> None:
    """Images, category tags and links to other languages' articles are not words."""
    item = only(
        inline(
            "*[[File:Flag.svg|20px]] [[Image:Map.png|thumb|A map]] Elections are held in"
            " [[Iceland]].[[Category:2017 in Iceland]][[fr:Islande]]"
        )
    )
    assert item.headline == "Elections are held in Iceland."
    assert item.entities == ("Iceland",)


def test_colon_category_link_shows_its_text() -> None:
    """[[:Category:X]] is a visible link to the category page: its words show."""
    day = inline(
        "*Editors add [[:Category:Volcanoes of Iceland]] to the page.\n"
        "*Editors list [[:Category:Volcanoes|volcano categories]] too."
    )
    assert headlines(day) == [
        "Editors add Category:Volcanoes of Iceland to the page.",
        "Editors list volcano categories too.",
    ]
    assert [item.entities for item in day.items] == [(), ()]


def test_no_space_left_before_a_period_inside_quotes() -> None:
    """A footnote removed before the closing period leaves no gap: 'failure."' not
    'failure ."'."""
    item = only(
        inline(
            '*The minister calls the plan "a failure <ref name=a/>." [https://www.bbc.com/x (BBC)]'
        )
    )
    assert item.headline == 'The minister calls the plan "a failure."'


def test_links_to_sister_projects_show_their_labels() -> None:
    """Only interlanguage links ([[fr:…]]) are invisible; a labelled link to Wikivoyage or
    MediaWiki.org reads like any other link (and names no entity)."""
    item = only(
        inline(
            "*See the [[voy:Paris|travel guide]], [[mw:Help:Links|the manual]] and"
            " [[wikt:reopen|a dictionary]]."
        )
    )
    assert item.headline == "See the travel guide, the manual and a dictionary."
    assert item.entities == ()


def test_source_inside_small_tag_is_a_source() -> None:
    """An external link wrapped in <small> is still one of the item's sources."""
    item = only(inline("*A thing happens. <small>[https://www.reuters.com/x (Reuters)]</small>"))
    assert item.headline == "A thing happens."
    assert item.sources == (SourceRecord("Reuters", "https://www.reuters.com/x"),)


def test_link_inside_nowrap_is_an_entity() -> None:
    """{{nowrap|[[Sea of Japan]]}} shows the reader a link to Sea of Japan."""
    item = only(inline("*The {{nowrap|[[Sea of Japan]]}} summit opens in [[Busan]]."))
    assert item.headline == "The Sea of Japan summit opens in Busan."
    assert item.entities == ("Sea of Japan", "Busan")


# --- inline pages: structure ------------------------------------------------------------------


def test_bullets_outside_the_markers_are_ignored() -> None:
    """Only what lies between the two markers is news."""
    text = (
        "{{Current events header|2017|05|5}}\n"
        "*A note for editors before the marker.\n"
        f"{BELOW}\n"
        ";Sports\n"
        "*The only real item.\n"
        f"{ABOVE}\n"
        "*A stray bullet after the marker.\n"
        "|}\n"
    )
    parsed = parse_day(MAY_5, text)
    assert headlines(parsed) == ["The only real item."]
    assert parsed.items[0].category == "Sports"


def test_markers_inside_the_content_parameter_bound_the_news() -> None:
    """In the content= layout too, bullets outside the markers are not news."""
    text = (
        "{{Current events|year=2019|month=03|day=15|content=\n"
        "*Before the marker.\n"
        f"{BELOW}\n"
        "'''Sports'''\n"
        "*Inside.\n"
        f"{ABOVE}\n"
        "*After the marker.\n"
        "}}"
    )
    parsed = parse_day(MARCH_15, text)
    assert headlines(parsed) == ["Inside."]
    assert parsed.items[0].category == "Sports"


def test_depth_can_skip_levels() -> None:
    """A *** bullet under a * bullet belongs to it; a later ** closes the *** one."""
    parsed = inline(
        "*[[Brexit]]\n"
        "***The [[House of Commons]] votes again.\n"
        "**[[Theresa May]] speaks.\n"
        "*A separate item."
    )
    assert headlines(parsed) == [
        "The House of Commons votes again.",
        "Theresa May speaks.",
        "A separate item.",
    ]
    assert [item.topics for item in parsed.items] == [("Brexit",), ("Brexit",), ()]
    assert parsed.items[0].entities == ("Brexit", "House of Commons")
    assert parsed.items[1].entities == ("Brexit", "Theresa May")
    assert parsed.items[2].entities == ()


def test_heading_resets_topics_and_only_a_bold_line_is_a_heading() -> None:
    """An item before any heading has no category; a heading closes the open topics; a
    bullet that starts in bold is an item, not a heading."""
    parsed = inline(
        "*[[Lone topic]]\n"
        "**An item before any heading.\n"
        "'''Sports'''\n"
        "**An item right after the heading.\n"
        "*'''Tennis:''' [[Novak Djokovic]] wins.\n"
        ";Law and crime\n"
        "*A court rules."
    )
    assert [(item.headline, item.category, item.topics) for item in parsed.items] == [
        ("An item before any heading.", None, ("Lone topic",)),
        ("An item right after the heading.", "Sports", ()),
        ("Tennis: Novak Djokovic wins.", "Sports", ()),
        ("A court rules.", LAW, ()),
    ]


def test_same_headline_twice_gets_a_numbered_key() -> None:
    """Two identical items on one page keep distinct keys: the second ends in -2."""
    parsed = inline(
        ";Sports\n*[[Chelsea F.C.|Chelsea]] win the cup.\n;Law and crime\n*Chelsea win the cup."
    )
    assert [item.key for item in parsed.items] == [
        "2017/05/5/chelsea-win-the-cup",
        "2017/05/5/chelsea-win-the-cup-2",
    ]
    assert [item.position for item in parsed.items] == [0, 1]


def test_positions_count_events_only() -> None:
    """Topics take no position: the events are numbered 0, 1, 2 in page order."""
    parsed = inline("*Topic A\n**Event one.\n**Event two.\n*Topic B\n**Event three.")
    assert [(item.position, item.headline, item.story) for item in parsed.items] == [
        (0, "Event one.", "Topic A"),
        (1, "Event two.", "Topic A"),
        (2, "Event three.", "Topic B"),
    ]


def test_entities_of_links_read_as_titles() -> None:
    """Entities: _ is a space, the first letter upper-case, #sections and other namespaces,
    interwiki links and files dropped; each once, topics first."""
    parsed = inline(
        "*[[Eiffel_Tower#History|The tower]]\n"
        "**The [[eiffel Tower|tower]] in [[paris]] reopens, says [[Template:Paris|a template]],"
        " [[Wikipedia:Notability|a guideline]], [[Portal:France|a portal]],"
        " [[Help:Links|a help page]], [[:fr:Paris|a French page]], [[wikt:reopen|a dictionary]]"
        " and [[Category:Paris|a category]] [[Star Wars: The Last Jedi|a film]]."
    )
    item = only(parsed)
    assert item.topics == ("The tower",)
    assert item.entities == ("Eiffel Tower", "Paris", "Star Wars: The Last Jedi")


def test_sources_without_labels_are_named_by_host() -> None:
    """A bare link is named by its site; a URL given twice is one source."""
    item = only(
        inline(
            "*A bridge collapses in [[Genoa]]. [https://www.ansa.it/news/1 (ANSA)]"
            " [https://www.ilpost.it/2] https://www.bbc.co.uk/news/3"
            " [https://www.ansa.it/news/1 (ANSA)]"
        )
    )
    assert item.headline == "A bridge collapses in Genoa."
    assert item.sources == (
        SourceRecord("ANSA", "https://www.ansa.it/news/1"),
        SourceRecord("ilpost.it", "https://www.ilpost.it/2"),
        SourceRecord("bbc.co.uk", "https://www.bbc.co.uk/news/3"),
    )


# --- inline pages: empty, malformed, fallbacks -------------------------------------------------


def test_empty_day_has_no_items_and_is_no_error() -> None:
    """A day nothing was added to yet: markers with nothing between them."""
    parsed = inline("")
    assert parsed == PortalDay(MAY_5, (), ())
    assert parse_day(MAY_5, f"{BELOW}\n\n{ABOVE}").items == ()


@pytest.mark.parametrize(
    "text",
    [
        "'''Paris''' is the capital of [[France]].\n* A bullet in an article.\n",
        "",
        "#REDIRECT [[Portal:Current events]]",
    ],
)
def test_page_without_markers_or_template_is_refused(text: str) -> None:
    """A page that is not a Current events day page says the marker is missing."""
    with pytest.raises(PortalFormatError, match="All news items below this line"):
        parse_day(MAY_5, text)


def test_content_parameter_without_markers_is_read_with_a_warning() -> None:
    """No markers in the content= layout: the content parameter is the news."""
    parsed = parse_day(
        MARCH_15,
        "{{Current events|year=2019|month=03|day=15|content=\n'''Sports'''\n*A match is played.\n}}",
    )
    assert [(item.headline, item.category) for item in parsed.items] == [
        ("A match is played.", "Sports")
    ]
    assert len(parsed.warnings) == 1
    assert "marker" in parsed.warnings[0]


def test_header_without_markers_reads_what_follows_with_a_warning() -> None:
    """No markers after {{Current events header}}: what follows it is the news."""
    parsed = parse_day(MAY_5, "{{Current events header|2017|05|5}}\n;Sports\n*A race is run.\n|}")
    assert [(item.headline, item.category) for item in parsed.items] == [
        ("A race is run.", "Sports")
    ]
    assert len(parsed.warnings) == 1
    assert "marker" in parsed.warnings[0]


def test_top_template_without_markers_reads_what_follows_with_a_warning() -> None:
    """No markers after {{Current events|…|top=yes}}: what follows it is the news."""
    parsed = parse_day(
        JANUARY_8,
        "{{Current events|year=2024|month=01|day=8|top=yes}}\n;Law and crime\n*A court rules.\n"
        "{{Current events|year=2024|month=01|day=8|bottom=yes}}",
    )
    assert [(item.headline, item.category) for item in parsed.items] == [("A court rules.", LAW)]
    assert len(parsed.warnings) == 1
    assert "marker" in parsed.warnings[0]


# --- the public helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "entity"),
    [
        ("Syrian Civil War", "Syrian Civil War"),
        ("peninsula", "Peninsula"),
        ("Eiffel_Tower", "Eiffel Tower"),
        ("Eiffel Tower#History", "Eiffel Tower"),
        ("Beira, Mozambique", "Beira, Mozambique"),
        ("Star Wars: The Last Jedi", "Star Wars: The Last Jedi"),
        ("File:Flag.svg", None),
        ("Image:Map.png", None),
        ("Category:Volcanoes", None),
        (":Category:Volcanoes", None),
        ("Template:Cite news", None),
        ("Wikipedia:Notability", None),
        ("Portal:Current events", None),
        ("Help:Links", None),
        ("fr:Paris", None),
        (":fr:Paris", None),
        ("wikt:word", None),
        ("#History", None),
    ],
)
def test_link_entity(target: str, entity: str | None) -> None:
    """What article a link target names, if any."""
    assert link_entity(target) == entity


def test_talk_namespaces_are_not_entities() -> None:
    """Talk pages and the Project: alias are other namespaces, not articles."""
    targets = [
        "Talk:Paris",
        "User talk:Example",
        "Wikipedia talk:Notability",
        "Template talk:Cite news",
        "Portal talk:Current events",
        "File talk:Flag.svg",
        "Category talk:Volcanoes",
        "Project:Notability",
    ]
    assert {target: link_entity(target) for target in targets} == dict.fromkeys(targets)


@pytest.mark.parametrize(
    ("label", "url", "name"),
    [
        ("(Reuters)", "https://www.reuters.com/a", "Reuters"),
        ("(''The New Zealand Herald'')", "https://www.nzherald.co.nz/a", "The New Zealand Herald"),
        ("(''AFP'' via ''FMT'')", "https://apnews.com/a", "AFP via FMT"),
        ('("Le Monde")', "https://www.lemonde.fr/a", "Le Monde"),
        (
            "Radio Free Europe/Radio Liberty",
            "https://www.rferl.org/a",
            "Radio Free Europe/Radio Liberty",
        ),
        ("", "https://www.bbc.co.uk/news/1", "bbc.co.uk"),
        ("()", "https://apnews.com/a", "apnews.com"),
    ],
)
def test_publisher(label: str, url: str, name: str) -> None:
    """A source's name: its label without parentheses and quotes, else the site."""
    assert publisher(label, url) == name


def test_clean() -> None:
    """Entities decoded, invisible characters gone, spaces collapsed, leftovers tidied."""
    assert clean("  a &quot;b&quot;&nbsp;c\u200b  d ( ) , e\u00ad .  ") == 'a "b" c d, e.'
