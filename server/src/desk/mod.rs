//! The help desk: where what visitors and agents do becomes stored events
//! and state transitions. Transports parse frames and call a [`Desk`]; the
//! desk consults the handoff engine and the assistant, writes through the
//! [`Store`], and tells the [`Hub`] what changed.
//!
//! - [`visitor`]: opening a conversation, the visitor's messages, the
//!   "Talk to a human" button, and the assistant's turn — where the three
//!   handoff mechanisms are checked.
//! - [`team`]: the agent's side — queue, claim, reply, hand back, close.
//! - [`lessons`]: agents teaching the assistant what it could have
//!   answered.
//! - [`hub`]: fan-out of stored events to connected sockets.
//! - [`relay`]: the same between nodes sharing a PostgreSQL database.
//! - [`presence`]: whether the visitor is there, and open connections.

mod attachments;
mod hub;
mod lessons;
mod presence;
pub mod relay;
mod team;
mod visitor;

use std::sync::Arc;

use baton_shared::{ConversationId, ConversationState, ErrorCode, Event, EventBody, Responder};

pub use hub::{Broadcast, Hub, Signal};
pub use lessons::Teach;
pub use presence::{AgentConnection, VisitorConnection};
pub use team::LinkOutcome;
pub use visitor::{Opened, Posted};

use crate::assistant::Assistant;
use crate::config::{AssistantConfig, Config, Limits, Visitors};
use crate::handoff::Policy;
use crate::knowledge::Knowledge;
use crate::metrics::Metrics;
use crate::notify::{Dispatch, Signer};
use crate::store::{Appended, ConversationRow, Store, StoreError};

/// A cheap-to-clone handle on everything the desk needs.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    assistant: Arc<dyn Assistant>,
    /// The knowledge base the assistant answers from, as taught.
    knowledge: Knowledge,
    policy: Policy,
    persona: AssistantConfig,
    limits: Limits,
    visitors: Visitors,
    dispatch: Dispatch,
    signer: Signer,
    metrics: Arc<Metrics>,
    attachments: crate::config::Attachments,
    /// How long a visitor must have been gone for an unanswered handoff to
    /// end `abandoned`, in ms.
    abandoned_after: i64,
}

/// Why a command was not carried out. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown conversation token")]
    UnknownToken,
    #[error("{0}")]
    Unauthorized(String),
    #[error("no conversation {0}")]
    NotFound(ConversationId),
    #[error("{0}")]
    Conflict(String),
    /// The database failed. What it said is logged, never sent: clients
    /// hear only that nothing was changed.
    #[error("storage failed: {0}")]
    Store(StoreError),
    /// Something on this side failed (the disk); nothing was stored.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoConversation(id) => Self::NotFound(id),
            e => Self::Store(e),
        }
    }
}

impl DeskError {
    /// What the client is told: the reason, except for a failure inside
    /// the server, whose detail (database text) stays in the log.
    pub fn message(&self) -> String {
        match self {
            Self::Store(_) => {
                "Something went wrong on the server; nothing was changed. Please try again.".into()
            }
            e => e.to_string(),
        }
    }

    /// A client id already used in the conversation by another kind of
    /// message (the other side's): this message was not stored.
    fn client_id_taken() -> Self {
        Self::Conflict(
            "This client_id is already used in this conversation by another message; send it again with a new one."
                .into(),
        )
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::Invalid,
            Self::UnknownToken => ErrorCode::UnknownToken,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Store(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl Desk {
    /// The desk for `config`'s policy, assistant persona and limits.
    pub fn new(
        store: Store,
        assistant: Arc<dyn Assistant>,
        knowledge: Knowledge,
        config: &Config,
        dispatch: Dispatch,
        signer: Signer,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                hub: Hub::default(),
                assistant,
                knowledge,
                policy: config.policy.clone(),
                persona: config.assistant.clone(),
                limits: config.limits.clone(),
                visitors: config.visitors.clone(),
                dispatch,
                signer,
                metrics: Arc::default(),
                attachments: config.attachments.clone(),
                abandoned_after: i64::try_from(config.analytics.abandoned_after_secs)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
            }),
        }
    }

