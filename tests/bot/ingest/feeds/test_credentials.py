"""A feed URL as it may be shown (its login and tokens masked), and without its login."""

from __future__ import annotations

import pytest

from bot.ingest.feeds.credentials import masked, masked_in, without_credentials

SECRET = "s3cretpw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://host.example/feed.xml", "https://host.example/feed.xml"),
        (f"https://alice:{SECRET}@host.example/f.xml", "https://alice:***@host.example/f.xml"),
        (f"http://alice:{SECRET}@127.0.0.1:8080/f.xml", "http://alice:***@127.0.0.1:8080/f.xml"),
        # A user name alone is often a token (https://TOKEN@host/).
        (f"https://{SECRET}@host.example/f.xml", "https://***@host.example/f.xml"),
        # A password with an unescaped "@", "?" or "#" is masked whole.
        (f"https://alice:a@b?c#{SECRET}@host.example/f", "https://alice:***@host.example/f"),
        (
            f"https://github.com/alice.private.atom?token={SECRET}",
            "https://github.com/alice.private.atom?token=***",
        ),
        (
            f"https://h.example/rss?lang=en&api_key={SECRET}&Feed-Token={SECRET}#top",
            "https://h.example/rss?lang=en&api_key=***&Feed-Token=***#top",
        ),
        (
            f"https://h.example/rss?key={SECRET}&apikey={SECRET}&sig={SECRET}&page=2",
            "https://h.example/rss?key=***&apikey=***&sig=***&page=2",
        ),
        # An "@" in the path or the query is no login, with or without a path before it.
        (
            "https://h.example/@alice/feed?from=a@b.example",
            "https://h.example/@alice/feed?from=a@b.example",
        ),
        (
            "https://feeds.example.com?by=desk@example.org",
            "https://feeds.example.com?by=desk@example.org",
        ),
        ("https://h.example:8080#a@b", "https://h.example:8080#a@b"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_a_url_as_it_may_be_shown(url: str, shown: str) -> None:
    assert masked(url) == shown


def test_urls_quoted_in_a_text_are_masked() -> None:
    reason = (
        f"HTTP 404 Not Found from http://alice:{SECRET}@h.example/f.xml; "
        f"(last: https://h.example/x?token={SECRET})."
    )
    assert masked_in(reason) == (
        "HTTP 404 Not Found from http://alice:***@h.example/f.xml; "
        "(last: https://h.example/x?token=***)."
    )
    assert masked_in("no URL here") == "no URL here"


@pytest.mark.parametrize(
    ("url", "bare"),
    [
        (f"https://alice:{SECRET}@host.example/f.xml", "https://host.example/f.xml"),
        (f"http://{SECRET}@host.example:81/a?b=c", "http://host.example:81/a?b=c"),
        ("https://host.example/@alice/f.xml", "https://host.example/@alice/f.xml"),
        # A link keeps its host when an "@" is in its query or fragment (no path before).
        (
            "https://news.example.com?ref=editor@example.org",
            "https://news.example.com?ref=editor@example.org",
        ),
        (f"https://alice:{SECRET}@h.example?ref=a@b", "https://h.example?ref=a@b"),
        ("mailto:desk@example.org", "mailto:desk@example.org"),
    ],
)
def test_a_url_without_its_login(url: str, bare: str) -> None:
    assert without_credentials(url) == bare
