"""The text of another service's error as Chronicle shows and stores it (clean_error_text):
what a proxy echoes of the request, or a ban page, never reaches a notice whole."""

from __future__ import annotations

from storage.redaction import (
    ERROR_TEXT_LIMIT,
    MASK,
    clean_error_text,
    secret_values,
    without_secret_values,
)

TOKEN = "MTE4.secret-token.part"


def test_the_token_and_credential_headers_are_masked() -> None:
    echoed = (
        "Missing Permissions (request headers: User-Agent: DiscordBot; "
        f"Authorization: Bot {TOKEN}; Proxy-Authorization: Basic dXNlcjpwYXNz)"
    )
    assert clean_error_text(echoed, [TOKEN]) == (
        f"Missing Permissions (request headers: User-Agent: DiscordBot; Authorization: {MASK};"
        f" Proxy-Authorization: {MASK})"
    )
    as_json = '{"message": "Forbidden", "headers": {"authorization": "Bot abc.def-ghi"}}'
    assert clean_error_text(as_json) == (
        f'{{"message": "Forbidden", "headers": {{"authorization": "{MASK}"}}}}'
    )


def test_an_html_page_is_told_by_its_title() -> None:
    page = (
        "<!DOCTYPE html>\n<html><head><title>Access denied | discord.com used Cloudflare"
        "</title></head><body>" + "<p>banned</p>" * 500 + "</body></html>"
    )
    assert clean_error_text(page) == "an HTML page (Access denied | discord.com used Cloudflare)"
    assert clean_error_text("<html><body>down</body></html>") == "an HTML page"


def test_long_text_is_one_line_cut_short() -> None:
    cleaned = clean_error_text("line one\n  line two " + "x" * 500)
    assert cleaned.startswith("line one line two x") and cleaned.endswith("…")
    assert len(cleaned) == ERROR_TEXT_LIMIT
    assert TOKEN not in clean_error_text("z" * 195 + TOKEN, [TOKEN])


def test_a_link_loses_the_secrets_of_its_feed_however_they_are_written() -> None:
    """A link carrying a feed's token, written again by a URL parser, is found by the
    token's value and loses its secret parameters, the rest kept as written."""
    secrets = secret_values("https://a.example/f?edition=uk&Api-Key=ab%2Fcd%3D%3D&token=a b")
    assert secrets == {"ab/cd==", "a b"}
    assert (
        without_secret_values("https://a.example/f?edition=uk&api-key=ab/cd%3D%3D#top", secrets)
        == "https://a.example/f?edition=uk#top"
    )
    assert without_secret_values("https://b.example/x?token=a+b&sig=1", secrets) == (
        "https://b.example/x"
    )
    # Another token, or the value under a name that holds no secret: not the feed's.
    assert without_secret_values("https://b.example/x?token=other", secrets) is None
    assert without_secret_values("https://b.example/x?q=a+b", secrets) is None
    assert without_secret_values("https://b.example/x#token=a+b", secrets) is None
