"""The portal service's pulls against a real HTTP stand-in of the MediaWiki API and real
SQLite: pulls, re-pulls, edits, new and removed items, missing days, the API's pushback,
malformed pages, the archive's own events found again, redirects as aliases."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.portal import ENGLISH, PortalDay, parse_day
from bot.services.imports import import_archive
from storage import Storage
from storage.models import DigestFilters
from tests.bot.services.wikipedia_support import (
    JANUARY_8,
    JUNE_16,
    MARCH_15,
    MAY_5,
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
from tests.conftest import SAMPLE_NEWS
from tests.support.mediawiki_server import MediaWikiStandIn


async def test_a_pull_turns_day_pages_into_events(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    for date in (MAY_5, MARCH_15, JANUARY_8):
        publish(wiki, date)
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(dt.date(2017, 5, 4), TODAY)
    assert report.ok and report.days == (TODAY - dt.date(2017, 5, 4)).days + 1
    assert (report.fetched, report.new, report.updated, report.unchanged) == (3, 17, 0, 0)
    assert len(report.missing) == report.days - 3 and MAY_5 not in report.missing
    assert report.announced == []  # a pull is history unless asked
    # 50 days a request; the link targets of each batch of days in one request (the three
    # pages are in three batches), each title asked about once.
    assert len(wiki.page_requests()) == -(-report.days // 50)
    assert len(wiki.title_requests()) == 3
    asked = [t for r in wiki.title_requests() for t in r.titles]
    assert len(asked) == len(set(asked)) and "Syrian Civil War" in asked

    event = await storage.events.get_by_key(
        "2019/03/15/the-syrian-democratic-forces-say-that-about-1-000-isil-fighters-remain-in-baghuz"
    )
    assert event is not None and event.complete
    assert event.headline == (
        "The Syrian Democratic Forces say that about 1,000 ISIL fighters remain in Baghuz."
    )
    assert event.story == "Syrian Civil War"
    assert event.category == "Armed conflicts and attacks"
    assert [(s.name, s.url) for s in event.sources] == [
        (
            "Reuters",
            "https://www.reuters.com/article/us-mideast-crisis-syria-baghuz-idUSKCN1QW0SK",
        )
    ]
    # The redirect's target is the entity; the redirect's title an alias of it.
    assert "Islamic State" in event.entities
    assert "Islamic State of Iraq and the Levant" not in event.entities
    assert {"Syrian Civil War", "Battle of Baghuz Fawqani", "Baghuz Fawqani"} <= set(event.entities)
    assert await storage.entities.find("Islamic State of Iraq and the Levant") == (
        await storage.entities.find("Islamic State")
    )
    assert "Islamic State of Iraq and the Levant" in await storage.entities.aliases(
        (await storage.entities.find("Islamic State"))[0]  # type: ignore[index]
    )
    stats = await storage.stats()
    assert stats.extra["wikipedia_days"] == 3 and stats.extra["wikipedia_events"] == 17
    assert stats.portal_read_at == clock.now


async def test_a_re_pull_adds_nothing_and_parses_nothing(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for date in (MAY_5, MARCH_15):
        publish(wiki, date)
    parsed: list[dt.date] = []

    def counting(date: dt.date, text: str, *, language: str = "en") -> PortalDay:
        parsed.append(date)
        return parse_day(date, text, language=language)

    monkeypatch.setattr("bot.services.wikipedia.parse_day", counting)
    async with portal(storage, wiki, clock) as service:
        await service.pull(MAY_5, MARCH_15)
        assert parsed == [MAY_5, MARCH_15]
        before = await event_count(storage)
        titles_asked = len(wiki.title_requests())
        again = await service.pull(MAY_5, MARCH_15)
    assert parsed == [MAY_5, MARCH_15]  # not parsed again
    assert again.ok and again.fetched == 0 and again.unchanged_days == 2
    assert (again.new, again.updated, again.unchanged, again.removed) == (0, 0, 0, 0)
    assert await event_count(storage) == before
    assert len(wiki.title_requests()) == titles_asked  # titles are resolved once


async def test_an_edited_item_updates_its_event_in_place_and_is_not_announced(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    async with portal(storage, wiki, clock) as service:
        await service.pull(JANUARY_8, JANUARY_8)
        old_key = "2024/01/8/boeing-shares-fall-8-after-the-alaska-airlines-flight-1282-blowout"
        before = await storage.events.get_by_key(old_key)
        assert before is not None
        count = await event_count(storage)
        # An editor fixes the figure, adds a source and a link: the same item.
        edited = (
            wikitext(JANUARY_8)
            .replace(
                "[[Boeing]] shares fall 8% after the [[Alaska Airlines Flight 1282]] blowout.",
                "[[Boeing]] shares fall 8.03% after the [[Alaska Airlines Flight 1282]] door plug"
                " blowout over [[Portland, Oregon]].",
            )
            .replace(
                "[https://www.cnbc.com/2024/01/08/boeing.html (''CNBC'')]",
                "[https://www.cnbc.com/2024/01/08/boeing.html (''CNBC'')]"
                " [https://www.reuters.com/boeing-shares (Reuters)]",
            )
        )
        publish(wiki, JANUARY_8, edited)
        report = await service.pull(JANUARY_8, JANUARY_8, announce=True)
    assert report.ok and (report.new, report.updated, report.removed) == (0, 1, 0)
    assert report.unchanged == 3 and report.announced == []
    assert await event_count(storage) == count
    after = await storage.events.get(before.id)
    assert after is not None
    assert after.headline == (
        "Boeing shares fall 8.03% after the Alaska Airlines Flight 1282 door plug blowout over"
        " Portland, Oregon."
    )
    assert [s.name for s in after.sources] == ["CNBC", "Reuters"]
    assert "Portland, Oregon" in after.entities
    # A new headline is a new key; the old one still finds the event.
    assert after.key != old_key
    found = await storage.events.get_by_key(old_key)
    assert found is not None and found.id == before.id
    assert (await storage.subscriptions.announced_after(0, limit=10)).ready == []


async def test_a_new_item_is_one_new_event_announced_once(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    async with portal(storage, wiki, clock) as service:
        await service.pull(JANUARY_8, JANUARY_8, announce=True)
        first_announced = (await storage.subscriptions.announced_after(0, limit=100)).ready
        added = wikitext(JANUARY_8).replace(
            ";Law and crime\n",
            ";Law and crime\n*[[Japan]]ese police arrest a man over the [[Haneda Airport]]"
            " runway collision. [https://www.nhk.or.jp/news/1 (NHK)]\n",
        )
        publish(wiki, JANUARY_8, added)
        report = await service.pull(JANUARY_8, JANUARY_8, announce=True)
        again = await service.pull(JANUARY_8, JANUARY_8, announce=True)
    assert report.new == 1 and report.unchanged == 4 and len(report.announced) == 1
    (event_id,) = report.announced
    assert (await storage.subscriptions.announced_after(0, limit=100)).ready == [
        *first_announced,
        event_id,
    ]
    event = await storage.events.get(event_id)
    assert event is not None and event.category == "Law and crime"
    assert event.headline == (
        "Japanese police arrest a man over the Haneda Airport runway collision."
    )
    assert again.fetched == 0 and again.announced == []


async def test_a_removed_item_is_kept_marked_and_no_longer_offered(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    async with portal(storage, wiki, clock) as service:
        first = await service.pull(JANUARY_8, JANUARY_8, announce=True)
        dhaka = await storage.events.get_by_key(
            "2024/01/8/a-court-in-dhaka-sentences-nobel-peace-prize-laureate-muhammad-yunus-to"
            "-six-months-in-prison-for-violating-labour-laws"
        )
        assert dhaka is not None and dhaka.id in first.announced
        removed = wikitext(JANUARY_8).split(";Law and crime")[0] + (
            "<!-- All news items above this line -->\n"
            "{{Current events|year=2024|month=01|day=8|bottom=yes}}\n"
        )
        publish(wiki, JANUARY_8, removed)
        report = await service.pull(JANUARY_8, JANUARY_8)
        gone = await storage.events.get(dhaka.id)
        assert report.removed == 1 and report.new == 0
        assert gone is not None and gone.removed_at == clock.now
        assert dhaka.id not in (await storage.subscriptions.announced_after(0, limit=100)).ready
        preview = await storage.digests.new_events_for_preview(
            None, DigestFilters(), language="all", now=clock.now
        )
        assert dhaka.id not in [e.brief.id for e in preview] and len(preview) == 3
        # The item comes back: restored, not a second event.
        clock.advance(minutes=10)
        publish(wiki, JANUARY_8)
        back = await service.pull(JANUARY_8, JANUARY_8, announce=True)
    restored = await storage.events.get(dhaka.id)
    assert back.new == 0 and back.announced == []
    assert restored is not None and restored.removed_at is None


async def test_a_missing_day_is_reported_and_read_once_it_exists(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(JANUARY_8, JANUARY_8)
        assert report.ok and report.missing == [JANUARY_8] and report.fetched == 0
        (day,) = await storage.portal.days("en")
        assert day.revision_id is None and day.title == "Portal:Current events/2024 January 8"
        publish(wiki, JANUARY_8)
        later = await service.pull(JANUARY_8, JANUARY_8)
    assert later.missing == [] and later.new == 4


async def test_429_and_maxlag_are_waited_out_as_the_server_asks(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    wiki.fail_next(429, retry_after="7")
    wiki.maxlag_next(retry_after="3")
    sleeps: list[float] = []
    async with portal(storage, wiki, clock, sleeps) as service:
        report = await service.pull(JANUARY_8, JANUARY_8)
    assert report.ok and report.new == 4
    assert [r.status for r in wiki.page_requests()] == [429, 200, 200]
    assert sleeps[:2] == [7, 3]
    assert all(r.params["maxlag"] == "5" for r in wiki.requests)


async def test_a_malformed_page_is_reported_while_the_others_are_read(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, MAY_5)
    publish(wiki, dt.date(2017, 5, 6), "Vandalised. '''Nothing''' of the portal is left here.")
    wiki.set_page(  # an empty day: not an error
        ENGLISH.title(dt.date(2017, 5, 7)),
        "{{Current events header|2017|05|7}}\n<!-- All news items below this line -->\n"
        "<!-- All news items above this line -->|}",
    )
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(MAY_5, dt.date(2017, 5, 7))
        assert not report.ok and report.fetched == 2 and report.new == 6
        (failure,) = report.failures
        assert failure.what == "2017-05-06"
        assert "Portal:Current events/2017 May 6" in failure.reason
        assert "All news items below this line" in failure.reason
        day = (await storage.portal.days("en"))[1]
        assert day.date == dt.date(2017, 5, 6) and day.error and day.revision_id
        # That revision is not read again (but still reported as unreadable); the next one is.
        again = await service.pull(dt.date(2017, 5, 6), dt.date(2017, 5, 6))
        assert not again.ok and again.unchanged_days == 1 and again.fetched == 0
        assert "still unreadable: no news items" in again.failures[0].reason
        publish(wiki, dt.date(2017, 5, 6), on(dt.date(2017, 5, 6), wikitext(MARCH_15)))
        fixed = await service.pull(dt.date(2017, 5, 6), dt.date(2017, 5, 6))
    assert fixed.ok and fixed.new == 7


async def test_the_archive_s_own_events_are_found_again_not_added_twice(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    await import_archive(storage, [SAMPLE_NEWS])
    day_before = {
        r[0]: r[1]
        for r in await storage.db.fetchall(
            "SELECT key, id FROM events WHERE date = '2017-06-16' AND complete = 1"
        )
    }
    assert len(day_before) == 9
    count = await event_count(storage)
    publish(wiki, JUNE_16)
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(JUNE_16, JUNE_16)
    # Nine items are the archive's nine events (by key, by a shared source, by an edited
    # headline); the tenth is new.
    assert report.ok and report.new == 1 and report.updated + report.unchanged == 9
    assert await event_count(storage) == count + 1
    rows = await storage.db.fetchall(
        "SELECT key, id, origin FROM events WHERE date = '2017-06-16' AND complete = 1"
    )
    assert {r[0]: r[1] for r in rows if r[2] == "archive"} == day_before
    (new,) = [r for r in rows if r[2] == "wikipedia"]
    assert "theresa-may" in new[0]

    # Enriched, not rewritten: the archive's headline stays, the portal's sources join.
    kohl = await storage.events.get_by_key(
        "2017/06/16/former-german-chancellor-helmut-kohl-dies-at-the-age-of-87"
    )
    assert kohl is not None and kohl.headline.startswith("Former German Chancellor")
    assert [s.name for s in kohl.sources if not s.is_image] == ["BBC", "DW"]
    assert "Chancellor of Germany" in kohl.entities
    yanez = await storage.events.get(day_before[next(k for k in day_before if "yanez" in k)])
    assert yanez is not None and yanez.headline.endswith("is acquitted of all charges.")
    assert [s.name for s in yanez.sources] == ["NBC News", "AP"]
    card_page = await storage.portal.page_of(kohl.id)
    assert card_page is not None and card_page[0].endswith(
        "/wiki/Portal:Current_events/2017_June_16"
    )

    # An archive import of the same pages again keeps what the portal added.
    await import_archive(storage, [SAMPLE_NEWS])
    kohl_again = await storage.events.get(kohl.id)
    assert kohl_again is not None and [s.name for s in kohl_again.sources if not s.is_image] == [
        "BBC",
        "DW",
    ]


async def test_an_interrupted_pull_continues_where_it_stopped(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    days = [MAY_5 + dt.timedelta(days=n) for n in range(120)]
    for date in days[::10]:  # 12 day pages of 6 items each, in 3 requests of 50 days
        publish(wiki, date, wikitext(MAY_5).replace("|05|5}}", f"|{date:%m}|{date.day}}}}}"))

    class Interrupted(Exception):
        pass

    def interrupt(done: int, total: int) -> None:
        if done == 50:
            raise Interrupted  # Ctrl-C after the first 50 days

    def lose_the_second_request(done: int, total: int) -> None:
        if done == 50:
            wiki.fail_next(404)

    async with portal(storage, wiki, clock) as service:
        with pytest.raises(Interrupted):
            await service.pull(days[0], days[-1], progress=interrupt)
        assert await event_count(storage) == 5 * 6
        second = await service.pull(days[0], days[-1], progress=lose_the_second_request)
        assert second.unchanged_days == 5 and second.fetched == 2 and second.new == 12
        (failure,) = second.failures
        assert failure.what == "2017-06-24 to 2017-08-12" and "HTTP 404" in failure.reason
        third = await service.pull(days[0], days[-1])
    assert third.ok and third.unchanged_days == 7 and third.fetched == 5 and third.new == 30
    assert await event_count(storage) == 12 * 6
    rows = await storage.db.fetchall(
        "SELECT COUNT(*), COUNT(DISTINCT date || headline) FROM events"
    )
    assert rows[0][0] == rows[0][1]


async def test_the_feed_matcher_learns_the_portal_s_new_names(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    from bot.services.feeds.service import FeedService

    publish(wiki, JANUARY_8)
    async with portal(storage, wiki, clock) as service:
        await service.pull(JANUARY_8, JANUARY_8)
    policy = FetchPolicy(allow_private_addresses=True)
    async with make_session(policy) as session:
        feeds = FeedService(storage, session, policy)
        await feeds._refresh_matcher()
    assert feeds.matcher.find("Daniel Noboa meets the army chiefs in Guayaquil") == [
        "Daniel Noboa",
        "Guayaquil",
    ]


async def test_a_pull_before_the_archive_import_adds_nothing_twice(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    """The other order: the portal's day first, then the archive's pages of it, one of
    them worded otherwise: the archive takes the portal's events over, keeping what the
    portal added."""
    edited = wikitext(JUNE_16).replace(
        "Former [[Chancellor of Germany|German Chancellor]] [[Helmut Kohl]] dies at the age of 87.",
        "[[Helmut Kohl]], the former [[Chancellor of Germany|German Chancellor]] who oversaw"
        " reunification, dies at the age of 87.",
    )
    publish(wiki, JUNE_16, edited)
    async with portal(storage, wiki, clock) as service:
        pulled = await service.pull(JUNE_16, JUNE_16)
    assert pulled.new == 10
    report = await import_archive(storage, [SAMPLE_NEWS])
    assert report.ok
    rows = await storage.db.fetchall(
        "SELECT key, origin FROM events WHERE date = '2017-06-16' AND complete = 1"
    )
    assert len(rows) == 10  # the archive's nine and the portal's Grenfell item
    assert sorted(origin for _, origin in rows).count("archive") == 9
    kohl = await storage.events.get_by_key(
        "2017/06/16/former-german-chancellor-helmut-kohl-dies-at-the-age-of-87"
    )
    assert kohl is not None and kohl.headline.startswith("Former German Chancellor")
    assert [s.name for s in kohl.sources if not s.is_image] == ["BBC", "DW"]
    assert kohl.category == "Politics and elections"
    # The portal's key for it still finds it; a later revision enriches, not rewrites.
    portal_key = await storage.events.get_by_key(
        "2017/06/16/helmut-kohl-the-former-german-chancellor-who-oversaw-reunification-dies"
        "-at-the-age-of-87"
    )
    assert portal_key is not None and portal_key.id == kohl.id
    publish(wiki, JUNE_16, edited.replace("(DW)", "(Deutsche Welle)"))
    async with portal(storage, wiki, clock) as service:
        again = await service.pull(JUNE_16, JUNE_16)
    assert again.new == 0
    after = await storage.events.get(kohl.id)
    assert after is not None and after.headline == kohl.headline
    assert any(s.is_image for s in after.sources)  # the archive's cover image stays


async def test_a_server_asking_for_a_long_rest_stops_the_pull(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    wiki.fail_next(429, retry_after="3600", times=5)
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(dt.date(2017, 1, 1), dt.date(2017, 12, 31))
    assert len(wiki.requests) == 1  # not one request a batch after being told to wait
    first, rest = report.failures
    assert first.what == "2017-01-01 to 2017-02-19"
    assert "HTTP 429" in first.reason and "wait 3600 s" in first.reason
    assert "title" not in first.reason.lower()  # the API, not a URL of 50 titles
    assert rest.what == "2017-02-20 to 2017-12-31" and "run the pull again later" in rest.reason


async def test_an_answer_in_an_unexpected_shape_is_a_failure_not_a_crash(
    storage: Storage, wiki: MediaWikiStandIn, clock: Clock
) -> None:
    publish(wiki, JANUARY_8)
    wiki.fail_next(200, body=b'{"query": {"pages": [{"revisions": [{"slots": {}}]}]}}')
    async with portal(storage, wiki, clock) as service:
        report = await service.pull(JANUARY_8, JANUARY_8)
        assert not report.ok
        assert "unexpected shape" in report.failures[0].reason
        again = await service.pull(JANUARY_8, JANUARY_8)
    assert again.ok and again.new == 4
