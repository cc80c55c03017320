-- Notifications to the team, written in the same transaction as the
-- handoff and delivered (with retries) by the courier.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id      INTEGER NOT NULL REFERENCES handoffs(id),
    url             TEXT    NOT NULL,
    format          TEXT    NOT NULL CHECK (format IN ('slack', 'json')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- The one-time part of the handoff's "Resume assistant" link; cleared when
-- the link is used.
ALTER TABLE handoffs ADD COLUMN resume_nonce TEXT;

-- Server-wide values that must survive restarts (the signing secret).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
