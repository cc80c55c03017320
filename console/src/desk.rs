//! The console's state, as a plain state machine over the agent socket.
//!
//! [`Desk`] holds the queue and the one conversation the agent has open
//! (its detail, with the brief, and its [`Transcript`]). It turns agent
//! actions into [`AgentRequest`]s and server frames into state, and decides
//! what may be done: claim a queued conversation; reply, share files,
//! release, transfer and hand back only while holding it. It also keeps the
//! visitor's typing and read receipts, what the server was told about the
//! agent typing, and the agent's files on their way: uploading (here), then
//! shared with an `attach` frame (pending in the transcript, like a reply).
//! Tested natively; `connection` puts it on a socket.

use baton_shared::domain::{
    AgentId, AgentRef, Attachment, ConversationDetail, ConversationId, ConversationState, Identity,
    QueueEntry, Seq,
};
use baton_shared::protocol::{AgentRequest, AgentUpdate, DEFAULT_MAX_TEXT_CHARS, ErrorCode};
use baton_widget::transcript::{Audience, Author, Line, Outgoing, Transcript};

/// The conversation on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub id: ConversationId,
    /// `None` until the server answers the `watch`.
    pub detail: Option<ConversationDetail>,
    pub transcript: Transcript,
    /// The visitor is typing.
    pub visitor_typing: bool,
    /// The last `seq` the visitor has seen.
    pub visitor_read: Seq,
    /// What the server was last told about this agent typing here.
    typing: bool,
    /// The agent's files still uploading (or refused on the way), oldest
    /// first; once uploaded they are pending in the transcript.
    uploads: Vec<Upload>,
}

/// A file the agent chose, on its way to `POST /api/uploads`.
#[derive(Clone, Debug, PartialEq)]
struct Upload {
    client_id: String,
    /// Who shares it: the agent's display name.
    by: String,
    name: String,
    content_type: String,
    size: u64,
    /// Why the upload failed, in the server's words; it is not tried again.
    failed: Option<String>,
}

impl Upload {
    /// As a transcript line: the widget's convention for a file still
    /// uploading is an attachment without an id.
    fn line(&self) -> Line {
        Line {
            seq: None,
            client_id: Some(self.client_id.clone()),
            author: Author::Agent,
            name: Some(self.by.clone()),
            text: self.name.clone(),
            at: None,
            articles: Vec::new(),
            choices: Vec::new(),
            confidence: None,
            failed: self.failed.clone(),
            kind: None,
            attachment: Some(Attachment {
                id: String::new(),
                name: self.name.clone(),
                content_type: self.content_type.clone(),
                size: self.size,
            }),
        }
    }
}

/// Where a line of the agent's own is, in a word, while on its way:
/// "Uploading…" (a file), "Sending…" (a file not acknowledged yet).
pub fn progress(line: &Line) -> Option<&'static str> {
    let file = line.attachment.as_ref()?;
    if !line.is_pending() {
        None
    } else if file.id.is_empty() {
        Some("Uploading…")
    } else {
        Some("Sending…")
    }
}

impl Opened {
    /// The lines to show: the transcript's, then the agent's files still
    /// uploading.
    pub fn lines(&self) -> Vec<Line> {
        let mut lines = self.transcript.lines();
        lines.extend(self.uploads.iter().map(Upload::line));
        lines
    }

    /// The `seq` of the latest team message the visitor has seen, to put
    /// "Seen" under it.
    pub fn seen(&self) -> Option<Seq> {
        self.transcript
            .lines()
            .iter()
            .rev()
            .filter(|l| l.author == Author::Agent && l.client_id.is_none())
            .filter_map(|l| l.seq)
            .find(|&seq| seq <= self.visitor_read)
    }

