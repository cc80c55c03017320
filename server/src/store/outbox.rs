//! The notification outbox, the handoff facts a notification is built
//! from, and server-wide settings.

use baton_shared::{Brief, ConversationId, Millis};

use super::{Store, StoreError, corrupt};

/// A notification whose time has come.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub handoff: i64,
    pub url: String,
    pub format: String,
    pub attempts: u32,
}

/// What a notification and a resume link need to know about a handoff.
#[derive(Debug, Clone)]
pub struct HandoffFacts {
    pub conversation: ConversationId,
    pub brief: Brief,
    pub created_at: Millis,
    /// `None` once the link was used.
    pub resume_nonce: Option<String>,
    /// The handoff is over (resumed, closed, superseded).
    pub ended: bool,
}

impl Store {
    /// Takes up to `limit` undelivered, unexpired notifications due by
    /// `now`, oldest first, for `lease` ms: until then no other node (or
    /// later call) takes them, and if this one dies before recording the
    /// attempt they fall due again when the lease runs out.
    pub async fn take_due_notifications(
        &self,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<Due>, StoreError> {
        // The outer `next_attempt_at <= $1` is checked again on the row as
        // it is after a concurrent taker's commit, so a row is taken once.
        let mut rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
            "UPDATE outbox SET next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM outbox \
                          WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND expires_at > $1 \
                          ORDER BY next_attempt_at, id LIMIT $3) \
               AND delivered_at IS NULL AND next_attempt_at <= $1 \
             RETURNING id, handoff_id, url, format, attempts",
        )
        .bind(now)
        .bind(now + lease)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        rows.sort_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|(id, handoff, url, format, attempts)| Due {
                id,
                handoff,
                url,
                format,
                attempts: attempts as u32,
            })
            .collect())
    }

    /// When the next undelivered notification falls due, if any.
    pub async fn next_notification_at(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn notification_delivered(&self, id: i64, now: Millis) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn notification_failed(
        &self,
        id: i64,
        retry_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3")
            .bind(retry_at)
            .bind(error)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn handoff_facts(&self, handoff: i64) -> Result<Option<HandoffFacts>, StoreError> {
        type Row = (
            ConversationId,
            String,
            Millis,
            Option<String>,
            Option<Millis>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT conversation_id, brief, created_at, resume_nonce, ended_at FROM handoffs WHERE id = $1",
        )
        .bind(handoff)
        .fetch_optional(&self.pool)
        .await?;
        row.map(
            |(conversation, brief, created_at, resume_nonce, ended_at)| {
                Ok(HandoffFacts {
                    conversation,
                    brief: serde_json::from_str(&brief)
                        .map_err(|e| corrupt(format!("brief: {e}")))?,
                    created_at,
                    resume_nonce,
                    ended: ended_at.is_some(),
                })
            },
        )
        .transpose()
    }

    /// The stored value of `key`, setting it to `value` first if absent.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
