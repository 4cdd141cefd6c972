"""Feeds that fail when polled: each kind of failure recorded and backed off, the backoff
doubling up to a day, and a feed disabled after 11 failures or a day of answers that are not
a feed."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import pytest

from bot.ingest.feeds.addresses import FetchPolicy
from bot.ingest.feeds.fetch import make_session
from bot.services.feeds.rules import FeedRules
from bot.services.feeds.service import FeedService
from storage import Storage
from tests.bot.services.feeds_support import (
    MINUTE,
    NOW,
    Clock,
    add_unfetched,
    clock_fixture,  # noqa: F401 -- a fixture, found by pytest as `clock`
    current,
    rss,
    server_fixture,  # noqa: F401 -- a fixture, found by pytest as `server`
    service_fixture,  # noqa: F401 -- a fixture, found by pytest as `service`
    session_fixture,  # noqa: F401 -- a fixture, found by pytest as `session`
    stories,
)
from tests.support.feed_server import FeedServer
from tests.support.local_server import free_port

FAILURES = {
    "timeout": "timed out after 0.5 s",
    "http_status": "HTTP 503 Service Unavailable",
    "too_large": "body exceeds 5 MB limit",
    "not_a_feed": "HTML page",
    "refused_address": "127.0.0.1 is a loopback address",
    "invalid_url": "redirect from",
    "too_many_redirects": "more than 5 redirects",
    "network": "could not connect",
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_each_failure_kind_is_recorded_and_backed_off(
    kind: str, storage: Storage, server: FeedServer
) -> None:
    url = server.url(f"{kind}.xml")
    allow_private = kind != "refused_address"
    # A short timeout only where it is the failure: a loaded machine may take longer than
    # half a second to serve and parse the other kinds' answers.
    timeout_s = 0.5 if kind == "timeout" else 30.0
    policy = FetchPolicy(allow_private_addresses=allow_private, timeout_s=timeout_s)
    if kind == "timeout":
        server.route(f"{kind}.xml", delay_s=5)
    elif kind == "http_status":
        server.set_status(f"{kind}.xml", 503, b"down for maintenance")
    elif kind == "too_large":
        server.route(f"{kind}.xml", stream_bytes=6 * 1024 * 1024)  # no Content-Length
    elif kind == "not_a_feed":
        url = server.url("rsa_maodoupi_account_suspended.html")
    elif kind == "invalid_url":
        server.redirect(f"{kind}.xml", "ftp://files.example/feed.xml")
    elif kind == "too_many_redirects":
        server.redirect_chain(f"{kind}.xml", hops=6, target="kde_zeit_de_rss091_iso88591.xml")
    elif kind == "network":
        url = f"http://127.0.0.1:{free_port()}/feed.xml"
    feed = await add_unfetched(storage, url)
    async with make_session(policy) as session:
        service = FeedService(storage, session, policy, clock=Clock())
        started = time.monotonic()
        outcome = await service.poll_feed(feed, NOW)
        if kind == "timeout":  # given up at its timeout, long before the server answers
            assert time.monotonic() - started < 4
    assert outcome.status == "failed" and outcome.error_kind == kind
    assert outcome.error and FAILURES[kind] in outcome.error
    row = await current(storage, feed)
    assert (row.last_error_kind, row.last_error, row.last_error_at) == (kind, outcome.error, NOW)
    assert row.consecutive_failures == 1 and row.last_success_at is None
    assert row.next_poll_at == NOW + dt.timedelta(minutes=5)
    assert row.first_parse_failure_at == (NOW if kind == "not_a_feed" else None)
    if kind == "too_large":
        await asyncio.sleep(0.1)  # let the server notice the hang-up
        assert not server.stream_stats(f"{kind}.xml").completed
    if kind == "refused_address":
        assert server.request_count(f"{kind}.xml") == 0


async def test_backoff_doubles_caps_at_a_day_and_11_failures_disable(
    storage: Storage, server: FeedServer, service: FeedService, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_status("down.xml", 503)
    feed = await add_unfetched(storage, server.url("down.xml"))
    now = NOW
    waits = []
    for attempt in range(1, 11):
        outcome = await service.poll_feed(feed, now)
        assert outcome.status == "failed" and outcome.consecutive_failures == attempt
        row = await current(storage, feed)
        waits.append((row.next_poll_at - now) / MINUTE)
        assert await storage.feeds.due(row.next_poll_at - dt.timedelta(seconds=1)) == []
        now = row.next_poll_at
    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440]

    with caplog.at_level(logging.WARNING, logger="bot.services.feeds"):
        outcome = await service.poll_feed(feed, now)
    assert outcome.status == "disabled" and not outcome.ok
    row = await current(storage, feed)
    assert not row.active and row.consecutive_failures == 11
    assert row.disabled_reason is not None
    assert row.disabled_reason.startswith("11 consecutive failures; the last: HTTP 503")
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and feed.url in warning[0].getMessage()
    assert "disabled" in warning[0].getMessage() and "HTTP 503" in warning[0].getMessage()
    # Disabled feeds are not polled again and count as failing.
    assert await storage.feeds.due(now + dt.timedelta(days=30)) == []
    report = await service.poll_due(now + dt.timedelta(days=30))
    assert report.outcomes == []
    assert await storage.feeds.counts() == {"feeds": 1, "feeds_failing": 1}
    assert FeedRules().backoff(40) == dt.timedelta(days=1)


async def test_a_day_of_parse_failures_disables_and_success_resets(
    storage: Storage, server: FeedServer, service: FeedService
) -> None:
    server.set_file("page.xml", b"<html><head><title>Maintenance</title></head></html>")
    feed = await add_unfetched(storage, server.url("page.xml"))
    assert (await service.poll_feed(feed, NOW)).status == "failed"
    # A server error in between does not end the run of "not a feed" answers.
    server.set_status("page.xml", 502)
    assert (await service.poll_feed(feed, NOW + 5 * MINUTE)).error_kind == "http_status"
    server.set_file("page.xml", b"<html><head><title>Maintenance</title></head></html>")
    server.route("page.xml", status=200)
    assert (await service.poll_feed(feed, NOW + dt.timedelta(hours=23))).status == "failed"
    row = await current(storage, feed)
    assert row.first_parse_failure_at == NOW and row.consecutive_failures == 3

    # Recovery resets the run.
    server.set_file("page.xml", rss(*stories("calm", 2)))
    assert (await service.poll_feed(feed, NOW + dt.timedelta(hours=23, minutes=30))).ok
    row = await current(storage, feed)
    assert row.first_parse_failure_at is None and row.consecutive_failures == 0
    assert row.last_error_kind == "not_a_feed"  # kept for the record

    server.set_file("page.xml", b"<html><head><title>Gone</title></head></html>")
    start = NOW + dt.timedelta(days=2)
    assert (await service.poll_feed(feed, start)).status == "failed"
    outcome = await service.poll_feed(feed, start + dt.timedelta(days=1, minutes=1))
    assert outcome.status == "disabled"
    row = await current(storage, feed)
    assert not row.active and row.consecutive_failures == 2
    assert row.disabled_reason is not None and row.disabled_reason.startswith("not a feed since")
    assert "HTML page ('Gone')" in row.disabled_reason


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "3600", dt.timedelta(hours=1)),  # longer than the backoff: waited out
        (503, "Wed, 01 Jan 2031 00:00:00 GMT", dt.timedelta(days=1)),  # years: the cap
        (503, "60", dt.timedelta(minutes=5)),  # shorter than the backoff: the backoff
        # Too large for a timedelta (a broken or hostile server): the cap, not an error.
        (503, "100000000000000", dt.timedelta(days=1)),
        (503, "9" * 20, dt.timedelta(days=1)),
        (503, "²", dt.timedelta(minutes=5)),  # a digit to str.isdigit, no number: unread
    ],
)
async def test_a_servers_retry_after_is_waited_out_up_to_a_day(
    storage: Storage,
    server: FeedServer,
    service: FeedService,
    status: int,
    retry_after: str,
    wait: dt.timedelta,
) -> None:
    server.set_status("busy.xml", status, b"slow down")
    server.route("busy.xml", headers={"Retry-After": retry_after})
    feed = await add_unfetched(storage, server.url("busy.xml"))
    outcome = await service.poll_feed(feed, NOW)
    assert outcome.status == "failed" and outcome.error_kind == "http_status"
    row = await current(storage, feed)
    assert (row.last_error or "").startswith(f"HTTP {status} ")
    assert row.next_poll_at == NOW + wait


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("gzip", "the body is labelled Content-Encoding: gzip but is not gzip data"),
        (
            "br",
            "the body is encoded as br (Content-Encoding), which was not asked for"
            " (only gzip and deflate)",
        ),
    ],
)
async def test_a_body_in_an_encoding_that_does_not_decode_is_named_so(
    encoding: str, reason: str, storage: Storage, server: FeedServer, service: FeedService
) -> None:
    """A server that labels a plain body `Content-Encoding: gzip`, or answers in Brotli
    that was not asked for: `feeds list` says so on one line, naming the encoding (not a
    failed connection and an HTTP 400 nobody sent)."""
    server.route(
        "mislabelled.xml",
        body=rss(*stories("s", 1)),
        headers={"Content-Encoding": encoding},
        conditional=False,
    )
    feed = await add_unfetched(storage, server.url("mislabelled.xml"))
    outcome = await service.poll_feed(feed, NOW)
    assert outcome.status == "failed" and outcome.error_kind == "not_a_feed"
    row = await current(storage, feed)
    assert (row.last_error_kind, row.last_error) == ("not_a_feed", reason)
