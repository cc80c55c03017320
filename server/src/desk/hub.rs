//! In-process fan-out: every socket that shows a conversation subscribes to
//! its events; agent sockets also hear when the queue changes.
//!
//! Broadcasts are hints, not the record. Events can be published out of
//! order by concurrent writers, and a slow subscriber can lag and lose
//! messages; subscribers therefore track the last `seq` they delivered and
//! read any gap back from the store (see `transport::replay`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_shared::{ConversationId, Event};
use tokio::sync::broadcast;

/// Buffer per conversation; a subscriber further behind re-reads the log.
const CONVERSATION_BUFFER: usize = 64;

#[derive(Clone)]
pub struct Hub {
    conversations: Arc<Mutex<HashMap<ConversationId, broadcast::Sender<Arc<Event>>>>>,
    queue: broadcast::Sender<()>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            conversations: Arc::default(),
            queue: broadcast::channel(16).0,
        }
    }
}

impl Hub {
    pub fn subscribe(&self, id: ConversationId) -> broadcast::Receiver<Arc<Event>> {
        let mut map = self.conversations.lock().expect("hub lock");
        map.entry(id)
            .or_insert_with(|| broadcast::channel(CONVERSATION_BUFFER).0)
            .subscribe()
    }

    /// Tells the conversation's subscribers about newly stored events.
    pub fn publish(&self, id: ConversationId, events: &[Event]) {
        let mut map = self.conversations.lock().expect("hub lock");
        if let Some(sender) = map.get(&id) {
            if sender.receiver_count() == 0 {
                map.remove(&id);
                return;
            }
            for event in events {
                let _ = sender.send(Arc::new(event.clone()));
            }
        }
    }

    pub fn subscribe_queue(&self) -> broadcast::Receiver<()> {
        self.queue.subscribe()
    }

    /// The set of waiting or held conversations changed.
    pub fn queue_changed(&self) {
        let _ = self.queue.send(());
    }
}
