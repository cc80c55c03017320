//! The visitor's side of the desk, and the assistant's turn.
//!
//! A visitor message is stored and acknowledged first ([`Desk::say`]); the
//! assistant's turn ([`Desk::respond`]) follows. That turn is where the
//! three handoff mechanisms meet: the engine's `before_answer` (user, input
//! rules) runs before the assistant is asked at all, `after_answer`
//! (confidence, output rules) judges its draft. A draft that loses is
//! withheld from the visitor and kept for the agent's brief.
//!
//! Whatever the backend, its reply goes the engine's way: a webhook bot's
//! `{handoff}` becomes a `rule` handoff (`bot_handoff`), a failure or
//! timeout one with `assistant_unavailable`. A streaming backend's answer
//! reaches the visitor while it is written only through a [`DraftGate`];
//! an LLM backend writes the brief's summary after the handoff
//! ([`Desk::summarise_later`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use baton_shared::{
    Brief, ConversationId, ConversationState, Event, EventBody, IdentityClaim,
    MAX_METADATA_ENTRIES, MAX_METADATA_NAME_CHARS, MAX_METADATA_VALUE_CHARS, Metadata, Rating,
    Responder, Seq,
};
use tokio::sync::broadcast;

use super::{Broadcast, Signal};
use super::{Desk, DeskError, check_client_id, check_text, clean_text};
use crate::assistant::{Ask, Partial, Reply};
use crate::handoff::{self, AttachmentKind, Candidate, Exchange, Handoff, Situation, Turn};
use crate::store::{Appended, ConversationRow, Guard, HandoffWrite, NewHandoff, Transition};
use crate::{identity, secret};

use ConversationState::*;

/// A conversation opened by a visitor's `hello`.
pub struct Opened {
    pub conversation: ConversationRow,
    /// The new token, when the conversation was just created.
    pub token: Option<String>,
    pub responder: Responder,
}

/// A stored visitor message (or file).
pub struct Posted {
    pub seq: Seq,
    /// False when this client id had been stored before (a retry).
    pub fresh: bool,
}

impl Posted {
    /// What appending a visitor's message to conversation `id` came to.
    pub(super) fn stored(appended: Appended, id: ConversationId) -> Result<Self, DeskError> {
        match appended {
            Appended::Stored(events) => Ok(Self {
                seq: events[0].seq,
                fresh: true,
            }),
            Appended::Duplicate(seq) => Ok(Self { seq, fresh: false }),
            Appended::Refused(_) => Err(DeskError::NotFound(id)),
            Appended::ClientIdTaken => Err(DeskError::client_id_taken()),
        }
    }
}

impl Desk {
    /// Opens the conversation a token belongs to, or starts a new one.
    /// An identity claim is verified and recorded (replacing an earlier one:
    /// the visitor may have signed in on the site meanwhile); so is the
    /// page's metadata, when it gives any (see [`bounded`]).
    pub async fn open(
        &self,
        token: Option<&str>,
        page: Option<&str>,
        claim: Option<&IdentityClaim>,
        metadata: &[(String, String)],
    ) -> Result<Opened, DeskError> {
        let visitors = &self.inner.visitors;
        let identity = claim
            .map(|claim| identity::verify(claim, visitors.identity_secret.as_deref()))
            .transpose()
            .map_err(DeskError::Invalid)?;
        if visitors.require_verified_identity && !identity.as_ref().is_some_and(|i| i.verified) {
            return Err(DeskError::Unauthorized(
                "this site only chats with signed-in visitors: a verified identity is required"
                    .into(),
            ));
        }
        let store = &self.inner.store;
        let (mut conversation, token) = match token {
            Some(token) => {
                let row = store
                    .conversation_by_token(&secret::digest(token))
                    .await?
                    .ok_or(DeskError::UnknownToken)?;
                (row, None)
            }
            None => {
                let token = secret::new_token();
                let page = page.map(|p| p.chars().take(2048).collect::<String>());
                let row = store
                    .create_conversation(
                        &secret::digest(&token),
                        page.as_deref(),
                        identity.as_ref(),
                        crate::clock::now(),
                    )
                    .await?;
                (row, Some(token))
            }
        };
        if let Some(identity) = identity.filter(|i| conversation.identity.as_ref() != Some(i)) {
            store.set_identity(conversation.id, &identity).await?;
            conversation.identity = Some(identity);
            self.inner
                .hub
                .signal(conversation.id, Signal::DetailChanged);
            self.inner.hub.queue_changed();
        }
        let metadata = bounded(metadata);
        if !metadata.is_empty() && conversation.metadata != metadata {
            store.set_metadata(conversation.id, &metadata).await?;
            conversation.metadata = metadata;
            self.inner
                .hub
                .signal(conversation.id, Signal::DetailChanged);
        }
        let responder = self.responder(&conversation);
        Ok(Opened {
            conversation,
            token,
            responder,
        })
    }

