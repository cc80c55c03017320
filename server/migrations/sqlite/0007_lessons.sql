-- What agents taught the assistant: a visitor's wording as one more way of
-- asking an article's question (and, with `answer`, an article an agent
-- wrote). Every node reads the whole table into its knowledge base.
CREATE TABLE lessons (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    article         TEXT    NOT NULL,
    phrasing        TEXT    NOT NULL,
    answer          TEXT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    created_at      INTEGER NOT NULL,
    UNIQUE (article, phrasing)
);
CREATE INDEX lessons_by_conversation ON lessons (conversation_id);
