//! Frames on the two WebSockets, as JSON text messages tagged by `type`.
//!
//! - `/ws/visitor`: the widget sends [`VisitorRequest`]s and receives
//!   [`VisitorUpdate`]s. The first frame must be `hello`, carrying the
//!   conversation token (none for a new conversation) and the last `seq` the
//!   widget has; the server answers `welcome` and then every event after
//!   that `seq`, then live events.
//! - `/ws/agent`: the console sends [`AgentRequest`]s and receives
//!   [`AgentUpdate`]s. The server greets with `hello` and the queue, and
//!   sends the queue again whenever it changes.
//!
//! Messages a client sends carry a client-generated `client_id`; a retry with
//! the same id is stored once and acknowledged with the original `seq`.

use serde::{Deserialize, Serialize};

use crate::domain::*;

/// Defaults the server enforces (configurable there); the clients use them
/// to stop the user before the server has to.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024;
pub const DEFAULT_MAX_TEXT_CHARS: usize = 4000;
/// Longest accepted `client_id`.
pub const MAX_CLIENT_ID_LEN: usize = 64;
/// What the server keeps of a `hello`'s `metadata`: the first entries by
/// name, names and values cut to length (as it cuts an over-long `page`).
pub const MAX_METADATA_ENTRIES: usize = 20;
pub const MAX_METADATA_NAME_CHARS: usize = 64;
pub const MAX_METADATA_VALUE_CHARS: usize = 500;
/// Longest wording an agent can teach, and longest article title.
pub const MAX_PHRASING_CHARS: usize = 300;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorRequest {
    /// Opens (or, without a token, starts) the visitor's conversation.
    Hello {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        last_seq: Seq,
        /// The URL of the page the visitor is on.
        #[serde(default)]
        page: Option<String>,
        /// Who the host page says the visitor is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<IdentityClaim>,
        /// What the host page says about the visitor's context, as
        /// (name, value) pairs; a JSON object on the wire. Replaces what an
        /// earlier `hello` said, when not empty. (Pairs, not a map: the
        /// widget would pay kilobytes for a `BTreeMap`.)
        #[serde(default, skip_serializing_if = "Vec::is_empty", with = "object_pairs")]
        metadata: Vec<(String, String)>,
    },
    /// A message typed by the visitor.
    Say { client_id: String, text: String },
    /// Share a file uploaded to `POST /api/uploads` (its id); stored as a
    /// `visitor_attachment` event and acknowledged like `say`.
    Attach { client_id: String, upload: String },
    /// The "Talk to a human" button.
    RequestHuman { client_id: String },
    /// The visitor started or stopped typing.
    Typing { typing: bool },
    /// The visitor has seen every event up to `seq` (read receipts).
    Read { seq: Seq },
    /// The satisfaction rating, once the team has closed the conversation.
    Rate {
        client_id: String,
        rating: Rating,
        #[serde(default)]
        comment: Option<String>,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorUpdate {
    Welcome {
        /// Present only when the conversation was just created: the widget
        /// must keep it to come back to the same conversation.
        token: Option<String>,
        state: ConversationState,
        responder: Responder,
    },
    Event {
        event: Event,
    },
    /// The message with this client id is durably stored as `seq`.
    Ack {
        client_id: String,
        seq: Seq,
    },
    /// The responder (an agent, or the assistant preparing an answer) is
    /// typing, or stopped.
    Typing {
        name: String,
        typing: bool,
    },
    /// The assistant's answer so far, while it is being generated (LLM
    /// backends that stream). Each frame carries the whole text so far and
    /// replaces the previous one; nothing of it is stored. The draft ends
    /// with the turn's `assistant` event, which replaces it, or with a
    /// `draft` whose `text` is empty: the draft was withheld (a handoff
    /// follows) or dropped, and must disappear.
    Draft {
        name: String,
        text: String,
    },
    /// `client_id` names the request refused, when it had one.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentRequest {
    /// Open a conversation: the server sends its detail (with the brief),
    /// every event after `last_seq`, then live events.
    Watch {
        conversation: ConversationId,
        #[serde(default)]
        last_seq: Seq,
    },
    /// Stop receiving a conversation's events.
    Unwatch {
        conversation: ConversationId,
    },
    /// Take a queued conversation. Exactly one agent wins.
    Claim {
        conversation: ConversationId,
    },
    /// Answer the visitor (the conversation must be claimed by this agent).
    Reply {
        conversation: ConversationId,
        client_id: String,
        text: String,
    },
    /// Hand the conversation back to the assistant.
    /// Share a file uploaded to `POST /api/uploads` (its id) with the
    /// visitor; only while holding the conversation. Acknowledged like
    /// `reply`.
    Attach {
        conversation: ConversationId,
        client_id: String,
        upload: String,
    },
    Resume {
        conversation: ConversationId,
    },
    /// Close the conversation; the visitor is asked for a rating.
    Close {
        conversation: ConversationId,
    },
    /// Put a held conversation back in the queue.
    Release {
        conversation: ConversationId,
    },
    /// Hand a held conversation to another agent.
    Transfer {
        conversation: ConversationId,
        to: AgentId,
    },
    /// The agent started or stopped typing a reply.
    Typing {
        conversation: ConversationId,
        typing: bool,
    },
    /// The agent's judgement of the conversation's latest handoff (was a
    /// person needed?); a later one replaces it. It becomes the expectation
    /// of the handoff's case in `baton export`.
    Verdict {
        conversation: ConversationId,
        verdict: Verdict,
    },
    /// Teach the assistant a wording from this conversation: `phrasing`
    /// becomes one more way of asking the article titled `article` (one
    /// of `GET /api/knowledge`), on every node, from the next turn on.
    /// With `answer`, the agent writes a new article under that title
    /// instead. The conversation's detail then lists the lesson.
    Teach {
        conversation: ConversationId,
        article: String,
        phrasing: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
    },
}

// A frame is built, encoded and dropped; its size in memory does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentUpdate {
    /// Who is signed in, and the team (for transfers).
    Hello {
        agent: AgentRef,
        team: Vec<AgentRef>,
    },
    /// The conversations waiting for a person or held by one, oldest first.
    Queue {
        entries: Vec<QueueEntry>,
    },
    /// A watched conversation's detail, sent on `watch` and on every state
    /// change.
    Conversation {
        detail: ConversationDetail,
    },
    Event {
        conversation: ConversationId,
        event: Event,
    },
    Ack {
        client_id: String,
        seq: Seq,
    },
    /// The visitor of a watched conversation is typing, or stopped.
    Typing {
        conversation: ConversationId,
        typing: bool,
    },
    /// The visitor of a watched conversation has seen everything up to
    /// `seq`.
    Read {
        conversation: ConversationId,
        seq: Seq,
    },
    /// `client_id` names the request refused, when it had one.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

/// Machine-readable error kinds; every error frame also has a message for
/// people.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not a known frame, or a field of the wrong shape.
    BadFrame,
    /// The frame is over the size limit.
    TooLarge,
    /// A text or field is too long or empty.
    Invalid,
    /// The first frame must be `hello`, and only once.
    HelloFirst,
    /// The conversation token is unknown.
    UnknownToken,
    /// No such conversation.
    NotFound,
    /// The conversation is not in a state that allows this.
    Conflict,
    /// The session is missing or expired.
    Unauthorized,
    /// Too many frames; slow down.
    RateLimited,
    /// Something failed on the server; nothing was changed.
    Internal,
    /// The page embedding the widget is not on a site the server's
    /// `visitors.allowed_origins` lists; the socket closes with 1008 and
    /// the message names the origin and the setting.
    OriginNotAllowed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        Self::BadFrame,
        Self::TooLarge,
        Self::Invalid,
        Self::HelloFirst,
        Self::UnknownToken,
        Self::NotFound,
        Self::Conflict,
        Self::Unauthorized,
        Self::RateLimited,
        Self::Internal,
        Self::OriginNotAllowed,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::TooLarge => "too_large",
            Self::Invalid => "invalid",
            Self::HelloFirst => "hello_first",
            Self::UnknownToken => "unknown_token",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::OriginNotAllowed => "origin_not_allowed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == s)
    }
}

