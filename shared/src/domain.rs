//! What a conversation is made of.
//!
//! A conversation is an append-only log of [`Event`]s numbered by a
//! per-conversation [`Seq`]. Everything a visitor or an agent sees is an
//! event, so a client that remembers the last `seq` it applied can always
//! catch up exactly. Who answers the visitor (the [`Responder`]) follows from
//! the log: `agent_joined` hands the conversation to a person,
//! `assistant_resumed` hands it back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Position of an event in its conversation's log, starting at 1.
pub type Seq = u64;
/// Milliseconds since the Unix epoch.
pub type Millis = i64;
/// A conversation's id as agents see it. Visitors never use it: they hold a
/// token instead.
pub type ConversationId = i64;
/// An agent account's id.
pub type AgentId = i64;

/// Who holds the conversation right now.
///
/// `Assistant → Queued → Human → Assistant | Closed`; while `Queued` or
/// `Human` the assistant never answers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    Assistant,
    Queued,
    Human,
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assistant => "assistant",
            Self::Queued => "queued",
            Self::Human => "human",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "assistant" => Self::Assistant,
            "queued" => Self::Queued,
            "human" => Self::Human,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// Which of the three handoff mechanisms fired.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// The visitor asked for a person (button or typed request).
    User,
    /// A policy rule matched, whatever the assistant thought.
    Rule,
    /// The assistant's confidence fell below the threshold.
    Confidence,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Rule => "rule",
            Self::Confidence => "confidence",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "rule" => Self::Rule,
            "confidence" => Self::Confidence,
            _ => return None,
        })
    }
}

/// Who the visitor is talking to; its name is what the widget shows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Responder {
    Assistant { name: String },
    Agent { name: String },
}

impl Responder {
    pub fn name(&self) -> &str {
        match self {
            Self::Assistant { name } | Self::Agent { name } => name,
        }
    }
}

/// One entry of a conversation's log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: Seq,
    pub at: Millis,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened. Every variant is shown to both the visitor and the agent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// The visitor wrote a message.
    Visitor { client_id: String, text: String },
    /// The assistant answered. `articles` and `confidence` say what the
    /// answer rests on, for the team's brief.
    ///
    /// With `choices`, the answer is a clarifying question: the assistant
    /// was not sure which of these knowledge-base articles (titles) the
    /// visitor means. A client shows them as quick replies; sending one
    /// as a `say`, word for word, is answered with that article, and
    /// `request_human` right after means "none of these" (a person takes
    /// over). `text` asks the question in words, for clients that do not
    /// show choices.
    Assistant {
        name: String,
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        articles: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<String>,
    },
    /// A person on the team answered.
    Agent {
        name: String,
        client_id: String,
        text: String,
    },
    /// The assistant stepped back and a person is being brought in. The
    /// notice is the visitor-facing sentence; the reason stays with the team.
    HandoffStarted { notice: String },
    /// An agent took the conversation (claimed, or had it transferred to
    /// them); from now on they are the responder.
    AgentJoined { name: String },
    /// The agent put the conversation back in the team's queue; another
    /// person will pick it up.
    AgentLeft { name: String },
    /// The team handed the conversation back to the assistant.
    AssistantResumed { name: String },
    /// The visitor shared a file (an image, a voice message, a document).
    VisitorAttachment {
        client_id: String,
        attachment: Attachment,
    },
    /// A person on the team shared a file.
    AgentAttachment {
        name: String,
        client_id: String,
        attachment: Attachment,
    },
    /// The team closed the conversation. The visitor can still write; a new
    /// message reopens it with the assistant. The widget then asks for a
    /// rating.
    Closed,
    /// The visitor rated the help they got from the team.
    Rated {
        client_id: String,
        rating: Rating,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

/// A file in a conversation. Its bytes are served at [`Attachment::path`]
/// to whoever has the link (the id is 256 random bits).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    /// The uploader's file name, tamed (no path, no control characters).
    pub name: String,
    /// A type the server checked against the bytes, e.g. `image/png`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
}

impl Attachment {
    /// Where the server serves it, relative to the server's origin.
    pub fn path(&self) -> String {
        format!("/api/uploads/{}", self.id)
    }

    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    pub fn is_audio(&self) -> bool {
        self.content_type.starts_with("audio/")
    }
}

/// The one-click satisfaction rating asked for when the team closes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Good,
    Bad,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Bad => "bad",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "good" => Some(Self::Good),
            "bad" => Some(Self::Bad),
            _ => None,
        }
    }
}

impl EventBody {
    /// The responder this event hands the conversation to, if it changes it.
    pub fn new_responder(&self) -> Option<Responder> {
        match self {
            Self::AgentJoined { name } => Some(Responder::Agent { name: name.clone() }),
            Self::AssistantResumed { name } => Some(Responder::Assistant { name: name.clone() }),
            _ => None,
        }
    }

    /// The client id of a message a client sent, used to store retries once.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Visitor { client_id, .. }
            | Self::Agent { client_id, .. }
            | Self::VisitorAttachment { client_id, .. }
            | Self::AgentAttachment { client_id, .. }
            | Self::Rated { client_id, .. } => Some(client_id),
            _ => None,
        }
    }

    /// The stable name of the variant, as stored and sent.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Visitor { .. } => "visitor",
            Self::Assistant { .. } => "assistant",
            Self::Agent { .. } => "agent",
            Self::VisitorAttachment { .. } => "visitor_attachment",
            Self::AgentAttachment { .. } => "agent_attachment",
            Self::HandoffStarted { .. } => "handoff_started",
            Self::AgentJoined { .. } => "agent_joined",
            Self::AgentLeft { .. } => "agent_left",
            Self::AssistantResumed { .. } => "assistant_resumed",
            Self::Closed => "closed",
            Self::Rated { .. } => "rated",
        }
    }
}

