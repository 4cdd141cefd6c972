"""Which URLs may be fetched: private addresses, literal and resolved, schemes, the policy."""

from __future__ import annotations

import aiohttp
import pytest

from bot.ingest.feeds.addresses import FetchPolicy, is_public_address
from bot.ingest.feeds.errors import FeedError
from bot.ingest.feeds.fetch import fetch_feed, make_session
from tests.bot.ingest.feeds.helpers import (
    LOCAL,
    StubResolver,
)
from tests.support.feed_server import FeedServer

SETTING_HINT = "; set FEED_ALLOW_PRIVATE_ADDRESSES=true to allow feeds on private addresses"


async def test_loopback_url_refused_by_default_policy(server: FeedServer) -> None:
    url = server.url("kde_zeit_de_rss091_iso88591.xml")
    async with make_session(FetchPolicy()) as strict:
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, url)
        assert info.value.kind == "refused_address"
        # The refusal names the setting that allows it.
        assert info.value.reason == (
            f"refused: 127.0.0.1 is a loopback address ({url})" + SETTING_HINT
        )

        # A host *name* that resolves to loopback is refused by the connector's resolver.
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, f"http://localhost:{server.port}/x.xml")
        assert info.value.kind == "refused_address"
        assert "localhost resolves to" in info.value.reason
        assert info.value.reason.endswith(SETTING_HINT)
    assert sum(server.requests.values()) == 0  # nothing ever reached the server


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/feed",
        "http://172.16.3.4/feed",
        "http://192.168.1.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/feed",
        "http://[fe80::1]/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://0.0.0.0/feed",
        "http://2130706433/feed",  # 127.0.0.1 as one decimal number
        "http://127.1/feed",
        "http://100.64.0.1/feed",
    ],
)
async def test_private_literal_addresses_refused(url: str) -> None:
    async with make_session(FetchPolicy()) as strict:
        with pytest.raises(FeedError) as info:
            await fetch_feed(strict, url, policy=FetchPolicy(timeout_s=2))
    assert info.value.kind == "refused_address", info.value.reason
    assert info.value.reason.startswith("refused: ")
    assert info.value.reason.endswith(SETTING_HINT)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/feed.xml",
        "http://10.0.0.5/feed.xml",
        "http://[::ffff:127.0.0.2]:{port}/feed.xml",
        "http://intranet.test:{port}/feed.xml",
    ],
)
async def test_redirect_to_private_address_refused(server: FeedServer, target: str) -> None:
    # Only the test server itself is allowed; the redirect target must be checked again.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    stub = StubResolver({"intranet.test": ["10.0.0.5"]})
    server.redirect("hop.xml", target.format(port=server.port))
    async with make_session(policy, resolver=stub) as guarded:
        with pytest.raises(FeedError) as info:
            await fetch_feed(guarded, server.url("hop.xml"), policy=policy)
    assert info.value.kind == "refused_address", info.value.reason
    assert server.request_count("hop.xml") == 1
    if "intranet" in target:
        assert "intranet.test resolves to 10.0.0.5, a private address" in info.value.reason
    assert info.value.reason.endswith(SETTING_HINT)


async def test_resolver_answer_is_what_gets_connected(server: FeedServer) -> None:
    # Mixed answers keep only allowed addresses, and the connector uses that same answer:
    # one lookup per name, no separate "check" lookup that a rebinding DNS could game.
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_s=5)
    stub = StubResolver({"feeds.test": ["10.0.0.5", "127.0.0.1"]})
    async with make_session(policy, resolver=stub) as guarded:
        result = await fetch_feed(
            guarded,
            f"http://feeds.test:{server.port}/kde_zeit_de_rss091_iso88591.xml",
            policy=policy,
        )
    assert result.status == 200
    assert stub.calls["feeds.test"] == 1


async def test_unguarded_session_rejected_for_strict_policy() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(ValueError, match="make_session"):
            await fetch_feed(plain, "https://example.org/feed")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "feed.xml",
        "",
        "http:///nohost",
    ],
)
async def test_non_http_urls_refused(url: str, session: aiohttp.ClientSession) -> None:
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, url, policy=LOCAL)
    assert info.value.kind == "invalid_url", info.value.reason


async def test_redirect_to_file_scheme_refused(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.redirect("sneaky.xml", "file:///etc/passwd")
    with pytest.raises(FeedError) as info:
        await fetch_feed(session, server.url("sneaky.xml"), policy=LOCAL)
    assert info.value.kind == "invalid_url" and "'file'" in info.value.reason


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("fc00::1", False),
        ("240.0.0.1", False),
        ("192.0.2.10", False),  # documentation range
        ("100.64.0.1", False),  # shared address space (RFC 6598): refused by decision
        ("100.127.255.254", False),
        ("not an address", False),
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("100.128.0.1", True),  # just outside 100.64/10
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_policy_is_validated_when_built() -> None:
    assert FetchPolicy().user_agent.startswith("Chronicle/")
    with pytest.raises(ValueError):
        FetchPolicy(allowed_networks=("not-a-network",))
    with pytest.raises(ValueError):
        FetchPolicy(timeout_s=0)
