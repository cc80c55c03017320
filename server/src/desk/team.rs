//! The team's side of the desk: the queue, and the moves an agent makes on
//! a conversation — claim it, reply, release or transfer it, hand it back
//! to the assistant, close it — and the verdict on a handoff (was a person
//! needed?). Each move is one guarded transition, so two agents racing for the
//! same conversation get exactly one winner.

use baton_shared::{
    AgentId, AgentRef, ConversationDetail, ConversationId, ConversationState, EventBody,
    QueueEntry, Seq, Verdict,
};

use super::{Desk, DeskError, Signal, check_client_id, clean_text};
use crate::notify::LinkError;
use crate::store::{Appended, ConversationRow, Guard, HandoffWrite, Transition};

use ConversationState::*;

impl Desk {
    pub async fn queue(&self) -> Result<Vec<QueueEntry>, DeskError> {
        Ok(self.inner.store.queue().await?)
    }

    /// A conversation as the console opens it, with its latest brief.
    pub async fn detail(&self, id: ConversationId) -> Result<ConversationDetail, DeskError> {
        let row = self.row(id).await?;
        let brief = self.inner.store.latest_brief(id).await?;
        let verdict = self.inner.store.latest_verdict(id).await?;
        let lessons = self.inner.store.lessons_of(id).await?;
        Ok(ConversationDetail {
            id,
            state: row.state,
            responder: self.responder(&row),
            agent: row.agent,
            page: row.page,
            started_at: row.created_at,
            brief,
            identity: row.identity,
            visitor_read: row.visitor_read,
            verdict,
            metadata: row.metadata,
            lessons,
        })
    }

    /// The agent's judgement of the conversation's latest handoff: was a
    /// person needed? Any agent may give it, in any state; the latest one
    /// counts. Watching consoles see it.
    pub async fn verdict(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        verdict: Verdict,
    ) -> Result<(), DeskError> {
        let stored = self
            .inner
            .store
            .set_verdict(id, verdict, agent.id, crate::clock::now())
            .await?;
        if !stored {
            self.row(id).await?;
            return Err(DeskError::Conflict(format!(
                "Conversation {id} has had no handoff to judge."
            )));
        }
        self.inner.hub.signal(id, Signal::DetailChanged);
        Ok(())
    }

    /// Everyone on the team, for transfers.
    pub async fn team(&self) -> Result<Vec<AgentRef>, DeskError> {
        Ok(self.inner.store.agents().await?)
    }

    /// The agent holding the conversation is typing; the visitor sees it.
    pub async fn agent_typing(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        typing: bool,
    ) -> Result<(), DeskError> {
        let row = self.row(id).await?;
        if row.state == Human && row.agent.as_ref().is_some_and(|a| a.id == agent.id) {
            let signal = Signal::ResponderTyping {
                name: agent.name.clone(),
                typing,
            };
            self.inner.hub.signal(id, signal);
        }
        Ok(())
    }

    /// Puts a held conversation back in the queue for someone else.
    pub async fn release(&self, id: ConversationId, agent: &AgentRef) -> Result<(), DeskError> {
        let left = EventBody::AgentLeft {
            name: agent.name.clone(),
        };
        let guard = Guard::held_by(&[Human], agent.id);
        match self
            .commit(
                id,
                guard,
                Transition::To(Queued, None),
                &[left],
                HandoffWrite::None,
            )
            .await?
        {
            Appended::Refused(row) => Err(refusal(&row, "release")),
            _ => Ok(()),
        }
    }

    /// Hands a held conversation to another agent; the visitor sees them
    /// join.
    pub async fn transfer(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        to: AgentId,
    ) -> Result<(), DeskError> {
        let team = self.inner.store.agents().await?;
        let Some(target) = team.into_iter().find(|a| a.id == to) else {
            return Err(DeskError::Invalid(format!("there is no agent {to}")));
        };
        if target.id == agent.id {
            return Err(DeskError::Invalid(
                "you already hold this conversation".into(),
            ));
        }
        let joined = EventBody::AgentJoined {
            name: target.name.clone(),
        };
        let guard = Guard::held_by(&[Human], agent.id);
        let appended = self
            .commit(
                id,
                guard,
                Transition::To(Human, Some(target.id)),
                &[joined],
                HandoffWrite::Claimed(target.id),
            )
            .await?;
        match appended {
            Appended::Refused(row) => Err(refusal(&row, "transfer")),
            _ => Ok(()),
        }
    }

    /// Takes a queued conversation; the visitor sees the agent join.
    pub async fn claim(&self, id: ConversationId, agent: &AgentRef) -> Result<(), DeskError> {
        let joined = EventBody::AgentJoined {
            name: agent.name.clone(),
        };
        let appended = self
            .commit(
                id,
                Guard::in_states(&[Queued]),
                Transition::To(Human, Some(agent.id)),
                &[joined],
                HandoffWrite::Claimed(agent.id),
            )
            .await?;
        match appended {
            Appended::Refused(row) if row.agent.as_ref().is_some_and(|a| a.id == agent.id) => {
                Ok(())
            }
            Appended::Refused(row) => Err(refusal(&row, "claim")),
            _ => Ok(()),
        }
    }