    /// Stores a visitor message. A retry (same client id) is not stored
    /// again and reports the original `seq`.
    pub async fn say(
        &self,
        id: ConversationId,
        client_id: &str,
        text: &str,
    ) -> Result<Posted, DeskError> {
        check_client_id(client_id)?;
        let text = clean_text(text, &self.inner.limits)?;
        let body = EventBody::Visitor {
            client_id: client_id.into(),
            text,
        };
        self.post_as_visitor(id, body).await
    }

    /// Stores what the visitor posted (a message, a file), in whatever
    /// state the conversation is, changing nothing else.
    pub(super) async fn post_as_visitor(
        &self,
        id: ConversationId,
        body: EventBody,
    ) -> Result<Posted, DeskError> {
        let appended = self
            .commit(
                id,
                Guard::ANY,
                Transition::Keep,
                &[body],
                HandoffWrite::None,
            )
            .await?;
        Posted::stored(appended, id)
    }

    /// The "Talk to a human" button: one action, never an argument. Returns
    /// the `seq` the visitor can consider it acknowledged at.
    pub async fn request_human(
        &self,
        id: ConversationId,
        client_id: &str,
    ) -> Result<Seq, DeskError> {
        check_client_id(client_id)?;
        let row = self.row(id).await?;
        if matches!(row.state, Queued | Human) {
            return Ok(row.last_seq); // the team already has it
        }
        let events = self.events_after(id, 0).await?;
        let (history, _) = exchanges(&events, None);
        let turn = Turn {
            request_human: true,
            ..Turn::default()
        };
        let situation = self.situation(&history, &row);
        match handoff::before_answer(&self.inner.policy, &situation, &turn) {
            Some(decision) => {
                let seq = self
                    .hand_off(&row, &decision, &situation, &turn, None)
                    .await?;
                Ok(seq.unwrap_or(row.last_seq))
            }
            None => Ok(row.last_seq),
        }
    }

