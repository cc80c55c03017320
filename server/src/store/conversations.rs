//! Conversations, their event logs and handoff records.
//!
//! The conversation row's `last_seq` doubles as its write lock: every change
//! starts with `UPDATE conversations SET last_seq = last_seq + n … WHERE
//! <guard> RETURNING …`, which both checks the state machine's guard and
//! reserves the next sequence numbers atomically. Starting each transaction
//! with that write also keeps SQLite from failing with a stale read snapshot
//! under concurrent writers.

use baton_shared::{
    AgentId, AgentRef, Brief, ConversationId, ConversationState, Event, EventBody, Identity,
    Mechanism, Metadata, Millis, QueueEntry, Rating, Seq,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::changes::Notice;
use super::{Backend, CHANNEL, Store, StoreError, corrupt};

/// A conversation's current state, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub state: ConversationState,
    pub agent: Option<AgentRef>,
    pub last_seq: Seq,
    pub page: Option<String>,
    pub identity: Option<Identity>,
    pub created_at: Millis,
    /// The last event the visitor has seen.
    pub visitor_read: Seq,
    /// What the host page last said about the visitor's context.
    pub metadata: Metadata,
}

/// When a change is allowed: the conversation is in one of `states`; if
/// `agent` is set, held by that agent; if `since` is set, nothing was
/// appended after that seq.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    pub states: &'a [ConversationState],
    pub agent: Option<AgentId>,
    pub since: Option<Seq>,
}

impl Guard<'_> {
    pub const ANY: Guard<'static> = Guard {
        states: &[
            ConversationState::Assistant,
            ConversationState::Queued,
            ConversationState::Human,
            ConversationState::Closed,
        ],
        agent: None,
        since: None,
    };

    pub fn in_states(states: &[ConversationState]) -> Guard<'_> {
        Guard {
            states,
            agent: None,
            since: None,
        }
    }

    /// In one of `states` and held by `agent`.
    pub fn held_by(states: &[ConversationState], agent: AgentId) -> Guard<'_> {
        Guard {
            states,
            agent: Some(agent),
            since: None,
        }
    }

    /// And nothing appended after `seq`: a change decided on the log as it
    /// was then is still right.
    pub fn unchanged_since(self, seq: Seq) -> Self {
        Guard {
            since: Some(seq),
            ..self
        }
    }
}

/// What the change does to the state machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    Keep,
    /// Move to `state`, held by `agent` (none outside `Human`).
    To(ConversationState, Option<AgentId>),
}

