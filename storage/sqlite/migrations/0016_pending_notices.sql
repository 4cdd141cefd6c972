-- A member may have several things waiting to be told (closed DMs and a channel Chronicle
-- lost, or two channels): each notice is kept until it is told, none replaces another.
-- id: the order they came in. Waiting notices are kept.
CREATE TABLE pending_notices_kept (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
INSERT INTO pending_notices_kept(user_id, text, created_at)
    SELECT user_id, text, created_at FROM pending_notices ORDER BY created_at, user_id;
DROP TABLE pending_notices;
ALTER TABLE pending_notices_kept RENAME TO pending_notices;
CREATE INDEX pending_notices_by_user ON pending_notices(user_id, id);