    /// The assistant's turn after the visitor message stored as `seq`:
    /// hand off, or answer. Does nothing while the team holds the
    /// conversation.
    ///
    /// A streaming backend's answer reaches the visitor as `draft`
    /// signals while it is written, through a [`DraftGate`] that lets a
    /// draft through only while the engine would send it as it stands. A
    /// draft that is then withheld (or dropped) is taken away with an
    /// empty `draft` before the handoff notice.
    pub async fn respond(&self, id: ConversationId, seq: Seq) -> Result<(), DeskError> {
        let hub = &self.inner.hub;
        // Subscribed before the log is read: anything stored after it
        // makes this turn's draft stale, and the assistant stops early.
        let mut news = hub.subscribe(id);
        let mut row = self.row(id).await?;
        // Only the newest message is owed an answer. Anything stored after
        // it means this turn was answered (a turn owed at connection racing
        // the message's own turn) or overtaken by a newer message.
        if row.last_seq > seq {
            return Ok(());
        }
        if row.state == Closed {
            // Writing after a close brings the assistant back, in the same thread.
            let resumed = EventBody::AssistantResumed {
                name: self.inner.persona.name.clone(),
            };
            let guard = Guard::in_states(&[Closed]);
            self.commit(
                id,
                guard,
                Transition::To(Assistant, None),
                &[resumed],
                HandoffWrite::None,
            )
            .await?;
            row = self.row(id).await?;
        }
        if row.state != Assistant {
            return Ok(());
        }

        // The answer goes onto the log as the row was when this turn found
        // it owed, not as read below: another connection may answer the
        // same message in between (a reconnect's owed turn racing the
        // message's own), and then this one must be dropped, not stored as
        // a second answer.
        let read_at = row.last_seq;
        let events = self.events_after(id, 0).await?;
        let (history, turn) = exchanges(&events, Some(seq));
        let Some(turn) = turn else { return Ok(()) };
        let situation = self.situation(&history, &row);
        let policy = &self.inner.policy;

        if let Some(decision) = handoff::before_answer(policy, &situation, &turn) {
            self.hand_off(&row, &decision, &situation, &turn, None)
                .await?;
            return Ok(());
        }
        let name = self.inner.persona.name.clone();
        hub.signal(
            id,
            Signal::ResponderTyping {
                name: name.clone(),
                typing: true,
            },
        );
        let ask = Ask {
            conversation: id,
            history: &history,
            turn: &turn,
            identity: row.identity.as_ref(),
            page: row.page.as_deref(),
        };
        let gate = DraftGate::new(self, id, &name, &situation, &turn);
        let overtaken = async {
            loop {
                match news.recv().await {
                    Ok(Broadcast::Event(event)) if event.seq > read_at => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                }
            }
        };
        let drafts = |partial: Partial<'_>| gate.offer(partial);
        let drafted = tokio::select! {
            drafted = self.inner.assistant.answer(&ask, &drafts) => Some(drafted),
            () = overtaken => None,
        };
        hub.signal(
            id,
            Signal::ResponderTyping {
                name: name.clone(),
                typing: false,
            },
        );
        let candidate = match drafted {
            // Something was stored meanwhile (the button, another message):
            // this answer would be stale.
            None => {
                gate.withdraw();
                return Ok(());
            }
            Some(Ok(Reply::Answer(candidate))) => candidate,
            Some(Ok(Reply::Handoff(reason))) => {
                gate.withdraw();
                let decision = handoff::by_assistant(
                    policy,
                    &situation,
                    "bot_handoff",
                    reason,
                    "The site's bot asked for a person: take over from it.".into(),
                );
                self.hand_off(&row, &decision, &situation, &turn, None)
                    .await?;
                return Ok(());
            }
            Some(Err(error)) => {
                tracing::warn!(conversation = id, %error, "assistant failed; handing off");
                gate.withdraw();
                let decision = unavailable(policy, &situation, error.to_string());
                self.hand_off(&row, &decision, &situation, &turn, None)
                    .await?;
                return Ok(());
            }
        };
        let answer = match handoff::after_answer(policy, &situation, &turn, &candidate) {
            None => EventBody::Assistant {
                name: name.clone(),
                text: candidate.text,
                articles: candidate.articles,
                confidence: Some(candidate.confidence),
                choices: Vec::new(),
            },
            Some(decision) => {
                gate.withdraw();
                let Some(choices) = handoff::clarify(policy, &situation, &decision, &candidate)
                else {
                    self.hand_off(&row, &decision, &situation, &turn, Some(&candidate))
                        .await?;
                    return Ok(());
                };
                // Not sure which article the visitor means: ask, with the
                // titles as quick replies, instead of handing off.
                EventBody::Assistant {
                    name: name.clone(),
                    text: handoff::clarifying_question(&choices),
                    articles: Vec::new(),
                    confidence: Some(candidate.confidence),
                    choices,
                }
            }
        };
        // Only onto the log it was drafted from: if anything came in
        // meanwhile (the button, a newer message, the same turn answered by
        // another connection), this draft is stale and dropped.
        let appended = self
            .commit(
                id,
                Guard::in_states(&[Assistant]).unchanged_since(read_at),
                Transition::Keep,
                &[answer],
                HandoffWrite::None,
            )
            .await?;
        match appended {
            // The stored answer replaces the draft.
            Appended::Stored(_) => gate.replaced(),
            _ => gate.withdraw(),
        }
        Ok(())
    }

