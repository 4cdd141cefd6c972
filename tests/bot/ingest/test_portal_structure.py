"""The structure of a day page, on small inline pages: the markers that bound the news,
bullet depth, headings, topics, keys, positions, entities and sources; and pages that are
empty, are not day pages, or lack their markers.

Every expected value below was worked out from the page text and the portal's rules (what a
reader of the day page sees), not from the parser's output.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from mwparserfromhell.nodes import Node

import bot.ingest.portal
from bot.ingest.portal import MAX_NESTING, PortalDay, PortalFormatError, parse_day
from storage.models import SourceRecord
from tests.bot.ingest.portal_support import (
    ABOVE,
    ARMED,
    BELOW,
    JANUARY_8,
    LAW,
    MARCH_15,
    MAY_5,
    headlines,
    inline,
    only,
)

# --- structure -------------------------------------------------------------------------------


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


# --- topic lines left without items ---------------------------------------------------------


def test_a_topic_line_left_without_items_is_not_an_event() -> None:
    """A leaf bullet that shows nothing but links is a story line whose items were moved
    to another day or are still to be written: not news. The operator is told."""
    parsed = inline(
        f";{ARMED}\n"
        "*[[Russian invasion of Ukraine]]\n"
        "*[[Israel–Hamas war]]\n"
        "**[[Israel Defense Forces|Israeli]] airstrikes hit [[Rafah]]."
        " [https://www.reuters.com/r (Reuters)]\n"
        "*'''[[Gaza humanitarian crisis (2023–present)|Gaza humanitarian crisis]]'''\n"
        "*[[Sudanese civil war (2023–present)|Sudanese civil war]], [[Darfur]]\n"
        "*{{ill|Jean Dupont|fr}} <!-- items to follow -->"
    )
    assert headlines(parsed) == ["Israeli airstrikes hit Rafah."]
    assert only(parsed).topics == ("Israel–Hamas war",)
    assert parsed.warnings == (
        "4 topic lines with no items under them were skipped, the first:"
        " [[Russian invasion of Ukraine]]",
    )


def test_a_leaf_with_words_a_source_or_a_footnote_besides_its_link_is_an_event() -> None:
    """Only a bare link is a topic line: a sentence, a source or a footnote makes it news."""
    parsed = inline(
        "*[[Russian invasion of Ukraine]]\n"
        "*[[Joe Biden]] wins.\n"
        "*[[2024 Taiwanese presidential election]] [https://apnews.com/t (AP)]\n"
        "*[[Storm Henk]]<ref>{{cite news|title=Storm Henk|url=https://e.org/h}}</ref>"
    )
    assert headlines(parsed) == [
        "Joe Biden wins.",
        "2024 Taiwanese presidential election",
        "Storm Henk",
    ]
    assert parsed.items[1].sources == (SourceRecord("AP", "https://apnews.com/t"),)
    assert parsed.warnings == (
        "a topic line with no items under it was skipped: [[Russian invasion of Ukraine]]",
    )


# --- sources cited in footnotes ------------------------------------------------------------


def test_an_item_cited_only_in_a_footnote_has_that_citation_as_its_source() -> None:
    """With no bracketed link of its own, an item's {{cite news}} / {{cite web}} footnotes
    are its sources, named by their work (or website, or publisher), else by their host."""
    parsed = inline(
        "*A dam bursts in [[Laos]].<ref>{{cite news |url=https://www.reuters.com/dam"
        " |title=Dam bursts |work=[[Reuters]]}}</ref>"
        '<ref name="b">{{Cite web|url=//apnews.com/laos|title=Laos}}</ref>'
        "<ref>{{cite news|title=No address given|work=AFP}}</ref>"
    )
    assert headlines(parsed) == ["A dam bursts in Laos."]
    assert parsed.items[0].sources == (
        SourceRecord("Reuters", "https://www.reuters.com/dam"),
        SourceRecord("apnews.com", "https://apnews.com/laos"),
    )


def test_a_footnote_beside_the_items_own_link_is_not_a_second_source() -> None:
    """The portal's source is the bracketed link; a footnote beside it repeats it."""
    parsed = inline(
        "*A dam bursts in [[Laos]]."
        "<ref>{{cite news|url=https://www.reuters.com/dam|work=Reuters}}</ref>"
        " [https://apnews.com/laos (AP)]"
    )
    assert parsed.items[0].sources == (SourceRecord("AP", "https://apnews.com/laos"),)


# --- deep nesting ---------------------------------------------------------------------------


def test_a_hundred_deep_vandal_list_is_read_at_the_deepest_real_level() -> None:
    """A vandal's chain of 100 nested topic lines with 1,000 items under the deepest:
    bullets deeper than MAX_NESTING are read at that depth, so each item keeps the topics
    above that depth, and the topic lines read there are left without items."""
    chain = ["*" * (k + 1) + f"[[T{k}]]" for k in range(100)]
    body = "\n".join([*chain, *("*" * 101 + f"Vandal line {i}." for i in range(1000))])
    parsed = inline(body + "\n*********:A note indented under a bullet.")
    assert headlines(parsed) == [f"Vandal line {i}." for i in range(1000)]
    topics = tuple(f"T{k}" for k in range(MAX_NESTING - 1))
    assert {(item.topics, item.entities) for item in parsed.items} == {(topics, topics)}
    assert parsed.warnings == (
        f"1093 lines nested more than {MAX_NESTING} deep read at depth {MAX_NESTING}",
        "93 topic lines with no items under them were skipped, the first: [[T7]]",
    )


def test_a_list_as_deep_as_the_limit_keeps_all_its_topics() -> None:
    """Nesting up to MAX_NESTING is read as written: the item has every topic above it."""
    chain = ["*" * (k + 1) + f"[[T{k}]]" for k in range(MAX_NESTING - 1)]
    parsed = inline("\n".join([*chain, "*" * MAX_NESTING + "An item at the deepest level."]))
    item = only(parsed)
    assert item.topics == item.entities == tuple(f"T{k}" for k in range(MAX_NESTING - 1))
    assert item.story == "T0"
    assert parsed.warnings == ()


def test_each_topic_line_is_read_once_however_many_items_it_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Structural bound: the text of a line is rendered a bounded number of times, not once
    per item under it (the work had been items × depth: 15,000 renders for this page)."""
    rendered = 0
    render = bot.ingest.portal.render

    def counting(nodes: Iterable[Node]) -> str:
        nonlocal rendered
        rendered += 1
        return render(nodes)

    monkeypatch.setattr(bot.ingest.portal, "render", counting)
    chain = ["*" * (k + 1) + f"[[T{k}]]" for k in range(MAX_NESTING - 1)]
    items = ["*" * MAX_NESTING + f"Item {i} happens." for i in range(1000)]
    parsed = inline("\n".join(chain + items))
    assert len(parsed.items) == 1000
    assert rendered <= 3 * (len(chain) + len(items))


# --- empty, malformed, fallbacks ------------------------------------------------------------


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
