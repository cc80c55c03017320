//! The widget's side of the visitor socket, as a plain state machine.
//!
//! [`Session`] turns what happens on the socket (opened, a frame arrived,
//! dropped) and what the visitor does (say, ask for a person) into frames to
//! send and [`Effect`]s for the browser layer to carry out. It owns the
//! [`Transcript`], so the rules "say hello with the last seq", "resend what
//! was not acknowledged after `welcome`, with the same client id" and "never
//! clear the transcript on a reconnect" live here and are tested natively,
//! as are typing indicators, read receipts, the rating and sharing files
//! (uploading, then an `attach` frame that is pending and resent like a
//! message).

use baton_shared::domain::{Attachment, ConversationState, EventBody, IdentityClaim, Rating, Seq};
use baton_shared::protocol::{DEFAULT_MAX_TEXT_CHARS, ErrorCode, VisitorRequest, VisitorUpdate};

use crate::transcript::{Audience, Author, Line, Outgoing, Pending, Transcript};

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
    /// The server does not let this page open the chat (its origin is
    /// not allowed): no more attempts until the page loads again.
    Refused,
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
    /// The server refused this page: stop connecting, and tell the site's
    /// owner (the browser console) what the server said to change.
    Refused(String),
}

/// What the status line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Reconnecting,
    /// The server refused this page: the chat cannot work here.
    Unavailable,
    /// A voice message is being recorded.
    Recording,
    /// The server's last error message, as it wrote it.
    Problem(String),
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

/// A file on its way to the server (`POST /api/uploads`), before it can
/// be shared: shown as a pending line, or a failed one with the reason.
#[derive(Clone, Debug, PartialEq)]
struct Upload {
    client_id: String,
    file: Attachment,
    failed: Option<String>,
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
    /// Who the host page says the visitor is; sent with every `hello`.
    identity: Option<IdentityClaim>,
    /// The page the host says the visitor is on (`Baton('set', {page})`),
    /// sent with every `hello` instead of the browser's address.
    page: Option<String>,
    /// What the host page says about the visitor's context (`Baton('set',
    /// {metadata})`): goes with every `hello`, for the team to see.
    metadata: Vec<(String, String)>,
    /// Who is typing on the team's side (an agent, or the assistant
    /// preparing an answer).
    typing: Option<String>,
    /// The assistant's answer so far while it streams in: (name, text).
    draft: Option<(String, String)>,
    /// What the server was last told about the visitor typing.
    visitor_typing: bool,
    /// The last `seq` reported as read.
    read: Seq,
    /// Files being uploaded, or whose upload failed, in the order chosen.
    uploads: Vec<Upload>,
    /// Whether the microphone is recording a voice message.
    recording: bool,
}

impl Session {
    pub fn new(token: Option<String>) -> Self {
        Self {
            transcript: Transcript::new(Audience::Visitor),
            token,
            connection: Connection::Idle,
            been_live: false,
            problem: None,
            identity: None,
            page: None,
            metadata: Vec::new(),
            typing: None,
            draft: None,
            visitor_typing: false,
            read: 0,
            uploads: Vec::new(),
            recording: false,
        }
    }

    /// The host page said who the visitor is (`Baton('identify', …)`): it
    /// goes with the next `hello`, the first or the next reconnect's.
    pub fn identify(&mut self, identity: Option<IdentityClaim>) {
        self.identity = identity;
    }

    /// The host page named the page the visitor is on; `None` goes back to
    /// the browser's address. Used from the next `hello`.
    pub fn set_page(&mut self, page: Option<String>) {
        self.page = page.filter(|p| !p.is_empty());
    }

    /// The host page's facts about the visitor (replacing earlier ones).
    pub fn set_metadata(&mut self, metadata: Vec<(String, String)>) {
        self.metadata = metadata;
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The conversation's token: uploads carry it (`X-Baton-Token`), so the
    /// visitor can share files once the server has given one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn connection(&self) -> Connection {
        self.connection
    }

    /// The link started opening a socket.
    pub fn connecting(&mut self) {
        self.connection = Connection::Connecting;
    }

