//! Who is connected: the open sockets `/metrics` counts, and whether a
//! conversation's visitor is still there — which decides whether a handoff
//! nobody answered in time ends `abandoned`.
//!
//! A [`VisitorConnection`] lives exactly as long as a widget socket's task.
//! Once the socket has opened a conversation it marks the visitor present
//! there (the database counts the conversation's open widget sockets).
//! However the socket ends, dropping the connection stores the departure —
//! in a task the socket tracker waits for at shutdown — and only then stops
//! counting the socket, so a scrape that shows one socket fewer also means
//! the departure is stored.

use baton_shared::ConversationId;
use tokio_util::task::TaskTracker;

use super::{Desk, DeskError};
use crate::metrics::Side;

/// One widget socket; see the module documentation.
pub struct VisitorConnection {
    desk: Desk,
    tracker: TaskTracker,
    conversation: Option<ConversationId>,
}

/// One console socket, counted while it is open.
pub struct AgentConnection {
    desk: Desk,
}

impl Desk {
    /// A widget socket opened; `tracker` runs the departure's write.
    pub fn visitor_connection(&self, tracker: &TaskTracker) -> VisitorConnection {
        self.inner.metrics.connected(Side::Visitor);
        VisitorConnection {
            desk: self.clone(),
            tracker: tracker.clone(),
            conversation: None,
        }
    }

    /// A console socket opened.
    pub fn agent_connection(&self) -> AgentConnection {
        self.inner.metrics.connected(Side::Agent);
        AgentConnection { desk: self.clone() }
    }
}

impl VisitorConnection {
    /// The socket opened `conversation`: its visitor is here.
    pub async fn arrived(&mut self, conversation: ConversationId) -> Result<(), DeskError> {
        // Set first: whatever happens to the write, the departure undoes it
        // (the stored count never goes below zero).
        self.conversation = Some(conversation);
        self.desk.inner.store.visitor_arrived(conversation).await?;
        Ok(())
    }
}

impl Drop for VisitorConnection {
    fn drop(&mut self) {
        let metrics = self.desk.inner.metrics.clone();
        let conversation = self.conversation.take();
        let Some(conversation) =
            conversation.filter(|_| tokio::runtime::Handle::try_current().is_ok())
        else {
            metrics.disconnected(Side::Visitor);
            return;
        };
        let store = self.desk.inner.store.clone();
        self.tracker.spawn(async move {
            if let Err(e) = store
                .visitor_departed(conversation, crate::clock::now())
                .await
            {
                tracing::warn!(conversation, %e, "could not store that the visitor left");
            }
            metrics.disconnected(Side::Visitor);
        });
    }
}

impl Drop for AgentConnection {
    fn drop(&mut self) {
        self.desk.inner.metrics.disconnected(Side::Agent);
    }
}
