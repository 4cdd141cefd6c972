-- As SQLite's 0024: a private feed's items whose link was empty or only a fragment
-- (<link>#a1</link>, Atom's <link href=''/>) were resolved against the feed's URL, token and
-- all (…/feed.atom?token=…#a1), shown to every member in the event's sources. Those links
-- lose the feed's token in a step in Python, run after this file in its transaction
-- (storage.postgres.feed_links, by the rule of storage.feed_links).
SELECT 1;