    /// The socket is open: the first frame must be `hello`. `location` is
    /// the browser's address, sent unless the host page named the page.
    pub fn opened(&mut self, location: Option<String>) -> VisitorRequest {
        self.connection = Connection::Connecting;
        VisitorRequest::Hello {
            token: self.token.clone(),
            last_seq: self.transcript.last_seq(),
            page: self.page.clone().or(location),
            identity: self.identity.clone(),
            metadata: self.metadata.clone(),
        }
    }

    /// The socket closed: whatever was typing on either side is unknown now.
    pub fn dropped(&mut self) {
        if self.connection != Connection::Refused {
            self.connection = Connection::Down;
        }
        self.typing = None;
        // A stream cut off mid-answer is answered in full after `welcome`.
        self.draft = None;
        self.visitor_typing = false;
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
                self.typing = None;
                self.draft = None;
                self.visitor_typing = false;
                effects.extend(self.transcript.unacked().map(|p| Effect::Send(frame(p))));
            }
            VisitorUpdate::Event { event } => {
                // The answer being typed arrived, or someone else responds now.
                let done = match &event.body {
                    EventBody::Assistant { name, .. }
                    | EventBody::Agent { name, .. }
                    | EventBody::AgentAttachment { name, .. } => self.typing.as_ref() == Some(name),
                    body => {
                        body.new_responder().is_some()
                            || matches!(body, EventBody::AgentLeft { .. } | EventBody::Closed)
                    }
                };
                if done {
                    self.typing = None;
                }
                // The stored answer replaces the draft; so does a handoff.
                if !matches!(
                    event.body,
                    EventBody::Visitor { .. }
                        | EventBody::VisitorAttachment { .. }
                        | EventBody::Rated { .. }
                ) {
                    self.draft = None;
                }
                self.transcript.apply(event);
            }
            VisitorUpdate::Ack { client_id, seq } => {
                self.transcript.ack(&client_id, seq);
                self.problem = None;
            }
            VisitorUpdate::Typing { name, typing } => self.typing = typing.then_some(name),
            // Each draft frame carries the whole text so far; an empty one
            // withdraws it.
            VisitorUpdate::Draft { name, text } => {
                self.typing = None;
                self.draft = (!text.is_empty()).then_some((name, text));
            }
            VisitorUpdate::Error {
                code: ErrorCode::UnknownToken,
                ..
            } => {
                self.token = None;
                self.read = 0;
                self.transcript.forget_log();
                effects.push(Effect::StartOver);
            }
            VisitorUpdate::Error {
                code: ErrorCode::OriginNotAllowed,
                message,
                ..
            } => {
                self.connection = Connection::Refused;
                effects.push(Effect::Refused(message));
            }
            VisitorUpdate::Error {
                code,
                message,
                client_id,
            } => {
                let refused = client_id.and_then(|id| self.transcript.fail(&id, &message));
                match refused {
                    // The message (or file) itself says it failed, and why.
                    Some(Outgoing::Message { .. } | Outgoing::Attachment { .. }) => {}
                    // Asking for a person twice: the first request stands.
                    Some(Outgoing::HumanRequest) | None if code == ErrorCode::Conflict => {
                        self.transcript.drop_human_requests()
                    }
                    _ => self.problem = Some(message),
                }
            }
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

    /// The visitor chose a file (or recorded a voice message): it shows at
    /// once, pending, while its bytes go up. `client_id` names it until it
    /// is stored, and goes with its `attach` frame.
    pub fn upload_started(&mut self, client_id: String, name: &str, content_type: &str, size: u64) {
        self.uploads.push(Upload {
            client_id,
            file: Attachment {
                id: String::new(),
                name: name.to_owned(),
                content_type: content_type.to_owned(),
                size,
            },
            failed: None,
        });
    }

