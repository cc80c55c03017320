//! The transcript reducer: a conversation's event log as one client sees it.
//!
//! Both the widget and the console keep a [`Transcript`]. It holds the
//! server's events in `seq` order plus the messages this client sent that the
//! server has not echoed back yet ("pending", keyed by their client id), and
//! derives from the log who answers the visitor ([`Responder`]) and what state
//! the conversation is in. It never talks to the network: the session layers
//! feed it frames and ask it what to resend.
//!
//! Rules:
//! - An event whose `seq` is not above [`Transcript::last_seq`] was already
//!   applied (a replay after a reconnect, or a second tab) and is ignored.
//! - An event carrying the client id of a pending message replaces it.
//! - An `ack` only marks the pending message with its `seq`: events below it
//!   may still be on their way, so `last_seq` moves only with events.
//! - A refused message (an error naming its client id) stays on screen,
//!   marked failed with the server's reason, and is never resent.
//! - After the team closes, the visitor is asked for a rating until a
//!   `rated` event (or a new message, which reopens the conversation).
//! - A shared file (an attachment) is a line like a message: pending until
//!   its event, failed when refused; its [`Line::attachment`] says what it
//!   is and its text is the file's name.

use baton_shared::domain::{
    Attachment, ConversationState, Event, EventBody, Millis, Rating, Responder, Seq,
};

/// Who wrote a line, named as the DOM's `data-author` attribute says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Visitor,
    Assistant,
    Agent,
    /// A small centred line about the conversation itself (handoff, joins).
    Notice,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Assistant => "assistant",
            Self::Agent => "agent",
            Self::Notice => "notice",
        }
    }
}

/// Who looks at the transcript: it decides whose messages this client sends
/// and which events are worth a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The widget: the visitor writes, and never sees the conversation "end".
    Visitor,
    /// The console, signed in as the agent with this display name.
    Agent { name: String },
}

/// Something this client sent and the server has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    Message {
        text: String,
    },
    /// The "Talk to a human" button. It has no line of its own: the server
    /// answers with a `handoff_started` notice.
    HumanRequest,
    /// The satisfaction rating; its `rated` event carries the client id.
    /// Shown at once as a thank-you notice.
    Rating {
        rating: Rating,
        comment: Option<String>,
    },
    /// A file already uploaded (`POST /api/uploads`), being shared with an
    /// `attach` frame.
    Attachment {
        attachment: Attachment,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub what: Outgoing,
    /// The `seq` from the server's `ack`, before the event itself arrived.
    pub acked: Option<Seq>,
    /// The server refused it, saying why; it is not sent again.
    pub failed: Option<String>,
}

/// One rendered line of the transcript.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// `None` while the message is pending and not acknowledged.
    pub seq: Option<Seq>,
    /// Set while the message is not stored as an event yet.
    pub client_id: Option<String>,
    pub author: Author,
    /// The assistant's or agent's display name; `None` for the visitor
    /// (each view names the visitor its own way). A notice about someone
    /// (joined, left, back) names them here; other notices have `None`.
    pub name: Option<String>,
    pub text: String,
    pub at: Option<Millis>,
    /// What an assistant answer rests on (the console shows it).
    pub articles: Vec<String>,
    /// A clarifying question's choices (article titles), best first.
    pub choices: Vec<String>,
    pub confidence: Option<f32>,
    /// Why the server refused this message, if it did.
    pub failed: Option<String>,
    /// The event's kind (`EventBody::kind`), `None` while pending.
    pub kind: Option<&'static str>,
    /// The file this line shares (its `text` is the file's name). An empty
    /// `id` means it is still being uploaded (see `Session::lines`).
    pub attachment: Option<Attachment>,
}

impl Line {
    /// A key that changes whenever the line's DOM attributes must change
    /// (pending → acknowledged → stored), for keyed list rendering.
    pub fn key(&self) -> String {
        match (&self.client_id, self.seq) {
            (None, Some(seq)) => seq.to_string(),
            (Some(id), Some(seq)) => format!("{id}@{seq}"),
            (Some(id), None) if self.failed.is_some() => format!("{id}!"),
            // Uploading, then shared under the same client id: redrawn.
            (Some(id), None) if self.is_uploading() => format!("{id}^"),
            (Some(id), None) => id.clone(),
            (None, None) => String::new(),
        }
    }

