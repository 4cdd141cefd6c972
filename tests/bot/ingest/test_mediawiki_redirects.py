"""The MediaWiki client and day pages that are redirects (a page moved, leaving a redirect),
over real HTTP against the stand-in on 127.0.0.1: the redirect followed, the page read keyed
by the title asked, and a redirect that leads nowhere readable told as such."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.ingest.mediawiki import MediaWikiClient, user_agent
from tests.support.mediawiki_server import MediaWikiStandIn

POLICY = FetchPolicy(allow_private_addresses=True, user_agent=user_agent("ops@example.org"))
JUNE_16 = "Portal:Current events/2026 June 16"
JUNE_17 = "Portal:Current events/2026 June 17"
MOVED = "Portal:Current events/2026 June 16 (moved)"


@pytest.fixture
async def wiki() -> AsyncIterator[MediaWikiStandIn]:
    async with MediaWikiStandIn() as server:
        yield server


@pytest.fixture
async def client(wiki: MediaWikiStandIn) -> AsyncIterator[MediaWikiClient]:
    async with make_session(POLICY) as session:
        yield MediaWikiClient(session, POLICY, wiki.api_url, min_interval_s=0)


async def test_a_redirect_is_followed_and_kept_under_the_title_asked(
    wiki: MediaWikiStandIn, client: MediaWikiClient
) -> None:
    """The revision read is the target's, under the title asked, with the way there."""
    revid = wiki.set_page(MOVED, "* The day's news.")
    wiki.set_redirect(JUNE_16, MOVED)
    wiki.set_page(JUNE_17, "* The next day's news.")

    pages = await client.revisions([JUNE_16, JUNE_17])

    assert set(pages) == {JUNE_16, JUNE_17}
    moved = pages[JUNE_16]
    assert (moved.title, moved.revision_id, moved.content) == (MOVED, revid, "* The day's news.")
    assert moved.redirects == (JUNE_16,) and moved.broken is None
    plain = pages[JUNE_17]
    assert plain.title == JUNE_17 and plain.redirects == () and plain.broken is None
    (request,) = wiki.requests  # one request: the API follows the redirect itself
    assert request.params["redirects"] == "1" and request.params["prop"] == "revisions"


async def test_a_chain_asked_with_underscores_and_titles_sharing_a_target(
    wiki: MediaWikiStandIn, client: MediaWikiClient
) -> None:
    """A chain of redirects is followed to its end; titles asked in another spelling, or
    leading to one page, each get it under their own title."""
    wiki.set_page(MOVED + " again", "* Moved twice.")
    wiki.set_redirect(MOVED, MOVED + " again")
    wiki.set_redirect(JUNE_16, MOVED)
    asked = JUNE_16.replace(" ", "_")

    pages = await client.revisions([asked, JUNE_16, MOVED])

    assert set(pages) == {asked, JUNE_16, MOVED}
    assert pages[asked] == pages[JUNE_16]
    assert pages[JUNE_16].title == MOVED + " again"
    assert pages[JUNE_16].redirects == (JUNE_16, MOVED)
    assert pages[MOVED].redirects == (MOVED,) and pages[MOVED].content == "* Moved twice."


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        pytest.param(
            [(JUNE_16, MOVED), (MOVED, JUNE_16)],
            f"a redirect loop ({JUNE_16} → {MOVED} → {JUNE_16})",
            id="loop",
        ),
        pytest.param([(JUNE_16, JUNE_16)], f"a redirect loop ({JUNE_16} → {JUNE_16})", id="self"),
        pytest.param(
            [(JUNE_16, "Gone")],
            f"a redirect to a page that does not exist ({JUNE_16} → Gone)",
            id="missing-target",
        ),
    ],
)
async def test_a_redirect_leading_nowhere_comes_back_as_its_own_revision(
    wiki: MediaWikiStandIn,
    client: MediaWikiClient,
    setup: list[tuple[str, str]],
    why: str,
) -> None:
    """No page to read at the end: the redirect page's own revision (asked in a second
    request, without redirects=1), with why it leads nowhere."""
    for source, target in setup:
        wiki.set_redirect(source, target)
    wiki.remove_page("Gone")  # set_redirect made the target exist

    pages = await client.revisions([JUNE_16])

    page = pages[JUNE_16]
    assert page.broken == why
    assert page.title == JUNE_16 and page.content is not None
    assert page.content.startswith("#REDIRECT [[")
    first, second = wiki.page_requests()
    assert "redirects" in first.params and "redirects" not in second.params
    assert second.titles == [JUNE_16]


async def test_a_redirect_fixed_between_the_two_requests_is_read_as_the_page(
    wiki: MediaWikiStandIn, client: MediaWikiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop answered, then the page saved as a day page before its own revision is
    asked: that revision is the day page, read as such (not remembered as a loop)."""
    wiki.set_redirect(JUNE_16, JUNE_16)
    answer = wiki._respond

    def fixed_before_the_second(request: web.Request, params: dict[str, str]) -> web.Response:
        if "redirects" not in params:
            wiki.set_page(JUNE_16, "* Fixed.")
        return answer(request, params)

    monkeypatch.setattr(wiki, "_respond", fixed_before_the_second)
    page = (await client.revisions([JUNE_16]))[JUNE_16]
    assert page.broken is None and page.content == "* Fixed." and page.redirects == ()


async def test_resolve_follows_chains_and_a_loop_is_no_article(
    wiki: MediaWikiStandIn, client: MediaWikiClient
) -> None:
    """Link targets: a double redirect leads to its final article; a loop to none."""
    wiki.set_redirect("ISIS", "ISIL")
    wiki.set_redirect("ISIL", "Islamic State")
    wiki.set_redirect("Ping", "Pong")
    wiki.set_redirect("Pong", "Ping")
    resolved = await client.resolve(["ISIS", "ISIL", "Ping"])
    assert resolved == {"ISIS": "Islamic State", "ISIL": "Islamic State", "Ping": None}