    /// A turn stored but never answered — the server stopped between the
    /// two — is still owed: taken when the visitor is back.
    pub async fn answer_pending(&self, id: ConversationId) -> Result<(), DeskError> {
        let row = self.row(id).await?;
        if !matches!(row.state, Assistant | Closed) {
            return Ok(());
        }
        let last = self
            .events_after(id, row.last_seq.saturating_sub(1))
            .await?;
        if let Some(Event {
            seq,
            body: EventBody::Visitor { .. } | EventBody::VisitorAttachment { .. },
            ..
        }) = last.last()
        {
            self.respond(id, *seq).await?;
        }
        Ok(())
    }

    /// The visitor started or stopped typing; agents watching see it.
    pub fn visitor_typing(&self, id: ConversationId, typing: bool) {
        self.inner.hub.signal(id, Signal::VisitorTyping(typing));
    }

    /// The visitor has seen everything up to `seq`: read receipts for the
    /// agent.
    pub async fn read(&self, id: ConversationId, seq: Seq) -> Result<(), DeskError> {
        let read = self.inner.store.mark_read(id, seq).await?;
        self.inner.hub.signal(id, Signal::Read(read));
        Ok(())
    }

    /// The one-click satisfaction rating, after the team closed the
    /// conversation; once per handoff.
    pub async fn rate(
        &self,
        id: ConversationId,
        client_id: &str,
        rating: Rating,
        comment: Option<String>,
    ) -> Result<Seq, DeskError> {
        check_client_id(client_id)?;
        let comment = comment
            .map(|c| {
                c.chars()
                    .filter(|&c| !super::is_hidden_control(c))
                    .collect::<String>()
            })
            .filter(|c| !c.trim().is_empty());
        if let Some(comment) = &comment {
            check_text(comment, &self.inner.limits)?;
        }
        let body = EventBody::Rated {
            client_id: client_id.into(),
            rating,
            comment: comment.clone(),
        };
        let write = HandoffWrite::Rated { rating, comment };
        match self.commit(id, Guard::in_states(&[Closed]), Transition::Keep, &[body], write).await? {
            Appended::Stored(events) => Ok(events[0].seq),
            Appended::Duplicate(seq) => Ok(seq),
            Appended::Refused(_) => Err(DeskError::Conflict(
                "there is nothing to rate: the team has not closed this conversation, or it was rated already"
                    .into(),
            )),
            Appended::ClientIdTaken => Err(DeskError::client_id_taken()),
        }
    }

    fn situation<'a>(&self, history: &'a [Exchange], row: &'a ConversationRow) -> Situation<'a> {
        Situation {
            history,
            identity: row.identity.as_ref(),
            now: jiff::Timestamp::now(),
        }
    }

    /// Pauses the assistant and puts the conversation in the team's queue
    /// with its brief. Returns the `seq` of the visitor-facing notice, or
    /// `None` if the conversation had meanwhile left the assistant.
    async fn hand_off(
        &self,
        row: &ConversationRow,
        decision: &Handoff,
        situation: &Situation<'_>,
        turn: &Turn,
        withheld: Option<&Candidate>,
    ) -> Result<Option<Seq>, DeskError> {
        let now = crate::clock::now();
        let brief = handoff::brief(
            decision,
            situation,
            turn,
            withheld,
            row.page.as_deref(),
            now,
        );
        let persona = &self.inner.persona;
        let notice = match &decision.out_of_hours {
            Some(back) => persona.out_of_hours_notice.replace("{back}", back),
            None => persona.handoff_notice.clone(),
        };
        let dispatch = &self.inner.dispatch;
        let built = brief.clone();
        let record = NewHandoff {
            turn: brief.turn,
            mechanism: decision.mechanism,
            rule: decision.rule.clone(),
            reason: decision.reason.clone(),
            confidence: decision.confidence,
            threshold: decision.threshold,
            brief,
            resume_nonce: secret::new_token(),
            notify: dispatch.targets.clone(),
            notify_until: now + dispatch.give_up_ms,
        };
        tracing::info!(
            conversation = row.id,
            mechanism = decision.mechanism.as_str(),
            rule = decision.rule.as_deref().unwrap_or("-"),
            "handoff"
        );
        let appended = self
            .commit(
                row.id,
                Guard::in_states(&[Assistant, Closed]),
                Transition::To(Queued, None),
                &[EventBody::HandoffStarted { notice }],
                HandoffWrite::Open(Box::new(record)),
            )
            .await?;
        Ok(match appended {
            Appended::Stored(events) => {
                if !dispatch.targets.is_empty() {
                    dispatch.wake();
                }
                let seq = events[0].seq;
                // A backend that cannot answer cannot summarise either.
                if decision.rule.as_deref() != Some("assistant_unavailable") {
                    self.summarise_later(row, seq, built, situation, turn);
                }
                Some(seq)
            }
            _ => None,
        })
    }