/// A handoff, as the engine decided it, to record with its brief.
#[derive(Debug, Clone)]
pub struct NewHandoff {
    pub turn: u32,
    pub mechanism: Mechanism,
    pub rule: Option<String>,
    pub reason: String,
    pub confidence: Option<f32>,
    pub threshold: Option<f32>,
    pub brief: Brief,
    /// The one-time part of its "Resume assistant" link.
    pub resume_nonce: String,
    /// Webhooks to notify (url, format), until `notify_until`.
    pub notify: Vec<(String, &'static str)>,
    pub notify_until: Millis,
}

/// How the change moves the open handoff record along, in the same
/// transaction.
#[derive(Debug, Clone)]
pub enum HandoffWrite {
    None,
    Open(Box<NewHandoff>),
    Claimed(AgentId),
    HumanReplied,
    /// Ended with `outcome` — or `abandoned` when no person had replied
    /// before the visitor left, and they have been gone (no widget socket
    /// open) for `abandoned_after` ms or more.
    Ended {
        outcome: &'static str,
        abandoned_after: Millis,
    },
    /// Ended through a "Resume assistant" link: only while the handoff is
    /// open and the link's nonce unused, which it then consumes. Abandoned
    /// as for `Ended`.
    EndedByLink {
        handoff: i64,
        nonce: String,
        abandoned_after: Millis,
    },
    /// The visitor's rating of the latest ended handoff; only once.
    Rated {
        rating: Rating,
        comment: Option<String>,
    },
}

/// The result of [`Store::append`].
#[derive(Debug)]
pub enum Appended {
    /// Stored, with the sequence numbers assigned.
    Stored(Vec<Event>),
    /// A message with this client id was stored before, as `seq`; nothing
    /// changed.
    Duplicate(Seq),
    /// The guard did not hold; nothing changed. The row as it is now.
    Refused(ConversationRow),
    /// The client id is already another kind of message's in this
    /// conversation (say, the visitor's, reused by an agent); nothing
    /// changed.
    ClientIdTaken,
}

/// When a `handoffs` row that is ending is `abandoned`: no widget socket is
/// open on the conversation, the last one closed at least the grace period
/// ago, and no person had replied before it closed. Parameters `$1`, the
/// time it ends, and `$2`, the grace period in ms.
const ABANDONED: &str = "EXISTS (SELECT 1 FROM conversations c \
     WHERE c.id = handoffs.conversation_id \
     AND c.visitor_sockets = 0 AND c.visitor_left_at <= $1 - $2 \
     AND (handoffs.first_human_reply_at IS NULL \
          OR handoffs.first_human_reply_at > c.visitor_left_at))";

const COLUMNS: &str = "c.id, c.state, c.agent_id, a.name AS agent_name, c.last_seq, c.page, \
                       c.identity, c.created_at, c.visitor_read, c.metadata";

impl Store {
    pub async fn create_conversation(
        &self,
        token_hash: &[u8],
        page: Option<&str>,
        identity: Option<&Identity>,
        now: Millis,
    ) -> Result<ConversationRow, StoreError> {
        let identity_json =
            identity.map(|i| serde_json::to_string(i).expect("identity serialises"));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (token_hash, state, page, identity, created_at, updated_at)
             VALUES ($1, 'assistant', $2, $3, $4, $4) RETURNING id",
        )
        .bind(token_hash)
        .bind(page)
        .bind(identity_json)
        .bind(now)
        .fetch_one(&self.writer)
        .await?;
        self.conversation(id)
            .await?
            .ok_or_else(|| corrupt("conversation vanished after insert"))
    }

