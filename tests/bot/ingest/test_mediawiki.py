"""The MediaWiki API client over real HTTP against the stand-in on 127.0.0.1: what it asks,
what it reads back, and how politely it asks (one at a time, spaced, Retry-After honoured)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.mediawiki import MediaWikiClient, MediaWikiError, page_url, user_agent
from tests.support.mediawiki_server import MediaWikiStandIn

CONTACT = "ops@example.org"
POLICY = FetchPolicy(allow_private_addresses=True, user_agent=user_agent(CONTACT), timeout_s=5.0)
MAY_5 = "Portal:Current events/2017 May 5"
JUNE_16 = "Portal:Current events/2017 June 16"

EVERY_REQUEST = {"action": "query", "format": "json", "formatversion": "2", "maxlag": "5"}
REVISIONS = {
    **EVERY_REQUEST,
    "prop": "revisions",
    "rvprop": "content|ids|timestamp",
    "rvslots": "main",
}


@pytest.fixture
async def wiki() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(POLICY) as client_session:
        yield client_session


class FakeSleep:
    """An injected sleep that records the seconds asked and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def client(
    session: aiohttp.ClientSession, wiki: MediaWikiStandIn, **options: object
) -> MediaWikiClient:
    options.setdefault("min_interval_s", 0.05)
    return MediaWikiClient(session, POLICY, wiki.api_url, **options)  # type: ignore[arg-type]


# --- revisions ---------------------------------------------------------------------------------


