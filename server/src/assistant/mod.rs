//! Assistants: whatever drafts an answer to the visitor's turn, with a
//! confidence the handoff engine can judge.
//!
//! One trait, several backends. The knowledge-base assistant (the default)
//! answers from Markdown FAQ articles; LLM and webhook backends plug in
//! behind the same trait.

use futures::future::BoxFuture;

use crate::handoff::{Candidate, Exchange, Turn};
use crate::knowledge::KnowledgeBase;

#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// The backend could not answer (timeout, error); the conversation is
    /// handed to a person rather than left waiting.
    #[error("assistant unavailable: {0}")]
    Unavailable(String),
}

pub trait Assistant: Send + Sync + 'static {
    /// Drafts an answer to `turn`, given the earlier exchanges.
    fn answer<'a>(
        &'a self,
        history: &'a [Exchange],
        turn: &'a Turn,
    ) -> BoxFuture<'a, Result<Candidate, AssistantError>>;
}

/// Answers from the knowledge base: retrieval is local and fast, so it runs
/// inline.
pub struct KnowledgeBaseAssistant {
    kb: KnowledgeBase,
}

impl KnowledgeBaseAssistant {
    pub fn new(kb: KnowledgeBase) -> Self {
        Self { kb }
    }
}

impl Assistant for KnowledgeBaseAssistant {
    fn answer<'a>(
        &'a self,
        history: &'a [Exchange],
        turn: &'a Turn,
    ) -> BoxFuture<'a, Result<Candidate, AssistantError>> {
        let candidate = self.kb.answer(history, &turn.text);
        Box::pin(async move { Ok(candidate) })
    }
}
