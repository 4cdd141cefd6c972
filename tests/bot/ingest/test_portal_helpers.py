"""The portal's helpers: a day page's title (bot.ingest.portal), the article a link names
(link_entity), a source's name (publisher), and clean (bot.ingest.wikitext)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ingest.portal import ENGLISH
from bot.ingest.wikitext import clean, link_entity, publisher
from tests.bot.ingest.portal_support import JANUARY_8, MAY_5

# --- titles -------------------------------------------------------------------------------


def test_day_page_titles_have_no_padding() -> None:
    """The bot asks Wikipedia for "Portal:Current events/2017 May 5"."""
    assert ENGLISH.title(MAY_5) == "Portal:Current events/2017 May 5"
    assert ENGLISH.title(JANUARY_8) == "Portal:Current events/2024 January 8"
    assert ENGLISH.title(dt.date(2019, 12, 31)) == "Portal:Current events/2019 December 31"


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
