"""The two captured day pages in the header layout (2017 May 5 and 2017 June 16), read
exactly.

Every expected value below was worked out from the page text and the portal's rules (what a
reader of the day page sees), not from the parser's output.
"""

from __future__ import annotations

from storage.models import PortalItemRecord, SourceRecord
from tests.bot.ingest.portal_support import (
    ARMED,
    BUSINESS,
    JUNE_16,
    LAW,
    MAY_5,
    POLITICS,
    RELATIONS,
    fixture,
    headlines,
    key,
)
from tests.conftest import MOD_KEY

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
