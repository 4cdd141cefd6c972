-- A private feed's items whose link was empty or only a fragment (<link>#a1</link>, Atom's
-- <link href=''/>) were resolved against the feed's URL, token and all
-- (…/feed.atom?token=…#a1), and every member saw it in the event's sources. Such a link is
-- the feed's URL without its login and its token-like query parameters (named as
-- bot.ingest.feeds.credentials tells a secret), its fragment kept; an entry's identity that
-- was this link (an entry without a GUID) follows it. A link the event already has is not
-- kept twice.
CREATE TEMP TABLE feed_link_bases AS
WITH RECURSIVE
authorities AS (
    SELECT id AS feed_id, url, rest,
           substr(rest, 1, min(instr(rest || '/', '/'), instr(rest || '?', '?'),
                               instr(rest || '#', '#')) - 1) AS authority
    FROM (SELECT id, url, substr(url, instr(url, '://') + 3) AS rest FROM feeds
          WHERE instr(url, '://') > 0 AND instr(url, '?') > 0)
),
bare AS (
    SELECT feed_id, substr(url, 1, instr(url, '://') + 2)
           || substr(rest, length(rtrim(authority, replace(authority, '@', ''))) + 1) AS url
    FROM authorities
),
addresses AS (
    SELECT feed_id, address, substr(address, 1, instr(address, '?') - 1) AS path,
           substr(address, instr(address, '?') + 1) AS query
    FROM (SELECT feed_id, CASE WHEN instr(url, '#') > 0 THEN substr(url, 1, instr(url, '#') - 1)
                               ELSE url END AS address FROM bare)
    WHERE instr(address, '?') > 0
),
items(feed_id, idx, item, rest) AS (
    SELECT feed_id, 0, NULL, query || '&' FROM addresses
    UNION ALL
    SELECT feed_id, idx + 1, substr(rest, 1, instr(rest, '&') - 1),
           substr(rest, instr(rest, '&') + 1)
    FROM items WHERE rest <> ''
),
named AS (
    SELECT feed_id, idx, item,
           replace(lower(trim(replace(substr(item, 1, instr(item || '=', '=') - 1), '+', ' '))),
                   '-', '_') AS name
    FROM items WHERE idx > 0
),
judged AS (
    SELECT feed_id, idx, item,
           name IN ('auth', 'credential', 'credentials', 'hash', 'hmac', 'key', 'pass',
                    'passwd', 'password', 'pwd', 'secret', 'session', 'sessionid', 'sid',
                    'sig', 'signature', 'token')
           OR name LIKE '%token' OR name LIKE '%key' OR name LIKE '%secret'
           OR name LIKE '%password' OR name LIKE '%signature' OR name LIKE '%auth' AS secret
    FROM named
),
kept(feed_id, idx, query) AS (
    SELECT feed_id, 0, NULL FROM addresses
    UNION ALL
    SELECT k.feed_id, j.idx,
           CASE WHEN j.secret THEN k.query ELSE coalesce(k.query || '&', '') || j.item END
    FROM kept k JOIN judged j ON j.feed_id = k.feed_id AND j.idx = k.idx + 1
)
SELECT a.feed_id, a.address AS old,
       a.path || CASE WHEN coalesce(k.query, '') <> '' THEN '?' || k.query ELSE '' END AS new
FROM addresses a
JOIN kept k ON k.feed_id = a.feed_id
           AND k.idx = (SELECT max(idx) FROM judged j WHERE j.feed_id = a.feed_id)
WHERE EXISTS (SELECT 1 FROM judged j WHERE j.feed_id = a.feed_id AND j.secret);

CREATE TEMP TABLE feed_link_tokens AS
SELECT s.event_id, s.position, min(b.new || substr(s.url, length(b.old) + 1)) AS bare
FROM sources s
JOIN feed_entries fe ON fe.event_id = s.event_id
JOIN feed_link_bases b ON b.feed_id = fe.feed_id
WHERE s.from_feed = 1
  AND (s.url = b.old OR substr(s.url, 1, length(b.old) + 1) = b.old || '#')
GROUP BY s.event_id, s.position;

DELETE FROM sources
WHERE (event_id, position) IN (
    SELECT t.event_id, t.position FROM feed_link_tokens t
    WHERE EXISTS (SELECT 1 FROM sources s WHERE s.event_id = t.event_id AND s.url = t.bare)
       OR EXISTS (SELECT 1 FROM feed_link_tokens o WHERE o.event_id = t.event_id
                  AND o.bare = t.bare AND o.position < t.position)
);

UPDATE sources
SET url = (SELECT t.bare FROM feed_link_tokens t
           WHERE t.event_id = sources.event_id AND t.position = sources.position)
WHERE (event_id, position) IN (SELECT event_id, position FROM feed_link_tokens);

UPDATE OR IGNORE feed_entries
SET identity = (SELECT b.new || substr(feed_entries.identity, length(b.old) + 1)
                FROM feed_link_bases b WHERE b.feed_id = feed_entries.feed_id)
WHERE EXISTS (SELECT 1 FROM feed_link_bases b
              WHERE b.feed_id = feed_entries.feed_id
                AND (feed_entries.identity = b.old
                     OR substr(feed_entries.identity, 1, length(b.old) + 1) = b.old || '#'));

DROP TABLE feed_link_tokens;
DROP TABLE feed_link_bases;