    /// The server took the upload: it is shared with an `attach` frame,
    /// pending and resent until acknowledged, like a message. Returns the
    /// frame to send now, if the socket is live.
    pub fn uploaded(&mut self, client_id: &str, attachment: Attachment) -> Option<VisitorRequest> {
        let index = self.uploads.iter().position(|u| u.client_id == client_id)?;
        let upload = self.uploads.remove(index);
        self.send(upload.client_id, Outgoing::Attachment { attachment })
    }

    /// The upload failed, for this reason (shown under the file's line).
    pub fn upload_failed(&mut self, client_id: &str, reason: String) {
        if let Some(upload) = self.uploads.iter_mut().find(|u| u.client_id == client_id) {
            upload.failed = Some(reason);
        }
    }

    /// Something went wrong in the browser (no microphone, say): shown in
    /// the status line until things work again.
    pub fn report(&mut self, problem: String) {
        self.problem = Some(problem);
    }

    /// The microphone started or stopped recording a voice message.
    pub fn set_recording(&mut self, recording: bool) {
        self.recording = recording;
        if recording {
            self.problem = None;
        }
    }

    pub fn recording(&self) -> bool {
        self.recording
    }

    /// The lines to show: the transcript's, then files still uploading (or
    /// whose upload failed).
    pub fn lines(&self) -> Vec<Line> {
        let mut lines = self.transcript.lines();
        lines.extend(self.uploads.iter().map(|u| Line {
            seq: None,
            client_id: Some(u.client_id.clone()),
            author: Author::Visitor,
            name: None,
            text: u.file.name.clone(),
            at: None,
            articles: Vec::new(),
            choices: Vec::new(),
            confidence: None,
            failed: u.failed.clone(),
            kind: None,
            attachment: Some(u.file.clone()),
        }));
        lines
    }

    /// The visitor rates the team's help, with an optional comment. Only
    /// while a rating is due (see [`Transcript::rating_due`]).
    pub fn rate(
        &mut self,
        client_id: String,
        rating: Rating,
        comment: &str,
    ) -> Option<VisitorRequest> {
        if !self.transcript.rating_due() {
            return None;
        }
        let comment = comment.trim();
        let comment =
            (!comment.is_empty()).then(|| comment.chars().take(DEFAULT_MAX_TEXT_CHARS).collect());
        self.send(client_id, Outgoing::Rating { rating, comment })
    }

    /// Whether to ask the visitor for a rating now.
    pub fn rating_due(&self) -> bool {
        self.transcript.rating_due()
    }

    /// The visitor started or stopped typing. The frame goes out only on a
    /// change, and only on a live socket (a new socket starts at "not
    /// typing").
    pub fn set_typing(&mut self, typing: bool) -> Option<VisitorRequest> {
        if self.connection != Connection::Live || self.visitor_typing == typing {
            return None;
        }
        self.visitor_typing = typing;
        Some(VisitorRequest::Typing { typing })
    }

    /// Who on the team's side is typing, for "Mia is typing…".
    pub fn typing(&self) -> Option<&str> {
        self.typing.as_deref()
    }

    /// The assistant's answer as it streams in, (name, text so far), until
    /// the stored answer (or a handoff) replaces it.
    pub fn draft(&self) -> Option<(&str, &str)> {
        self.draft.as_ref().map(|(n, t)| (n.as_str(), t.as_str()))
    }

