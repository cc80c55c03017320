//! In-process fan-out: every socket that shows a conversation subscribes to
//! its events and its passing signals (typing, read receipts); agent
//! sockets also hear when the queue changes.
//!
//! Broadcasts are hints, not the record. Events can be published out of
//! order by concurrent writers, and a slow subscriber can lag and lose
//! messages; subscribers therefore track the last `seq` they delivered and
//! read any gap back from the store (see `transport::follow`). Signals are
//! ephemeral and may be lost; nothing depends on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_shared::{ConversationId, Event, Seq};
use tokio::sync::broadcast;

/// What a conversation's subscribers hear.
#[derive(Debug, Clone)]
pub enum Broadcast {
    /// A newly stored event.
    Event(Arc<Event>),
    Signal(Signal),
}

/// Passing news that is not part of the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The visitor is typing (for agents).
    VisitorTyping(bool),
    /// The responder — an agent, or the assistant preparing an answer — is
    /// typing (for the visitor).
    ResponderTyping { name: String, typing: bool },
    /// The assistant's answer so far, while it streams (for the visitor);
    /// empty text takes the draft away (withheld or dropped).
    Draft { name: String, text: String },
    /// The visitor has seen everything up to this seq.
    Read(Seq),
    /// Something agents show changed outside the log (the visitor's
    /// identity): watchers re-read the detail.
    DetailChanged,
}

/// Buffer per conversation; a subscriber further behind re-reads the log.
const CONVERSATION_BUFFER: usize = 64;

#[derive(Clone)]
pub struct Hub {
    conversations: Arc<Mutex<HashMap<ConversationId, broadcast::Sender<Broadcast>>>>,
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
    pub fn subscribe(&self, id: ConversationId) -> broadcast::Receiver<Broadcast> {
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
                let _ = sender.send(Broadcast::Event(Arc::new(event.clone())));
            }
        }
    }

    /// Passes a signal to whoever watches the conversation right now.
    pub fn signal(&self, id: ConversationId, signal: Signal) {
        let map = self.conversations.lock().expect("hub lock");
        if let Some(sender) = map.get(&id) {
            let _ = sender.send(Broadcast::Signal(signal));
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
