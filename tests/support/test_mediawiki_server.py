"""The MediaWiki stand-in, exercised over real HTTP the way a client would use it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests.support.mediawiki_server import MediaWikiStandIn, RecordedRequest

BASE = {"action": "query", "format": "json", "formatversion": "2"}
REVISIONS = {**BASE, "prop": "revisions", "rvprop": "content|ids|timestamp", "rvslots": "main"}
TITLES = {**BASE, "redirects": "1"}


@pytest.fixture
async def wiki() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"User-Agent": "ChronicleTest/1.0"}) as client:
        yield client


async def call(
    session: aiohttp.ClientSession, wiki: MediaWikiStandIn, params: dict[str, str]
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    async with session.get(wiki.api_url, params=params) as response:
        return response.status, response.headers, await response.read()


async def query(
    session: aiohttp.ClientSession, wiki: MediaWikiStandIn, params: dict[str, str]
) -> Any:
    async with session.get(wiki.api_url, params=params) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        return await response.json()


def content(page: dict[str, Any]) -> str:
    text = page["revisions"][0]["slots"]["main"]["content"]
    assert isinstance(text, str)
    return text


async def test_revisions_of_existing_missing_and_normalised_titles(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    assert wiki.api_url == f"http://127.0.0.1:{wiki.port}/w/api.php"
    portal = "Portal:Current events/2026 January 1"
    wiki.set_page(portal, "* Ceasefire talks resume in Doha.")
    wiki.set_page("Iran", "'''Iran''' is a country in West Asia – ünïcode.")

    titles = "portal:Current_events/2026_January_1|iPhone|Iran|iran|  Iran  "
    answer = await query(session, wiki, {**REVISIONS, "titles": titles})

    assert answer["batchcomplete"] is True
    assert answer["query"]["normalized"] == [
        {"fromencoded": False, "from": "portal:Current_events/2026_January_1", "to": portal},
        {"fromencoded": False, "from": "iPhone", "to": "IPhone"},
        {"fromencoded": False, "from": "iran", "to": "Iran"},
        {"fromencoded": False, "from": "  Iran  ", "to": "Iran"},
    ]
    assert "redirects" not in answer["query"]
    first, missing, iran = answer["query"]["pages"]  # request order, deduplicated
    assert first == {
        "pageid": first["pageid"],
        "ns": 100,
        "title": portal,
        "revisions": [
            {
                "revid": 1001,
                "parentid": 0,
                "timestamp": "2026-01-01T00:00:00Z",
                "slots": {
                    "main": {
                        "contentmodel": "wikitext",
                        "contentformat": "text/x-wiki",
                        "content": "* Ceasefire talks resume in Doha.",
                    }
                },
            }
        ],
    }
    assert missing == {"ns": 0, "title": "IPhone", "missing": True}
    assert iran["ns"] == 0 and iran["pageid"] != first["pageid"]
    assert content(iran) == "'''Iran''' is a country in West Asia – ünïcode."
    assert iran["revisions"][0]["revid"] == 1002


async def test_set_page_makes_a_new_revision_and_remove_page_deletes(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    assert wiki.set_page("Iran", "first") == 1001
    assert wiki.set_page("Other", "other") == 1002
    before = (await query(session, wiki, {**REVISIONS, "titles": "Iran"}))["query"]["pages"][0]
    assert wiki.set_page("Iran", "second") == 1003
    assert wiki.set_page("Iran", "third", timestamp="2030-05-05T05:05:05Z") == 1004

    after = (await query(session, wiki, {**REVISIONS, "titles": "Iran"}))["query"]["pages"][0]
    assert after["pageid"] == before["pageid"]
    assert [r["revid"] for r in before["revisions"]] == [1001]
    assert len(after["revisions"]) == 1  # only the latest revision
    revision = after["revisions"][0]
    assert (revision["revid"], revision["parentid"]) == (1004, 1003)
    assert revision["timestamp"] == "2030-05-05T05:05:05Z"
    assert content(after) == "third"

    wiki.set_page("Iran", "fourth")  # the fake clock moved one minute per set_page
    latest = (await query(session, wiki, {**REVISIONS, "titles": "Iran"}))["query"]["pages"][0]
    assert latest["revisions"][0]["timestamp"] == "2026-01-01T00:04:00Z"

    wiki.remove_page("iran")
    gone = await query(session, wiki, {**REVISIONS, "titles": "Iran"})
    assert gone["query"]["pages"] == [{"ns": 0, "title": "Iran", "missing": True}]


async def test_redirects_with_fragment_resolve_to_target_pages(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    wiki.set_redirect("USA", "United States", fragment="History")
    wiki.set_redirect("US", "United States")
    wiki.set_redirect("Gaza war", "Israel–Hamas war")
    wiki.set_redirect("Dead link", "Deleted article")
    wiki.remove_page("Deleted article")
    wiki.set_page("France", "'''France''' is a country.")

    titles = "USA|US|gaza_war|Nowhere|France|Dead link"
    answer = await query(session, wiki, {**TITLES, "titles": titles})
    result = answer["query"]
    assert result["normalized"] == [{"fromencoded": False, "from": "gaza_war", "to": "Gaza war"}]
    assert result["redirects"] == [
        {"from": "USA", "to": "United States", "tofragment": "History"},
        {"from": "US", "to": "United States"},
        {"from": "Gaza war", "to": "Israel–Hamas war"},
        {"from": "Dead link", "to": "Deleted article"},
    ]
    pages = result["pages"]
    assert [p["title"] for p in pages] == [
        "United States",
        "Israel–Hamas war",
        "Nowhere",
        "France",
        "Deleted article",
    ]
    united, israel, nowhere, france, deleted = pages
    assert set(united) == {"pageid", "ns", "title"} and united["ns"] == 0  # no revisions
    assert set(israel) == {"pageid", "ns", "title"}
    assert nowhere == {"ns": 0, "title": "Nowhere", "missing": True}
    assert set(france) == {"pageid", "ns", "title"}
    assert deleted == {"ns": 0, "title": "Deleted article", "missing": True}

    # With prop=revisions too, the target's latest revision comes back.
    revid = wiki.set_page("United States", "'''The United States''' ...")
    answer = await query(session, wiki, {**REVISIONS, "redirects": "1", "titles": "USA"})
    assert answer["query"]["redirects"] == [
        {"from": "USA", "to": "United States", "tofragment": "History"}
    ]
    [page] = answer["query"]["pages"]
    assert page["title"] == "United States" and page["pageid"] == united["pageid"]
    assert page["revisions"][0]["revid"] == revid
    assert content(page) == "'''The United States''' ..."

    # Without redirects, the redirect page itself is answered.
    answer = await query(session, wiki, {**REVISIONS, "titles": "USA"})
    [page] = answer["query"]["pages"]
    assert page["title"] == "USA"
    assert content(page) == "#REDIRECT [[United States#History]]"

    assert [r.titles for r in wiki.title_requests()] == [titles.split("|")]
    assert [r.titles for r in wiki.page_requests()] == [["USA"], ["USA"]]


async def test_redirect_chains_are_followed_to_their_end_and_loops_answer_no_page(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    """As MediaWiki's ApiPageSet: with redirects=1 every hop of a chain is in
    query.redirects (each once) and the page answered is the chain's end; the pages of a
    loop are all redirects, so none of them is answered."""
    day = "Portal:Current events/2026 June 16"
    wiki.set_page(day + " (moved again)", "* Moved twice.")
    wiki.set_redirect(day, day + " (moved)")
    wiki.set_redirect(day + " (moved)", day + " (moved again)")
    wiki.set_redirect("Loop A", "Loop B")
    wiki.set_redirect("Loop B", "Loop A")
    wiki.set_redirect("Self", "Self")

    titles = f"{day}|{day} (moved)|Loop A|Self".replace(" ", "_")
    answer = await query(session, wiki, {**REVISIONS, "redirects": "1", "titles": titles})
    result = answer["query"]
    assert [(n["from"], n["to"]) for n in result["normalized"]] == [
        (day.replace(" ", "_"), day),
        (f"{day} (moved)".replace(" ", "_"), f"{day} (moved)"),
        ("Loop_A", "Loop A"),
    ]
    assert result["redirects"] == [
        {"from": day, "to": f"{day} (moved)"},
        {"from": f"{day} (moved)", "to": f"{day} (moved again)"},
        {"from": "Loop A", "to": "Loop B"},
        {"from": "Loop B", "to": "Loop A"},
        {"from": "Self", "to": "Self"},
    ]
    [page] = result["pages"]  # the loops answer none
    assert page["title"] == f"{day} (moved again)" and page["ns"] == 100
    assert content(page) == "* Moved twice."

    # Only loops asked: no page at all.
    answer = await query(session, wiki, {**TITLES, "titles": "Loop B"})
    assert "pages" not in answer["query"]
    assert [r["from"] for r in answer["query"]["redirects"]] == ["Loop B", "Loop A"]
    # Without redirects=1 a loop's page is answered as the redirect it is.
    answer = await query(session, wiki, {**REVISIONS, "titles": "Loop A"})
    [page] = answer["query"]["pages"]
    assert content(page) == "#REDIRECT [[Loop B]]"


async def test_more_than_50_titles_is_toomanyvalues(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    fifty = [f"Page {i}" for i in range(50)]
    ok = await query(session, wiki, {**REVISIONS, "titles": "|".join(fifty)})
    assert len(ok["query"]["pages"]) == 50

    status, headers, body = await call(session, wiki, {**TITLES, "titles": "|".join([*fifty, "X"])})
    answer = json.loads(body)
    assert status == 200
    assert headers["MediaWiki-API-Error"] == "toomanyvalues"
    assert answer["error"]["code"] == "toomanyvalues"
    assert answer["error"]["info"] == (
        'Too many values supplied for parameter "titles". The limit is 50.'
    )
    assert "query" not in answer


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(
            {"action": "query", "format": "json", "titles": "A", "redirects": "1"},
            id="no-formatversion",
        ),
        pytest.param({**TITLES, "formatversion": "1", "titles": "A"}, id="formatversion-1"),
        pytest.param({**TITLES, "format": "xml", "titles": "A"}, id="format-xml"),
        pytest.param({**TITLES, "action": "parse", "titles": "A"}, id="action-parse"),
        pytest.param({**BASE, "titles": "A"}, id="neither-prop-nor-redirects"),
        pytest.param({**REVISIONS, "rvprop": "content", "titles": "A"}, id="rvprop"),
        pytest.param({**REVISIONS, "rvslots": "*", "titles": "A"}, id="rvslots"),
        pytest.param({**BASE, "prop": "extracts", "titles": "A"}, id="prop-extracts"),
        pytest.param({**TITLES, "list": "search", "titles": "A"}, id="unknown-param"),
        pytest.param(TITLES, id="no-titles"),
    ],
)
async def test_client_mistakes_are_badvalue(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    answer = await query(session, wiki, params)
    assert answer["error"]["code"] == "badvalue"
    assert answer["error"]["info"]
    assert wiki.requests[-1].status == 200


async def test_fail_next_then_a_normal_answer(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    wiki.fail_next(429, retry_after="2", body=b"slow down")
    wiki.fail_next(503, times=2)
    wiki.garbage_next()
    params = {**TITLES, "titles": "A"}

    status, headers, body = await call(session, wiki, params)
    assert (status, headers["Retry-After"], body) == (429, "2", b"slow down")
    for _ in range(2):
        status, headers, body = await call(session, wiki, params)
        assert (status, body) == (503, b"")
        assert "Retry-After" not in headers
    status, headers, body = await call(session, wiki, params)
    assert status == 200 and body == b"<html>not json</html>"
    assert headers["Content-Type"].startswith("text/html")

    answer = await query(session, wiki, params)
    assert answer["query"]["pages"] == [{"ns": 0, "title": "A", "missing": True}]
    assert [r.status for r in wiki.requests] == [429, 503, 503, 200, 200]


async def test_garbage_next_answers_html(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    wiki.garbage_next(b"<!DOCTYPE html><title>Wikimedia Error</title>", times=2)
    for _ in range(2):
        async with session.get(wiki.api_url, params={**TITLES, "titles": "A"}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            with pytest.raises(aiohttp.ContentTypeError):
                await response.json()
    assert "query" in await query(session, wiki, {**TITLES, "titles": "A"})


async def test_maxlag_next_and_set_lag_against_the_maxlag_parameter(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    params = {**TITLES, "titles": "A", "maxlag": "5"}

    wiki.maxlag_next(times=2, retry_after="3")
    for _ in range(2):
        status, headers, body = await call(session, wiki, params)
        assert status == 200
        assert headers["Retry-After"] == "3" and headers["X-Database-Lag"] == "7"
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(body) == {
            "error": {
                "code": "maxlag",
                "info": "Waiting for 10.64.16.8: 7 seconds lagged.",
                "host": "10.64.16.8",
                "lag": 7,
                "type": "db",
            },
            "servedby": "mw-api-int",
        }
    assert "query" in await query(session, wiki, params)  # the queue is used up

    wiki.set_lag(10)
    status, headers, body = await call(session, wiki, params)
    assert (headers["Retry-After"], headers["X-Database-Lag"]) == ("5", "10")
    assert json.loads(body)["error"]["lag"] == 10
    assert "query" in await query(session, wiki, {**params, "maxlag": "15"})
    assert "query" in await query(session, wiki, {**TITLES, "titles": "A"})  # no maxlag

    wiki.set_lag(0)
    wiki.maxlag_next(lag=3)  # lag 3 is within maxlag=5: a normal answer
    assert "query" in await query(session, wiki, params)


async def test_requests_are_recorded_with_params_headers_and_concurrency(
    wiki: MediaWikiStandIn, session: aiohttp.ClientSession
) -> None:
    wiki.delay_s = 0.2
    first = {**TITLES, "titles": "Iran|Iraq"}
    second = {**REVISIONS, "titles": "Portal:Current events"}
    await asyncio.gather(query(session, wiki, first), query(session, wiki, second))

    assert wiki.max_in_flight == 2
    assert wiki.in_flight == 0
    assert len(wiki.requests) == 2
    by_titles = {tuple(r.titles): r for r in wiki.requests}
    title_request = by_titles[("Iran", "Iraq")]
    page_request = by_titles[("Portal:Current events",)]
    assert title_request.params == first and page_request.params == second
    assert wiki.title_requests() == [title_request]
    assert wiki.page_requests() == [page_request]
    for recorded in wiki.requests:
        assert isinstance(recorded, RecordedRequest)
        assert recorded.method == "GET" and recorded.status == 200
        assert recorded.headers["User-Agent"] == "ChronicleTest/1.0"
        assert recorded.header("user-agent") == "ChronicleTest/1.0"
        assert recorded.finished - recorded.started >= 0.19
    a, b = wiki.requests
    assert a.started < b.finished and b.started < a.finished  # they overlapped

    async with session.get(wiki.api_url.replace("/w/api.php", "/wiki/Iran")) as response:
        assert response.status == 404
    assert wiki.requests[-1].path == "/wiki/Iran" and wiki.requests[-1].status == 404
    assert wiki.requests[-1].titles == []