    /// The visitor can see the transcript (`visible`: the panel is open and
    /// the page is in view). Reports everything received so far as read,
    /// once per new `seq`.
    pub fn seen(&mut self, visible: bool) -> Option<VisitorRequest> {
        let seq = self.transcript.last_seq();
        if !visible || self.connection != Connection::Live || seq <= self.read {
            return None;
        }
        self.read = seq;
        Some(VisitorRequest::Read { seq })
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
    pub fn status(&self) -> Option<Status> {
        match self.connection {
            Connection::Idle => None,
            Connection::Connecting if !self.been_live => Some(Status::Connecting),
            Connection::Connecting | Connection::Down => Some(Status::Reconnecting),
            Connection::Refused => Some(Status::Unavailable),
            Connection::Live if self.recording => Some(Status::Recording),
            Connection::Live => self.problem.clone().map(Status::Problem),
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
        Outgoing::Rating { rating, comment } => VisitorRequest::Rate {
            client_id,
            rating: *rating,
            comment: comment.clone(),
        },
        Outgoing::Attachment { attachment } => VisitorRequest::Attach {
            client_id,
            upload: attachment.id.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use baton_shared::domain::{Event, EventBody, Responder};

    use super::*;
    use crate::transcript::Author;

    fn live() -> Session {
        let mut s = Session::new(Some("tok".into()));
        s.opened(None);
        s.receive(welcome(None));
        s
    }

    fn error(code: ErrorCode, message: &str, client_id: Option<&str>) -> VisitorUpdate {
        VisitorUpdate::Error {
            code,
            message: message.into(),
            client_id: client_id.map(str::to_owned),
        }
    }

    fn mia_says(seq: u64, text: &str) -> VisitorUpdate {
        event(
            seq,
            EventBody::Agent {
                name: "Mia".into(),
                client_id: format!("m{seq}"),
                text: text.into(),
            },
        )
    }

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
    fn the_page_and_metadata_the_host_names_go_with_the_next_hello() {
        let mut s = Session::new(None);
        let page = |hello| match hello {
            VisitorRequest::Hello { page, .. } => page,
            other => panic!("{other:?}"),
        };
        let metadata = |hello| match hello {
            VisitorRequest::Hello { metadata, .. } => metadata,
            other => panic!("{other:?}"),
        };
        assert!(
            metadata(s.opened(None)).is_empty(),
            "none unless the page says"
        );
        assert_eq!(
            page(s.opened(Some("https://shop.example/a".into()))).as_deref(),
            Some("https://shop.example/a"),
            "the browser's address by default"
        );
        s.set_page(Some("Checkout".into()));
        s.set_metadata(vec![("plan".into(), "pro".into())]);
        assert_eq!(
            page(s.opened(Some("https://shop.example/a".into()))).as_deref(),
            Some("Checkout")
        );
        assert_eq!(
            metadata(s.opened(None)),
            [("plan".to_string(), "pro".to_string())]
        );
        s.set_page(Some(String::new()));
        assert_eq!(
            page(s.opened(Some("https://shop.example/b".into()))).as_deref(),
            Some("https://shop.example/b"),
            "an empty page goes back to the address"
        );
    }

    #[test]
    fn a_new_visitor_says_hello_without_a_token_and_keeps_the_one_it_gets() {
        let mut s = Session::new(None);
        assert_eq!(s.status(), None, "nothing happens before the panel opens");
        s.connecting();
        assert_eq!(s.status(), Some(Status::Connecting));
        let hello = s.opened(Some("https://shop.example/cart".into()));
        assert_eq!(
            hello,
            VisitorRequest::Hello {
                token: None,
                last_seq: 0,
                page: Some("https://shop.example/cart".into()),
                identity: None,
                metadata: Vec::new(),
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
        assert_eq!(s.status(), Some(Status::Reconnecting));
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
        assert_eq!(s.status(), Some(Status::Reconnecting));
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
            client_id: None,
        });
        assert_eq!(s.human_button(), HumanButton::Offer);
    }

    #[test]
    fn a_refused_page_says_the_chat_is_unavailable_and_stops() {
        let mut s = Session::new(None);
        s.connecting();
        s.opened(None);
        let effects = s.receive(VisitorUpdate::Error {
            code: ErrorCode::OriginNotAllowed,
            message: "add it".into(),
            client_id: None,
        });
        assert_eq!(effects, [Effect::Refused("add it".into())]);
        assert_eq!(s.status(), Some(Status::Unavailable));
        s.dropped();
        assert_eq!(s.status(), Some(Status::Unavailable), "not reconnecting");
        assert_eq!(s.connection(), Connection::Refused);
    }

    #[test]
    fn an_unknown_token_starts_over_but_keeps_what_the_visitor_wrote() {
        let mut s = Session::new(Some("stale".into()));
        s.opened(None);
        s.say("a".into(), "hello?");
        let effects = s.receive(VisitorUpdate::Error {
            code: ErrorCode::UnknownToken,
            message: "unknown".into(),
            client_id: None,
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
            client_id: None,
        });
        assert_eq!(s.status(), Some(Status::Problem("Slow down".into())));
        s.receive(VisitorUpdate::Ack {
            client_id: "x".into(),
            seq: 1,
        });
        assert_eq!(s.status(), None);
    }

    #[test]
    fn the_identity_goes_with_every_hello_from_when_it_is_known() {
        let mut s = Session::new(None);
        let claim = IdentityClaim {
            user_id: "42".into(),
            name: Some("Ana".into()),
            user_hash: Some("abc".into()),
            ..IdentityClaim::default()
        };
        s.identify(Some(claim.clone()));
        let VisitorRequest::Hello { identity, .. } = s.opened(None) else {
            panic!()
        };
        assert_eq!(identity.as_ref(), Some(&claim), "into the first hello");
        s.receive(welcome(Some("t")));

        // Identified again while the conversation runs: the next hello.
        let other = IdentityClaim {
            user_id: "43".into(),
            ..IdentityClaim::default()
        };
        s.identify(Some(other.clone()));
        s.dropped();
        let VisitorRequest::Hello { identity, .. } = s.opened(None) else {
            panic!()
        };
        assert_eq!(identity, Some(other));
    }

    #[test]
    fn a_refused_message_is_marked_failed_with_the_reason_and_never_resent() {
        let mut s = live();
        s.say("a".into(), "way too long");
        s.say("b".into(), "fine");
        s.receive(error(
            ErrorCode::Invalid,
            "Messages are limited to 4000 characters.",
            Some("a"),
        ));
        let lines = s.transcript.lines();
        assert_eq!(
            lines[0].failed.as_deref(),
            Some("Messages are limited to 4000 characters.")
        );
        assert!(!lines[0].is_pending(), "no longer pending");
        assert_eq!(lines[0].key(), "a!", "redrawn as failed");
        assert!(lines[1].is_pending() && lines[1].failed.is_none());
        assert_eq!(s.status(), None, "the message itself says what went wrong");

        s.dropped();
        s.opened(None);
        assert_eq!(
            s.receive(welcome(None)),
            [Effect::Send(say("b", "fine"))],
            "the refused one is not sent again"
        );
    }

    #[test]
    fn errors_naming_nothing_pending_still_show_in_the_status_line() {
        let mut s = live();
        s.receive(error(ErrorCode::RateLimited, "Slow down", Some("gone")));
        assert_eq!(s.status(), Some(Status::Problem("Slow down".into())));
    }

    #[test]
    fn a_refused_human_request_naming_its_client_id_frees_the_button() {
        let mut s = live();
        s.request_human("h".into());
        s.receive(error(ErrorCode::Conflict, "already waiting", Some("h")));
        assert_eq!(s.human_button(), HumanButton::Offer);
        assert_eq!(s.status(), None);
    }

    #[test]
    fn the_team_typing_shows_until_the_answer_or_a_stop() {
        let mut s = live();
        assert_eq!(s.typing(), None);
        s.receive(VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: true,
        });
        assert_eq!(s.typing(), Some("Mia"));
        s.receive(VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: false,
        });
        assert_eq!(s.typing(), None);

        s.receive(VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: true,
        });
        s.receive(event(
            1,
            EventBody::Visitor {
                client_id: "v".into(),
                text: "hello?".into(),
            },
        ));
        assert_eq!(
            s.typing(),
            Some("Mia"),
            "the visitor writing changes nothing"
        );
        s.receive(mia_says(2, "Here you go"));
        assert_eq!(s.typing(), None, "the answer arrived");

        s.receive(VisitorUpdate::Typing {
            name: "Nora".into(),
            typing: true,
        });
        s.dropped();
        assert_eq!(s.typing(), None, "unknown once the socket drops");
    }

    #[test]
    fn the_team_typing_stops_when_the_responder_changes() {
        let mut s = live();
        s.receive(VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: true,
        });
        s.receive(event(1, EventBody::AgentLeft { name: "Mia".into() }));
        assert_eq!(s.typing(), None);
    }

