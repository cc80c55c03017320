//! The default backend: answers from the Markdown knowledge base, offline;
//! it never streams, and the confidence is the knowledge base's own (see
//! [`crate::knowledge`]). With an embedding model the turn runs on a
//! blocking thread.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Ask, Assistant, AssistantError, Drafts, Reply};
use crate::knowledge::KnowledgeBase;

pub struct KnowledgeBaseAssistant {
    kb: Arc<KnowledgeBase>,
}

impl KnowledgeBaseAssistant {
    pub fn new(kb: Arc<KnowledgeBase>) -> Self {
        Self { kb }
    }
}

impl Assistant for KnowledgeBaseAssistant {
    fn answer<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        _drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>> {
        Box::pin(async move {
            let candidate = self.kb.answer_off_thread(ask.history, &ask.turn.text).await;
            Ok(Reply::Answer(candidate))
        })
    }
}
