-- Files visitors and agents upload; the file itself is `attachments.dir`/id.
CREATE TABLE attachments (
    id              TEXT    PRIMARY KEY,  -- 256 random bits, URL-safe base64
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    name            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    agent_id        INTEGER REFERENCES agents(id), -- NULL: the visitor uploaded it
    created_at      INTEGER NOT NULL
);
