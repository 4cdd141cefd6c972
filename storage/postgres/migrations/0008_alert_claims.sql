-- Alert claims pending until sent, taken back once after a crash: as SQLite's 0015.
ALTER TABLE deliveries
    ADD COLUMN state text NOT NULL DEFAULT 'sent' CHECK (state IN ('claimed', 'sent', 'failed')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 1,
    ADD COLUMN guild_id bigint;

CREATE INDEX deliveries_pending ON deliveries (delivered_at) WHERE state = 'claimed';