/// What the host site says about the visitor, as the server stored it.
/// Only `verified` claims (whose `user_hash` checked out) may influence
/// policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default)]
    pub verified: bool,
}

/// What the host page says about the visitor (`Baton('identify', …)`).
/// The server trusts it only when `user_hash` is HMAC-SHA256 of `user_id`
/// with the site's identity secret, made by the site's backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityClaim {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
}

/// What the assistant tried before the handoff: one answer and the
/// knowledge-base articles it was built from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Attempt {
    pub question: String,
    pub answer: String,
    pub articles: Vec<String>,
    pub confidence: f32,
}

/// Everything an agent needs to pick a conversation up without asking the
/// visitor to repeat themselves.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Brief {
    pub mechanism: Mechanism,
    /// The policy rule that fired, for `rule` handoffs.
    pub rule: Option<String>,
    /// Why, in plain words.
    pub reason: String,
    /// The assistant's confidence and the threshold, for `confidence`
    /// handoffs (and whenever the assistant had drafted an answer).
    pub confidence: Option<f32>,
    pub threshold: Option<f32>,
    /// 1-based visitor turn at which the handoff happened.
    pub turn: u32,
    /// The visitor's question, in one line.
    pub intent: String,
    /// The assistant's answers so far.
    pub tried: Vec<Attempt>,
    /// The answer the assistant drafted but did not send.
    pub withheld_draft: Option<String>,
    /// The article that draft came from: where an agent who finds the
    /// assistant could have answered starts teaching it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_article: Option<String>,
    /// What the person picking this up needs to do.
    pub next_step: String,
    pub identity: Option<Identity>,
    pub page: Option<String>,
    /// Set when the handoff happened outside business hours: when people
    /// are back, in words (e.g. "Monday 09:00 (Europe/Berlin)").
    pub out_of_hours: Option<String>,
    pub at: Millis,
    /// What the assistant tried, in one or two sentences, when a language
    /// model summarised the conversation (LLM assistant backends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tried_summary: Option<String>,
    /// The model that wrote `intent`, `tried_summary` and `next_step`;
    /// absent when they were built from the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summarised_by: Option<String>,
}

/// A conversation as the team's queue lists it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub conversation: ConversationId,
    pub state: ConversationState,
    /// When the handoff happened; the queue is ordered by it, oldest first.
    pub since: Millis,
    pub mechanism: Mechanism,
    pub reason: String,
    pub intent: String,
    /// The handoff happened outside business hours.
    pub out_of_hours: bool,
    /// The agent holding it, once claimed.
    pub agent: Option<AgentRef>,
    /// Who the visitor is, when the host site said so.
    pub identity: Option<Identity>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AgentRef {
    pub id: AgentId,
    pub name: String,
}

/// One conversation as an agent opens it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConversationDetail {
    pub id: ConversationId,
    pub state: ConversationState,
    pub agent: Option<AgentRef>,
    pub responder: Responder,
    pub page: Option<String>,
    pub started_at: Millis,
    /// The brief of the latest handoff, if there was one.
    pub brief: Option<Brief>,
    pub identity: Option<Identity>,
    /// The last event the visitor has seen (read receipts).
    pub visitor_read: Seq,
    /// What the team said about the latest handoff, once someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// What the host page last said about the visitor's context
    /// (`Baton('set', {metadata})`: plan, order number, cart value…).
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// What agents taught the assistant from this conversation, oldest
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<Lesson>,
}

/// A visitor's wording an agent taught the assistant: from now on it is
/// one more way of asking `article`'s question, matched by words and by
/// meaning like the article's title. The boundary moves on its own: a
/// handoff the assistant could have answered is answered the next time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Lesson {
    /// The title of the article that answers it.
    pub article: String,
    /// The wording, as the visitor put it (or as the agent trimmed it).
    pub phrasing: String,
    /// Set when the agent wrote the article itself: its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Who taught it.
    pub by: AgentRef,
    pub at: Millis,
}

/// An article of the knowledge base as agents pick one
/// (`GET /api/knowledge`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ArticleRef {
    pub title: String,
    /// The start of its answer, to tell articles apart.
    pub summary: String,
    /// Other ways of asking it: the Markdown's `? ` lines and what agents
    /// taught.
    pub phrasings: Vec<String>,
    /// Written by an agent in the console, not in the Markdown.
    #[serde(default)]
    pub taught: bool,
}

/// The host page's facts about a visitor, as text by name, in name order.
/// Bounded by the server (see `MAX_METADATA_*` in the protocol).
pub type Metadata = BTreeMap<String, String>;

/// An agent's judgement of a handoff, for the team's own eval cases: was a
/// person really needed?
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A person was needed: the case expects this handoff.
    HandoffRight,
    /// The assistant could have answered: the case expects no handoff.
    AssistantCouldHaveAnswered,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HandoffRight => "handoff_right",
            Self::AssistantCouldHaveAnswered => "assistant_could_have_answered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "handoff_right" => Some(Self::HandoffRight),
            "assistant_could_have_answered" => Some(Self::AssistantCouldHaveAnswered),
            _ => None,
        }
    }
}
