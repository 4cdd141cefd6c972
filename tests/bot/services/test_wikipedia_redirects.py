"""Day pages of the portal that are redirects (a page moved, leaving a redirect behind),
through the portal service, a real HTTP stand-in of the MediaWiki API and real SQLite: the
day's news read from where the redirect leads, stored under the day asked for, and a
redirect that cannot be read so (a loop, out of the portal, to another day's page) recorded
and told with a reason that names it."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.cli.wikipedia import pull_summary
from bot.ingest.portal import ENGLISH
from storage import Storage
from tests.bot.services.wikipedia_support import (
    JANUARY_8,
    MARCH_15,
    TODAY,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    event_count,
    on,
    portal,
    publish,
    wiki_fixture,  # noqa: F401 -- a fixture, found by pytest as `wiki`
    wikitext,
)
from tests.support.mediawiki_server import MediaWikiStandIn

DAY = ENGLISH.title(TODAY)  # Portal:Current events/2024 January 9
MOVED = f"{DAY} (moved)"
TODAYS_ITEMS = 7  # the March 15 fixture page, as today's


async def dates_on(storage: Storage, date: dt.date) -> list[dt.date]:
    """The dates of the events stored on date's month and day (any year)."""
    return [brief.date for brief in await storage.events.on_this_day(date.month, date.day)]


async def test_a_day_page_moved_is_read_from_its_new_title_as_that_day(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The poll follows today's redirect: today's events, dated today, their card linking
    to the page read; the log says where the day's page led. Read once, as any page."""
    publish(wiki, JANUARY_8)
    wiki.set_page(MOVED, on(TODAY, wikitext(MARCH_15)))
    wiki.set_redirect(DAY, MOVED)
    caplog.set_level(logging.INFO, logger="bot.services.wikipedia")

    async with portal(storage, wiki, clock) as service:
        report = await service.poll()
        assert report.ok and report.failures == [] and report.missing == []
        assert report.new == 4 + TODAYS_ITEMS

        assert await dates_on(storage, TODAY) == [TODAY] * TODAYS_ITEMS
        [brief, *_] = await storage.events.on_this_day(TODAY.month, TODAY.day)
        page = await storage.portal.page_of(brief.id)
        assert page == (
            f"{wiki.api_url.removesuffix('/w/api.php')}"
            "/wiki/Portal:Current_events/2024_January_9_(moved)",
            TODAY,
        )
        today = next(d for d in await storage.portal.days("en") if d.date == TODAY)
        assert today.title == MOVED and today.error is None and today.items == TODAYS_ITEMS
        assert f"Wikipedia: {DAY} redirects to {MOVED}: read as 2024-01-09's page" in (
            caplog.messages
        )

        clock.advance(minutes=10)
        again = await service.poll()
    assert again.ok and again.unchanged_days == 2 and again.new == 0
    assert await event_count(storage) == 4 + TODAYS_ITEMS


async def test_a_redirect_loop_is_a_recorded_reason_told_once(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop has no page to read: the day fails with a reason naming the loop (in the
    pull's summary, the log and the day's status), is not fetched or logged again while the
    redirect stays as it is (a pull over it still fails), and is read once the loop is
    mended."""
    wiki.set_redirect(DAY, MOVED)
    wiki.set_redirect(MOVED, DAY)
    caplog.set_level(logging.INFO, logger="bot.services.wikipedia")
    loop = f"a redirect loop ({DAY} → {MOVED} → {DAY})"

    async with portal(storage, wiki, clock) as service:
        report = await service.pull(TODAY, TODAY)
        assert not report.ok and report.new == 0 and report.missing == []
        (failure,) = report.failures
        assert failure.what == "2024-01-09"
        assert failure.reason.endswith(f" of {DAY}: {loop}")
        assert "\n  failed: 2024-01-09: revision" in pull_summary(report)
        assert loop in pull_summary(report)
        assert any(loop in m and "not read" in m for m in caplog.messages)
        (day,) = await storage.portal.days("en")
        assert day.error == loop and day.revision_id is not None

        caplog.clear()
        again = await service.pull(TODAY, TODAY)  # not fetched or logged again: still failed
        assert not again.ok and again.unchanged_days == 1 and not caplog.messages
        assert again.failures[0].reason.endswith(f" of {DAY}: still unreadable: {loop}")

        wiki.set_page(MOVED, on(TODAY, wikitext(MARCH_15)))  # the loop mended
        mended = await service.pull(TODAY, TODAY)
    assert mended.ok and mended.new == TODAYS_ITEMS
    assert await dates_on(storage, TODAY) == [TODAY] * TODAYS_ITEMS
    (day,) = await storage.portal.days("en")
    assert day.error is None and day.title == MOVED


@pytest.mark.parametrize(
    ("target", "why"),
    [
        pytest.param(
            "2024 in Ecuador",
            "the day's page redirects to a page outside Portal:Current events/:"
            " not read as the day's news",
            id="an-article",
        ),
        pytest.param(
            "Portal:Current events",
            "the day's page redirects to a page outside Portal:Current events/:"
            " not read as the day's news",
            id="the-portal",
        ),
        pytest.param(
            ENGLISH.title(JANUARY_8),
            "the day's page redirects to the page of 2024-01-08:"
            " its news are that day's, not read as this day's too",
            id="another-day",
        ),
    ],
)
async def test_a_redirect_out_of_the_day_pages_is_not_read_as_the_day(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, target: str, why: str
) -> None:
    """A day page redirecting to an article, the portal's main page or another day's page
    has no news of its own: a failure naming the way, and nothing stored under the day."""
    publish(wiki, JANUARY_8)
    if target != ENGLISH.title(JANUARY_8):
        wiki.set_page(target, on(TODAY, wikitext(MARCH_15)))  # even with news-like text
    wiki.set_redirect(DAY, target)

    async with portal(storage, wiki, clock) as service:
        report = await service.pull(JANUARY_8, TODAY)
    (failure,) = report.failures
    assert failure.what == "2024-01-09"
    assert failure.reason.endswith(f" of {DAY} → {target}: {why}")
    assert report.new == 4  # January 8's, once
    assert await dates_on(storage, TODAY) == []
    assert await dates_on(storage, JANUARY_8) == [JANUARY_8] * 4
    today = next(d for d in await storage.portal.days("en") if d.date == TODAY)
    assert today.error == why


async def test_a_redirect_to_a_missing_page_is_told(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    wiki.set_redirect(DAY, MOVED)
    wiki.remove_page(MOVED)
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(TODAY, TODAY)
    (failure,) = report.failures
    assert failure.reason.endswith(f"a redirect to a page that does not exist ({DAY} → {MOVED})")
    assert report.missing == []  # the day's page exists: it is a broken redirect


async def test_two_days_redirecting_to_one_page_are_read_as_neither(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    """Which day a page holds that two days' pages lead to is unclear: neither day gets
    its news, both say why."""
    merged = "Portal:Current events/2024 January 8 and 9"
    wiki.set_page(merged, on(TODAY, wikitext(MARCH_15)))
    wiki.set_redirect(ENGLISH.title(JANUARY_8), merged)
    wiki.set_redirect(DAY, merged)
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(JANUARY_8, TODAY)
    assert [f.what for f in report.failures] == ["2024-01-08", "2024-01-09"]
    for failure in report.failures:
        assert failure.reason.endswith(
            f" → {merged}: the pages of 2 days redirect to {merged}: which day it holds is"
            " unclear, not read as any of them"
        )
    assert report.new == 0 and await event_count(storage) == 0