    pub fn is_pending(&self) -> bool {
        self.seq.is_none() && self.failed.is_none()
    }

    /// A file whose bytes are still on their way to the server.
    pub fn is_uploading(&self) -> bool {
        self.attachment.as_ref().is_some_and(|a| a.id.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    audience: Audience,
    /// Stored events, strictly increasing `seq`.
    events: Vec<Event>,
    /// Sent but not echoed back yet, in the order they were sent.
    pending: Vec<Pending>,
    state: ConversationState,
    responder: Option<Responder>,
    /// Remembered so a reopened conversation can name the assistant again.
    assistant_name: Option<String>,
}

impl Transcript {
    pub fn new(audience: Audience) -> Self {
        Self {
            audience,
            events: Vec::new(),
            pending: Vec::new(),
            state: ConversationState::Assistant,
            responder: None,
            assistant_name: None,
        }
    }

    /// Takes the server's current view (`welcome`, or a console
    /// `conversation` detail) as the starting point; events then move it on.
    pub fn baseline(&mut self, state: ConversationState, responder: Responder) {
        if let Responder::Assistant { name } = &responder {
            self.assistant_name = Some(name.clone());
        }
        self.state = state;
        self.responder = Some(responder);
    }

    /// Applies one event. Returns `false` for an event already applied.
    pub fn apply(&mut self, event: Event) -> bool {
        if event.seq <= self.last_seq() {
            return false;
        }
        let seq = event.seq;
        let client_id = event.body.client_id().map(str::to_owned);
        self.pending
            .retain(|p| p.acked != Some(seq) && Some(&p.client_id) != client_id.as_ref());
        self.follow(&event.body);
        self.events.push(event);
        true
    }

    /// Moves state and responder on as the log says.
    fn follow(&mut self, body: &EventBody) {
        match body {
            EventBody::Visitor { .. } | EventBody::VisitorAttachment { .. }
                if self.state == ConversationState::Closed =>
            {
                // A visitor message reopens a closed conversation with the assistant.
                self.state = ConversationState::Assistant;
                if let Some(name) = self.assistant_name.clone() {
                    self.responder = Some(Responder::Assistant { name });
                }
            }
            EventBody::Assistant { name, .. } => {
                self.assistant_name = Some(name.clone());
                if self.responder.is_none() {
                    self.responder = Some(Responder::Assistant { name: name.clone() });
                }
            }
            EventBody::HandoffStarted { .. } => {
                self.state = ConversationState::Queued;
                self.drop_human_requests();
            }
            EventBody::AgentJoined { .. } => {
                self.state = ConversationState::Human;
                self.drop_human_requests();
            }
            // Back in the queue: while nobody holds it, the assistant's name
            // stands in the header, as right after a handoff.
            EventBody::AgentLeft { .. } => {
                self.state = ConversationState::Queued;
                if let Some(name) = self.assistant_name.clone() {
                    self.responder = Some(Responder::Assistant { name });
                }
            }
            EventBody::Rated { .. } => self
                .pending
                .retain(|p| !matches!(p.what, Outgoing::Rating { .. })),
            EventBody::AssistantResumed { name } => {
                self.state = ConversationState::Assistant;
                self.assistant_name = Some(name.clone());
            }
            EventBody::Closed => self.state = ConversationState::Closed,
            _ => {}
        }
        if let Some(responder) = body.new_responder() {
            self.responder = Some(responder);
        }
    }

    /// The server stored the message with this client id as `seq`.
    /// (When the event came first it has already replaced the pending
    /// message, and there is nothing left to mark.)
    pub fn ack(&mut self, client_id: &str, seq: Seq) {
        // Its event came first: it has already replaced the pending item,
        // unless it was one without a client id; either way, nothing to wait for.
        let stored = seq <= self.last_seq();
        self.pending.retain_mut(|p| {
            if p.client_id != client_id {
                return true;
            }
            p.acked = Some(seq);
            p.failed = None;
            // A human request has no event of its own to wait for.
            p.what != Outgoing::HumanRequest && !stored
        });
    }

    /// The server refused what was sent with this client id. A message or
    /// a file stays on screen, marked failed; anything else is forgotten. Returns what
    /// it was, if it was still pending.
    pub fn fail(&mut self, client_id: &str, reason: &str) -> Option<Outgoing> {
        let index = self
            .pending
            .iter()
            .position(|p| p.client_id == client_id && p.acked.is_none())?;
        let pending = &mut self.pending[index];
        if let Outgoing::Message { .. } | Outgoing::Attachment { .. } = pending.what {
            pending.failed = Some(reason.to_owned());
            Some(pending.what.clone())
        } else {
            Some(self.pending.remove(index).what)
        }
    }

    /// Records something this client is sending, before the server has it.
    pub fn push_pending(&mut self, client_id: String, what: Outgoing) {
        self.pending.push(Pending {
            client_id,
            what,
            acked: None,
            failed: None,
        });
    }

    /// What must be (re)sent: pending items the server never acknowledged
    /// (and did not refuse).
    pub fn unacked(&self) -> impl Iterator<Item = &Pending> {
        self.pending
            .iter()
            .filter(|p| p.acked.is_none() && p.failed.is_none())
    }

    /// Whether the visitor should be asked to rate: the team closed the
    /// conversation, nobody wrote since, and no rating is stored or on its
    /// way.
    pub fn rating_due(&self) -> bool {
        self.state == ConversationState::Closed
            && !self
                .pending
                .iter()
                .any(|p| matches!(p.what, Outgoing::Rating { .. }))
            && self
                .events
                .iter()
                .rev()
                .find(|e| matches!(e.body, EventBody::Closed | EventBody::Rated { .. }))
                .is_some_and(|e| e.body == EventBody::Closed)
    }

    /// Whether a "Talk to a human" request is still in flight.
    pub fn human_requested(&self) -> bool {
        self.pending
            .iter()
            .any(|p| p.what == Outgoing::HumanRequest)
    }

    /// Forgets requests for a person; used when the server refuses one.
    pub fn drop_human_requests(&mut self) {
        self.pending.retain(|p| p.what != Outgoing::HumanRequest);
    }

    /// Forgets the server's log but keeps what the user is still sending:
    /// the conversation it belonged to no longer exists.
    pub fn forget_log(&mut self) {
        self.events.clear();
        // A rating belonged to the conversation that is gone.
        self.pending
            .retain(|p| !matches!(p.what, Outgoing::Rating { .. }));
        self.pending.iter_mut().for_each(|p| p.acked = None);
        self.state = ConversationState::Assistant;
        self.responder = None;
    }

    pub fn last_seq(&self) -> Seq {
        self.events.last().map_or(0, |e| e.seq)
    }

    pub fn state(&self) -> ConversationState {
        self.state
    }

    pub fn responder(&self) -> Option<&Responder> {
        self.responder.as_ref()
    }

    /// The lines to show: stored events, then pending messages.
    pub fn lines(&self) -> Vec<Line> {
        let stored = self.events.iter().filter_map(|e| self.line(e));
        let pending = self.pending.iter().filter_map(|p| {
            let mut attachment = None;
            let text = match &p.what {
                Outgoing::Message { text } => text.as_str(),
                Outgoing::Attachment { attachment: a } => {
                    attachment = Some(a.clone());
                    a.name.as_str()
                }
                // Thanked at once; the `rated` event takes the line over.
                Outgoing::Rating { .. } => THANKS,
                Outgoing::HumanRequest => return None,
            };
            let (author, name) = match (&p.what, &self.audience) {
                (Outgoing::Rating { .. }, _) => (Author::Notice, None),
                (_, Audience::Visitor) => (Author::Visitor, None),
                (_, Audience::Agent { name }) => (Author::Agent, Some(name.clone())),
            };
            Some(Line {
                seq: p.acked,
                client_id: Some(p.client_id.clone()),
                author,
                name,
                text: text.to_owned(),
                at: None,
                articles: Vec::new(),
                choices: Vec::new(),
                confidence: None,
                failed: p.failed.clone(),
                kind: None,
                attachment,
            })
        });
        stored.chain(pending).collect()
    }

    fn line(&self, event: &Event) -> Option<Line> {
        let mut line = Line {
            seq: Some(event.seq),
            client_id: None,
            author: Author::Notice,
            name: None,
            text: String::new(),
            at: Some(event.at),
            articles: Vec::new(),
            choices: Vec::new(),
            confidence: None,
            failed: None,
            kind: Some(event.body.kind()),
            attachment: None,
        };
        match &event.body {
            EventBody::Visitor { text, .. } => {
                line.author = Author::Visitor;
                line.text = text.clone();
            }
            EventBody::Assistant {
                name,
                text,
                articles,
                confidence,
                choices,
            } => {
                line.author = Author::Assistant;
                line.name = Some(name.clone());
                line.text = text.clone();
                line.articles = articles.clone();
                line.confidence = *confidence;
                line.choices = choices.clone();
            }
            EventBody::Agent { name, text, .. } => {
                line.author = Author::Agent;
                line.name = Some(name.clone());
                line.text = text.clone();
            }
            EventBody::HandoffStarted { notice } => line.text = notice.clone(),
            // Notices about someone keep the name too, so a view can say it
            // in its own language (see `Line::name`).
            EventBody::AgentJoined { name } => {
                line.name = Some(name.clone());
                line.text = format!("{name} joined the conversation")
            }
            EventBody::AgentLeft { name } => {
                line.name = Some(name.clone());
                line.text = match self.audience {
                    Audience::Visitor => {
                        format!("{name} handed your conversation back to the team")
                    }
                    Audience::Agent { .. } => {
                        format!("{name} put the conversation back in the queue")
                    }
                }
            }
            EventBody::AssistantResumed { name } => {
                line.name = Some(name.clone());
                line.text = format!("{name} is back in the conversation");
            }
            EventBody::Rated {
                rating, comment, ..
            } => {
                line.text = match self.audience {
                    Audience::Visitor => THANKS.into(),
                    Audience::Agent { .. } => rated(*rating, comment.as_deref()),
                }
            }
            EventBody::VisitorAttachment { attachment, .. } => {
                line.author = Author::Visitor;
                line.text = attachment.name.clone();
                line.attachment = Some(attachment.clone());
            }
            EventBody::AgentAttachment {
                name, attachment, ..
            } => {
                line.author = Author::Agent;
                line.name = Some(name.clone());
                line.text = attachment.name.clone();
                line.attachment = Some(attachment.clone());
            }
            // The visitor's thread never ends; only the team sees the close.
            EventBody::Closed => match self.audience {
                Audience::Visitor => return None,
                Audience::Agent { .. } => line.text = "Conversation closed".into(),
            },
        }
        Some(line)
    }
}

/// What the visitor reads once they have rated.
pub const THANKS: &str = "Thanks for your feedback";

/// A rating as the team reads it: `Visitor rated: 👍 good — “fast!”`.
pub fn rated(rating: Rating, comment: Option<&str>) -> String {
    let thumb = match rating {
        Rating::Good => "👍",
        Rating::Bad => "👎",
    };
    let mut text = format!("Visitor rated: {thumb} {}", rating.as_str());
    if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
        text.push_str(&format!(" — “{comment}”"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: Seq, body: EventBody) -> Event {
        Event {
            seq,
            at: seq as Millis * 1000,
            body,
        }
    }

    fn visitor(seq: Seq, id: &str, text: &str) -> Event {
        ev(
            seq,
            EventBody::Visitor {
                client_id: id.into(),
                text: text.into(),
            },
        )
    }

    fn assistant(seq: Seq, text: &str) -> Event {
        ev(
            seq,
            EventBody::Assistant {
                name: "Nora".into(),
                text: text.into(),
                articles: vec![],
                confidence: None,
                choices: vec![],
            },
        )
    }

    fn nora() -> Responder {
        Responder::Assistant {
            name: "Nora".into(),
        }
    }

    fn texts(t: &Transcript) -> Vec<String> {
        t.lines().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn events_apply_in_seq_order_and_duplicates_are_ignored() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(ConversationState::Assistant, nora());
        assert!(t.apply(visitor(1, "a", "hi")));
        assert!(t.apply(assistant(2, "hello")));
        assert!(
            !t.apply(visitor(1, "a", "hi")),
            "a replayed event is ignored"
        );
        assert!(!t.apply(assistant(2, "hello")));
        assert_eq!(t.last_seq(), 2);
        assert_eq!(texts(&t), ["hi", "hello"]);
    }

    #[test]
    fn a_pending_message_shows_until_its_event_replaces_it() {
        let mut t = Transcript::new(Audience::Visitor);
        t.push_pending(
            "c1".into(),
            Outgoing::Message {
                text: "where is my order?".into(),
            },
        );
        let line = &t.lines()[0];
        assert!(line.is_pending());
        assert_eq!(
            (line.author, line.key()),
            (Author::Visitor, "c1".to_string())
        );

        t.apply(visitor(1, "c1", "where is my order?"));
        let lines = t.lines();
        assert_eq!(lines.len(), 1, "the event replaced the pending line");
        assert_eq!(
            (lines[0].seq, lines[0].client_id.as_deref()),
            (Some(1), None)
        );
        assert_eq!(t.unacked().count(), 0);
    }

    #[test]
    fn an_ack_before_its_event_marks_the_line_but_not_last_seq() {
        let mut t = Transcript::new(Audience::Visitor);
        t.apply(visitor(1, "c0", "first"));
        t.push_pending(
            "c1".into(),
            Outgoing::Message {
                text: "second".into(),
            },
        );
        t.ack("c1", 3);
        assert_eq!(t.last_seq(), 1, "seq 2 may still be on its way");
        assert_eq!(t.lines()[1].seq, Some(3));
        assert_eq!(t.lines()[1].key(), "c1@3");
        assert_eq!(
            t.unacked().count(),
            0,
            "acknowledged messages are not resent"
        );

        t.apply(assistant(2, "reply to first"));
        t.apply(visitor(3, "c1", "second"));
        assert_eq!(texts(&t), ["first", "reply to first", "second"]);
        assert_eq!(t.lines()[2].client_id, None);
    }

    #[test]
    fn an_ack_after_its_event_is_harmless() {
        let mut t = Transcript::new(Audience::Visitor);
        t.push_pending("c1".into(), Outgoing::Message { text: "hi".into() });
        t.apply(visitor(1, "c1", "hi"));
        t.ack("c1", 1);
        assert_eq!(t.lines().len(), 1);
    }

    #[test]
    fn unacked_messages_are_kept_in_send_order_for_resending() {
        let mut t = Transcript::new(Audience::Visitor);
        t.push_pending("a".into(), Outgoing::Message { text: "one".into() });
        t.push_pending("b".into(), Outgoing::HumanRequest);
        t.push_pending("c".into(), Outgoing::Message { text: "two".into() });
        t.ack("a", 1);
        let ids: Vec<_> = t.unacked().map(|p| p.client_id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(texts(&t), ["one", "two"], "a human request has no line");
    }

    #[test]
    fn the_responder_follows_the_log_through_a_handoff_and_back() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(ConversationState::Assistant, nora());
        t.push_pending("h".into(), Outgoing::HumanRequest);
        assert!(t.human_requested());

        t.apply(ev(
            1,
            EventBody::HandoffStarted {
                notice: "Connecting you with a person…".into(),
            },
        ));
        assert_eq!(t.state(), ConversationState::Queued);
        assert!(!t.human_requested(), "the handoff answered the request");
        assert_eq!(t.responder().unwrap().name(), "Nora");

        t.apply(ev(2, EventBody::AgentJoined { name: "Mia".into() }));
        assert_eq!(t.state(), ConversationState::Human);
        assert_eq!(
            t.responder(),
            Some(&Responder::Agent { name: "Mia".into() })
        );

        t.apply(ev(
            3,
            EventBody::AssistantResumed {
                name: "Nora".into(),
            },
        ));
        assert_eq!(t.state(), ConversationState::Assistant);
        assert_eq!(t.responder(), Some(&nora()));

        let lines = t.lines();
        assert!(lines.iter().all(|l| l.author == Author::Notice));
        assert_eq!(lines[0].name, None, "the handoff notice names nobody");
        assert_eq!(lines[1].text, "Mia joined the conversation");
        assert_eq!(
            lines[1].name.as_deref(),
            Some("Mia"),
            "for views in other languages"
        );
        assert_eq!(lines[2].name.as_deref(), Some("Nora"));
    }

    #[test]
    fn a_full_replay_after_a_reload_ends_in_the_current_state() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        t.apply(visitor(1, "a", "hi"));
        t.apply(ev(
            2,
            EventBody::HandoffStarted {
                notice: "…".into()
            },
        ));
        t.apply(ev(3, EventBody::AgentJoined { name: "Mia".into() }));
        assert_eq!(t.state(), ConversationState::Human);
        assert_eq!(t.responder().unwrap().name(), "Mia");
    }

    #[test]
    fn the_visitor_never_sees_the_close_and_writing_reopens_with_the_assistant() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        t.apply(assistant(1, "earlier answer"));
        t.apply(ev(2, EventBody::Closed));
        assert_eq!(t.state(), ConversationState::Closed);
        assert_eq!(texts(&t), ["earlier answer"]);

        t.apply(visitor(3, "x", "one more thing"));
        assert_eq!(t.state(), ConversationState::Assistant);
        assert_eq!(t.responder(), Some(&nora()));
    }

    #[test]
    fn the_console_sees_the_close_and_its_own_pending_replies_as_the_agent() {
        let mut t = Transcript::new(Audience::Agent { name: "Mia".into() });
        t.push_pending(
            "r".into(),
            Outgoing::Message {
                text: "on it".into(),
            },
        );
        t.apply(ev(1, EventBody::Closed));
        let lines = t.lines();
        assert_eq!(lines[0].text, "Conversation closed");
        assert_eq!(
            (lines[1].author, lines[1].name.as_deref()),
            (Author::Agent, Some("Mia"))
        );
    }

    #[test]
    fn forgetting_the_log_keeps_what_is_being_sent() {
        let mut t = Transcript::new(Audience::Visitor);
        t.apply(visitor(1, "a", "old"));
        t.push_pending("b".into(), Outgoing::Message { text: "new".into() });
        t.ack("b", 2);
        t.forget_log();
        assert_eq!(t.last_seq(), 0);
        assert_eq!(texts(&t), ["new"]);
        assert_eq!(
            t.unacked().count(),
            1,
            "it must be sent to the new conversation"
        );
    }

    fn rated(seq: Seq, id: &str, rating: Rating, comment: Option<&str>) -> Event {
        ev(
            seq,
            EventBody::Rated {
                client_id: id.into(),
                rating,
                comment: comment.map(str::to_owned),
            },
        )
    }

    #[test]
    fn the_rating_is_due_from_the_close_until_rated_or_reopened() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        assert!(!t.rating_due());
        t.apply(ev(1, EventBody::Closed));
        assert!(t.rating_due());
        t.apply(rated(2, "r", Rating::Good, None));
        assert!(!t.rating_due(), "rated");
        assert_eq!(texts(&t), ["Thanks for your feedback"]);

        // Writing again reopens with the assistant: nothing to rate.
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        t.apply(ev(1, EventBody::Closed));
        t.apply(visitor(2, "v", "one more thing"));
        assert!(!t.rating_due());
        // … and a second close asks again, whatever was rated before.
        t.apply(ev(3, EventBody::Closed));
        assert!(t.rating_due());
    }

