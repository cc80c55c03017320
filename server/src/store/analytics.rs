//! What the team learns from its handoffs: the rows analytics and export
//! read, the agents' verdicts, whether the visitor is still there (for
//! `abandoned`), and the figures `/metrics` reads at scrape time.

use baton_shared::{AgentId, Brief, ConversationId, Mechanism, Millis, Seq, Verdict};
use sqlx::Row;

use super::{Store, StoreError, corrupt};

/// One handoff, as analytics counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffRow {
    pub id: i64,
    pub conversation: ConversationId,
    pub mechanism: Mechanism,
    pub rule: Option<String>,
    pub confidence: Option<f64>,
    pub threshold: Option<f64>,
    pub created_at: Millis,
    pub first_human_reply_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    /// `None` while the handoff is open.
    pub outcome: Option<String>,
    pub csat: Option<String>,
    pub verdict: Option<Verdict>,
}

/// One handoff with what `baton export` needs to rebuild its case.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub handoff: HandoffRow,
    /// The `handoff_started` event.
    pub seq: Seq,
    /// The 1-based visitor turn as the engine counted it, over the whole log.
    pub turn: u32,
    pub brief: Brief,
    /// The `handoff_started` event of the conversation's previous handoff.
    pub previous_seq: Option<Seq>,
}

const HANDOFF_COLUMNS: &str = "h.id, h.conversation_id, h.mechanism, h.rule_id, h.confidence, \
     h.threshold, h.created_at, h.first_human_reply_at, h.ended_at, h.outcome, h.csat, h.verdict";

impl Store {
    /// Every handoff created in `[from, to)`, oldest first.
    pub async fn handoffs_between(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<HandoffRow>, StoreError> {
        let sql = format!(
            "SELECT {HANDOFF_COLUMNS} FROM handoffs h \
             WHERE h.created_at >= $1 AND h.created_at < $2 ORDER BY h.created_at, h.id"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(handoff_row).collect()
    }

    /// Every handoff created in `[from, to)` with its brief and log
    /// position, oldest first.
    pub async fn handoffs_for_export(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let sql = format!(
            "SELECT {HANDOFF_COLUMNS}, h.seq, h.turn, h.brief, \
                    (SELECT MAX(p.seq) FROM handoffs p \
                     WHERE p.conversation_id = h.conversation_id AND p.id < h.id) AS previous_seq \
             FROM handoffs h WHERE h.created_at >= $1 AND h.created_at < $2 \
             ORDER BY h.created_at, h.id"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let brief: String = r.try_get("brief")?;
                Ok(ExportRow {
                    handoff: handoff_row(r)?,
                    seq: r.try_get::<i64, _>("seq")? as Seq,
                    turn: u32::try_from(r.try_get::<i64, _>("turn")?)
                        .map_err(|_| corrupt("handoff turn"))?,
                    brief: serde_json::from_str(&brief)
                        .map_err(|e| corrupt(format!("brief: {e}")))?,
                    previous_seq: r
                        .try_get::<Option<i64>, _>("previous_seq")?
                        .map(|s| s as Seq),
                })
            })
            .collect()
    }

    /// Records `agent`'s verdict on the conversation's latest handoff
    /// (replacing an earlier one); false when it has had no handoff.
    pub async fn set_verdict(
        &self,
        conversation: ConversationId,
        verdict: Verdict,
        agent: AgentId,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE handoffs SET verdict = $1, verdict_by = $2, verdict_at = $3 \
             WHERE id = (SELECT MAX(id) FROM handoffs WHERE conversation_id = $4)",
        )
        .bind(verdict.as_str())
        .bind(agent)
        .bind(now)
        .bind(conversation)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The verdict on the conversation's latest handoff.
    pub async fn latest_verdict(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Verdict>, StoreError> {
        let verdict: Option<Option<String>> = sqlx::query_scalar(
            "SELECT verdict FROM handoffs WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(conversation)
        .fetch_optional(&self.pool)
        .await?;
        verdict.flatten().map(|v| parse_verdict(&v)).transpose()
    }

    /// A widget socket opened on the conversation: the visitor is here.
    pub async fn visitor_arrived(&self, conversation: ConversationId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET visitor_sockets = visitor_sockets + 1, visitor_left_at = NULL \
             WHERE id = $1",
        )
        .bind(conversation)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A widget socket closed; when it was the last one, the visitor left
    /// at `now`.
    pub async fn visitor_departed(
        &self,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET \
                 visitor_sockets = CASE WHEN visitor_sockets > 0 THEN visitor_sockets - 1 ELSE 0 END, \
                 visitor_left_at = CASE WHEN visitor_sockets <= 1 THEN $1 ELSE visitor_left_at END \
             WHERE id = $2",
        )
        .bind(now)
        .bind(conversation)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// At start: no widget socket survived the last run, so every visitor
    /// still counted as present left by `now` at the latest.
    pub async fn reset_presence(&self, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET visitor_sockets = 0, \
                 visitor_left_at = COALESCE(visitor_left_at, $1) \
             WHERE visitor_sockets > 0",
        )
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Conversations waiting in the queue and held by a person.
    pub async fn queue_lengths(&self) -> Result<(u64, u64), StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM conversations WHERE state IN ('queued', 'human') GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let count = |state: &str| {
            rows.iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n as u64)
        };
        Ok((count("queued"), count("human")))
    }

    /// When the agent message stored as `reply` is the first one since the
    /// conversation's latest handoff: how long after the handoff it came.
    pub async fn first_reply_latency(
        &self,
        conversation: ConversationId,
        reply: Seq,
    ) -> Result<Option<Millis>, StoreError> {
        let sql = format!(
            "SELECT h.first_human_reply_at - h.created_at FROM \
                 (SELECT * FROM handoffs WHERE conversation_id = $1 AND seq < $2 \
                  ORDER BY id DESC LIMIT 1) h \
             WHERE h.first_human_reply_at IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM events e WHERE e.conversation_id = h.conversation_id \
                  AND e.seq > h.seq AND e.seq < $2 AND {} = 'agent')",
            self.backend.json_text("e.body", "type")
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(conversation)
            .bind(reply as i64)
            .fetch_optional(&self.pool)
            .await?)
    }
}

fn handoff_row(r: &sqlx::any::AnyRow) -> Result<HandoffRow, StoreError> {
    let mechanism: String = r.try_get("mechanism")?;
    Ok(HandoffRow {
        id: r.try_get("id")?,
        conversation: r.try_get("conversation_id")?,
        mechanism: Mechanism::parse(&mechanism)
            .ok_or_else(|| corrupt(format!("mechanism {mechanism:?}")))?,
        rule: r.try_get("rule_id")?,
        confidence: r.try_get::<Option<f64>, _>("confidence")?.map(single),
        threshold: r.try_get::<Option<f64>, _>("threshold")?.map(single),
        created_at: r.try_get("created_at")?,
        first_human_reply_at: r.try_get("first_human_reply_at")?,
        ended_at: r.try_get("ended_at")?,
        outcome: r.try_get("outcome")?,
        csat: r.try_get("csat")?,
        verdict: r
            .try_get::<Option<String>, _>("verdict")?
            .map(|v| parse_verdict(&v))
            .transpose()?,
    })
}

/// A value stored from an `f32`, as that `f32` reads (0.8, not
/// 0.800000011920929).
fn single(stored: f64) -> f64 {
    (stored as f32).to_string().parse().unwrap_or(stored)
}

fn parse_verdict(v: &str) -> Result<Verdict, StoreError> {
    Verdict::parse(v).ok_or_else(|| corrupt(format!("verdict {v:?}")))
}
