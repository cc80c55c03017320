//! Uploaded files' records: which conversation a file belongs to and who
//! uploaded it. The bytes are on disk (`crate::attachments`).

use baton_shared::{AgentId, Attachment, ConversationId, Millis};

use super::{Store, StoreError};

/// An uploaded file, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub attachment: Attachment,
    pub conversation: ConversationId,
    /// `None`: the visitor uploaded it.
    pub agent: Option<AgentId>,
}

impl Store {
    pub async fn add_upload(&self, upload: &Upload, now: Millis) -> Result<(), StoreError> {
        let a = &upload.attachment;
        sqlx::query(
            "INSERT INTO attachments (id, conversation_id, name, content_type, size, agent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&a.id)
        .bind(upload.conversation)
        .bind(&a.name)
        .bind(&a.content_type)
        .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
        .bind(upload.agent)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<Upload>, StoreError> {
        type Row = (String, ConversationId, String, String, i64, Option<AgentId>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, conversation_id, name, content_type, size, agent_id FROM attachments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(id, conversation, name, content_type, size, agent)| Upload {
                attachment: Attachment {
                    id,
                    name,
                    content_type,
                    size: u64::try_from(size).unwrap_or(0),
                },
                conversation,
                agent,
            },
        ))
    }
}
