-- Read receipts: the last event the visitor has seen.
ALTER TABLE conversations ADD COLUMN visitor_read INTEGER NOT NULL DEFAULT 0;

-- The visitor's satisfaction rating of the handoff, asked when the team closes.
ALTER TABLE handoffs ADD COLUMN csat TEXT CHECK (csat IN ('good', 'bad'));
ALTER TABLE handoffs ADD COLUMN csat_comment TEXT;
