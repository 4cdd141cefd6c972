-- A private feed's items linked relatively (<link>/news/...</link>) were resolved against
-- the feed's URL with its login (http://alice:password@host/news/...), and every member saw
-- it in the event's sources. The login goes (up to the last "@" before the path, as a URL
-- reader ends it); a link the event already has without it is not kept twice.
CREATE TEMP TABLE feed_link_logins AS
SELECT event_id, position,
       substr(url, 1, instr(url, '://') + 2)
       || substr(rest, length(rtrim(authority, replace(authority, '@', ''))) + 1) AS bare
FROM (
    SELECT event_id, position, url, rest,
           substr(rest, 1, min(instr(rest || '/', '/'), instr(rest || '?', '?'),
                               instr(rest || '#', '#')) - 1) AS authority
    FROM (
        SELECT event_id, position, url, substr(url, instr(url, '://') + 3) AS rest
        FROM sources
        WHERE from_feed = 1 AND url LIKE 'http%://%@%'
    )
)
WHERE instr(authority, '@') > 0;

DELETE FROM sources
WHERE (event_id, position) IN (
    SELECT l.event_id, l.position FROM feed_link_logins l
    WHERE EXISTS (SELECT 1 FROM sources s WHERE s.event_id = l.event_id AND s.url = l.bare)
       OR EXISTS (SELECT 1 FROM feed_link_logins o WHERE o.event_id = l.event_id
                  AND o.bare = l.bare AND o.position < l.position)
);

UPDATE sources
SET url = (SELECT l.bare FROM feed_link_logins l
           WHERE l.event_id = sources.event_id AND l.position = sources.position)
WHERE (event_id, position) IN (SELECT event_id, position FROM feed_link_logins);

DROP TABLE feed_link_logins;
