//! Assistants: whatever drafts an answer to the visitor's turn, with a
//! confidence the handoff engine can judge.
//!
//! One trait, [`Assistant`], and one backend per module, chosen by
//! `assistant.backend` in the config ([`build`]):
//!
//! - [`knowledge_base`] (the default) answers from the Markdown FAQ,
//!   offline and instantly;
//! - [`openai`] asks any OpenAI-compatible Chat Completions endpoint
//!   (OpenAI, Ollama, vLLM, llama.cpp server) with the knowledge base as
//!   context; its confidence comes from token log-probabilities or from a
//!   rating the model gives itself, its answers can stream, and it writes
//!   the brief's summary after a handoff;
//! - [`webhook`] forwards each turn to the site's own bot, which answers
//!   `{answer, confidence}` or asks for a person with `{handoff: reason}`.
//!
//! Whatever the backend, the handoff engine judges the answer the same
//! way; a backend that fails or times out returns
//! [`AssistantError::Unavailable`], and the desk hands the conversation to
//! a person instead of leaving the visitor waiting.

pub mod knowledge_base;
pub mod openai;
pub mod webhook;

use std::sync::Arc;

use baton_shared::{Brief, ConversationId, Identity};
use futures::future::BoxFuture;

use crate::config::{AssistantConfig, Backend};
use crate::handoff::{Candidate, Exchange, Turn, one_line};
use crate::knowledge::Knowledge;

pub use knowledge_base::KnowledgeBaseAssistant;
pub use openai::OpenAi;
pub use webhook::WebhookBot;

#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// The backend could not answer (timeout, error); the conversation is
    /// handed to a person rather than left waiting.
    #[error("assistant unavailable: {0}")]
    Unavailable(String),
}

/// What an assistant is asked: the visitor's turn, the conversation so far
/// and who and where the visitor is.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub conversation: ConversationId,
    /// Earlier turns, each with the answer shown for it (if any).
    pub history: &'a [Exchange],
    pub turn: &'a Turn,
    /// The visitor's identity as the site passed it (`verified` says
    /// whether to believe it).
    pub identity: Option<&'a Identity>,
    /// The page the visitor opened the chat on.
    pub page: Option<&'a str>,
}

impl<'a> Ask<'a> {
    /// A turn with no conversation around it (tests, `baton eval`).
    pub fn new(history: &'a [Exchange], turn: &'a Turn) -> Self {
        Self {
            conversation: 0,
            history,
            turn,
            identity: None,
            page: None,
        }
    }
}

/// An answer being generated, as far as it has come.
#[derive(Debug, Clone, Copy)]
pub struct Partial<'a> {
    /// The whole answer so far.
    pub text: &'a str,
    /// The confidence of the text so far, when the backend knows it while
    /// generating (token log-probabilities); `None` otherwise, and then the
    /// draft is never shown before the answer is complete.
    pub confidence: Option<f32>,
    /// Tokens generated so far.
    pub tokens: usize,
}

/// Where a streaming backend reports its answer as it grows. The desk
/// decides what, if anything, the visitor sees of it.
pub type Drafts<'a> = &'a (dyn Fn(Partial<'_>) + Send + Sync);

/// A backend's reply to a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A candidate answer for the engine to judge.
    Answer(Candidate),
    /// The backend asks for a person itself (a webhook bot's
    /// `{"handoff": reason}`), with its reason.
    Handoff(String),
}

/// What a language model wrote for the brief after a handoff; each field
/// replaces the built one when present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub intent: Option<String>,
    pub tried: Option<String>,
    pub next_step: Option<String>,
    /// The model that wrote it.
    pub by: String,
}

impl Summary {
    /// Writes the summary into `brief`; the facts (mechanism, reason,
    /// confidence, the attempts and the withheld draft) stay as built.
    pub fn apply(&self, brief: &mut Brief) {
        if let Some(intent) = &self.intent {
            brief.intent = intent.clone();
        }
        if let Some(tried) = &self.tried {
            brief.tried_summary = Some(tried.clone());
        }
        if let Some(next_step) = &self.next_step {
            brief.next_step = next_step.clone();
        }
        brief.summarised_by = Some(self.by.clone());
    }
}

pub trait Assistant: Send + Sync + 'static {
    /// Drafts an answer to the turn. A backend that generates
    /// incrementally reports the answer so far to `drafts` as it grows;
    /// the others never call it.
    fn answer<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>>;

    /// Whether [`Assistant::summarise`] writes anything: only then does
    /// the desk ask after a handoff.
    fn writes_summaries(&self) -> bool {
        false
    }

    /// The brief's intent, what was tried and the next step, in the
    /// backend's own words, for the handoff `brief` decided on `ask`.
    fn summarise<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        brief: &'a Brief,
    ) -> BoxFuture<'a, Result<Summary, AssistantError>> {
        let _ = (ask, brief);
        Box::pin(async { Err(AssistantError::Unavailable("no summaries".into())) })
    }
}