    fn draft(text: &str) -> VisitorUpdate {
        VisitorUpdate::Draft {
            name: "Nora".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_streamed_draft_grows_and_gives_way_to_the_stored_answer() {
        let mut s = live();
        s.receive(VisitorUpdate::Typing {
            name: "Nora".into(),
            typing: true,
        });
        s.receive(draft("Refunds"));
        assert_eq!(s.draft(), Some(("Nora", "Refunds")));
        assert_eq!(s.typing(), None, "the draft shows instead of the dots");
        s.receive(draft("Refunds take 5 days"));
        assert_eq!(s.draft(), Some(("Nora", "Refunds take 5 days")));
        s.receive(event(
            1,
            EventBody::Visitor {
                client_id: "v".into(),
                text: "and?".into(),
            },
        ));
        assert!(s.draft().is_some(), "the visitor writing changes nothing");
        s.receive(event(
            2,
            EventBody::Assistant {
                name: "Nora".into(),
                text: "Refunds take 5 days.".into(),
                articles: vec![],
                confidence: None,
                choices: vec![],
            },
        ));
        assert_eq!(s.draft(), None, "the stored answer replaces it");

        s.receive(draft("Maybe"));
        s.receive(draft(""));
        assert_eq!(s.draft(), None, "an empty draft withdraws it");
        s.receive(draft("Maybe"));
        s.receive(event(
            3,
            EventBody::HandoffStarted {
                notice: "A person is coming".into(),
            },
        ));
        assert_eq!(s.draft(), None, "a handoff withdraws it");
        s.receive(draft("Half"));
        s.dropped();
        assert_eq!(s.draft(), None, "a dropped socket ends the stream");
    }

    #[test]
    fn the_visitor_typing_is_sent_only_on_changes_and_only_when_live() {
        let mut s = Session::new(None);
        assert_eq!(s.set_typing(true), None, "no socket yet");
        s.opened(None);
        assert_eq!(s.set_typing(true), None, "no welcome yet");
        s.receive(welcome(Some("t")));
        assert_eq!(
            s.set_typing(true),
            Some(VisitorRequest::Typing { typing: true })
        );
        assert_eq!(s.set_typing(true), None, "no spam");
        assert_eq!(
            s.set_typing(false),
            Some(VisitorRequest::Typing { typing: false })
        );
        assert_eq!(s.set_typing(false), None);

        s.set_typing(true);
        s.dropped();
        s.opened(None);
        s.receive(welcome(None));
        assert_eq!(
            s.set_typing(true),
            Some(VisitorRequest::Typing { typing: true }),
            "a new socket starts at not typing"
        );
    }

    #[test]
    fn read_receipts_go_out_while_visible_and_only_when_the_seq_grows() {
        let mut s = live();
        assert_eq!(s.seen(true), None, "nothing to read yet");
        s.receive(mia_says(1, "Hi"));
        s.receive(mia_says(2, "Still there?"));
        assert_eq!(
            s.seen(false),
            None,
            "the panel is closed or the page hidden"
        );
        assert_eq!(s.seen(true), Some(VisitorRequest::Read { seq: 2 }));
        assert_eq!(s.seen(true), None, "only when it increases");

        s.receive(mia_says(3, "Ok"));
        s.dropped();
        assert_eq!(s.seen(true), None, "not while offline");
        s.opened(None);
        s.receive(welcome(None));
        assert_eq!(s.seen(true), Some(VisitorRequest::Read { seq: 3 }));
    }

    #[test]
    fn after_the_close_one_click_rates_and_the_prompt_goes() {
        let mut s = live();
        s.receive(event(1, EventBody::AgentJoined { name: "Mia".into() }));
        assert!(!s.rating_due());
        assert_eq!(
            s.rate("r".into(), Rating::Good, ""),
            None,
            "not before the close"
        );

        s.receive(event(2, EventBody::Closed));
        assert!(s.rating_due());
        assert_eq!(
            s.rate("r".into(), Rating::Bad, "  too slow \n"),
            Some(VisitorRequest::Rate {
                client_id: "r".into(),
                rating: Rating::Bad,
                comment: Some("too slow".into()),
            })
        );
        assert!(!s.rating_due(), "sent: the prompt goes at once");
        assert_eq!(s.rate("r2".into(), Rating::Good, ""), None, "once");
        let thanks = s.transcript.lines().last().cloned().unwrap();
        assert_eq!(
            (thanks.author, thanks.text.as_str()),
            (Author::Notice, "Thanks for your feedback")
        );

        s.receive(VisitorUpdate::Ack {
            client_id: "r".into(),
            seq: 3,
        });
        s.receive(event(
            3,
            EventBody::Rated {
                client_id: "r".into(),
                rating: Rating::Bad,
                comment: Some("too slow".into()),
            },
        ));
        assert!(!s.rating_due());
        let lines = s.transcript.lines();
        assert_eq!(lines.last().unwrap().text, "Thanks for your feedback");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.text.starts_with("Thanks"))
                .count(),
            1
        );
        assert_eq!(s.transcript.unacked().count(), 0);
    }

