-- The team's judgement of a handoff (console: "Handoff was right" / "The
-- assistant could have answered this"); it becomes the expectation of the
-- handoff's case in `baton export`.
ALTER TABLE handoffs ADD COLUMN verdict TEXT
    CHECK (verdict IN ('handoff_right', 'assistant_could_have_answered'));
ALTER TABLE handoffs ADD COLUMN verdict_by INTEGER REFERENCES agents(id);
ALTER TABLE handoffs ADD COLUMN verdict_at INTEGER;

-- Whether the visitor is there: widget sockets open on the conversation
-- now, and when the last one closed (NULL while one is open, or before any
-- closed). A handoff that ends before a person's reply reached the visitor,
-- with the visitor gone, is `abandoned`.
ALTER TABLE conversations ADD COLUMN visitor_sockets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN visitor_left_at INTEGER;

-- Analytics and export read handoffs by when they happened.
CREATE INDEX handoffs_created ON handoffs (created_at);