    #[test]
    fn a_reload_replays_into_the_same_rating_prompt() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(ConversationState::Closed, nora());
        t.apply(visitor(1, "a", "hi"));
        t.apply(ev(2, EventBody::AgentJoined { name: "Mia".into() }));
        t.apply(ev(3, EventBody::Closed));
        assert!(t.rating_due(), "closed and not rated");
        t.apply(rated(4, "r", Rating::Bad, Some("slow")));
        assert!(!t.rating_due());
    }

    #[test]
    fn a_pending_rating_is_replaced_by_its_event_and_a_late_ack_is_harmless() {
        let mut t = Transcript::new(Audience::Visitor);
        t.apply(ev(1, EventBody::Closed));
        t.push_pending(
            "r".into(),
            Outgoing::Rating {
                rating: Rating::Good,
                comment: None,
            },
        );
        assert!(!t.rating_due(), "on its way");
        assert!(t.lines()[0].is_pending());
        t.apply(rated(2, "r", Rating::Good, None));
        t.ack("r", 2);
        assert_eq!(t.lines().len(), 1);
        assert!(!t.lines()[0].is_pending());
        assert_eq!(t.unacked().count(), 0);
    }

    #[test]
    fn the_console_reads_ratings_and_agents_leaving() {
        let mut t = Transcript::new(Audience::Agent { name: "Leo".into() });
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        t.apply(ev(1, EventBody::AgentLeft { name: "Mia".into() }));
        assert_eq!(t.state(), ConversationState::Queued);
        t.apply(ev(2, EventBody::Closed));
        t.apply(rated(3, "r", Rating::Good, Some("Mia was <b>great</b>")));
        t.apply(rated(4, "s", Rating::Bad, None));
        assert_eq!(
            texts(&t),
            [
                "Mia put the conversation back in the queue",
                "Conversation closed",
                "Visitor rated: 👍 good — “Mia was <b>great</b>”",
                "Visitor rated: 👎 bad",
            ]
        );
    }

    fn photo(id: &str) -> Attachment {
        Attachment {
            id: id.into(),
            name: "photo.png".into(),
            content_type: "image/png".into(),
            size: 2048,
        }
    }

    #[test]
    fn a_shared_file_is_pending_until_its_event_and_named_by_its_file() {
        let mut t = Transcript::new(Audience::Visitor);
        t.push_pending(
            "f".into(),
            Outgoing::Attachment {
                attachment: photo("up1"),
            },
        );
        let line = &t.lines()[0];
        assert!(line.is_pending() && !line.is_uploading());
        assert_eq!(
            (line.author, line.text.as_str(), line.key()),
            (Author::Visitor, "photo.png", "f".to_string())
        );
        assert_eq!(line.attachment, Some(photo("up1")));
        assert_eq!(t.unacked().count(), 1, "resent until acknowledged");

        t.ack("f", 1);
        assert_eq!(t.unacked().count(), 0);
        t.apply(ev(
            1,
            EventBody::VisitorAttachment {
                client_id: "f".into(),
                attachment: photo("up1"),
            },
        ));
        let lines = t.lines();
        assert_eq!(lines.len(), 1, "the event replaced the pending line");
        assert_eq!(
            (lines[0].seq, lines[0].kind, lines[0].author),
            (Some(1), Some("visitor_attachment"), Author::Visitor)
        );
        assert_eq!(lines[0].attachment, Some(photo("up1")));

        t.apply(ev(
            2,
            EventBody::AgentAttachment {
                name: "Mia".into(),
                client_id: "m".into(),
                attachment: photo("up2"),
            },
        ));
        let agent = &t.lines()[1];
        assert_eq!(
            (agent.author, agent.name.as_deref(), agent.text.as_str()),
            (Author::Agent, Some("Mia"), "photo.png")
        );
    }

    #[test]
    fn a_refused_file_stays_marked_failed_and_the_console_shares_as_the_agent() {
        let mut t = Transcript::new(Audience::Agent { name: "Mia".into() });
        t.push_pending(
            "f".into(),
            Outgoing::Attachment {
                attachment: photo("up1"),
            },
        );
        assert_eq!(
            t.lines()[0].author,
            Author::Agent,
            "the console's own file is the agent's"
        );
        t.fail("f", "no upload of yours");
        let line = &t.lines()[0];
        assert_eq!(line.failed.as_deref(), Some("no upload of yours"));
        assert_eq!(line.key(), "f!");
        assert_eq!(t.unacked().count(), 0, "never resent");
    }

    #[test]
    fn a_file_after_the_close_reopens_like_a_message() {
        let mut t = Transcript::new(Audience::Visitor);
        t.baseline(
            ConversationState::Human,
            Responder::Agent { name: "Mia".into() },
        );
        t.apply(assistant(1, "hi"));
        t.apply(ev(2, EventBody::Closed));
        t.apply(ev(
            3,
            EventBody::VisitorAttachment {
                client_id: "f".into(),
                attachment: photo("up1"),
            },
        ));
        assert_eq!(t.state(), ConversationState::Assistant);
        assert!(!t.rating_due());
    }

    #[test]
    fn a_refused_message_stays_marked_failed_until_acknowledged() {
        let mut t = Transcript::new(Audience::Visitor);
        t.push_pending("a".into(), Outgoing::Message { text: "hi".into() });
        assert_eq!(
            t.fail("a", "Too long"),
            Some(Outgoing::Message { text: "hi".into() })
        );
        assert_eq!(t.fail("nope", "x"), None);
        let line = &t.lines()[0];
        assert_eq!(
            (line.failed.as_deref(), line.is_pending()),
            (Some("Too long"), false)
        );
        assert_eq!(t.unacked().count(), 0);
        // A stray ack (a retry that did get through) wins over the refusal.
        t.ack("a", 1);
        assert_eq!(t.lines()[0].failed, None);
    }
}
