"""Feeds: adding, removing and polling the operator's feeds; entries into events.

Shared by the command line (``chronicle feeds ...``) and the bot's scheduler. Everything
it needs is passed in (the Storage, one aiohttp session from
:func:`bot.ingest.feeds.fetch.make_session`, the :class:`FetchPolicy`, the poll interval); it
holds no globals, so a test, the CLI and the bot can each run their own.

The rules, in one place (numbers in :class:`FeedRules`):

Adding a feed
    The operator is at the keyboard, so the first fetch decides: if it fails for any
    reason (an invalid or refused address, a name that does not resolve, a timeout, any
    HTTP error status, a document that is not a feed, too large, too many redirects),
    ``feeds add`` is refused with what failed and what to do, and nothing is stored; the
    operator tries again when the site is back. Re-adding a disabled feed's URL follows
    the same rule: it is re-activated only by a first fetch that works. Failures after a
    feed is added are the poller's (see "Failing feeds").

    Given an HTML page (``https://site/``) that advertises feeds with ``<link
    rel="alternate" type="application/rss+xml">`` (or Atom, JSON Feed), the first
    advertised feed is added instead, through the same checks and address guard;
    :attr:`AddResult.discovered_from` is then the page's URL. A page that advertises
    nothing is refused, and the refusal says so.

Never twice
    An entry's identity (GUID, else link, else a hash; see ``bot.ingest.feeds.entries``) is stored
    per feed the first time it is seen; a seen identity is never new again, whatever the
    feed does to its date or text (new text corrects the event it made, in place: the
    rules are storage.feed_steps'). A feed that gives its entries new identities on every
    fetch (rotating GUIDs, per-fetch parameters in GUID-less links) does not make them new
    again: an unseen entry whose folded headline and day are those of an event this same
    feed carried before, under identities the document no longer carries, is that event
    (no new event, nothing announced). Two entries the document carries at once stay two
    events, and "Morning briefing" on another day is another story. Links are stored and
    compared without tracking parameters (utm_*, fbclid, gclid, oc, ...; the list is in
    :mod:`.links`). An unseen entry whose link is already a source of an event joins that
    event when the link can name its story: the headlines are nearly the same, or the
    event is not this feed's alone (the archive or another feed told it) and is dated
    within two days (a link shared by several entries of one document, or a bare home
    page, is never trusted; the rules are storage.feed_steps'). Otherwise an entry whose
    headline is nearly the same as an event's of its day (folded-token Jaccard >= 0.8, at
    least four tokens), or word for word an event's of the day before or after (a story
    dated either side of midnight), joins that event and adds its link as one more source.
    Only otherwise is a new event made. The same link from two feeds is one source row:
    the URL is what a reader follows, and ``feed_entries`` records which feeds carried it.

Never a flood
    Every unseen entry is stored (nothing is lost); the question is only whether its new
    event is *announced* (``announce = 1``: digests of new events, subscription alerts).
    It is not announced, and is kept as history, when

    * it comes from the feed's first successful fetch (adding a feed, or re-adding a
      disabled one), except the newest ``--backfill N`` entries;
    * one poll brings more than ``flood_cap`` (20) unseen entries: a feed that changed all
      its GUIDs, moved, or dumped its archive is not news;
    * the feed comes back after ``comeback_failures`` (3) or more failed attempts in a
      row, i.e. it was down for at least ~35 minutes of retries: what piled up meanwhile is
      not replayed. One or two failed attempts (a blip) lose nothing;
    * the entry is dated more than ``age_margin`` (a day) before the feed's last success:
      an old item that surfaced late.

Failing feeds
    Every failure is recorded with its kind and reason. The next attempt waits 5 minutes,
    doubling per consecutive failure, capped at a day. After 11 consecutive failures, or
    when a feed has answered with something that is not a feed for more than a day, it is
    disabled with its reason (logged at WARNING; shown by ``feeds list``). A 304 is a
    success with nothing new. A successful poll schedules the next after the poll interval.

    A poll the archive cannot store (a full disk, another writer holding it too long, the
    database server gone) is not the feed's failure: nothing of it is stored or counted
    against the feed, its validators neither, so a later round fetches the same entries
    again and loses none: the next after the poll interval, not at the next check. Its
    outcome says so (``error_kind`` "archive"); the round logs it once at ERROR, with
    what to do.

Moved feeds
    A poll whose every redirect was permanent (301, 308), and whose document is read as a
    feed (a home page is a failure, not a move), moves the feed to the URL that answered:
    it is polled there from then on. Another feed with that URL already: an active one
    polls it, so the moved one is disabled, its reason naming the other; a disabled one is
    removed (its events stay) and the moved one takes the URL. ``feeds add`` of an address
    the feed left adds it at its new one.

Entities
    An event's entities are the entry's categories plus the known entity names (and
    aliases) its headline and summary mention, found by
    :class:`bot.services.tagging.EntityMatcher` (its module has the rules: word forms,
    longest names, generic words, variants). The names come from
    ``storage.entities.names``, loaded once and then as they arrive; whether a name is a
    common word is asked of ``storage.entities.headline_mentions`` the first time an
    entry uses it as one.

The modules, one job each: :mod:`.service` (FeedService: adding, polling, storing),
:mod:`.rules` (the numbers, the clock), :mod:`.items` (entries into items, news or
history), :mod:`.stories` (which stored event, if any, an entry is the same story as),
:mod:`.categories` (which labels name entities), :mod:`.matching` (the entity matcher's
names from storage), :mod:`.failures` (backoff and disabling), :mod:`.adding` (the
address check and refusals), :mod:`.reports` (what a poll or an add did), :mod:`.links`
(tracking parameters off entry links).
"""