async def test_latest_revision_of_each_page_under_the_title_asked(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """The bot gets each day page's newest text, id and time, keyed by the title it asked,
    and learns which pages do not exist."""
    first = wiki.set_page(MAY_5, "* First draft.")  # 2026-01-01T00:00:00Z
    latest = wiki.set_page(MAY_5, "* Reuters reports safe zones.")  # 00:01:00
    june = wiki.set_page(JUNE_16, "* Helmut Kohl dies.", timestamp="2017-06-16T23:59:30Z")
    assert (first, latest, june) == (1001, 1002, 1003)

    asked = ["Portal:Current_events/2017_May_5", JUNE_16, "Portal:Current events/1999 May 5"]
    pages = await client(session, wiki).revisions(asked)

    assert set(pages) == {"Portal:Current_events/2017_May_5", JUNE_16}  # 1999: missing
    may = pages["Portal:Current_events/2017_May_5"]
    assert may.revision_id == 1002
    assert may.timestamp == dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
    assert may.timestamp.utcoffset() == dt.timedelta(0)
    assert may.content == "* Reuters reports safe zones."
    kohl = pages[JUNE_16]
    assert kohl.revision_id == 1003
    assert kohl.timestamp == dt.datetime(2017, 6, 16, 23, 59, 30, tzinfo=dt.UTC)
    assert kohl.content == "* Helmut Kohl dies."
    (request,) = wiki.requests
    assert {name: request.params.get(name) for name in REVISIONS} == REVISIONS


async def test_a_missing_page_is_left_out(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """A page that does not exist (asked with underscores and a lower-case namespace) is
    not among the pages found."""
    pages = await client(session, wiki).revisions(["portal:Current_events/1999_May_5"])
    assert pages == {}


async def test_120_titles_take_three_requests_of_at_most_50(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Wikipedia allows 50 titles a request to clients without bot rights."""
    titles = [f"Portal:Current events/2017 May {n}" for n in range(1, 121)]
    for title in titles[::7]:
        wiki.set_page(title, f"* Text of {title}.")
    pages = await client(session, wiki).revisions(titles)

    requests = wiki.page_requests()
    assert len(requests) == 3 and len(wiki.requests) == 3
    assert all(len(request.titles) <= 50 for request in requests)
    assert sorted(t for request in requests for t in request.titles) == sorted(titles)
    for request in requests:
        assert {name: request.params.get(name) for name in REVISIONS} == REVISIONS
    assert set(pages) == set(titles[::7])  # the others are missing
    assert pages[titles[14]].content == f"* Text of {titles[14]}."


# --- resolve -----------------------------------------------------------------------------------


async def test_resolve_redirects_normal_and_red_links(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """An entity written as a redirect becomes its article; others stay as they are."""
    wiki.set_redirect("ISIL", "Islamic State")
    wiki.set_redirect("USA", "United States", fragment="History")
    wiki.set_page("Syrian Civil War", "'''The Syrian Civil War''' is ...")
    asked = [
        "ISIL",
        "USA",
        "Syrian Civil War",
        "Battle of Nowhere Creek",
        "iSIL",
        "Syrian_Civil_War",
    ]
    resolved = await client(session, wiki).resolve(asked)
    assert resolved == {
        "ISIL": "Islamic State",
        "USA": "United States",
        "Syrian Civil War": "Syrian Civil War",
        "Battle of Nowhere Creek": "Battle of Nowhere Creek",
        "iSIL": "Islamic State",
        "Syrian_Civil_War": "Syrian Civil War",
    }
    (request,) = wiki.requests
    assert wiki.title_requests() == [request]
    expected = {**EVERY_REQUEST, "redirects": "1"}
    assert {name: request.params.get(name) for name in expected} == expected
    assert "prop" not in request.params
    assert sorted(request.titles) == sorted(asked)


async def test_resolve_redirect_with_fragment_in_target(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """A redirect to a section leads to the article, not the section."""
    wiki.set_redirect("Kohl", "Helmut Kohl#Death")
    assert await client(session, wiki).resolve(["Kohl"]) == {"Kohl": "Helmut Kohl"}


# --- politeness --------------------------------------------------------------------------------


async def test_user_agent_names_chronicle_and_contact(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Wikimedia sees who is asking and how to reach the operator."""
    await client(session, wiki).revisions([MAY_5])
    agent = wiki.requests[0].header("User-Agent")
    assert agent is not None
    assert agent.startswith("Chronicle/")
    assert CONTACT in agent


def test_user_agent_without_contact_says_so() -> None:
    """Without WIKIPEDIA_CONTACT the User-Agent admits there is no contact."""
    agent = user_agent(None)
    assert agent.startswith("Chronicle/")
    assert "no contact set" in agent
    assert "@" not in agent


async def test_requests_are_spaced_by_the_minimum_interval(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Each request starts at least min_interval_s after the previous one finished."""
    wiki.set_page(MAY_5, "* An item.")
    wiki_client = client(session, wiki, min_interval_s=0.3)
    for _ in range(3):
        assert (await wiki_client.revisions([MAY_5]))[MAY_5].content == "* An item."
    first, second, third = wiki.requests
    assert second.started - first.finished >= 0.3
    assert third.started - second.finished >= 0.3


async def test_concurrent_calls_go_one_at_a_time(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Two callers at once still make one request at a time."""
    wiki.set_page(MAY_5, "* May.")
    wiki.set_page(JUNE_16, "* June.")
    wiki.delay_s = 0.2
    wiki_client = client(session, wiki)
    may, june = await asyncio.gather(
        wiki_client.revisions([MAY_5]), wiki_client.revisions([JUNE_16])
    )
    assert may[MAY_5].content == "* May."
    assert june[JUNE_16].content == "* June."
    assert len(wiki.requests) == 2
    assert wiki.max_in_flight == 1


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_in_real_time(
    status: int, wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Told to come back in a second, the client waits a second and then succeeds."""
    wiki.set_page(MAY_5, "* An item.")
    wiki.fail_next(status, retry_after="1")
    pages = await client(session, wiki).revisions([MAY_5])
    assert pages[MAY_5].content == "* An item."
    failed, retried = wiki.requests
    assert (failed.status, retried.status) == (status, 200)
    assert retried.started - failed.finished >= 1.0


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_the_wait_asked(
    status: int, wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """Retry-After: 7 makes the client sleep 7 s before asking again."""
    wiki.set_page(MAY_5, "* An item.")
    wiki.fail_next(status, retry_after="7")
    sleep = FakeSleep()
    pages = await client(session, wiki, sleep=sleep).revisions([MAY_5])
    assert pages[MAY_5].content == "* An item."
    assert [request.status for request in wiki.requests] == [status, 200]
    assert sleep.asked[0] == 7
    assert all(seconds <= 0.05 for seconds in sleep.asked[1:])


async def test_maxlag_error_waits_as_asked_then_succeeds(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """A lagging wiki answers maxlag with Retry-After: 2; the client waits 2 s and retries."""
    wiki.set_page(MAY_5, "* An item.")
    wiki.maxlag_next(retry_after="2")
    sleep = FakeSleep()
    pages = await client(session, wiki, sleep=sleep).revisions([MAY_5])
    assert pages[MAY_5].content == "* An item."
    assert len(wiki.requests) == 2
    assert sleep.asked[0] == 2
    assert all(seconds <= 0.05 for seconds in sleep.asked[1:])


async def test_retries_exhausted(wiki: MediaWikiStandIn, session: aiohttp.ClientSession) -> None:
    """Still 503 after max_retries retries: an error naming the status, after 3 requests."""
    wiki.fail_next(503, times=10, retry_after="1")
    sleep = FakeSleep()
    with pytest.raises(MediaWikiError, match="503") as caught:
        await client(session, wiki, sleep=sleep, max_retries=2).revisions([MAY_5])
    assert len(wiki.requests) == 3
    assert [request.status for request in wiki.requests] == [503, 503, 503]
    assert [seconds for seconds in sleep.asked if seconds > 0.05] == [1, 1]
    assert "503" in caught.value.reason


async def test_retry_after_longer_than_max_wait_fails_at_once(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """A server asking for ten minutes when the bot waits at most two: an error at once."""
    wiki.fail_next(429, retry_after="600")
    sleep = FakeSleep()
    with pytest.raises(MediaWikiError, match="600") as caught:
        await client(session, wiki, sleep=sleep, max_wait_s=120).revisions([MAY_5])
    assert len(wiki.requests) == 1
    assert sleep.asked == []
    assert "600 s" in str(caught.value)


async def test_server_error_is_not_retried(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """A 500 is not one of the statuses that say "come back later"."""
    wiki.fail_next(500)
    sleep = FakeSleep()
    with pytest.raises(MediaWikiError, match="500") as caught:
        await client(session, wiki, sleep=sleep).revisions([MAY_5])
    assert len(wiki.requests) == 1
    assert caught.value.kind == "http_status"


async def test_answer_that_is_not_json(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """An HTML page where JSON was expected is an error that says so."""
    wiki.garbage_next()
    with pytest.raises(MediaWikiError, match="not JSON"):
        await client(session, wiki).revisions([MAY_5])
    assert len(wiki.requests) == 1


async def test_api_error_is_reported_and_not_retried(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """An API error other than maxlag (here badvalue, for a parameter the wiki does not
    know, carried in by the configured API URL) fails at once, naming the error code."""
    sleep = FakeSleep()
    wiki_client = MediaWikiClient(
        session, POLICY, wiki.api_url + "?bogus=1", min_interval_s=0.05, sleep=sleep
    )
    with pytest.raises(MediaWikiError, match="badvalue") as caught:
        await wiki_client.resolve(["ISIL"])
    assert caught.value.kind == "api_error"
    assert len(wiki.requests) == 1
    assert sleep.asked == []


async def test_private_address_refused_without_a_request(wiki: MediaWikiStandIn) -> None:
    """With private addresses not allowed, 127.0.0.1 is never contacted."""
    strict = FetchPolicy(allow_private_addresses=False, user_agent=user_agent(CONTACT))
    async with make_session(strict) as strict_session:
        wiki_client = MediaWikiClient(strict_session, strict, wiki.api_url, min_interval_s=0.05)
        with pytest.raises(MediaWikiError) as caught:
            await wiki_client.revisions([MAY_5])
    assert caught.value.kind == "refused_address"
    assert wiki.requests == []


def test_page_url() -> None:
    """Where a reader finds the page the API served."""
    assert (
        page_url("https://en.wikipedia.org/w/api.php", "Portal:Current events/2017 May 5")
        == "https://en.wikipedia.org/wiki/Portal:Current_events/2017_May_5"
    )


async def test_an_answer_continued_by_the_api_is_read_whole(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """The API may send a large answer in parts: the first without some pages' text and a
    `continue` to ask for the rest. The pages come out whole, nothing reported missing."""
    wiki.set_page(MAY_5, "* An item.")
    first_part = (
        '{"continue": {"rvcontinue": "1001|17", "continue": "||"}, "query": {"pages": ['
        '{"pageid": 1, "ns": 100, "title": "Portal:Current events/2017 May 5"}]}}'
    )
    wiki.fail_next(200, body=first_part.encode())
    pages = await client(session, wiki).revisions([MAY_5])
    assert pages[MAY_5].content == "* An item." and pages[MAY_5].revision_id == 1001
    first, second = wiki.requests
    assert "rvcontinue" not in first.params and second.params["rvcontinue"] == "1001|17"


async def test_an_answer_too_large_is_asked_for_in_halves(wiki: MediaWikiStandIn) -> None:
    """Fifty day pages can outgrow the size limit: the titles are asked again in halves
    until each answer fits."""
    titles = [f"Portal:Current events/2017 May {day}" for day in range(1, 9)]
    for title in titles:
        wiki.set_page(title, "* " + "An item of a long day. " * 40)
    small = FetchPolicy(allow_private_addresses=True, max_bytes=4_000)
    async with make_session(small) as session:
        pages = await MediaWikiClient(session, small, wiki.api_url, min_interval_s=0).revisions(
            titles
        )
    assert set(pages) == set(titles)
    assert [len(r.titles) for r in wiki.requests] == [8, 4, 2, 2, 4, 2, 2]
