"""The portal's live poll when the wall clock was stepped back an hour under a running bot:
the last poll lies in the future. The next one comes when its wait has gone by counted from
then (ten minutes, not seventy); a poll backed off after failures waits its backoff again,
not less."""

from __future__ import annotations

from storage import Storage
from tests.bot.services.wikipedia_support import (
    JANUARY_8,
    MARCH_15,
    TODAY,
    Clock,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    on,
    portal,
    publish,
    wiki_fixture,  # noqa: F401 -- a fixture, found by pytest as `wiki`
    wikitext,
)
from tests.support.mediawiki_server import MediaWikiStandIn

ADDED = (
    "'''Business and economy'''\n*[[Samsung Electronics]] forecasts a 35% fall in"
    " quarterly profit. [https://www.reuters.com/samsung (Reuters)]\n'''Sports'''\n"
)


async def test_the_poll_comes_ten_minutes_after_the_clock_went_back_not_seventy(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))
    async with portal(storage, wiki, clock) as service:
        assert await service.poll_due() is not None  # history
        clock.advance(minutes=2)
        clock.advance(hours=-1)  # the clock is stepped back
        assert await service.poll_due() is None
        publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15).replace("'''Sports'''\n", ADDED)))
        clock.advance(minutes=9)
        assert await service.poll_due() is None
        clock.advance(minutes=1)
        news = await service.poll_due()
        assert news is not None and news.new == 1 and len(news.announced) == 1
        # From then on every ten minutes by the clock as it reads now.
        assert await service.poll_due() is None
        clock.advance(minutes=10)
        assert await service.poll_due() is not None


async def test_a_backed_off_poll_waits_its_backoff_from_when_the_clock_went_back(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    async with portal(storage, wiki, clock) as service:
        wiki.fail_next(500, times=3)
        for _ in range(3):
            report = await service.poll_due()
            assert report is not None and report.request_failed
            state = await storage.portal.poll_state("en")
            assert state.next_poll_at is not None
            clock.now = state.next_poll_at
        wiki.fail_next(500, times=1)
        assert await service.poll_due() is not None  # the fourth failure: 40 minutes
        clock.advance(minutes=1)
        clock.advance(hours=-1)
        assert await service.poll_due() is None
        clock.advance(minutes=39)
        assert await service.poll_due() is None  # not at once, nor before its backoff
        clock.advance(minutes=1)
        publish(wiki, TODAY, on(TODAY, wikitext(MARCH_15)))
        back = await service.poll_due()
    assert back is not None and back.ok
    state = await storage.portal.poll_state("en")
    assert state.consecutive_failures == 0 and state.last_attempt_at == clock.now
