-- An alert claimed is not an alert sent: a process that dies between the two leaves a claim
-- that, without a state, looks delivered forever. Claims are 'claimed' until the message goes
-- out ('sent'); one left pending past a grace period is taken back for one more attempt, and
-- one still pending after it is given up ('failed'). guild_id: the server the claim was made
-- for, so that only the process running its shard takes it back. Rows from before were sent.
ALTER TABLE deliveries ADD COLUMN state TEXT NOT NULL DEFAULT 'sent'
    CHECK (state IN ('claimed', 'sent', 'failed'));
ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deliveries ADD COLUMN guild_id INTEGER;

-- The claims still pending: what each alert sweep looks for first.
CREATE INDEX deliveries_pending ON deliveries(delivered_at) WHERE state = 'claimed';
