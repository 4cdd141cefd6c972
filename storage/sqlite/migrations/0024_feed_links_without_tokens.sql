-- A private feed's items whose link was empty or only a fragment (<link>#a1</link>, Atom's
-- <link href=''/>) were resolved against the feed's URL, token and all
-- (…/feed.atom?token=…#a1), and every member saw it in the event's sources. Those links lose
-- the feed's token in a step in Python, run after this file in its transaction
-- (storage.sqlite.feed_links, by the rule of storage.feed_links): the URL they were resolved
-- against is the feed's as a URL parser wrote it again, or a redirect's, which SQL cannot
-- tell from the feed's own.
SELECT 1;
