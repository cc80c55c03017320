//! The console's state, as a plain state machine over the agent socket.
//!
//! [`Desk`] holds the queue and the one conversation the agent has open
//! (its detail, with the brief, and its [`Transcript`]). It turns agent
//! actions into [`AgentRequest`]s and server frames into state, and decides
//! what may be done: claim a queued conversation, reply and hand back only
//! while holding it. Tested natively; `connection` puts it on a socket.

use baton_shared::domain::{
    AgentRef, ConversationDetail, ConversationId, ConversationState, QueueEntry,
};
use baton_shared::protocol::{AgentRequest, AgentUpdate, DEFAULT_MAX_TEXT_CHARS, ErrorCode};
use baton_widget::transcript::{Audience, Outgoing, Transcript};

/// The conversation on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub id: ConversationId,
    /// `None` until the server answers the `watch`.
    pub detail: Option<ConversationDetail>,
    pub transcript: Transcript,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Desk {
    pub me: AgentRef,
    /// Oldest handoff first.
    pub queue: Vec<QueueEntry>,
    pub opened: Option<Opened>,
    live: bool,
    /// Whether the socket was ever open, to tell "Connecting…" from
    /// "Reconnecting…".
    been_live: bool,
    /// The last error the server reported, until the next action.
    pub problem: Option<String>,
}

/// The server says the session is gone: show the login page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedOut;

impl Desk {
    pub fn new(me: AgentRef) -> Self {
        Self {
            me,
            queue: Vec::new(),
            opened: None,
            live: false,
            been_live: false,
            problem: None,
        }
    }