    /// The agent's answer to the visitor; only the holder may reply.
    pub async fn reply(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        client_id: &str,
        text: &str,
    ) -> Result<Seq, DeskError> {
        check_client_id(client_id)?;
        let text = clean_text(text, &self.inner.limits)?;
        let body = EventBody::Agent {
            name: agent.name.clone(),
            client_id: client_id.into(),
            text,
        };
        let guard = Guard::held_by(&[Human], agent.id);
        match self
            .commit(
                id,
                guard,
                Transition::Keep,
                &[body],
                HandoffWrite::HumanReplied,
            )
            .await?
        {
            Appended::Stored(events) => {
                let seq = events[0].seq;
                match self.inner.store.first_reply_latency(id, seq).await {
                    Ok(Some(ms)) => self.inner.metrics.time_to_human(ms),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(conversation = id, %e, "time to first reply"),
                }
                Ok(seq)
            }
            Appended::Duplicate(seq) => Ok(seq),
            Appended::Refused(row) => Err(refusal(&row, "reply to")),
            Appended::ClientIdTaken => Err(DeskError::client_id_taken()),
        }
    }

    /// Hands the conversation back to the assistant: from the queue by any
    /// agent, from a person only by the one holding it.
    pub async fn resume(&self, id: ConversationId, agent: &AgentRef) -> Result<(), DeskError> {
        let resumed = EventBody::AssistantResumed {
            name: self.inner.persona.name.clone(),
        };
        self.end_handoff(
            id,
            agent,
            Assistant,
            resumed,
            "returned_to_assistant",
            "hand back",
        )
        .await
    }

    /// Closes the conversation. The visitor's thread stays; writing again
    /// brings the assistant back.
    pub async fn close(&self, id: ConversationId, agent: &AgentRef) -> Result<(), DeskError> {
        self.end_handoff(
            id,
            agent,
            Closed,
            EventBody::Closed,
            "resolved_by_human",
            "close",
        )
        .await
    }

    /// Ends the handoff: from the queue by any agent, from a person only by
    /// the one holding it.
    async fn end_handoff(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        to: ConversationState,
        body: EventBody,
        outcome: &'static str,
        verb: &str,
    ) -> Result<(), DeskError> {
        let bodies = [body];
        let end = |guard| {
            self.commit(
                id,
                guard,
                Transition::To(to, None),
                &bodies,
                HandoffWrite::Ended {
                    outcome,
                    abandoned_after: self.inner.abandoned_after,
                },
            )
        };
        let mut appended = end(Guard::in_states(&[Queued])).await?;
        if matches!(&appended, Appended::Refused(row) if row.state == Human) {
            // Held by someone: only they may end it.
            appended = end(Guard::held_by(&[Human], agent.id)).await?;
        }
        match appended {
            Appended::Refused(row) => Err(refusal(&row, verb)),
            _ => Ok(()),
        }
    }
}

/// What a "Resume assistant" link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Resumed(ConversationId),
    /// Used before, or the handoff already ended another way.
    AlreadyUsed,
    Expired,
    Invalid,
}

impl Desk {
    /// What the link would act on, without acting: its conversation, or
    /// why it cannot (expired, invalid, used or its handoff over).
    pub async fn check_link(
        &self,
        token: &str,
    ) -> Result<Result<ConversationId, LinkOutcome>, DeskError> {
        let claim = match self.inner.signer.verify(token, crate::clock::now()) {
            Ok(claim) => claim,
            Err(LinkError::Expired) => return Ok(Err(LinkOutcome::Expired)),
            Err(LinkError::Invalid) => return Ok(Err(LinkOutcome::Invalid)),
        };
        let facts = self.inner.store.handoff_facts(claim.handoff).await?;
        Ok(match facts {
            Some(f) if !f.ended && f.resume_nonce.as_deref() == Some(claim.nonce.as_str()) => {
                Ok(claim.conversation)
            }
            _ => Err(LinkOutcome::AlreadyUsed),
        })
    }

    /// The one-click "Resume assistant" link from a notification: no login,
    /// only this one action, only once, only until it expires.
    pub async fn resume_by_link(&self, token: &str) -> Result<LinkOutcome, DeskError> {
        let claim = match self.inner.signer.verify(token, crate::clock::now()) {
            Ok(claim) => claim,
            Err(LinkError::Expired) => return Ok(LinkOutcome::Expired),
            Err(LinkError::Invalid) => return Ok(LinkOutcome::Invalid),
        };
        let resumed = EventBody::AssistantResumed {
            name: self.inner.persona.name.clone(),
        };
        let appended = self
            .commit(
                claim.conversation,
                Guard::in_states(&[Queued, Human]),
                Transition::To(Assistant, None),
                &[resumed],
                HandoffWrite::EndedByLink {
                    handoff: claim.handoff,
                    nonce: claim.nonce,
                    abandoned_after: self.inner.abandoned_after,
                },
            )
            .await?;
        Ok(match appended {
            Appended::Stored(_) => LinkOutcome::Resumed(claim.conversation),
            _ => LinkOutcome::AlreadyUsed,
        })
    }
}

/// Says why a move was refused, in words the agent can act on.
pub(super) fn refusal(row: &ConversationRow, verb: &str) -> DeskError {
    let why = match (row.state, &row.agent) {
        (Human, Some(holder)) => format!("{} is handling this conversation", holder.name),
        (Human, None) => "someone is handling this conversation".to_string(),
        (Queued, _) => "the conversation is waiting in the queue; claim it first".to_string(),
        (Assistant, _) => "the assistant has this conversation".to_string(),
        (Closed, _) => "the conversation is closed".to_string(),
    };
    DeskError::Conflict(format!("Cannot {verb} conversation {}: {why}.", row.id))
}
