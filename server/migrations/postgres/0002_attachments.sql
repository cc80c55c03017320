-- Files visitors and agents upload; the file itself is `attachments.dir`/id.
-- (migrations/sqlite/0005_attachments.sql)
CREATE TABLE attachments (
    id              TEXT   PRIMARY KEY,  -- 256 random bits, URL-safe base64
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    name            TEXT   NOT NULL,
    content_type    TEXT   NOT NULL,
    size            BIGINT NOT NULL,
    agent_id        BIGINT REFERENCES agents(id), -- NULL: the visitor uploaded it
    created_at      BIGINT NOT NULL
);
