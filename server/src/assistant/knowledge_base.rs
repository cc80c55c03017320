//! The default backend: answers from the Markdown knowledge base, offline;
//! it never streams, and the confidence is the knowledge base's own (see
//! [`crate::knowledge`]), with what agents taught it. With an embedding model the turn runs on a
//! blocking thread.

use futures::future::BoxFuture;

use super::{Ask, Assistant, AssistantError, Drafts, Reply};
use crate::knowledge::Knowledge;

pub struct KnowledgeBaseAssistant {
    knowledge: Knowledge,
}

impl KnowledgeBaseAssistant {
    pub fn new(knowledge: Knowledge) -> Self {
        Self { knowledge }
    }
}

impl Assistant for KnowledgeBaseAssistant {
    fn answer<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        _drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>> {
        Box::pin(async move {
            let kb = self.knowledge.current();
            let candidate = kb.answer_off_thread(ask.history, &ask.turn.text).await;
            Ok(Reply::Answer(candidate))
        })
    }
}
