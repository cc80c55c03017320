//! The visitor's side of the desk, and the assistant's turn.
//!
//! A visitor message is stored and acknowledged first ([`Desk::say`]); the
//! assistant's turn ([`Desk::respond`]) follows. That turn is where the
//! three handoff mechanisms meet: the engine's `before_answer` (user, input
//! rules) runs before the assistant is asked at all, `after_answer`
//! (confidence, output rules) judges its draft. A draft that loses is
//! withheld from the visitor and kept for the agent's brief.

use baton_shared::{
    ConversationId, ConversationState, Event, EventBody, IdentityClaim, Rating, Responder, Seq,
};

use super::Signal;
use super::{Desk, DeskError, check_client_id, check_text};
use crate::handoff::{self, Candidate, Exchange, Handoff, Situation, Turn};
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

/// A stored visitor message.
pub struct Posted {
    pub seq: Seq,
    /// False when this client id had been stored before (a retry).
    pub fresh: bool,
}

impl Desk {
    /// Opens the conversation a token belongs to, or starts a new one.
    /// An identity claim is verified and recorded (replacing an earlier one:
    /// the visitor may have signed in on the site meanwhile).
    pub async fn open(
        &self,
        token: Option<&str>,
        page: Option<&str>,
        claim: Option<&IdentityClaim>,
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
        check_text(text, &self.inner.limits)?;
        let body = EventBody::Visitor {
            client_id: client_id.into(),
            text: text.into(),
        };
        match self
            .commit(
                id,
                Guard::ANY,
                Transition::Keep,
                &[body],
                HandoffWrite::None,
            )
            .await?
        {
            Appended::Stored(events) => Ok(Posted {
                seq: events[0].seq,
                fresh: true,
            }),
            Appended::Duplicate(seq) => Ok(Posted { seq, fresh: false }),
            Appended::Refused(_) => Err(DeskError::NotFound(id)),
        }
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
    pub async fn respond(&self, id: ConversationId, seq: Seq) -> Result<(), DeskError> {
        let mut row = self.row(id).await?;
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

        let events = self.events_after(id, 0).await?;
        let read_at = events.last().map_or(0, |e| e.seq);
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
        let hub = &self.inner.hub;
        hub.signal(
            id,
            Signal::ResponderTyping {
                name: name.clone(),
                typing: true,
            },
        );
        let drafted = self.inner.assistant.answer(&history, &turn).await;
        hub.signal(
            id,
            Signal::ResponderTyping {
                name,
                typing: false,
            },
        );
        let candidate = match drafted {
            Ok(candidate) => candidate,
            Err(error) => {
                tracing::warn!(conversation = id, %error, "assistant failed; handing off");
                let decision = unavailable(error.to_string());
                self.hand_off(&row, &decision, &situation, &turn, None)
                    .await?;
                return Ok(());
            }
        };
        if let Some(decision) = handoff::after_answer(policy, &situation, &turn, &candidate) {
            self.hand_off(&row, &decision, &situation, &turn, Some(&candidate))
                .await?;
            return Ok(());
        }
        let answer = EventBody::Assistant {
            name: self.inner.persona.name.clone(),
            text: candidate.text,
            articles: candidate.articles,
            confidence: Some(candidate.confidence),
        };
        // Only onto the log it was drafted from: if anything came in
        // meanwhile (the button, a newer message, the same turn answered by
        // another connection), this draft is stale and dropped.
        self.commit(
            id,
            Guard::in_states(&[Assistant]).unchanged_since(read_at),
            Transition::Keep,
            &[answer],
            HandoffWrite::None,
        )
        .await?;
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
            body: EventBody::Visitor { .. },
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
        let comment = comment.filter(|c| !c.trim().is_empty());
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
                Some(events[0].seq)
            }
            _ => None,
        })
    }
}

/// The handoff when the assistant itself fails: the visitor is never left
/// waiting on a broken backend.
fn unavailable(error: String) -> Handoff {
    Handoff {
        mechanism: baton_shared::Mechanism::Rule,
        rule: Some("assistant_unavailable".into()),
        reason: format!("The assistant is unavailable ({error})."),
        confidence: None,
        threshold: None,
        next_step: "Answer the visitor's question; the assistant could not.".into(),
        out_of_hours: None,
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
            EventBody::Visitor { text, .. } => {
                let turn = Turn {
                    text: text.clone(),
                    ..Turn::default()
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
                ..
            } => {
                if let Some(last) = history.last_mut().filter(|e| e.answer.is_none()) {
                    last.answer = Some(Candidate {
                        text: text.clone(),
                        confidence: confidence.unwrap_or(1.0),
                        articles: articles.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    (history, None)
}
