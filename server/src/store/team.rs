//! Agent accounts and login sessions. Passwords arrive here already hashed
//! (argon2id) and session tokens as SHA-256 digests: the database never sees
//! a secret.

use baton_shared::{AgentId, AgentRef, Millis};

use super::{Store, StoreError};

impl Store {
    /// Adds an agent; `None` when the email is taken.
    pub async fn add_agent(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        now: Millis,
    ) -> Result<Option<AgentRef>, StoreError> {
        let id: Option<AgentId> = sqlx::query_scalar(
            "INSERT INTO agents (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        Ok(id.map(|id| AgentRef {
            id,
            name: name.to_string(),
        }))
    }

    /// The agent with this email and their password hash.
    pub async fn agent_credentials(
        &self,
        email: &str,
    ) -> Result<Option<(AgentRef, String)>, StoreError> {
        let row: Option<(AgentId, String, String)> =
            sqlx::query_as("SELECT id, name, password_hash FROM agents WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, hash)| (AgentRef { id, name }, hash)))
    }

    /// Every agent, by name.
    pub async fn agents(&self) -> Result<Vec<AgentRef>, StoreError> {
        let rows: Vec<(AgentId, String)> =
            sqlx::query_as("SELECT id, name FROM agents ORDER BY name, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| AgentRef { id, name })
            .collect())
    }

    pub async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, agent_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(agent)
            .bind(expires_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The agent a live session belongs to.
    pub async fn session_agent(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> Result<Option<AgentRef>, StoreError> {
        let row: Option<(AgentId, String)> = sqlx::query_as(
            "SELECT a.id, a.name FROM sessions s JOIN agents a ON a.id = s.agent_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, name)| AgentRef { id, name }))
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
