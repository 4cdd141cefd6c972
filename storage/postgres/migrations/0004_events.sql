-- Events' writes (storage/postgres/event_rows.py, events.py, imports.py).

-- chronicle_count() of 0001 tested `counter = 'events' AND NOT NEW.complete` on every table:
-- PL/pgSQL does not stop at the first false operand, and rows without `complete` (entities,
-- sources, articles) failed. The same counting, each table's columns read only for it.
CREATE OR REPLACE FUNCTION chronicle_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counter text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE counters SET value = value + 1 WHERE name = counter;
        IF counter = 'events' THEN
            IF NOT NEW.complete THEN
                UPDATE counters SET value = value + 1 WHERE name = 'incomplete';
            END IF;
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE counters SET value = value - 1 WHERE name = counter;
        IF counter = 'events' THEN
            IF NOT OLD.complete THEN
                UPDATE counters SET value = value - 1 WHERE name = 'incomplete';
            END IF;
        END IF;
        RETURN OLD;
    END IF;
    -- UPDATE: events completed (or not), entities becoming aliases (or not)
    IF counter = 'events' THEN
        IF OLD.complete <> NEW.complete THEN
            UPDATE counters SET value = value + (CASE WHEN NEW.complete THEN -1 ELSE 1 END)
            WHERE name = 'incomplete';
        END IF;
    ELSIF counter = 'entities' THEN
        IF (OLD.canonical_id IS NULL) <> (NEW.canonical_id IS NULL) THEN
            UPDATE counters SET value = value
                + (CASE WHEN NEW.canonical_id IS NULL THEN 1 ELSE -1 END)
            WHERE name = 'entities';
        END IF;
    END IF;
    RETURN NEW;
END $$;
