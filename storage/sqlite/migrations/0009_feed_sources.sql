-- Which sources a feed added. A feed entry that joins an event (the same link, or the same
-- story told by another publisher) appends its link to the event's sources; a new version of
-- that event's archive page replaces the page's own sources and must keep these, as must a
-- Changes list that merges the event into another.
ALTER TABLE sources ADD COLUMN from_feed INTEGER NOT NULL DEFAULT 0;

-- Sources written before this column: those of events a feed created, and on events a feed
-- joined, those published under that feed's name. (An archive source that happens to carry
-- a feed's name is kept through a new page version too: keeping one too many loses nothing.)
UPDATE sources SET from_feed = 1
WHERE event_id IN (SELECT event_id FROM feed_entries)
  AND (
      (SELECT origin FROM events WHERE id = sources.event_id) = 'feed'
      OR name IN (
          SELECT f.name FROM feed_entries fe JOIN feeds f ON f.id = fe.feed_id
          WHERE fe.event_id = sources.event_id
      )
  );