    /// With an LLM backend, the model writes the brief's intent, what was
    /// tried and the next step — after the handoff, so the visitor's
    /// notice and the team's queue never wait for it. When the summary
    /// arrives (within `summary_timeout_ms`) it replaces those fields of
    /// the stored brief and watching consoles re-read the conversation;
    /// on any failure the built brief stays.
    fn summarise_later(
        &self,
        row: &ConversationRow,
        seq: Seq,
        brief: Brief,
        situation: &Situation<'_>,
        turn: &Turn,
    ) {
        if !self.inner.assistant.writes_summaries() {
            return;
        }
        let desk = self.clone();
        let id = row.id;
        let (history, turn) = (situation.history.to_vec(), turn.clone());
        let (identity, page) = (row.identity.clone(), row.page.clone());
        tokio::spawn(async move {
            let ask = Ask {
                conversation: id,
                history: &history,
                turn: &turn,
                identity: identity.as_ref(),
                page: page.as_deref(),
            };
            let mut brief = brief;
            match desk.inner.assistant.summarise(&ask, &brief).await {
                Ok(summary) => summary.apply(&mut brief),
                Err(error) => {
                    tracing::warn!(conversation = id, %error, "brief summary failed; the built brief stays");
                    return;
                }
            }
            match desk.inner.store.update_brief(id, seq, &brief).await {
                Ok(true) => {
                    desk.inner.hub.signal(id, Signal::DetailChanged);
                    desk.inner.hub.queue_changed();
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(conversation = id, %error, "brief summary not stored"),
            }
        });
    }
}

/// The handoff when the assistant itself fails: the visitor is never left
/// waiting on a broken backend.
fn unavailable(policy: &handoff::Policy, situation: &Situation, error: String) -> Handoff {
    handoff::by_assistant(
        policy,
        situation,
        "assistant_unavailable",
        format!("The assistant is unavailable ({error})."),
        "Answer the visitor's question; the assistant could not.".into(),
    )
}

/// Tokens a streamed answer must have before the visitor sees any of it.
const HOLD_BACK_TOKENS: usize = 16;
/// At most one draft frame per this interval (each carries the whole text
/// so far).
const DRAFT_INTERVAL: Duration = Duration::from_millis(50);

/// What the visitor may see of an answer while it streams.
///
/// Visitors must not see an answer that is then withheld, yet the engine
/// can only judge a whole answer. The gate therefore shows a draft only
/// when it would pass the engine *as it stands*, with a margin at the
/// start:
///
/// - only backends that know the confidence while generating (token
///   log-probabilities) stream at all; a self-rated or webhook answer is
///   shown whole, after the decision;
/// - nothing is shown before [`HOLD_BACK_TOKENS`] tokens, and the first
///   draft needs a running confidence halfway between the threshold and
///   1 (0.9 for the default 0.8);
/// - every draft is judged by [`handoff::after_answer`] — confidence and
///   output rules (forbidden topics) — on the text so far, and held back
///   when it would not pass.
///
/// An answer that starts well and then falls under the threshold or
/// touches a forbidden topic near its end is still withheld; the visitor
/// then saw part of it, briefly: the gate takes it away (an empty
/// `draft`) before the handoff notice. Set `assistant.openai.stream =
/// false` to show every answer only after the decision.
struct DraftGate<'a> {
    desk: &'a Desk,
    id: ConversationId,
    name: &'a str,
    situation: &'a Situation<'a>,
    turn: &'a Turn,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// The visitor sees a draft.
    shown: bool,
    last: Option<Instant>,
}

impl<'a> DraftGate<'a> {
    fn new(
        desk: &'a Desk,
        id: ConversationId,
        name: &'a str,
        situation: &'a Situation<'a>,
        turn: &'a Turn,
    ) -> Self {
        Self {
            desk,
            id,
            name,
            situation,
            turn,
            state: Mutex::default(),
        }
    }

