//! The knowledge base as agents have taught it: the Markdown's articles
//! plus every stored [`Lesson`](baton_shared::Lesson) (`store::lessons`). One [`Knowledge`]
//! handle per node, shared by the assistant and the desk; a lesson taught
//! here is learned before the agent hears it was taken, and the other
//! nodes learn it when the store's notice reaches them (`desk::relay`).
//!
//! Learning re-reads all lessons and rebuilds from the Markdown's
//! knowledge base, so every node converges on the same articles whatever
//! order the notices came in; only new wordings are embedded.

use std::sync::{Arc, RwLock};

use super::KnowledgeBase;
use super::embedding::EmbedError;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("embedding the lessons: {0}")]
    Embed(#[from] EmbedError),
}

/// A cheap-to-clone handle on the knowledge base in force.
#[derive(Clone, Debug)]
pub struct Knowledge {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// As the Markdown has it: what every lesson is applied to.
    markdown: Arc<KnowledgeBase>,
    current: RwLock<Current>,
}

#[derive(Debug)]
struct Current {
    /// The newest lesson in `kb` (0: none).
    newest: i64,
    kb: Arc<KnowledgeBase>,
}

impl Knowledge {
    /// The Markdown's knowledge base, nothing learned yet.
    pub fn new(kb: KnowledgeBase) -> Self {
        let kb = Arc::new(kb);
        Self {
            inner: Arc::new(Inner {
                markdown: kb.clone(),
                current: RwLock::new(Current { newest: 0, kb }),
            }),
        }
    }

    /// The knowledge base in force now (a turn keeps the one it started
    /// with).
    pub fn current(&self) -> Arc<KnowledgeBase> {
        self.inner
            .current
            .read()
            .expect("knowledge lock")
            .kb
            .clone()
    }

    /// How many of the articles come from the Markdown (the rest were
    /// written by agents).
    pub fn markdown_articles(&self) -> usize {
        self.inner.markdown.articles()
    }

    /// Reads the stored lessons and, if there are new ones, puts the
    /// knowledge base with them in force. Returns how many lessons are in
    /// force.
    pub async fn learn(&self, store: &Store) -> Result<usize, LearnError> {
        let (lessons, newest) = store.lessons().await?;
        if newest <= self.inner.current.read().expect("knowledge lock").newest {
            return Ok(lessons.len());
        }
        let markdown = self.inner.markdown.clone();
        let count = lessons.len();
        let learned = tokio::task::spawn_blocking(move || markdown.with_lessons(&lessons))
            .await
            .map_err(|e| EmbedError::Failed(e.to_string()))??;
        if learned.unmatched > 0 {
            tracing::warn!(
                unmatched = learned.unmatched,
                "lessons name articles the knowledge base no longer has; they are left out"
            );
        }
        let mut current = self.inner.current.write().expect("knowledge lock");
        // Two learns may race; the one that read more lessons wins.
        if newest > current.newest {
            *current = Current {
                newest,
                kb: Arc::new(learned.kb),
            };
            tracing::info!(lessons = count, "knowledge base learned");
        }
        Ok(count)
    }

    /// [`learn`](Self::learn) for callers that can only log a failure
    /// (start-up, another node's notice): the knowledge base in force
    /// stays.
    pub async fn learn_or_warn(&self, store: &Store) {
        if let Err(error) = self.learn(store).await {
            tracing::warn!(%error, "could not read what agents taught; answering without it");
        }
    }
}
