"""HTML fragments to plain text, and cutting text at a sentence end."""

from __future__ import annotations

from bot.ingest.feeds.html_text import cut_at_sentence, html_to_text
from tests.bot.ingest.feeds.helpers import (
    LONG_TEXT,
)


def test_html_to_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("plain   text\n here") == "plain text here"
    assert html_to_text("<p>One</p><p>Two</p>") == "One Two"
    assert html_to_text("a<b>b</b>c") == "abc"
    assert html_to_text("x<style>p{}</style>y<script>z()</script>") == "xy"
    assert html_to_text("&lt;tag&gt; &amp; &#x263A; &eacute;") == "<tag> & ☺ é"
    assert html_to_text("soft\xadhyphen zero\u200bwidth") == "softhyphen zerowidth"
    assert html_to_text("line<br>break<br/>again") == "line break again"
    long_html = "<p>" + "word " * 100_000 + "</p>"
    assert len(html_to_text(long_html, max_chars=600)) < 20_000


def test_cut_at_sentence() -> None:
    assert cut_at_sentence("Short. Text.") == "Short. Text."
    cut = cut_at_sentence(LONG_TEXT)
    assert len(cut) <= 600 and cut.endswith(".") and LONG_TEXT.startswith(cut)
    words = "lorem ipsum dolor " * 60
    cut = cut_at_sentence(words)
    assert len(cut) <= 600 and cut.endswith("…")
    assert words.startswith(cut[:-1]) and words[len(cut) - 1] == " "  # ends on a whole word
    # "e.g. lower" is not a sentence end; only the real one counts.
    tricky = "See e.g. this example of things. " + "More words " * 80
    assert cut_at_sentence(tricky, 60) == "See e.g. this example of things."
    cjk = "这是一个句子。" * 120
    assert cut_at_sentence(cjk).endswith("。") and len(cut_at_sentence(cjk)) <= 600
    assert len(cut_at_sentence("x" * 700)) == 600