    #[test]
    fn an_empty_comment_is_left_out_and_a_refused_rating_asks_again() {
        let mut s = live();
        s.receive(event(1, EventBody::Closed));
        assert_eq!(
            s.rate("r".into(), Rating::Good, "   "),
            Some(VisitorRequest::Rate {
                client_id: "r".into(),
                rating: Rating::Good,
                comment: None,
            })
        );
        s.receive(error(ErrorCode::RateLimited, "Slow down", Some("r")));
        assert!(s.rating_due(), "the prompt is back");
        assert_eq!(s.status(), Some(Status::Problem("Slow down".into())));
    }

    #[test]
    fn a_rating_made_offline_goes_out_after_welcome() {
        let mut s = live();
        s.receive(event(1, EventBody::Closed));
        s.dropped();
        assert_eq!(s.rate("r".into(), Rating::Good, ""), None);
        s.opened(None);
        assert_eq!(
            s.receive(welcome(None)),
            [Effect::Send(VisitorRequest::Rate {
                client_id: "r".into(),
                rating: Rating::Good,
                comment: None,
            })]
        );
    }

    fn voice(id: &str) -> Attachment {
        Attachment {
            id: id.into(),
            name: "voice-message.webm".into(),
            content_type: "audio/webm".into(),
            size: 5000,
        }
    }