/// A `drafts` sink that drops everything, for callers that show no drafts.
pub fn no_drafts(_: Partial<'_>) {}

/// The backend `config.backend` names. `kb_markdown` is the knowledge
/// base's text, sent to LLM backends as context.
pub fn build(
    config: &AssistantConfig,
    knowledge: Knowledge,
    kb_markdown: &str,
) -> Result<Arc<dyn Assistant>, String> {
    Ok(match config.backend {
        Backend::KnowledgeBase => Arc::new(KnowledgeBaseAssistant::new(knowledge)),
        Backend::Openai => Arc::new(OpenAi::new(
            &config.openai,
            &config.name,
            knowledge,
            kb_markdown,
            |var| std::env::var(var).ok(),
        )?),
        Backend::Webhook => Arc::new(WebhookBot::new(&config.webhook)),
    })
}

fn unavailable(message: impl Into<String>) -> AssistantError {
    AssistantError::Unavailable(message.into())
}

/// A rating read from JSON: a number (or a numeric string) in 0–1, or a
/// percentage (`85`, `"85%"`). Anything else is no rating.
pub fn rating(value: &serde_json::Value) -> Option<f32> {
    let (number, percent) = match value {
        serde_json::Value::Number(n) => (n.as_f64()?, false),
        serde_json::Value::String(s) => {
            let s = s.trim();
            match s.strip_suffix('%') {
                Some(p) => (p.trim().parse::<f64>().ok()?, true),
                None => (s.parse::<f64>().ok()?, false),
            }
        }
        _ => return None,
    };
    let number = if percent || (number > 1.0 && number <= 100.0) {
        number / 100.0
    } else {
        number
    };
    (number.is_finite() && (0.0..=1.0).contains(&number)).then_some(number as f32)
}

/// The first JSON object in a model's or bot's reply: the whole text, or
/// one wrapped in a code fence or prose.
pub fn json_object(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let text = text.trim();
    if let Ok(Value::Object(map)) = serde_json::from_str(text) {
        return Some(map);
    }
    let start = text.find('{')?;
    // The first complete value from the first brace, whatever follows it.
    if let Some(Ok(Value::Object(map))) = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()
    {
        return Some(map);
    }
    None
}

/// A text field of `map` on one line, or `None` when missing or blank.
fn text_field(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(|v| v.as_str())
        .map(one_line)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ratings_are_numbers_in_range_or_percentages() {
        assert_eq!(rating(&json!(0.85)), Some(0.85));
        assert_eq!(rating(&json!(1)), Some(1.0));
        assert_eq!(rating(&json!(0)), Some(0.0));
        assert_eq!(rating(&json!("0.4")), Some(0.4));
        assert_eq!(rating(&json!(85)), Some(0.85));
        assert_eq!(rating(&json!("85%")), Some(0.85));
        assert_eq!(rating(&json!("150%")), None);
        assert_eq!(rating(&json!(-0.1)), None);
        assert_eq!(rating(&json!(101)), None);
        assert_eq!(rating(&json!("high")), None);
        assert_eq!(rating(&json!(true)), None);
        assert_eq!(rating(&json!(null)), None);
    }

    #[test]
    fn json_objects_are_found_in_fences_and_prose() {
        let plain = json_object(r#"{"answer":"Yes","confidence":0.9}"#).unwrap();
        assert_eq!(plain["answer"], "Yes");
        let fenced =
            json_object("```json\n{\"answer\": \"Yes {really}\", \"confidence\": 0.9}\n```")
                .unwrap();
        assert_eq!(fenced["answer"], "Yes {really}");
        let prose =
            json_object("Sure! Here it is: {\"answer\": \"Yes\"} Hope that helps {:)}").unwrap();
        assert_eq!(prose["answer"], "Yes");
        assert!(json_object("no json here").is_none());
        assert!(json_object("[1, 2]").is_none());
        assert!(json_object("{\"answer\": \"cut off").is_none());
        assert!(json_object("").is_none());
    }

    #[test]
    fn a_summary_replaces_only_what_it_has() {
        let mut brief: Brief = serde_json::from_value(json!({
            "mechanism": "confidence", "rule": null, "reason": "low", "confidence": 0.4,
            "threshold": 0.8, "turn": 1, "intent": "built intent", "tried": [],
            "withheld_draft": "draft", "next_step": "built step", "identity": null,
            "page": null, "out_of_hours": null, "at": 0
        }))
        .unwrap();
        Summary {
            intent: Some("Wants to pay with Bitcoin.".into()),
            tried: None,
            next_step: None,
            by: "m".into(),
        }
        .apply(&mut brief);
        assert_eq!(brief.intent, "Wants to pay with Bitcoin.");
        assert_eq!(brief.next_step, "built step");
        assert_eq!(brief.tried_summary, None);
        assert_eq!(brief.summarised_by.as_deref(), Some("m"));
        assert_eq!(brief.withheld_draft.as_deref(), Some("draft"));
    }
}