    /// Who the visitor is: as the host site last said, else as the brief
    /// recorded it.
    pub fn identity(&self) -> Option<&Identity> {
        let detail = self.detail.as_ref()?;
        detail
            .identity
            .as_ref()
            .or_else(|| detail.brief.as_ref()?.identity.as_ref())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Desk {
    pub me: AgentRef,
    /// Everyone on the team, this agent included (for transfers).
    pub team: Vec<AgentRef>,
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
            team: Vec::new(),
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
            // An uploaded file; the server stores a retried one once.
            Outgoing::Attachment { attachment } => Some(AgentRequest::Attach {
                conversation: id,
                client_id: p.client_id.clone(),
                upload: attachment.id.clone(),
            }),
            Outgoing::HumanRequest | Outgoing::Rating { .. } => None,
        }));
        frames
    }

    /// The socket closed: typing on either side is unknown now (a new
    /// socket starts at "not typing").
    pub fn dropped(&mut self) {
        self.live = false;
        if let Some(opened) = self.opened.as_mut() {
            opened.visitor_typing = false;
            opened.typing = false;
        }
    }

    fn opened_as(&mut self, id: ConversationId) -> Option<&mut Opened> {
        self.opened.as_mut().filter(|o| o.id == id)
    }

    pub fn receive(&mut self, update: AgentUpdate) -> Result<(), SignedOut> {
        match update {
            AgentUpdate::Hello { agent, team } => {
                self.me = agent;
                self.team = team;
            }
            AgentUpdate::Queue { mut entries } => {
                entries.sort_by_key(|e| e.since);
                self.queue = entries;
            }
            AgentUpdate::Conversation { detail } => {
                if let Some(opened) = self.opened_as(detail.id) {
                    opened
                        .transcript
                        .baseline(detail.state, detail.responder.clone());
                    opened.visitor_read = opened.visitor_read.max(detail.visitor_read);
                    opened.detail = Some(detail);
                }
            }
            AgentUpdate::Event {
                conversation,
                event,
            } => {
                if let Some(opened) = self.opened_as(conversation) {
                    if matches!(event.body.kind(), "visitor" | "visitor_attachment") {
                        opened.visitor_typing = false;
                    }
                    opened.transcript.apply(event);
                }
            }
            AgentUpdate::Ack { client_id, seq } => {
                if let Some(opened) = self.opened.as_mut() {
                    opened.transcript.ack(&client_id, seq);
                }
            }
            AgentUpdate::Typing {
                conversation,
                typing,
            } => {
                if let Some(opened) = self.opened_as(conversation) {
                    opened.visitor_typing = typing;
                }
            }
            AgentUpdate::Read { conversation, seq } => {
                if let Some(opened) = self.opened_as(conversation) {
                    opened.visitor_read = opened.visitor_read.max(seq);
                }
            }
            AgentUpdate::Error {
                code: ErrorCode::Unauthorized,
                ..
            } => return Err(SignedOut),
            AgentUpdate::Error {
                message, client_id, ..
            } => {
                // A refused reply or file says so itself, under it.
                let on_line = client_id.is_some_and(|id| {
                    self.opened.as_mut().is_some_and(|o| {
                        matches!(
                            o.transcript.fail(&id, &message),
                            Some(Outgoing::Message { .. } | Outgoing::Attachment { .. })
                        )
                    })
                });
                if !on_line {
                    self.problem = Some(message);
                }
            }
        }
        Ok(())
    }

    /// Opens a conversation, closing the one on screen.
    pub fn open(&mut self, id: ConversationId) -> Vec<AgentRequest> {
        if self.opened.as_ref().is_some_and(|o| o.id == id) {
            return Vec::new();
        }
        let mut frames = Vec::new();
        if let Some(old) = self.opened.take() {
            if old.typing && self.live {
                frames.push(AgentRequest::Typing {
                    conversation: old.id,
                    typing: false,
                });
            }
            frames.push(AgentRequest::Unwatch {
                conversation: old.id,
            });
        }
        self.opened = Some(Opened {
            id,
            detail: None,
            transcript: Transcript::new(Audience::Agent {
                name: self.me.name.clone(),
            }),
            visitor_typing: false,
            visitor_read: 0,
            typing: false,
            uploads: Vec::new(),
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

    /// Sharing a file, like replying: only while holding the conversation.
    pub fn can_attach(&self) -> bool {
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

    /// Back to the queue, for someone else: only its holder.
    pub fn can_release(&self) -> bool {
        self.held_by_me()
    }

    /// The other people on the team, who a held conversation can go to.
    pub fn transfer_targets(&self) -> Vec<AgentRef> {
        self.team
            .iter()
            .filter(|a| a.id != self.me.id)
            .cloned()
            .collect()
    }

    pub fn can_transfer(&self) -> bool {
        self.held_by_me() && self.team.iter().any(|a| a.id != self.me.id)
    }

    pub fn release(&mut self) -> Option<AgentRequest> {
        self.act(Self::can_release, |conversation| AgentRequest::Release {
            conversation,
        })
    }

    /// Hands a held conversation to another agent on the team.
    pub fn transfer(&mut self, to: AgentId) -> Option<AgentRequest> {
        let conversation = self.opened.as_ref()?.id;
        self.problem = None;
        let known = to != self.me.id && self.team.iter().any(|a| a.id == to);
        (known && self.can_transfer()).then_some(AgentRequest::Transfer { conversation, to })
    }

    /// The agent started or stopped typing a reply. A frame only on a
    /// change, on a live socket, and "typing" only while holding the
    /// conversation.
    pub fn set_typing(&mut self, typing: bool) -> Option<AgentRequest> {
        let allowed = self.live && (!typing || self.held_by_me());
        let opened = self.opened.as_mut()?;
        if !allowed || opened.typing == typing {
            return None;
        }
        opened.typing = typing;
        Some(AgentRequest::Typing {
            conversation: opened.id,
            typing,
        })
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

impl Desk {
    /// The agent chose a file to share. It shows at once as uploading;
    /// returns the conversation to upload it to, or `None` when the agent
    /// may not share here.
    pub fn start_upload(
        &mut self,
        client_id: String,
        name: &str,
        content_type: &str,
        size: u64,
    ) -> Option<ConversationId> {
        self.problem = None;
        if !self.can_attach() {
            return None;
        }
        let by = self.me.name.clone();
        let opened = self.opened.as_mut()?;
        opened.uploads.push(Upload {
            client_id,
            by,
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            size,
            failed: None,
        });
        Some(opened.id)
    }

    /// The server stored the upload: it is pending in the transcript like a
    /// reply, and the `attach` frame that puts it in the log is returned
    /// when it can go out now (otherwise it is sent on reconnect). Nothing
    /// when the agent left the conversation meanwhile.
    pub fn uploaded(
        &mut self,
        conversation: ConversationId,
        client_id: &str,
        attachment: Attachment,
    ) -> Option<AgentRequest> {
        let live = self.live;
        let opened = self.opened_as(conversation)?;
        let index = opened
            .uploads
            .iter()
            .position(|u| u.client_id == client_id && u.failed.is_none())?;
        opened.uploads.remove(index);
        let upload = attachment.id.clone();
        opened
            .transcript
            .push_pending(client_id.to_owned(), Outgoing::Attachment { attachment });
        live.then(|| AgentRequest::Attach {
            conversation,
            client_id: client_id.to_owned(),
            upload,
        })
    }

    /// The upload was refused (too large, a type not accepted) or never
    /// got there: the file stays on screen, marked with the reason.
    pub fn upload_failed(&mut self, conversation: ConversationId, client_id: &str, reason: &str) {
        let Some(opened) = self.opened_as(conversation) else {
            return;
        };
        if let Some(upload) = opened.uploads.iter_mut().find(|u| u.client_id == client_id) {
            upload.failed = Some(reason.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use baton_shared::domain::{Event, EventBody, Mechanism, Responder};

    use super::*;

    fn leo() -> AgentRef {
        AgentRef {
            id: 2,
            name: "Leo".into(),
        }
    }

    /// Signed in as Mia (team: Mia, Leo), holding conversation 7.
    fn holding() -> Desk {
        let mut d = Desk::new(mia());
        d.receive(AgentUpdate::Hello {
            agent: mia(),
            team: vec![mia(), leo()],
        })
        .unwrap();
        d.connected();
        d.open(7);
        d.receive(detail(7, ConversationState::Human, Some(mia())))
            .unwrap();
        d
    }

    fn agent_says(seq: u64, id: &str) -> AgentUpdate {
        event(
            7,
            seq,
            EventBody::Agent {
                name: "Mia".into(),
                client_id: id.into(),
                text: format!("message {seq}"),
            },
        )
    }

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
            identity: None,
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
                identity: None,
                visitor_read: 0,
                verdict: None,
                metadata: Default::default(),
                lessons: Vec::new(),
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
            client_id: None,
        };
        assert_eq!(d.receive(error(ErrorCode::Unauthorized)), Err(SignedOut));
        d.receive(error(ErrorCode::Conflict)).unwrap();
        assert_eq!(d.problem.as_deref(), Some("Someone else claimed it"));
    }

    #[test]
    fn only_the_holder_releases_or_transfers_and_only_to_someone_else_on_the_team() {
        let mut d = holding();
        assert_eq!(d.transfer_targets(), [leo()]);
        assert!(d.can_release() && d.can_transfer());
        assert_eq!(d.release(), Some(AgentRequest::Release { conversation: 7 }));
        assert_eq!(
            d.transfer(2),
            Some(AgentRequest::Transfer {
                conversation: 7,
                to: 2
            })
        );
        assert_eq!(d.transfer(1), None, "not to oneself");
        assert_eq!(d.transfer(99), None, "not to a stranger");

        d.receive(detail(7, ConversationState::Human, Some(leo())))
            .unwrap();
        assert!(!d.can_release() && !d.can_transfer());
        assert_eq!((d.release(), d.transfer(2)), (None, None));

        d.receive(detail(7, ConversationState::Queued, None))
            .unwrap();
        assert!(!d.can_release() && !d.can_transfer() && d.can_claim());
    }

    #[test]
    fn nobody_to_transfer_to_when_alone() {
        let mut d = holding();
        d.receive(AgentUpdate::Hello {
            agent: mia(),
            team: vec![mia()],
        })
        .unwrap();
        assert!(d.transfer_targets().is_empty() && !d.can_transfer());
        assert!(d.can_release());
    }

    #[test]
    fn the_visitor_typing_shows_until_they_send_stop_or_the_socket_drops() {
        let mut d = holding();
        let typing = |d: &Desk| d.opened.as_ref().unwrap().visitor_typing;
        d.receive(AgentUpdate::Typing {
            conversation: 8,
            typing: true,
        })
        .unwrap();
        assert!(!typing(&d), "another conversation");
        d.receive(AgentUpdate::Typing {
            conversation: 7,
            typing: true,
        })
        .unwrap();
        assert!(typing(&d));
        d.receive(event(
            7,
            1,
            EventBody::Visitor {
                client_id: "v".into(),
                text: "hello".into(),
            },
        ))
        .unwrap();
        assert!(!typing(&d), "the message arrived");
        d.receive(AgentUpdate::Typing {
            conversation: 7,
            typing: true,
        })
        .unwrap();
        d.receive(AgentUpdate::Typing {
            conversation: 7,
            typing: false,
        })
        .unwrap();
        assert!(!typing(&d));
        d.receive(AgentUpdate::Typing {
            conversation: 7,
            typing: true,
        })
        .unwrap();
        d.dropped();
        assert!(!typing(&d));
    }

    #[test]
    fn seen_goes_under_the_latest_team_message_the_visitor_has_read() {
        let mut d = holding();
        let seen = |d: &Desk| d.opened.as_ref().unwrap().seen();
        d.receive(agent_says(1, "a")).unwrap();
        d.receive(agent_says(2, "b")).unwrap();
        d.receive(event(
            7,
            3,
            EventBody::Visitor {
                client_id: "v".into(),
                text: "ok".into(),
            },
        ))
        .unwrap();
        d.receive(agent_says(4, "c")).unwrap();
        assert_eq!(seen(&d), None, "nothing read yet");

        // The watch's detail says how far the visitor had read…
        let AgentUpdate::Conversation { mut detail } =
            detail(7, ConversationState::Human, Some(mia()))
        else {
            unreachable!()
        };
        detail.visitor_read = 3;
        d.receive(AgentUpdate::Conversation { detail }).unwrap();
        assert_eq!(seen(&d), Some(2));
        // … and read receipts move it on, never back.
        d.receive(AgentUpdate::Read {
            conversation: 7,
            seq: 4,
        })
        .unwrap();
        assert_eq!(seen(&d), Some(4));
        d.receive(AgentUpdate::Read {
            conversation: 7,
            seq: 2,
        })
        .unwrap();
        assert_eq!(seen(&d), Some(4));
        d.receive(AgentUpdate::Read {
            conversation: 8,
            seq: 99,
        })
        .unwrap();
        assert_eq!(d.opened.as_ref().unwrap().visitor_read, 4);

        // A reply still on its way is not "seen".
        d.reply("r".into(), "pending");
        d.receive(AgentUpdate::Read {
            conversation: 7,
            seq: 5,
        })
        .unwrap();
        assert_eq!(seen(&d), Some(4));
    }

    #[test]
    fn a_refused_reply_is_marked_failed_and_other_errors_are_shown() {
        let mut d = holding();
        d.reply("r1".into(), "far too long");
        d.receive(AgentUpdate::Error {
            code: ErrorCode::Invalid,
            message: "Replies are limited to 4000 characters.".into(),
            client_id: Some("r1".into()),
        })
        .unwrap();
        let line = d.opened.as_ref().unwrap().transcript.lines()[0].clone();
        assert_eq!(
            line.failed.as_deref(),
            Some("Replies are limited to 4000 characters.")
        );
        assert_eq!(d.problem, None);
        d.dropped();
        assert_eq!(
            d.connected(),
            [AgentRequest::Watch {
                conversation: 7,
                last_seq: 0
            }],
            "a refused reply is not resent"
        );

        d.receive(AgentUpdate::Error {
            code: ErrorCode::Conflict,
            message: "Leo holds this conversation.".into(),
            client_id: Some("transfer".into()),
        })
        .unwrap();
        assert_eq!(d.problem.as_deref(), Some("Leo holds this conversation."));
    }

    #[test]
    fn the_agent_typing_is_sent_on_changes_while_holding_and_stopped_on_leaving() {
        let mut d = holding();
        assert_eq!(
            d.set_typing(true),
            Some(AgentRequest::Typing {
                conversation: 7,
                typing: true
            })
        );
        assert_eq!(d.set_typing(true), None, "no spam");
        assert_eq!(
            d.open(8),
            [
                AgentRequest::Typing {
                    conversation: 7,
                    typing: false
                },
                AgentRequest::Unwatch { conversation: 7 },
                AgentRequest::Watch {
                    conversation: 8,
                    last_seq: 0
                }
            ],
            "leaving a conversation stops typing in it"
        );
        d.receive(detail(8, ConversationState::Queued, None))
            .unwrap();
        assert_eq!(d.set_typing(true), None, "not before claiming");
        assert_eq!(d.set_typing(false), None, "nothing to stop");
    }

    #[test]
    fn the_identity_comes_from_the_detail_or_else_the_brief() {
        let mut d = holding();
        assert_eq!(d.opened.as_ref().unwrap().identity(), None);
        let AgentUpdate::Conversation { mut detail } =
            detail(7, ConversationState::Human, Some(mia()))
        else {
            unreachable!()
        };
        detail.identity = Some(Identity {
            name: Some("Ana".into()),
            verified: true,
            ..Identity::default()
        });
        d.receive(AgentUpdate::Conversation { detail }).unwrap();
        let identity = d.opened.as_ref().unwrap().identity().unwrap();
        assert_eq!(
            (identity.name.as_deref(), identity.verified),
            (Some("Ana"), true)
        );
    }

    fn png(id: &str) -> Attachment {
        Attachment {
            id: id.into(),
            name: "boots.png".into(),
            content_type: "image/png".into(),
            size: 2048,
        }
    }

    fn lines(d: &Desk) -> Vec<Line> {
        d.opened.as_ref().unwrap().lines()
    }

    #[test]
    fn files_in_the_log_are_lines_with_their_attachment_and_end_the_visitors_typing() {
        let mut d = holding();
        d.receive(AgentUpdate::Typing {
            conversation: 7,
            typing: true,
        })
        .unwrap();
        d.receive(event(
            7,
            1,
            EventBody::VisitorAttachment {
                client_id: "v".into(),
                attachment: png("up1"),
            },
        ))
        .unwrap();
        assert!(
            !d.opened.as_ref().unwrap().visitor_typing,
            "the file arrived"
        );
        d.receive(event(
            7,
            2,
            EventBody::AgentAttachment {
                name: "Mia".into(),
                client_id: "a".into(),
                attachment: png("up2"),
            },
        ))
        .unwrap();
        // Another conversation's file is not this one's.
        d.receive(event(
            8,
            3,
            EventBody::VisitorAttachment {
                client_id: "x".into(),
                attachment: png("elsewhere"),
            },
        ))
        .unwrap();
        let lines = lines(&d);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (
                lines[0].author,
                lines[0].attachment.as_ref().map(|a| a.id.as_str())
            ),
            (Author::Visitor, Some("up1"))
        );
        assert_eq!(
            (
                lines[1].author,
                lines[1].name.as_deref(),
                lines[1].attachment.as_ref().map(|a| a.id.as_str())
            ),
            (Author::Agent, Some("Mia"), Some("up2"))
        );
        assert!(lines.iter().all(|l| progress(l).is_none()));
    }

    #[test]
    fn a_file_uploads_then_is_attached_until_its_event_arrives() {
        let mut d = holding();
        assert!(d.can_attach());
        assert_eq!(
            d.start_upload("f1".into(), "boots.png", "image/png", 2048),
            Some(7)
        );
        let line = &lines(&d)[0];
        assert_eq!(
            (line.author, line.name.as_deref(), progress(line)),
            (Author::Agent, Some("Mia"), Some("Uploading…"))
        );
        assert!(line.is_uploading());
        assert_eq!(line.attachment.as_ref().unwrap().size, 2048);

        assert_eq!(
            d.uploaded(7, "f1", png("up1")),
            Some(AgentRequest::Attach {
                conversation: 7,
                client_id: "f1".into(),
                upload: "up1".into(),
            })
        );
        let line = &lines(&d)[0];
        assert_eq!(progress(line), Some("Sending…"));
        assert_eq!(line.attachment, Some(png("up1")));
        assert_eq!(lines(&d).len(), 1, "the same line, now shared");

        d.receive(AgentUpdate::Ack {
            client_id: "f1".into(),
            seq: 2,
        })
        .unwrap();
        assert_eq!(progress(&lines(&d)[0]), None, "sent");
        assert_eq!(
            d.connected(),
            [AgentRequest::Watch {
                conversation: 7,
                last_seq: 0
            }],
            "an acknowledged file is not sent again"
        );

        d.receive(agent_says(1, "r0")).unwrap();
        d.receive(event(
            7,
            2,
            EventBody::AgentAttachment {
                name: "Mia".into(),
                client_id: "f1".into(),
                attachment: png("up1"),
            },
        ))
        .unwrap();
        let lines = lines(&d);
        assert_eq!(lines.len(), 2, "the event took its place");
        assert_eq!(
            (lines[1].seq, lines[1].client_id.as_deref()),
            (Some(2), None)
        );
        assert_eq!(lines[1].attachment, Some(png("up1")));
    }

    #[test]
    fn only_the_holder_shares_files() {
        let mut d = Desk::new(mia());
        d.connected();
        d.open(7);
        d.receive(detail(7, ConversationState::Queued, None))
            .unwrap();
        assert!(!d.can_attach());
        assert_eq!(d.start_upload("f".into(), "a.txt", "text/plain", 3), None);
        assert!(lines(&d).is_empty());
        d.receive(detail(7, ConversationState::Human, Some(leo())))
            .unwrap();
        assert!(!d.can_attach(), "someone else holds it");
    }

    #[test]
    fn a_refused_upload_or_attach_is_marked_with_the_servers_words() {
        let mut d = holding();
        d.start_upload("big".into(), "huge.png", "image/png", 50 << 20);
        d.upload_failed(7, "big", "The file is larger than 10 MB.");
        d.start_upload("f2".into(), "notes.txt", "text/plain", 5);
        d.uploaded(7, "f2", png("up2"));
        d.receive(AgentUpdate::Error {
            code: ErrorCode::Conflict,
            message: "Only the agent holding the conversation can share files.".into(),
            client_id: Some("f2".into()),
        })
        .unwrap();
        assert_eq!(d.problem, None, "said under the file, not at the top");
        let lines = lines(&d);
        let failed: Vec<_> = lines.iter().map(|l| l.failed.as_deref()).collect();
        assert_eq!(
            failed,
            [
                Some("Only the agent holding the conversation can share files."),
                Some("The file is larger than 10 MB."),
            ]
        );
        assert!(lines.iter().all(|l| progress(l).is_none()));
        assert_eq!(lines[1].key(), "big!");
        // A refused file is never sent again, and a late upload answer for
        // it changes nothing.
        assert_eq!(d.uploaded(7, "big", png("late")), None);
        d.dropped();
        assert_eq!(d.connected().len(), 1, "just the watch");
    }

    #[test]
    fn an_attach_waits_for_the_socket_and_goes_out_on_reconnect() {
        let mut d = holding();
        d.start_upload("f1".into(), "boots.png", "image/png", 2048);
        d.start_upload("f2".into(), "later.png", "image/png", 2048);
        d.dropped();
        assert_eq!(d.uploaded(7, "f1", png("up1")), None, "offline");
        assert_eq!(
            d.connected(),
            [
                AgentRequest::Watch {
                    conversation: 7,
                    last_seq: 0
                },
                AgentRequest::Attach {
                    conversation: 7,
                    client_id: "f1".into(),
                    upload: "up1".into(),
                },
            ],
            "the one still uploading goes when its upload is done"
        );
    }

    #[test]
    fn an_upload_finishing_after_the_agent_left_the_conversation_is_dropped() {
        let mut d = holding();
        d.start_upload("f1".into(), "boots.png", "image/png", 2048);
        d.open(8);
        assert_eq!(d.uploaded(7, "f1", png("up1")), None);
        d.upload_failed(7, "f1", "gone");
        assert!(lines(&d).is_empty());
    }
}
