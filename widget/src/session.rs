//! The widget's side of the visitor socket, as a plain state machine.
//!
//! [`Session`] turns what happens on the socket (opened, a frame arrived,
//! dropped) and what the visitor does (say, ask for a person) into frames to
//! send and [`Effect`]s for the browser layer to carry out. It owns the
//! [`Transcript`], so the rules "say hello with the last seq", "resend what
//! was not acknowledged after `welcome`, with the same client id" and "never
//! clear the transcript on a reconnect" live here and are tested natively.

use baton_shared::domain::ConversationState;
use baton_shared::protocol::{DEFAULT_MAX_TEXT_CHARS, ErrorCode, VisitorRequest, VisitorUpdate};

use crate::transcript::{Audience, Outgoing, Pending, Transcript};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// No socket yet: a visitor without a conversation has not opened the
    /// panel, so no conversation is created for them.
    Idle,
    /// Opening the socket, or waiting for `welcome`.
    Connecting,
    Live,
    /// Dropped; the link reconnects by itself.
    Down,
}

/// What the browser layer must do besides sending frames.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Send(VisitorRequest),
    /// A new conversation started: keep its token for the next page load.
    StoreToken(String),
    /// The stored conversation is gone: forget its token and reconnect as a
    /// new visitor.
    StartOver,
}

/// The "Talk to a human" button's face.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HumanButton {
    Offer,
    /// Requested, or queued: disabled, saying a person is on the way.
    OnTheWay,
    /// A person is in the conversation.
    Hidden,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub transcript: Transcript,
    token: Option<String>,
    connection: Connection,
    /// Whether a `welcome` ever arrived, to tell "Connecting…" from
    /// "Reconnecting…".
    been_live: bool,
    /// The last error the server reported, shown until things work again.
    problem: Option<String>,
}

impl Session {
    pub fn new(token: Option<String>) -> Self {
        Self {
            transcript: Transcript::new(Audience::Visitor),
            token,
            connection: Connection::Idle,
            been_live: false,
            problem: None,
        }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn connection(&self) -> Connection {
        self.connection
    }

    /// The link started opening a socket.
    pub fn connecting(&mut self) {
        self.connection = Connection::Connecting;
    }

    /// The socket is open: the first frame must be `hello`.
    pub fn opened(&mut self, page: Option<String>) -> VisitorRequest {
        self.connection = Connection::Connecting;
        VisitorRequest::Hello {
            token: self.token.clone(),
            last_seq: self.transcript.last_seq(),
            page,
        }
    }

    pub fn dropped(&mut self) {
        self.connection = Connection::Down;
    }

    pub fn receive(&mut self, update: VisitorUpdate) -> Vec<Effect> {
        let mut effects = Vec::new();
        match update {
            VisitorUpdate::Welcome {
                token,
                state,
                responder,
            } => {
                if let Some(token) = token {
                    self.token = Some(token.clone());
                    effects.push(Effect::StoreToken(token));
                }
                self.transcript.baseline(state, responder);
                self.connection = Connection::Live;
                self.been_live = true;
                self.problem = None;
                effects.extend(self.transcript.unacked().map(|p| Effect::Send(frame(p))));
            }
            VisitorUpdate::Event { event } => {
                self.transcript.apply(event);
            }
            VisitorUpdate::Ack { client_id, seq } => {
                self.transcript.ack(&client_id, seq);
                self.problem = None;
            }
            VisitorUpdate::Error {
                code: ErrorCode::UnknownToken,
                ..
            } => {
                self.token = None;
                self.transcript.forget_log();
                effects.push(Effect::StartOver);
            }
            // Asking for a person twice: the first request stands.
            VisitorUpdate::Error {
                code: ErrorCode::Conflict,
                ..
            } => {
                self.transcript.drop_human_requests();
            }
            VisitorUpdate::Error { message, .. } => self.problem = Some(message),
        }
        effects
    }

    /// The visitor sends a message. Returns the frame to send now, if the
    /// socket is live; otherwise it goes out after the next `welcome`.
    pub fn say(&mut self, client_id: String, text: &str) -> Option<VisitorRequest> {
        if text.trim().is_empty() {
            return None;
        }
        let text: String = text.chars().take(DEFAULT_MAX_TEXT_CHARS).collect();
        self.send(client_id, Outgoing::Message { text })
    }

    /// The "Talk to a human" button.
    pub fn request_human(&mut self, client_id: String) -> Option<VisitorRequest> {
        if self.human_button() != HumanButton::Offer {
            return None;
        }
        self.send(client_id, Outgoing::HumanRequest)
    }

    fn send(&mut self, client_id: String, what: Outgoing) -> Option<VisitorRequest> {
        self.transcript.push_pending(client_id, what);
        let pending = self.transcript.unacked().last()?;
        (self.connection == Connection::Live).then(|| frame(pending))
    }

    /// The text of the status line, if there is anything to say.
    pub fn status(&self) -> Option<String> {
        match self.connection {
            Connection::Idle => None,
            Connection::Connecting if !self.been_live => Some("Connecting…".into()),
            Connection::Connecting | Connection::Down => Some("Reconnecting…".into()),
            Connection::Live => self.problem.clone(),
        }
    }

    pub fn human_button(&self) -> HumanButton {
        match self.transcript.state() {
            ConversationState::Human => HumanButton::Hidden,
            ConversationState::Queued => HumanButton::OnTheWay,
            _ if self.transcript.human_requested() => HumanButton::OnTheWay,
            _ => HumanButton::Offer,
        }
    }
}

fn frame(pending: &Pending) -> VisitorRequest {
    let client_id = pending.client_id.clone();
    match &pending.what {
        Outgoing::Message { text } => VisitorRequest::Say {
            client_id,
            text: text.clone(),
        },
        Outgoing::HumanRequest => VisitorRequest::RequestHuman { client_id },
    }
}

#[cfg(test)]
mod tests {
    use baton_shared::domain::{Event, EventBody, Responder};

