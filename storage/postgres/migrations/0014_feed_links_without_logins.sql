-- As SQLite's 0019: a private feed's items linked relatively were resolved against the
-- feed's URL with its login (http://alice:password@host/news/...), shown to every member in
-- the event's sources. The login goes (up to the last "@" before the path); a link the
-- event already has without it is not kept twice.
CREATE TEMP TABLE feed_link_logins ON COMMIT DROP AS
SELECT event_id, position,
       regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\1') AS bare
FROM sources
WHERE from_feed AND url ~ '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]*@';

DELETE FROM sources s
USING feed_link_logins l
WHERE s.event_id = l.event_id AND s.position = l.position
  AND (EXISTS (SELECT 1 FROM sources o WHERE o.event_id = l.event_id AND o.url = l.bare)
       OR EXISTS (SELECT 1 FROM feed_link_logins o WHERE o.event_id = l.event_id
                  AND o.bare = l.bare AND o.position < l.position));

UPDATE sources s
SET url = l.bare
FROM feed_link_logins l
WHERE s.event_id = l.event_id AND s.position = l.position;
