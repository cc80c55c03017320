//! The default backend: answers from the Markdown knowledge base.
//! Retrieval is local and fast, so it runs inline and never streams; the
//! confidence is the knowledge base's own (see [`crate::knowledge`]).

use futures::future::BoxFuture;

use super::{Ask, Assistant, AssistantError, Drafts, Reply};
use crate::knowledge::KnowledgeBase;

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
        ask: &'a Ask<'a>,
        _drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>> {
        let candidate = self.kb.answer(ask.history, &ask.turn.text);
        Box::pin(async move { Ok(Reply::Answer(candidate)) })
    }
}