    use super::*;

    fn welcome(token: Option<&str>) -> VisitorUpdate {
        VisitorUpdate::Welcome {
            token: token.map(str::to_owned),
            state: ConversationState::Assistant,
            responder: Responder::Assistant {
                name: "Nora".into(),
            },
        }
    }

    fn event(seq: u64, body: EventBody) -> VisitorUpdate {
        VisitorUpdate::Event {
            event: Event { seq, at: 0, body },
        }
    }

    fn say(id: &str, text: &str) -> VisitorRequest {
        VisitorRequest::Say {
            client_id: id.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_new_visitor_says_hello_without_a_token_and_keeps_the_one_it_gets() {
        let mut s = Session::new(None);
        assert_eq!(s.status(), None, "nothing happens before the panel opens");
        s.connecting();
        assert_eq!(s.status().as_deref(), Some("Connecting…"));
        let hello = s.opened(Some("https://shop.example/cart".into()));
        assert_eq!(
            hello,
            VisitorRequest::Hello {
                token: None,
                last_seq: 0,
                page: Some("https://shop.example/cart".into())
            }
        );
        assert_eq!(
            s.receive(welcome(Some("tok"))),
            [Effect::StoreToken("tok".into())]
        );
        assert_eq!(s.status(), None);
        assert!(s.has_token());
    }

    #[test]
    fn a_reload_with_a_stored_token_asks_for_the_whole_transcript() {
        let mut s = Session::new(Some("tok".into()));
        let VisitorRequest::Hello {
            token, last_seq, ..
        } = s.opened(None)
        else {
            panic!()
        };
        assert_eq!((token.as_deref(), last_seq), (Some("tok"), 0));
        assert_eq!(
            s.receive(welcome(None)),
            [],
            "an existing conversation keeps its token"
        );
    }

    #[test]
    fn messages_written_while_offline_go_out_after_welcome_with_the_same_client_id() {
        let mut s = Session::new(Some("tok".into()));
        s.opened(None);
        s.receive(welcome(None));
        assert_eq!(s.say("a".into(), "hi"), Some(say("a", "hi")));
        s.receive(VisitorUpdate::Ack {
            client_id: "a".into(),
            seq: 1,
        });
        s.receive(event(
            1,
            EventBody::Visitor {
                client_id: "a".into(),
                text: "hi".into(),
            },
        ));

        s.dropped();
        assert_eq!(s.status().as_deref(), Some("Reconnecting…"));
        assert_eq!(
            s.say("b".into(), "still there?"),
            None,
            "not sent while down"
        );
        assert_eq!(
            s.transcript.lines().len(),
            2,
            "the transcript is never cleared"
        );

        let VisitorRequest::Hello { last_seq, .. } = s.opened(None) else {
            panic!()
        };
        assert_eq!(last_seq, 1, "only what was missed is replayed");
        assert_eq!(s.status().as_deref(), Some("Reconnecting…"));
        assert_eq!(
            s.receive(welcome(None)),
            [Effect::Send(say("b", "still there?"))]
        );
    }

    #[test]
    fn a_message_sent_but_not_acknowledged_is_resent_once_reconnected() {
        let mut s = Session::new(Some("tok".into()));
        s.opened(None);
        s.receive(welcome(None));
        s.say("a".into(), "lost ack?");
        s.dropped();
        s.opened(None);
        assert_eq!(
            s.receive(welcome(None)),
            [Effect::Send(say("a", "lost ack?"))]
        );
    }

    #[test]
    fn blank_messages_are_not_sent_and_long_ones_are_cut_to_the_limit() {
        let mut s = Session::new(None);
        assert_eq!(s.say("a".into(), "  \n "), None);
        assert!(s.transcript.lines().is_empty());
        s.say("b".into(), &"x".repeat(DEFAULT_MAX_TEXT_CHARS + 10));
        assert_eq!(
            s.transcript.lines()[0].text.chars().count(),
            DEFAULT_MAX_TEXT_CHARS
        );
    }

    #[test]
    fn the_human_button_follows_the_request_and_the_handoff() {
        let mut s = Session::new(Some("tok".into()));
        s.opened(None);
        s.receive(welcome(None));
        assert_eq!(s.human_button(), HumanButton::Offer);
        assert_eq!(
            s.request_human("h".into()),
            Some(VisitorRequest::RequestHuman {
                client_id: "h".into()
            })
        );
        assert_eq!(s.human_button(), HumanButton::OnTheWay);
        assert_eq!(
            s.request_human("h2".into()),
            None,
            "one action, not two requests"
        );

        s.receive(VisitorUpdate::Ack {
            client_id: "h".into(),
            seq: 1,
        });
        s.receive(event(
            1,
            EventBody::HandoffStarted {
                notice: "Connecting you with a person…".into(),
            },
        ));
        assert_eq!(s.human_button(), HumanButton::OnTheWay);
        s.receive(event(2, EventBody::AgentJoined { name: "Mia".into() }));
        assert_eq!(s.human_button(), HumanButton::Hidden);
        s.receive(event(
            3,
            EventBody::AssistantResumed {
                name: "Nora".into(),
            },
        ));
        assert_eq!(s.human_button(), HumanButton::Offer);
    }

    #[test]
    fn a_refused_human_request_frees_the_button() {
        let mut s = Session::new(None);
        s.request_human("h".into());
        s.receive(VisitorUpdate::Error {
            code: ErrorCode::Conflict,
            message: "already".into(),
        });
        assert_eq!(s.human_button(), HumanButton::Offer);
    }

    #[test]
    fn an_unknown_token_starts_over_but_keeps_what_the_visitor_wrote() {
        let mut s = Session::new(Some("stale".into()));
        s.opened(None);
        s.say("a".into(), "hello?");
        let effects = s.receive(VisitorUpdate::Error {
            code: ErrorCode::UnknownToken,
            message: "unknown".into(),
        });
        assert_eq!(effects, [Effect::StartOver]);
        let VisitorRequest::Hello { token, .. } = s.opened(None) else {
            panic!()
        };
        assert_eq!(token, None);
        assert_eq!(
            s.receive(welcome(Some("new"))),
            [
                Effect::StoreToken("new".into()),
                Effect::Send(say("a", "hello?"))
            ]
        );
    }

    #[test]
    fn server_errors_show_in_the_status_line_until_things_work_again() {
        let mut s = Session::new(None);
        s.opened(None);
        s.receive(welcome(Some("t")));
        s.receive(VisitorUpdate::Error {
            code: ErrorCode::RateLimited,
            message: "Slow down".into(),
        });
        assert_eq!(s.status().as_deref(), Some("Slow down"));
        s.receive(VisitorUpdate::Ack {
            client_id: "x".into(),
            seq: 1,
        });
        assert_eq!(s.status(), None);
    }
}
