//! In-process fan-out: every socket that shows a conversation subscribes to
//! its events and its passing signals (typing, read receipts); agent
//! sockets also hear when the queue changes.
//!
//! Broadcasts are hints, not the record. Events can be published out of
//! order by concurrent writers, and a slow subscriber can lag and lose
//! messages; subscribers therefore track the last `seq` they delivered and
//! read any gap back from the store (see `transport::follow`). Signals are
//! ephemeral and may be lost; nothing depends on them.
//!
//! On PostgreSQL, other nodes hear the same things through [`super::relay`]:
//! signals and queue changes are passed to it here, events are announced by
//! the store in the transaction that writes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use baton_shared::{ConversationId, Event, Seq};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::store::changes::Notice;

/// What a conversation's subscribers hear.
#[derive(Debug, Clone)]
pub enum Broadcast {
    /// A newly stored event.
    Event(Arc<Event>),
    Signal(Signal),
    /// News may have been missed (another node's notices were lost while
    /// its listener reconnected): read the log from the last seq delivered.
    Resync,
}

/// Passing news that is not part of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
/// Every idle visitor holds one, so it stays small (BENCHMARKS.md).
const CONVERSATION_BUFFER: usize = 16;

#[derive(Clone)]
pub struct Hub {
    conversations: Arc<Mutex<HashMap<ConversationId, broadcast::Sender<Broadcast>>>>,
    queue: broadcast::Sender<()>,
    /// Sessions signed out on this node (their token digests): the agent
    /// sockets on them close at once.
    signed_out: broadcast::Sender<[u8; 32]>,
    /// The other nodes, once a relay runs (PostgreSQL).
    peers: Arc<OnceLock<mpsc::UnboundedSender<Notice>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            conversations: Arc::default(),
            queue: broadcast::channel(16).0,
            signed_out: broadcast::channel(16).0,
            peers: Arc::default(),
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

    /// Passes a signal to whoever watches the conversation right now, here
    /// and on the other nodes.
    pub fn signal(&self, id: ConversationId, signal: Signal) {
        if let Some(peers) = self.peers.get() {
            let json = serde_json::to_string(&signal).expect("signal serialises");
            let _ = peers.send(Notice::Signal {
                conversation: id,
                json,
            });
        }
        self.signal_here(id, signal);
    }

    /// A signal for this node's sockets only (one from another node).
    pub(super) fn signal_here(&self, id: ConversationId, signal: Signal) {
        let map = self.conversations.lock().expect("hub lock");
        if let Some(sender) = map.get(&id) {
            let _ = sender.send(Broadcast::Signal(signal));
        }
    }

    /// Sign-outs on this node, for agent sockets to close on their own.
    pub fn subscribe_sign_outs(&self) -> broadcast::Receiver<[u8; 32]> {
        self.signed_out.subscribe()
    }

    /// The session with this token digest has ended.
    pub fn signed_out(&self, digest: [u8; 32]) {
        let _ = self.signed_out.send(digest);
    }

    pub fn subscribe_queue(&self) -> broadcast::Receiver<()> {
        self.queue.subscribe()
    }

    /// The set of waiting or held conversations changed.
    pub fn queue_changed(&self) {
        if let Some(peers) = self.peers.get() {
            let _ = peers.send(Notice::Queue);
        }
        self.queue_changed_here();
    }

    pub(super) fn queue_changed_here(&self) {
        let _ = self.queue.send(());
    }

    /// Whether a socket on this node shows the conversation.
    pub(super) fn watched(&self, id: ConversationId) -> bool {
        let map = self.conversations.lock().expect("hub lock");
        map.get(&id).is_some_and(|s| s.receiver_count() > 0)
    }

    /// Every socket here re-reads its log: notices may have been missed.
    pub(super) fn resync(&self) {
        let map = self.conversations.lock().expect("hub lock");
        for sender in map.values() {
            let _ = sender.send(Broadcast::Resync);
        }
        drop(map);
        self.queue_changed_here();
    }

    /// From now on, signals and queue changes also go to `peers`.
    pub(super) fn connect_peers(&self, peers: mpsc::UnboundedSender<Notice>) {
        let _ = self.peers.set(peers);
    }
}
