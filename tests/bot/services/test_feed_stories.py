"""The same-story decision on its own: candidates in, the event an item joins out."""

from __future__ import annotations

import datetime as dt

from bot.services.feeds.stories import is_near_duplicate, same_story
from storage.keys import make_key
from storage.models import EventBrief, FeedItem
from storage.textindex import headline_tokens

DAY = dt.date(2024, 5, 1)
BAGHDADI = "Russian airstrike may have killed Islamic State leader Abu Bakr al-Baghdadi"


def item(
    headline: str,
    *,
    link: str | None = "https://paper-b.example/world/1",
    date: dt.date = DAY,
    link_identifies: bool = True,
) -> FeedItem:
    return FeedItem(
        identity="b-1",
        key=make_key(date, "story"),
        date=date,
        headline=headline,
        summary="",
        lang="en",
        link=link,
        entities=(),
        announce=True,
        link_identifies=link_identifies,
    )


def event(event_id: int, headline: str, date: dt.date = DAY) -> EventBrief:
    return EventBrief(event_id, make_key(date, f"event-{event_id}"), date, headline, True)


def test_the_same_link_joins_whatever_the_headline() -> None:
    entry = item("Alpine valley road blocked", link="https://agency-a.example/alps")
    assert same_story(entry, 7, []) == 7
    # The link decides before any headline does.
    assert same_story(entry, 7, [event(3, "Alpine valley road blocked by a glacier")]) == 7


def test_a_link_that_cannot_tell_stories_apart_is_not_trusted() -> None:
    home = item(
        "Parliament passes the budget after a long night",
        link="https://portal.example/",
        link_identifies=False,
    )
    assert same_story(home, 7, []) is None
    # Its headline may still be the same story as that day's event.
    like = event(9, "Parliament passes the budget after a long night")
    assert same_story(home, 7, [like]) == 9


def test_a_nearly_identical_headline_the_same_day_joins() -> None:
    near = BAGHDADI.replace("may have killed", "may have killed the")  # Jaccard 10/11
    assert same_story(item(near), None, [event(4, BAGHDADI)]) == 4
    # "says ministry" added: 11 of 13 tokens shared, still the same story.
    assert same_story(item(BAGHDADI + " says ministry"), None, [event(4, BAGHDADI)]) == 4
    # Candidates come most similar first: the first that is the story wins.
    unlike = event(2, "Glacier collapse blocks a valley road in the Alps")
    candidates = [unlike, event(5, near), event(4, BAGHDADI)]
    assert same_story(item(BAGHDADI), None, candidates) == 5


def test_a_different_story_or_day_is_a_new_event() -> None:
    civilians = item("Russian airstrike kills dozens of civilians near Deir ez-Zor")
    assert same_story(civilians, None, [event(4, BAGHDADI)]) is None
    later = item(BAGHDADI, date=DAY + dt.timedelta(days=2))
    assert same_story(later, None, [event(4, BAGHDADI)]) is None
    assert same_story(item(BAGHDADI), None, []) is None


def test_the_day_before_or_after_joins_only_word_for_word() -> None:
    """One story dated either side of midnight is one event; a like headline of the next
    day is that day's news."""
    toll = "Earthquake death toll rises to 41,000 in Turkey and Syria"
    for day in (DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)):
        assert same_story(item(toll.upper(), date=day), None, [event(4, toll)]) == 4
        rises = item(toll.replace("41,000", "44,000"), date=day)
        assert same_story(rises, None, [event(4, toll)]) is None
    # The item's own day comes first, whatever the order of the candidates.
    near = event(5, toll + " says ministry")
    yesterday = event(4, toll, DAY - dt.timedelta(days=1))
    assert same_story(item(toll), None, [yesterday, near]) == 5


def test_short_headlines_are_never_the_same_story() -> None:
    assert same_story(item("Live updates"), None, [event(4, "Live updates")]) is None
    assert same_story(item("Weather"), None, [event(4, "Weather")]) is None


def test_chinese_headlines_compare_by_their_bigrams() -> None:
    story = "叙利亚政府军收复巴尔米拉古城"
    assert same_story(item(story + "。"), None, [event(6, story)]) == 6
    assert same_story(item("叙利亚反对派控制阿勒颇东部"), None, [event(6, story)]) is None


def test_near_duplicate_needs_four_tokens_and_four_fifths() -> None:
    four = frozenset("abcd")
    assert is_near_duplicate(four, four)
    assert not is_near_duplicate(frozenset("abc"), frozenset("abc"))
    assert is_near_duplicate(frozenset("abcdefgh"), frozenset("abcdefghi"))  # 8/9
    assert not is_near_duplicate(frozenset("abcdefg"), frozenset("abcdefghi"))  # 7/9
    assert is_near_duplicate(headline_tokens(BAGHDADI), headline_tokens(BAGHDADI.upper()))
