"""Feed ingestion: outside bytes -> plain entry records, one job per module.

Nothing here knows about storage, scheduling or Discord: the poller calls
:func:`~bot.ingest.feeds.fetch.fetch_feed` with the validators it stored last time, hands
the body to :func:`~bot.ingest.feeds.parse.parse_feed`, and stores the
:class:`~bot.ingest.feeds.entries.FeedEntry` records it gets back, keyed by their identity.

* :mod:`~bot.ingest.feeds.addresses`: which URLs and addresses may be fetched
  (:class:`FetchPolicy`, the guarded resolver and connector).
* :mod:`~bot.ingest.feeds.fetch`: the HTTP session and one fetch under the policy's limits.
* :mod:`~bot.ingest.feeds.errors`: :class:`FeedError`, what fetching and parsing raise.
* :mod:`~bot.ingest.feeds.html_text`: HTML fragments to plain one-line text.
* :mod:`~bot.ingest.feeds.parse`: RSS and Atom (via feedparser), and the repairs before.
* :mod:`~bot.ingest.feeds.charsets`: which encoding a feed's or page's bytes are in.
* :mod:`~bot.ingest.feeds.json_feed`: JSON Feed 1.0 and 1.1.
* :mod:`~bot.ingest.feeds.discovery`: HTML pages served instead of a feed, and the feeds
  they advertise.
* :mod:`~bot.ingest.feeds.entries`: the entry records and the rules that make them.
"""
