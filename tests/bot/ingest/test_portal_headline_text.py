"""The words of a headline, on small inline day pages: footnotes, comments, templates,
HTML tags, file, category and interwiki links, and invisible characters.

Every expected value below was worked out from the page text and the portal's rules (what a
reader of the day page sees), not from the parser's output.
"""

from __future__ import annotations

import pytest

from storage.models import SourceRecord
from tests.bot.ingest.portal_support import headlines, inline, only


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


def test_an_unclosed_bold_leaves_no_apostrophe() -> None:
    """The wiki closes an unclosed ''' at the end of the line: the reader sees no quote marks,
    and the apostrophe in a word stays."""
    item = only(
        inline("*'''Breaking: [[Chad]] coup attempt in [[N'Djamena]]. [https://e.org/c (AFP)]")
    )
    assert item.headline == "Breaking: Chad coup attempt in N'Djamena."
    assert item.entities == ("Chad", "N'Djamena")


@pytest.mark.parametrize(
    ("line", "headline"),
    [
        # Five apostrophes: bold and italic, unclosed.
        ("*'''''Breaking: a storm hits [[Fiji]].", "Breaking: a storm hits Fiji."),
        # Apostrophes in words stay: a name, rock 'n' roll, a plural possessive.
        (
            "*'''[[Conan O'Brien|O'Brien]] hosts a rock 'n' roll night with the Smiths' guitarist.",
            "O'Brien hosts a rock 'n' roll night with the Smiths' guitarist.",
        ),
        # Four: an apostrophe, then bold (MediaWiki's reading).
        ("*''''Tis the season, says [[Pope Francis]].", "'Tis the season, says Pope Francis."),
        # Closed emphasis next to a possessive.
        ("*[[The Beatles]]' ''Abbey Road'' is reissued.", "The Beatles' Abbey Road is reissued."),
    ],
)
def test_emphasis_quote_marks_go_and_apostrophes_in_words_stay(line: str, headline: str) -> None:
    """Emphasis runs of apostrophes are read as MediaWiki reads them; a single apostrophe
    is always the text's."""
    assert only(inline(line)).headline == headline