    fn attach(id: &str, upload: &str) -> VisitorRequest {
        VisitorRequest::Attach {
            client_id: id.into(),
            upload: upload.into(),
        }
    }

    #[test]
    fn a_file_shows_while_uploading_then_is_shared_and_pending_until_its_event() {
        let mut s = live();
        assert_eq!(s.token(), Some("tok"), "uploads carry the token");
        s.say("a".into(), "here is my receipt");
        s.upload_started("f".into(), "voice-message.webm", "audio/webm", 5000);
        let lines = s.lines();
        let uploading = &lines[1];
        assert!(uploading.is_uploading() && uploading.is_pending());
        assert_eq!(
            (uploading.author, uploading.text.as_str(), uploading.key()),
            (Author::Visitor, "voice-message.webm", "f^".to_string())
        );
        assert_eq!(
            s.transcript.unacked().count(),
            1,
            "nothing to share before the server has the bytes"
        );

        assert_eq!(s.uploaded("f", voice("up1")), Some(attach("f", "up1")));
        let lines = s.lines();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].is_pending() && !lines[1].is_uploading());
        assert_eq!(lines[1].key(), "f", "redrawn: a new key");
        assert_eq!(s.uploaded("f", voice("up1")), None, "once");

        s.receive(VisitorUpdate::Ack {
            client_id: "f".into(),
            seq: 2,
        });
        s.receive(event(
            1,
            EventBody::Visitor {
                client_id: "a".into(),
                text: "here is my receipt".into(),
            },
        ));
        s.receive(event(
            2,
            EventBody::VisitorAttachment {
                client_id: "f".into(),
                attachment: voice("up1"),
            },
        ));
        let lines = s.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (lines[1].seq, lines[1].attachment.as_ref()),
            (Some(2), Some(&voice("up1")))
        );
    }

    #[test]
    fn a_file_shared_offline_goes_out_after_welcome_and_a_refusal_marks_it() {
        let mut s = live();
        s.upload_started("f".into(), "a.png", "image/png", 10);
        s.dropped();
        assert_eq!(s.uploaded("f", voice("up1")), None, "not while offline");
        s.opened(None);
        assert_eq!(s.receive(welcome(None)), [Effect::Send(attach("f", "up1"))]);
        s.receive(error(ErrorCode::Invalid, "no upload of yours", Some("f")));
        let line = &s.lines()[0];
        assert_eq!(line.failed.as_deref(), Some("no upload of yours"));
        assert_eq!(s.status(), None, "the file itself says what went wrong");
        s.dropped();
        s.opened(None);
        assert_eq!(s.receive(welcome(None)), [], "never resent");
    }

    #[test]
    fn a_failed_upload_stays_with_its_reason_and_is_never_shared() {
        let mut s = live();
        s.upload_started("f".into(), "big.pdf", "application/pdf", 50_000_000);
        s.upload_failed("f", "The file is too large.".into());
        let line = &s.lines()[0];
        assert_eq!(
            (line.failed.as_deref(), line.is_pending(), line.key()),
            (Some("The file is too large."), false, "f!".to_string())
        );
        assert_eq!(s.transcript.unacked().count(), 0);
    }

    #[test]
    fn a_problem_in_the_browser_shows_in_the_status_line() {
        let mut s = live();
        s.report("No microphone".into());
        assert_eq!(s.status(), Some(Status::Problem("No microphone".into())));
    }

    #[test]
    fn recording_shows_in_the_status_line_while_it_lasts() {
        let mut s = live();
        s.report("No microphone".into());
        s.set_recording(true);
        assert!(s.recording());
        assert_eq!(s.status(), Some(Status::Recording), "it works now");
        s.dropped();
        assert_eq!(s.status(), Some(Status::Reconnecting), "the socket first");
        s.opened(None);
        s.receive(welcome(None));
        assert_eq!(s.status(), Some(Status::Recording));
        s.set_recording(false);
        assert_eq!(s.status(), None);
    }

    #[test]
    fn the_agents_file_ends_their_typing_and_the_visitors_keeps_the_draft() {
        let mut s = live();
        s.receive(VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: true,
        });
        s.receive(event(
            1,
            EventBody::AgentAttachment {
                name: "Mia".into(),
                client_id: "m".into(),
                attachment: voice("up9"),
            },
        ));
        assert_eq!(s.typing(), None);
        s.receive(VisitorUpdate::Draft {
            name: "Nora".into(),
            text: "Refunds".into(),
        });
        s.receive(event(
            2,
            EventBody::VisitorAttachment {
                client_id: "f".into(),
                attachment: voice("up1"),
            },
        ));
        assert!(s.draft().is_some());
    }

    #[test]
    fn the_agent_handing_back_to_the_team_looks_like_waiting_after_a_handoff() {
        let mut s = live();
        s.receive(event(
            1,
            EventBody::HandoffStarted {
                notice: "Bringing in a person".into(),
            },
        ));
        s.receive(event(2, EventBody::AgentJoined { name: "Mia".into() }));
        s.receive(event(3, EventBody::AgentLeft { name: "Mia".into() }));
        assert_eq!(s.transcript.state(), ConversationState::Queued);
        assert_eq!(s.transcript.responder().unwrap().name(), "Nora");
        assert_eq!(s.human_button(), HumanButton::OnTheWay);
        assert_eq!(
            s.transcript.lines().last().unwrap().text,
            "Mia handed your conversation back to the team"
        );
        s.receive(event(4, EventBody::AgentJoined { name: "Leo".into() }));
        assert_eq!(s.transcript.responder().unwrap().name(), "Leo");
    }
}
