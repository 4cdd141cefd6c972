"""Article texts as pasted from news sites: the title, who published them and when, and the
story alone (no captions, bylines or credits); an archive page is not an article."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ingest.articles import ArticleFormatError, parse_article
from bot.services.imports import import_articles
from storage import Storage
from tests.conftest import MOD_KEY, SAMPLE_NEWS, SEED_ARTICLES

KURDISTAN24, TIME_AP = SEED_ARTICLES


def test_a_byline_is_the_publisher_not_the_story() -> None:
    article = parse_article(str(TIME_AP), TIME_AP.read_bytes())
    assert article.title == (
        "Russia Says It May Have Killed ISIS Leader Abu Bakr al-Baghdadi in an Airstrike"
    )
    assert article.publisher == "Associated Press"
    assert article.published == dt.date(2017, 6, 16)
    assert article.text.startswith("(MOSCOW) — Russia claimed Friday")
    assert "Updated: 4:04 AM ET" not in article.text and "Associated Press" not in article.text


def test_a_dateline_names_the_publisher_and_a_credit_is_not_the_story() -> None:
    article = parse_article(str(KURDISTAN24), KURDISTAN24.read_bytes())
    assert article.publisher == "Kurdistan24"
    assert article.published is None  # the text gives no date
    assert article.text.startswith("ERBIL, Kurdistan Region (Kurdistan24) – In a statement")
    assert article.text.endswith("the self-proclaimed capital of IS.")
    assert "Editing by" not in article.text and "(Photo:" not in article.text


def test_an_archive_page_is_refused_as_an_article() -> None:
    page = SAMPLE_NEWS / "2017" / "06" / "16" / (MOD_KEY.rsplit("/", 1)[1] + ".md")
    with pytest.raises(ArticleFormatError, match="archive event page, not an article's text"):
        parse_article(str(page), page.read_bytes())


async def test_import_articles_given_an_event_page_attaches_nothing(
    sample_storage: Storage,
) -> None:
    page = SAMPLE_NEWS / "2017" / "06" / "16" / (MOD_KEY.rsplit("/", 1)[1] + ".md")
    (outcome,) = await import_articles(sample_storage, [page])
    assert not outcome.attached and outcome.reason is not None
    assert "import it with `chronicle import`" in outcome.reason
    assert (await sample_storage.stats()).articles == 0


async def test_attached_articles_carry_their_publisher(sample_storage: Storage) -> None:
    await import_articles(sample_storage, SEED_ARTICLES)
    event = await sample_storage.events.get_by_key(MOD_KEY)
    assert event is not None
    assert {a.publisher for a in event.articles} == {"Associated Press", "Kurdistan24"}