    /// What `/metrics` counts.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Failed webhook deliveries since start.
    pub fn webhook_failures(&self) -> u64 {
        self.inner.dispatch.failures()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn attachments(&self) -> &crate::config::Attachments {
        &self.inner.attachments
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Every stored event after `after`.
    pub async fn events_after(
        &self,
        id: ConversationId,
        after: u64,
    ) -> Result<Vec<Event>, DeskError> {
        Ok(self.inner.store.events_after(id, after).await?)
    }

    /// Who the visitor sees answering: the agent while one holds the
    /// conversation, the assistant otherwise (also while queued).
    fn responder(&self, row: &ConversationRow) -> Responder {
        match (&row.state, &row.agent) {
            (ConversationState::Human, Some(agent)) => Responder::Agent {
                name: agent.name.clone(),
            },
            _ => Responder::Assistant {
                name: self.inner.persona.name.clone(),
            },
        }
    }

    pub(crate) async fn row(&self, id: ConversationId) -> Result<ConversationRow, DeskError> {
        self.inner
            .store
            .conversation(id)
            .await?
            .ok_or(DeskError::NotFound(id))
    }

    /// Stores, then publishes what was stored. A change of state also
    /// changes the team's queue.
    async fn commit(
        &self,
        id: ConversationId,
        guard: crate::store::Guard<'_>,
        transition: crate::store::Transition,
        bodies: &[EventBody],
        handoff: crate::store::HandoffWrite,
    ) -> Result<Appended, DeskError> {
        let opened = match &handoff {
            crate::store::HandoffWrite::Open(h) => Some(h.mechanism),
            _ => None,
        };
        let appended = self
            .inner
            .store
            .append(id, guard, transition, bodies, handoff, crate::clock::now())
            .await?;
        if let Appended::Stored(events) = &appended {
            self.inner.metrics.stored(bodies);
            if let Some(mechanism) = opened {
                self.inner.metrics.handoff(mechanism);
            }
            self.inner.hub.publish(id, events);
            if transition != crate::store::Transition::Keep {
                self.inner.hub.queue_changed();
            }
        }
        Ok(appended)
    }
}

/// Checks a client-generated message id.
fn check_client_id(client_id: &str) -> Result<(), DeskError> {
    let ok = !client_id.is_empty()
        && client_id.len() <= baton_shared::MAX_CLIENT_ID_LEN
        && client_id.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(()).ok_or_else(|| {
        DeskError::Invalid(format!(
            "client_id must be 1 to {} visible ASCII characters",
            baton_shared::MAX_CLIENT_ID_LEN
        ))
    })
}

/// Characters that change how the text around them reads without being
/// seen: bidirectional embeddings, overrides and isolates (U+202A–202E,
/// U+2066–2069: "gnp.exe" shown backwards) and invisible spaces (U+200B,
/// U+2060, U+FEFF). The joiners (U+200C, U+200D) stay: emoji and several
/// scripts need them; so do the plain direction marks (U+200E, U+200F).
fn is_hidden_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// A message text as stored: without [hidden controls](is_hidden_control),
/// not empty, within the configured limit.
fn clean_text(text: &str, limits: &Limits) -> Result<String, DeskError> {
    let text: String = text.chars().filter(|&c| !is_hidden_control(c)).collect();
    check_text(&text, limits)?;
    Ok(text)
}

/// Checks a message text against the configured limit.
fn check_text(text: &str, limits: &Limits) -> Result<(), DeskError> {
    if text.trim().is_empty() {
        return Err(DeskError::Invalid("the message is empty".into()));
    }
    let chars = text.chars().count();
    if chars > limits.max_text_chars {
        return Err(DeskError::Invalid(format!(
            "the message has {chars} characters; the limit is {}",
            limits.max_text_chars
        )));
    }
    Ok(())
}