    /// The connection banner's text, when there is a problem.
    pub fn status(&self) -> Option<&'static str> {
        match (self.live, self.been_live) {
            (true, _) => None,
            (false, false) => Some("Connecting…"),
            (false, true) => Some("Reconnecting…"),
        }
    }

    /// The socket is (re)open: watch the open conversation again from where
    /// its transcript stopped, and resend replies never acknowledged.
    pub fn connected(&mut self) -> Vec<AgentRequest> {
        self.live = true;
        self.been_live = true;
        let Some(opened) = &self.opened else {
            return Vec::new();
        };
        let id = opened.id;
        let mut frames = vec![AgentRequest::Watch {
            conversation: id,
            last_seq: opened.transcript.last_seq(),
        }];
        frames.extend(opened.transcript.unacked().filter_map(|p| match &p.what {
            Outgoing::Message { text } => Some(AgentRequest::Reply {
                conversation: id,
                client_id: p.client_id.clone(),
                text: text.clone(),
            }),
            Outgoing::HumanRequest => None,
        }));
        frames
    }

    pub fn dropped(&mut self) {
        self.live = false;
    }

    pub fn receive(&mut self, update: AgentUpdate) -> Result<(), SignedOut> {
        match update {
            AgentUpdate::Hello { agent } => self.me = agent,
            AgentUpdate::Queue { mut entries } => {
                entries.sort_by_key(|e| e.since);
                self.queue = entries;
            }
            AgentUpdate::Conversation { detail } => {
                if let Some(opened) = self.opened.as_mut().filter(|o| o.id == detail.id) {
                    opened
                        .transcript
                        .baseline(detail.state, detail.responder.clone());
                    opened.detail = Some(detail);
                }
            }
            AgentUpdate::Event {
                conversation,
                event,
            } => {
                if let Some(opened) = self.opened.as_mut().filter(|o| o.id == conversation) {
                    opened.transcript.apply(event);
                }
            }
            AgentUpdate::Ack { client_id, seq } => {
                if let Some(opened) = self.opened.as_mut() {
                    opened.transcript.ack(&client_id, seq);
                }
            }
            AgentUpdate::Error {
                code: ErrorCode::Unauthorized,
                ..
            } => return Err(SignedOut),
            AgentUpdate::Error { message, .. } => self.problem = Some(message),
        }
        Ok(())
    }

    /// Opens a conversation, closing the one on screen.
    pub fn open(&mut self, id: ConversationId) -> Vec<AgentRequest> {
        if self.opened.as_ref().is_some_and(|o| o.id == id) {
            return Vec::new();
        }
        let mut frames: Vec<_> = self
            .opened
            .take()
            .map(|o| AgentRequest::Unwatch { conversation: o.id })
            .into_iter()
            .collect();
        self.opened = Some(Opened {
            id,
            detail: None,
            transcript: Transcript::new(Audience::Agent {
                name: self.me.name.clone(),
            }),
        });
        self.problem = None;
        frames.push(AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        });
        frames
    }

    /// The open conversation's state and holder, as the server last said.
    fn detail(&self) -> Option<&ConversationDetail> {
        self.opened.as_ref()?.detail.as_ref()
    }

    fn held_by_me(&self) -> bool {
        self.detail().is_some_and(|d| {
            d.state == ConversationState::Human
                && d.agent.as_ref().is_some_and(|a| a.id == self.me.id)
        })
    }

    fn state(&self) -> Option<ConversationState> {
        self.detail().map(|d| d.state)
    }

    pub fn can_claim(&self) -> bool {
        self.state() == Some(ConversationState::Queued)
    }

    pub fn can_reply(&self) -> bool {
        self.held_by_me()
    }

    /// Handing back to the assistant: from the queue, or by its holder.
    pub fn can_resume(&self) -> bool {
        self.can_claim() || self.held_by_me()
    }

    /// Anyone may close a conversation nobody holds; a held one only its holder.
    pub fn can_close(&self) -> bool {
        match self.state() {
            Some(ConversationState::Assistant | ConversationState::Queued) => true,
            Some(ConversationState::Human) => self.held_by_me(),
            Some(ConversationState::Closed) | None => false,
        }
    }

    pub fn claim(&mut self) -> Option<AgentRequest> {
        self.act(Self::can_claim, |conversation| AgentRequest::Claim {
            conversation,
        })
    }

    pub fn resume(&mut self) -> Option<AgentRequest> {
        self.act(Self::can_resume, |conversation| AgentRequest::Resume {
            conversation,
        })
    }

    pub fn close(&mut self) -> Option<AgentRequest> {
        self.act(Self::can_close, |conversation| AgentRequest::Close {
            conversation,
        })
    }

    fn act(
        &mut self,
        allowed: fn(&Self) -> bool,
        frame: fn(ConversationId) -> AgentRequest,
    ) -> Option<AgentRequest> {
        let id = self.opened.as_ref()?.id;
        self.problem = None;
        allowed(self).then(|| frame(id))
    }

    /// The agent answers. The reply shows at once as pending; the frame is
    /// returned when it can go out now (otherwise it is resent on reconnect).
    pub fn reply(&mut self, client_id: String, text: &str) -> Option<AgentRequest> {
        if text.trim().is_empty() || !self.can_reply() {
            return None;
        }
        let text: String = text.chars().take(DEFAULT_MAX_TEXT_CHARS).collect();
        let opened = self.opened.as_mut()?;
        opened
            .transcript
            .push_pending(client_id.clone(), Outgoing::Message { text: text.clone() });
        self.live.then_some(AgentRequest::Reply {
            conversation: opened.id,
            client_id,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use baton_shared::domain::{Event, EventBody, Mechanism, Responder};

    use super::*;

    fn mia() -> AgentRef {
        AgentRef {
            id: 1,
            name: "Mia".into(),
        }
    }

    fn entry(conversation: ConversationId, since: i64) -> QueueEntry {
        QueueEntry {
            conversation,
            state: ConversationState::Queued,
            since,
            mechanism: Mechanism::User,
            reason: "asked for a person".into(),
            intent: "refund".into(),
            out_of_hours: false,
            agent: None,
        }
    }

    fn detail(
        id: ConversationId,
        state: ConversationState,
        agent: Option<AgentRef>,
    ) -> AgentUpdate {
        let responder = match &agent {
            Some(a) if state == ConversationState::Human => Responder::Agent {
                name: a.name.clone(),
            },
            _ => Responder::Assistant {
                name: "Nora".into(),
            },
        };
        AgentUpdate::Conversation {
            detail: ConversationDetail {
                id,
                state,
                agent,
                responder,
                page: None,
                started_at: 0,
                brief: None,
            },
        }
    }

    fn event(conversation: ConversationId, seq: u64, body: EventBody) -> AgentUpdate {
        AgentUpdate::Event {
            conversation,
            event: Event { seq, at: 0, body },
        }
    }

    #[test]
    fn the_queue_is_kept_oldest_first() {
        let mut d = Desk::new(mia());
        d.receive(AgentUpdate::Queue {
            entries: vec![entry(2, 200), entry(1, 100), entry(3, 300)],
        })
        .unwrap();
        let ids: Vec<_> = d.queue.iter().map(|e| e.conversation).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn opening_another_conversation_unwatches_the_first() {
        let mut d = Desk::new(mia());
        assert_eq!(
            d.open(7),
            [AgentRequest::Watch {
                conversation: 7,
                last_seq: 0
            }]
        );
        assert_eq!(d.open(7), [], "already open");
        assert_eq!(
            d.open(8),
            [
                AgentRequest::Unwatch { conversation: 7 },
                AgentRequest::Watch {
                    conversation: 8,
                    last_seq: 0
                }
            ]
        );
    }

    #[test]
    fn claim_then_reply_then_resume() {
        let mut d = Desk::new(mia());
        assert_eq!(d.status(), Some("Connecting…"));
        d.connected();
        assert_eq!(d.status(), None);
        d.open(7);
        assert_eq!(d.claim(), None, "nothing known about it yet");
        d.receive(detail(7, ConversationState::Queued, None))
            .unwrap();
        assert!(d.can_claim() && d.can_resume() && d.can_close() && !d.can_reply());
        assert_eq!(d.claim(), Some(AgentRequest::Claim { conversation: 7 }));

        d.receive(event(7, 1, EventBody::AgentJoined { name: "Mia".into() }))
            .unwrap();
        d.receive(detail(7, ConversationState::Human, Some(mia())))
            .unwrap();
        assert!(d.can_reply() && d.can_resume() && !d.can_claim());
        assert_eq!(
            d.reply("r1".into(), "Hi, I'm Mia."),
            Some(AgentRequest::Reply {
                conversation: 7,
                client_id: "r1".into(),
                text: "Hi, I'm Mia.".into()
            })
        );
        let lines = d.opened.as_ref().unwrap().transcript.lines();
        assert!(lines[1].is_pending());
        assert_eq!(lines[1].name.as_deref(), Some("Mia"));

        d.receive(AgentUpdate::Ack {
            client_id: "r1".into(),
            seq: 2,
        })
        .unwrap();
        d.receive(event(
            7,
            2,
            EventBody::Agent {
                name: "Mia".into(),
                client_id: "r1".into(),
                text: "Hi, I'm Mia.".into(),
            },
        ))
        .unwrap();
        assert_eq!(d.opened.as_ref().unwrap().transcript.lines().len(), 2);
        assert_eq!(d.resume(), Some(AgentRequest::Resume { conversation: 7 }));
    }

    #[test]
    fn a_conversation_held_by_someone_else_is_read_only() {
        let mut d = Desk::new(mia());
        d.open(7);
        d.receive(detail(
            7,
            ConversationState::Human,
            Some(AgentRef {
                id: 2,
                name: "Sam".into(),
            }),
        ))
        .unwrap();
        assert!(!d.can_claim() && !d.can_reply() && !d.can_resume() && !d.can_close());
        assert_eq!(d.reply("r".into(), "hello"), None);
        assert_eq!(d.close(), None);
    }

    #[test]
    fn frames_for_other_conversations_are_ignored() {
        let mut d = Desk::new(mia());
        d.open(7);
        d.receive(detail(8, ConversationState::Queued, None))
            .unwrap();
        d.receive(event(8, 1, EventBody::Closed)).unwrap();
        let opened = d.opened.as_ref().unwrap();
        assert_eq!(
            (opened.detail.as_ref(), opened.transcript.last_seq()),
            (None, 0)
        );
    }

    #[test]
    fn a_reconnect_watches_from_the_last_seq_and_resends_unacknowledged_replies() {
        let mut d = Desk::new(mia());
        d.connected();
        d.open(7);
        d.receive(detail(7, ConversationState::Human, Some(mia())))
            .unwrap();
        d.receive(event(7, 3, EventBody::AgentJoined { name: "Mia".into() }))
            .unwrap();
        d.dropped();
        assert_eq!(d.status(), Some("Reconnecting…"));
        assert_eq!(
            d.reply("r1".into(), "still here"),
            None,
            "queued while offline"
        );
        assert_eq!(
            d.connected(),
            [
                AgentRequest::Watch {
                    conversation: 7,
                    last_seq: 3
                },
                AgentRequest::Reply {
                    conversation: 7,
                    client_id: "r1".into(),
                    text: "still here".into()
                },
            ]
        );
    }

    #[test]
    fn an_unauthorized_error_signs_out_and_others_are_shown() {
        let mut d = Desk::new(mia());
        let error = |code| AgentUpdate::Error {
            code,
            message: "Someone else claimed it".into(),
        };
        assert_eq!(d.receive(error(ErrorCode::Unauthorized)), Err(SignedOut));
        d.receive(error(ErrorCode::Conflict)).unwrap();
        assert_eq!(d.problem.as_deref(), Some("Someone else claimed it"));
    }
}
