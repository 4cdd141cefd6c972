-- As SQLite's 0024: a private feed's items whose link was empty or only a fragment
-- (<link>#a1</link>, Atom's <link href=''/>) were resolved against the feed's URL, token and
-- all (…/feed.atom?token=…#a1), shown to every member in the event's sources. Such a link is
-- the feed's URL without its login and its token-like query parameters, its fragment kept;
-- an entry's identity that was this link follows it. A link the event already has is not
-- kept twice.
CREATE TEMP TABLE feed_link_bases ON COMMIT DROP AS
WITH addresses AS (
    SELECT id AS feed_id,
           split_part(regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\1'),
                      '#', 1) AS address
    FROM feeds
),
items AS (
    SELECT a.feed_id, a.address, split_part(a.address, '?', 1) AS path, i.item, i.idx,
           replace(lower(btrim(replace(split_part(i.item, '=', 1), '+', ' '))), '-', '_')
               AS name
    FROM addresses a,
         unnest(string_to_array(substr(a.address, strpos(a.address, '?') + 1), '&'))
             WITH ORDINALITY AS i(item, idx)
    WHERE strpos(a.address, '?') > 0
),
judged AS (
    SELECT feed_id, address, path, item, idx,
           name IN ('auth', 'credential', 'credentials', 'hash', 'hmac', 'key', 'pass',
                    'passwd', 'password', 'pwd', 'secret', 'session', 'sessionid', 'sid',
                    'sig', 'signature', 'token')
           OR name ~ '(token|key|secret|password|signature|auth)$' AS secret
    FROM items
)
SELECT feed_id, address AS old,
       path || coalesce('?' || nullif(string_agg(item, '&' ORDER BY idx)
                                      FILTER (WHERE NOT secret), ''), '') AS new
FROM judged
GROUP BY feed_id, address, path
HAVING bool_or(secret);

CREATE TEMP TABLE feed_link_tokens ON COMMIT DROP AS
SELECT s.event_id, s.position, min(b.new || substr(s.url, length(b.old) + 1)) AS bare
FROM sources s
JOIN feed_entries fe ON fe.event_id = s.event_id
JOIN feed_link_bases b ON b.feed_id = fe.feed_id
WHERE s.from_feed AND (s.url = b.old OR starts_with(s.url, b.old || '#'))
GROUP BY s.event_id, s.position;

DELETE FROM sources s
USING feed_link_tokens t
WHERE s.event_id = t.event_id AND s.position = t.position
  AND (EXISTS (SELECT 1 FROM sources o WHERE o.event_id = t.event_id AND o.url = t.bare)
       OR EXISTS (SELECT 1 FROM feed_link_tokens o WHERE o.event_id = t.event_id
                  AND o.bare = t.bare AND o.position < t.position));

UPDATE sources s
SET url = t.bare
FROM feed_link_tokens t
WHERE s.event_id = t.event_id AND s.position = t.position;

UPDATE feed_entries fe
SET identity = b.new || substr(fe.identity, length(b.old) + 1)
FROM feed_link_bases b
WHERE fe.feed_id = b.feed_id
  AND (fe.identity = b.old OR starts_with(fe.identity, b.old || '#'))
  AND NOT EXISTS (SELECT 1 FROM feed_entries o WHERE o.feed_id = fe.feed_id
                  AND o.identity = b.new || substr(fe.identity, length(b.old) + 1));