    fn offer(&self, partial: Partial<'_>) {
        let Some(confidence) = partial.confidence else {
            return;
        };
        let policy = &self.desk.inner.policy;
        let mut state = self.state.lock().expect("draft gate lock");
        if !state.shown {
            let threshold = policy.confidence_threshold;
            let start = threshold + (1.0 - threshold) / 2.0;
            if partial.tokens < HOLD_BACK_TOKENS || confidence < start {
                return;
            }
        }
        if state.last.is_some_and(|t| t.elapsed() < DRAFT_INTERVAL) {
            return;
        }
        let draft = Candidate {
            text: partial.text.trim_end().to_string(),
            confidence,
            articles: Vec::new(),
            ..Candidate::default()
        };
        if draft.text.is_empty()
            || handoff::after_answer(policy, self.situation, self.turn, &draft).is_some()
        {
            return;
        }
        state.shown = true;
        state.last = Some(Instant::now());
        self.signal(draft.text);
    }

    /// The stored answer replaced the draft.
    fn replaced(&self) {
        self.state.lock().expect("draft gate lock").shown = false;
    }

    /// The draft was withheld or dropped: the visitor stops seeing it.
    fn withdraw(&self) {
        let shown = std::mem::take(&mut self.state.lock().expect("draft gate lock").shown);
        if shown {
            self.signal(String::new());
        }
    }

    fn signal(&self, text: String) {
        let name = self.name.to_string();
        self.desk
            .inner
            .hub
            .signal(self.id, Signal::Draft { name, text });
    }
}

impl Drop for DraftGate<'_> {
    /// A turn abandoned midway (the socket closed, the server stopping)
    /// takes its draft away too.
    fn drop(&mut self) {
        self.withdraw();
    }
}

/// Rebuilds the engine's view of the conversation from the log: each
/// visitor message is a turn, paired with the assistant answer that
/// followed it. With `turn_seq`, the message stored at that seq is split
/// off as the new turn and only what came before it is history.
fn exchanges(events: &[Event], turn_seq: Option<Seq>) -> (Vec<Exchange>, Option<Turn>) {
    let mut history: Vec<Exchange> = Vec::new();
    for event in events {
        match &event.body {
            EventBody::Visitor { .. } | EventBody::VisitorAttachment { .. } => {
                let turn = match &event.body {
                    EventBody::VisitorAttachment { attachment, .. } => Turn {
                        attachments: vec![handoff::Attachment {
                            kind: AttachmentKind::of(&attachment.content_type),
                            name: attachment.name.clone(),
                        }],
                        ..Turn::default()
                    },
                    EventBody::Visitor { text, .. } => Turn {
                        text: text.clone(),
                        ..Turn::default()
                    },
                    _ => unreachable!("matched above"),
                };
                if Some(event.seq) == turn_seq {
                    return (history, Some(turn));
                }
                history.push(Exchange { turn, answer: None });
            }
            EventBody::Assistant {
                text,
                articles,
                confidence,
                choices,
                ..
            } => {
                if let Some(last) = history.last_mut().filter(|e| e.answer.is_none()) {
                    last.answer = Some(Candidate {
                        text: text.clone(),
                        confidence: confidence.unwrap_or(1.0),
                        articles: articles.clone(),
                        choices: choices.clone(),
                        ..Candidate::default()
                    });
                }
            }
            _ => {}
        }
    }
    (history, None)
}

/// What is kept of a page's metadata: the first `MAX_METADATA_ENTRIES` by
/// name, names and values cut to their longest (as an over-long `page` is
/// cut). A site that says too much loses the excess, not the chat.
fn bounded(metadata: &[(String, String)]) -> Metadata {
    let cut = |text: &str, max: usize| text.chars().take(max).collect::<String>();
    // By name; a name said twice keeps its last value.
    let by_name: Metadata = metadata.iter().cloned().collect();
    by_name
        .iter()
        .take(MAX_METADATA_ENTRIES)
        .map(|(name, value)| {
            (
                cut(name, MAX_METADATA_NAME_CHARS),
                cut(value, MAX_METADATA_VALUE_CHARS),
            )
        })
        .collect()
}
