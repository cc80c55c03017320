//! What agents taught the assistant ([`Lesson`]s): written once, read whole
//! by every node into its knowledge base. On PostgreSQL the writing
//! transaction also tells the other nodes to read them again
//! ([`Notice::Knowledge`]), so a lesson is never stored without the news.

use baton_shared::{AgentId, AgentRef, ConversationId, Lesson, Millis};

use super::changes::Notice;
use super::{Backend, CHANNEL, Store, StoreError};

/// What a lesson changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taught {
    /// Stored; every node reads it from now on.
    New,
    /// The same wording was already taught for that article: nothing
    /// changed.
    Known,
}

/// A lesson to store.
#[derive(Debug, Clone)]
pub struct NewLesson<'a> {
    pub conversation: ConversationId,
    pub agent: AgentId,
    pub article: &'a str,
    pub phrasing: &'a str,
    pub answer: Option<&'a str>,
    pub at: Millis,
}

/// article, phrasing, answer, agent id, agent name, created_at, id.
type LessonRow = (String, String, Option<String>, AgentId, String, Millis, i64);

const SELECT_LESSONS: &str = "SELECT l.article, l.phrasing, l.answer, l.agent_id, a.name, l.created_at, l.id \
     FROM lessons l JOIN agents a ON a.id = l.agent_id";

impl Store {
    /// Stores a lesson (once per article and wording) and, on PostgreSQL,
    /// tells the other nodes in the same transaction.
    pub async fn teach(&self, lesson: NewLesson<'_>) -> Result<Taught, StoreError> {
        let mut tx = self.writer.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO lessons (article, phrasing, answer, conversation_id, agent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (article, phrasing) DO NOTHING RETURNING id",
        )
        .bind(lesson.article)
        .bind(lesson.phrasing)
        .bind(lesson.answer)
        .bind(lesson.conversation)
        .bind(lesson.agent)
        .bind(lesson.at)
        .fetch_optional(&mut *tx)
        .await?;
        if id.is_none() {
            return Ok(Taught::Known);
        }
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(Notice::Knowledge.encode(self.node()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Taught::New)
    }

    /// Every lesson, oldest first, and the id of the newest (0 for none):
    /// a node that has read up to that id has everything before it.
    pub async fn lessons(&self) -> Result<(Vec<Lesson>, i64), StoreError> {
        let rows: Vec<LessonRow> = sqlx::query_as(&format!("{SELECT_LESSONS} ORDER BY l.id"))
            .fetch_all(&self.pool)
            .await?;
        let newest = rows.last().map_or(0, |r| r.6);
        Ok((rows.into_iter().map(lesson).collect(), newest))
    }

    /// The lessons taught from one conversation, oldest first.
    pub async fn lessons_of(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<Lesson>, StoreError> {
        let rows: Vec<LessonRow> = sqlx::query_as(&format!(
            "{SELECT_LESSONS} WHERE l.conversation_id = $1 ORDER BY l.id"
        ))
        .bind(conversation)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(lesson).collect())
    }
}

fn lesson((article, phrasing, answer, id, name, at, _): LessonRow) -> Lesson {
    Lesson {
        article,
        phrasing,
        answer,
        by: AgentRef { id, name },
        at,
    }
}
