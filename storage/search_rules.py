"""How search chooses and orders what it finds, the same on every backend: how many of the
newest matches are ranked, how many headlines autocomplete orders, and bm25's weights."""

from __future__ import annotations

# A word in more events than this is common. To rank by a word, bm25 first counts every
# event holding it, whatever the LIMIT. So a search is ranked by its rarer words only; when every word is
# common, headline matches come first, newest first.
COMMON_TERM_EVENTS = 5000
# How many tokens of a term are counted to tell whether it is common.
COUNTED_TOKENS = 6
# Matches of a common word ranked by relevance: at least this many of the newest.
SEARCH_WINDOW = 500
# A phrase of stop words only ("of the") is looked for among this many of the newest events:
# finding it means checking word positions in nearly every event.
STOP_PHRASE_EVENTS = 50_000
# A search remembers at most this many words and prefixes counted as common (even a large
# archive holds far fewer words in more than COMMON_TERM_EVENTS events).
MAX_COUNTED_BEYOND = 100_000
# Autocomplete orders this many of the newest headlines holding the words typed.
HEADLINE_POOL = 100

# bm25 as SQLite's FTS5 computes it (storage.sqlite.fts.EVENT_RANK): its constants, and how
# much a word weighs in each part of an event (headline, summary) and of an article (title,
# text; an article's score counts half an event's).
BM25_K1 = 1.2
BM25_B = 0.75
EVENT_WEIGHTS = (4.0, 1.0)
ARTICLE_WEIGHTS = (2.0, 1.0)
ARTICLE_SHARE = 0.5
