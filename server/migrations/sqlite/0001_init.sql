-- Baton's schema. Times are Unix milliseconds.

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,   -- argon2id PHC string
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,    -- SHA-256 of the cookie value
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB    NOT NULL UNIQUE, -- SHA-256 of the visitor's token
    state      TEXT    NOT NULL CHECK (state IN ('assistant', 'queued', 'human', 'closed')),
    agent_id   INTEGER REFERENCES agents(id),
    last_seq   INTEGER NOT NULL DEFAULT 0, -- also the per-conversation write lock
    page       TEXT,
    identity   TEXT,                    -- JSON baton_shared::Identity
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The append-only log; everything visitors and agents see.
CREATE TABLE events (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    body            TEXT    NOT NULL,   -- JSON baton_shared::EventBody
    client_id       TEXT,               -- set for client-sent messages
    PRIMARY KEY (conversation_id, seq)
);
-- A retried send is stored once.
CREATE UNIQUE INDEX events_client_id ON events (conversation_id, client_id)
    WHERE client_id IS NOT NULL;

-- One row per handoff: why, the brief, and what became of it.
CREATE TABLE handoffs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id      INTEGER NOT NULL REFERENCES conversations(id),
    seq                  INTEGER NOT NULL, -- the handoff_started event
    turn                 INTEGER NOT NULL,
    mechanism            TEXT    NOT NULL CHECK (mechanism IN ('user', 'rule', 'confidence')),
    rule_id              TEXT,
    reason               TEXT    NOT NULL,
    confidence           REAL,
    threshold            REAL,
    out_of_hours         INTEGER NOT NULL DEFAULT 0,
    brief                TEXT    NOT NULL, -- JSON baton_shared::Brief
    created_at           INTEGER NOT NULL,
    claimed_by           INTEGER REFERENCES agents(id),
    claimed_at           INTEGER,
    first_human_reply_at INTEGER,
    ended_at             INTEGER,
    outcome              TEXT
);
CREATE INDEX handoffs_open ON handoffs (conversation_id) WHERE ended_at IS NULL;
CREATE INDEX conversations_waiting ON conversations (state) WHERE state IN ('queued', 'human');
