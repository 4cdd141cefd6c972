"""FeedError: its fields, its kinds, and pickling."""

from __future__ import annotations

import pickle

import pytest

from bot.ingest.feeds.errors import FeedError


def test_feed_error_shape() -> None:
    error = FeedError(
        "http_status", "HTTP 503 Service Unavailable from https://x/feed", http_status=503
    )
    assert str(error) == error.reason and error.kind == "http_status" and error.http_status == 503
    with pytest.raises(ValueError):
        FeedError("nope", "typo in kind")  # type: ignore[arg-type]
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.reason, copy.http_status) == (error.kind, error.reason, 503)
    page = FeedError("not_a_feed", "an HTML page", feed_links=("https://x/feed.xml",))
    assert pickle.loads(pickle.dumps(page)).feed_links == ("https://x/feed.xml",)