/// (name, value) pairs as a JSON object, for `hello`'s `metadata`.
mod object_pairs {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (name, value) in pairs {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of text values")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs)
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_metadata_is_an_object_of_text() {
        let hello: VisitorRequest = serde_json::from_str(
            r#"{"type":"hello","last_seq":0,"metadata":{"plan":"pro","seats":"3"}}"#,
        )
        .unwrap();
        let VisitorRequest::Hello { metadata, .. } = &hello else {
            panic!("{hello:?}");
        };
        assert_eq!(
            metadata,
            &[
                ("plan".to_string(), "pro".to_string()),
                ("seats".into(), "3".into())
            ]
        );
        assert_eq!(
            serde_json::to_value(&hello).unwrap()["metadata"],
            serde_json::json!({"plan": "pro", "seats": "3"})
        );
        for bad in [r#"{"seats":3}"#, r#"["plan","pro"]"#] {
            let frame = format!(r#"{{"type":"hello","last_seq":0,"metadata":{bad}}}"#);
            assert!(
                serde_json::from_str::<VisitorRequest>(&frame).is_err(),
                "{bad}"
            );
        }
    }

    /// The wire format is a contract with deployed widgets: pin it.
    #[test]
    fn frames_have_the_documented_json_shape() {
        let hello: VisitorRequest =
            serde_json::from_str(r#"{"type":"hello","token":null,"last_seq":3}"#).unwrap();
        assert_eq!(
            hello,
            VisitorRequest::Hello {
                token: None,
                last_seq: 3,
                page: None,
                identity: None,
                metadata: Vec::new(),
            }
        );

        let event = VisitorUpdate::Event {
            event: Event {
                seq: 7,
                at: 1,
                body: EventBody::AgentJoined { name: "Mia".into() },
            },
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"event","event":{"seq":7,"at":1,"type":"agent_joined","name":"Mia"}}"#
        );

        let closed: Event = serde_json::from_str(r#"{"seq":9,"at":2,"type":"closed"}"#).unwrap();
        assert_eq!(closed.body, EventBody::Closed);

        let draft = VisitorUpdate::Draft {
            name: "Nova".into(),
            text: "Refunds take".into(),
        };
        let json = r#"{"type":"draft","name":"Nova","text":"Refunds take"}"#;
        assert_eq!(serde_json::to_string(&draft).unwrap(), json);
        assert_eq!(serde_json::from_str::<VisitorUpdate>(json).unwrap(), draft);
    }

    #[test]
    fn the_verdict_frame_has_its_documented_shape() {
        let json =
            r#"{"type":"verdict","conversation":4,"verdict":"assistant_could_have_answered"}"#;
        let frame = AgentRequest::Verdict {
            conversation: 4,
            verdict: Verdict::AssistantCouldHaveAnswered,
        };
        assert_eq!(serde_json::to_string(&frame).unwrap(), json);
        assert_eq!(serde_json::from_str::<AgentRequest>(json).unwrap(), frame);
        for verdict in [Verdict::HandoffRight, Verdict::AssistantCouldHaveAnswered] {
            let name = serde_json::to_string(&verdict).unwrap();
            assert_eq!(name, format!("\"{}\"", verdict.as_str()));
            assert_eq!(Verdict::parse(verdict.as_str()), Some(verdict));
        }
        assert!(
            serde_json::from_str::<AgentRequest>(
                r#"{"type":"verdict","conversation":4,"verdict":"maybe"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn error_code_names_match_serde() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn unknown_frame_types_are_rejected() {
        assert!(serde_json::from_str::<VisitorRequest>(r#"{"type":"drop_tables"}"#).is_err());
        assert!(serde_json::from_str::<AgentRequest>(r#"{"type":"claim"}"#).is_err());
    }

    #[test]
    fn responder_follows_the_log() {
        let joined = EventBody::AgentJoined { name: "Mia".into() };
        assert_eq!(joined.new_responder().unwrap().name(), "Mia");
        let resumed = EventBody::AssistantResumed {
            name: "Nora".into(),
        };
        assert_eq!(
            resumed.new_responder(),
            Some(Responder::Assistant {
                name: "Nora".into()
            })
        );
        assert_eq!(EventBody::Closed.new_responder(), None);
    }
}