    pub async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id WHERE c.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| conversation_row(&r)).transpose()
    }

    pub async fn conversation_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id \
             WHERE c.token_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| conversation_row(&r)).transpose()
    }

    /// Every event after `after`, in order.
    pub async fn events_after(
        &self,
        id: ConversationId,
        after: Seq,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, body FROM events WHERE conversation_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(id)
        // A seq past any log (2^63 and more, which the database cannot
        // hold) means "after everything", not a wrapped negative number.
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_row).collect()
    }

    /// Appends `bodies` to the log and applies `transition`, in one
    /// transaction, if `guard` holds. A client message (the first body
    /// carrying a client id) that was stored before is reported as
    /// [`Appended::Duplicate`] and nothing changes.
    pub async fn append(
        &self,
        id: ConversationId,
        guard: Guard<'_>,
        transition: Transition,
        bodies: &[EventBody],
        handoff: HandoffWrite,
        now: Millis,
    ) -> Result<Appended, StoreError> {
        let mut tx = self.writer.begin().await?;
        let Some(last_seq) = advance(&mut tx, id, guard, transition, bodies.len(), now).await?
        else {
            tx.rollback().await?;
            let row = self.conversation(id).await?;
            return match row {
                Some(row) => Ok(Appended::Refused(row)),
                None => Err(StoreError::NoConversation(id)),
            };
        };

        if let Some((body, client_id)) = bodies.iter().find_map(|b| Some((b, b.client_id()?))) {
            let earlier: Option<(i64, String)> = sqlx::query_as(
                "SELECT seq, body FROM events WHERE conversation_id = $1 AND client_id = $2",
            )
            .bind(id)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((seq, stored)) = earlier {
                tx.rollback().await?;
                // A retry is the same kind of frame again (a visitor's
                // message, an agent's reply…); the same id on another kind
                // is someone else's, not this message.
                let stored: EventBody = serde_json::from_str(&stored)
                    .map_err(|e| corrupt(format!("event {id}/{seq}: {e}")))?;
                return Ok(if stored.kind() == body.kind() {
                    Appended::Duplicate(seq as Seq)
                } else {
                    Appended::ClientIdTaken
                });
            }
        }

        let first = last_seq - bodies.len() as Seq + 1;
        let mut events = Vec::with_capacity(bodies.len());
        for (seq, body) in (first..).zip(bodies) {
            sqlx::query("INSERT INTO events (conversation_id, seq, at, body, client_id) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq as i64)
                .bind(now)
                .bind(serde_json::to_string(body).expect("event body serialises"))
                .bind(body.client_id())
                .execute(&mut *tx)
                .await?;
            events.push(Event {
                seq,
                at: now,
                body: body.clone(),
            });
        }

        if !write_handoff(&mut tx, id, handoff, first, now).await? {
            tx.rollback().await?;
            let row = self
                .conversation(id)
                .await?
                .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
            return Ok(Appended::Refused(row));
        }
        if self.backend == Backend::Postgres {
            // Delivered with the commit, never before it: the other nodes
            // read these events back (`desk::relay`).
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(
                    Notice::Events {
                        conversation: id,
                        first,
                        last: last_seq,
                    }
                    .encode(self.node()),
                )
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Appended::Stored(events))
    }

    /// Records who the host site says the visitor is.
    pub async fn set_identity(
        &self,
        id: ConversationId,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET identity = $1 WHERE id = $2")
            .bind(serde_json::to_string(identity).expect("identity serialises"))
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Replaces what the host page said about the visitor's context.
    pub async fn set_metadata(
        &self,
        id: ConversationId,
        metadata: &Metadata,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET metadata = $1 WHERE id = $2")
            .bind(serde_json::to_string(metadata).expect("metadata serialises"))
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The visitor has seen everything up to `seq` (never moves back, never
    /// past the log's end). Returns the new value.
    pub async fn mark_read(&self, id: ConversationId, seq: Seq) -> Result<Seq, StoreError> {
        let read: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET visitor_read = CASE \
                 WHEN visitor_read >= $1 OR visitor_read >= last_seq THEN visitor_read \
                 WHEN $1 < last_seq THEN $1 ELSE last_seq END \
             WHERE id = $2 RETURNING visitor_read",
        )
        .bind(seq.min(i64::MAX as u64) as i64)
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        Ok(read.unwrap_or(0) as Seq)
    }

    /// Conversations waiting for a person or held by one, oldest handoff
    /// first.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.state, c.agent_id, a.name AS agent_name, c.identity,
                    h.created_at, h.mechanism, h.reason, h.out_of_hours, h.brief
             FROM conversations c
             JOIN handoffs h ON h.conversation_id = c.id AND h.ended_at IS NULL
             LEFT JOIN agents a ON a.id = c.agent_id
             WHERE c.state IN ('queued', 'human')
             ORDER BY h.created_at, c.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let brief: Brief = parse_json(r.try_get("brief")?)?;
                let mechanism: String = r.try_get("mechanism")?;
                Ok(QueueEntry {
                    conversation: r.try_get("id")?,
                    state: parse_state(r.try_get("state")?)?,
                    since: r.try_get("created_at")?,
                    mechanism: Mechanism::parse(&mechanism).ok_or_else(|| corrupt(&mechanism))?,
                    reason: r.try_get("reason")?,
                    intent: brief.intent,
                    out_of_hours: r.try_get::<i64, _>("out_of_hours")? != 0,
                    agent: agent_ref(r)?,
                    identity: r
                        .try_get::<Option<String>, _>("identity")?
                        .map(parse_json)
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The brief of the conversation's latest handoff.
    pub async fn latest_brief(&self, id: ConversationId) -> Result<Option<Brief>, StoreError> {
        let brief: Option<String> = sqlx::query_scalar(
            "SELECT brief FROM handoffs WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        brief.map(parse_json).transpose()
    }

    /// Replaces the brief of the handoff whose `handoff_started` event is
    /// `seq` (an LLM's summary arrived after the handoff was recorded).
    /// False when there is no such handoff.
    pub async fn update_brief(
        &self,
        id: ConversationId,
        seq: Seq,
        brief: &Brief,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE handoffs SET brief = $1 WHERE conversation_id = $2 AND seq = $3")
                .bind(serde_json::to_string(brief).expect("brief serialises"))
                .bind(id)
                .bind(seq as i64)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Checks the guard and reserves `n` sequence numbers; `None` when the
/// guard does not hold (or the conversation does not exist).
async fn advance(
    tx: &mut Transaction<'_, Any>,
    id: ConversationId,
    guard: Guard<'_>,
    transition: Transition,
    n: usize,
    now: Millis,
) -> Result<Option<Seq>, StoreError> {
    // The states come from a closed enum, so formatting them in is safe.
    let states = guard
        .states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // Parameters in the order they are bound below.
    let mut next = 3..;
    let mut param = || format!("${}", next.next().expect("unbounded"));
    let (set_state, new_state, new_agent) = match transition {
        Transition::Keep => (String::new(), None, None),
        Transition::To(state, agent) => (
            format!(", state = {}, agent_id = {}", param(), param()),
            Some(state.as_str()),
            agent,
        ),
    };
    let id_param = param();
    let agent_guard = match guard.agent {
        Some(_) => format!(" AND agent_id = {}", param()),
        None => String::new(),
    };
    let since_guard = match guard.since {
        Some(_) => format!(" AND last_seq = {}", param()),
        None => String::new(),
    };
    let sql = format!(
        "UPDATE conversations SET last_seq = last_seq + $1, updated_at = $2{set_state} \
         WHERE id = {id_param} AND state IN ({states}){agent_guard}{since_guard} RETURNING last_seq"
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(n as i64).bind(now);
    if let Some(state) = new_state {
        query = query.bind(state).bind(new_agent);
    }
    query = query.bind(id);
    if let Some(agent) = guard.agent {
        query = query.bind(agent);
    }
    if let Some(since) = guard.since {
        query = query.bind(since as i64);
    }
    Ok(query.fetch_optional(&mut **tx).await?.map(|s| s as Seq))
}

/// Moves the handoff record along; false when a link's guard did not hold.
async fn write_handoff(
    tx: &mut Transaction<'_, Any>,
    id: ConversationId,
    write: HandoffWrite,
    first_seq: Seq,
    now: Millis,
) -> Result<bool, StoreError> {
    let query = match write {
        HandoffWrite::None => return Ok(true),
        HandoffWrite::Open(h) => {
            open_handoff(tx, id, *h, first_seq, now).await?;
            return Ok(true);
        }
        HandoffWrite::Claimed(agent) => sqlx::query(
            "UPDATE handoffs SET claimed_by = $1, claimed_at = $2 WHERE conversation_id = $3 AND ended_at IS NULL",
        )
        .bind(agent)
        .bind(now)
        .bind(id),
        HandoffWrite::HumanReplied => sqlx::query(
            "UPDATE handoffs SET first_human_reply_at = $1 \
             WHERE conversation_id = $2 AND ended_at IS NULL AND first_human_reply_at IS NULL",
        )
        .bind(now)
        .bind(id),
        HandoffWrite::Ended {
            outcome,
            abandoned_after,
        } => {
            let sql = format!(
                "UPDATE handoffs SET ended_at = $1, \
                     outcome = CASE WHEN {ABANDONED} THEN 'abandoned' ELSE $3 END \
                 WHERE conversation_id = $4 AND ended_at IS NULL"
            );
            sqlx::query(&sql)
                .bind(now)
                .bind(abandoned_after)
                .bind(outcome)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            return Ok(true);
        }
        HandoffWrite::Rated { rating, comment } => {
            let done = sqlx::query(
                "UPDATE handoffs SET csat = $1, csat_comment = $2 WHERE id = \
                 (SELECT MAX(id) FROM handoffs WHERE conversation_id = $3 AND ended_at IS NOT NULL) \
                 AND csat IS NULL",
            )
            .bind(rating.as_str())
            .bind(comment)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            return Ok(done.rows_affected() == 1);
        }
        HandoffWrite::EndedByLink {
            handoff,
            nonce,
            abandoned_after,
        } => {
            let sql = format!(
                "UPDATE handoffs SET ended_at = $1, resume_nonce = NULL, \
                     outcome = CASE WHEN {ABANDONED} THEN 'abandoned' ELSE 'returned_to_assistant' END \
                 WHERE id = $3 AND conversation_id = $4 AND resume_nonce = $5 AND ended_at IS NULL"
            );
            let done = sqlx::query(&sql)
                .bind(now)
                .bind(abandoned_after)
                .bind(handoff)
                .bind(id)
                .bind(nonce)
                .execute(&mut **tx)
                .await?;
            return Ok(done.rows_affected() == 1);
        }
    };
    query.execute(&mut **tx).await?;
    Ok(true)
}

/// Records a handoff and queues its notifications, in the caller's
/// transaction: a handoff is never stored without them.
async fn open_handoff(
    tx: &mut Transaction<'_, Any>,
    id: ConversationId,
    h: NewHandoff,
    first_seq: Seq,
    now: Millis,
) -> Result<(), StoreError> {
    // A new handoff supersedes one left open (e.g. a closed conversation
    // that came back).
    sqlx::query("UPDATE handoffs SET ended_at = $1, outcome = 'superseded' WHERE conversation_id = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let handoff: i64 = sqlx::query_scalar(
        "INSERT INTO handoffs (conversation_id, seq, turn, mechanism, rule_id, reason,
             confidence, threshold, out_of_hours, brief, created_at, resume_nonce)
         VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, -1.0), NULLIF($8, -1.0), $9, $10, $11, $12)
         RETURNING id",
    )
    .bind(id)
    .bind(first_seq as i64)
    .bind(h.turn as i64)
    .bind(h.mechanism.as_str())
    .bind(h.rule)
    .bind(h.reason)
    // Never a NULL float parameter: sqlx's `Any` driver (0.8.6) declares a
    // NULL `f32` as float8 and a NULL `f64` as float4 to PostgreSQL, and the
    // cached statement then refuses the other. -1 stands for "none".
    .bind(h.confidence.map_or(-1.0, f64::from))
    .bind(h.threshold.map_or(-1.0, f64::from))
    .bind(i64::from(h.brief.out_of_hours.is_some()))
    .bind(serde_json::to_string(&h.brief).expect("brief serialises"))
    .bind(now)
    .bind(h.resume_nonce)
    .fetch_one(&mut **tx)
    .await?;
    for (url, format) in h.notify {
        sqlx::query(
            "INSERT INTO outbox (handoff_id, url, format, next_attempt_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(handoff)
        .bind(url)
        .bind(format)
        .bind(now)
        .bind(h.notify_until)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn conversation_row(r: &AnyRow) -> Result<ConversationRow, StoreError> {
    let identity: Option<String> = r.try_get("identity")?;
    let metadata: Option<String> = r.try_get("metadata")?;
    Ok(ConversationRow {
        id: r.try_get("id")?,
        state: parse_state(r.try_get("state")?)?,
        agent: agent_ref(r)?,
        last_seq: r.try_get::<i64, _>("last_seq")? as Seq,
        page: r.try_get("page")?,
        identity: identity.map(parse_json).transpose()?,
        created_at: r.try_get("created_at")?,
        visitor_read: r.try_get::<i64, _>("visitor_read")? as Seq,
        metadata: metadata.map(parse_json).transpose()?.unwrap_or_default(),
    })
}

fn agent_ref(r: &AnyRow) -> Result<Option<AgentRef>, StoreError> {
    let id: Option<AgentId> = r.try_get("agent_id")?;
    let name: Option<String> = r.try_get("agent_name")?;
    Ok(id.zip(name).map(|(id, name)| AgentRef { id, name }))
}

fn event_row(r: &AnyRow) -> Result<Event, StoreError> {
    Ok(Event {
        seq: r.try_get::<i64, _>("seq")? as Seq,
        at: r.try_get("at")?,
        body: parse_json(r.try_get("body")?)?,
    })
}

fn parse_state(s: String) -> Result<ConversationState, StoreError> {
    ConversationState::parse(&s).ok_or_else(|| corrupt(format!("state {s:?}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(s: String) -> Result<T, StoreError> {
    serde_json::from_str(&s).map_err(|e| corrupt(format!("{e}: {s}")))
}
