//! Delivering a conversation's events to one socket exactly once, in order.
//!
//! The socket subscribes to the hub *before* reading the log, so nothing
//! stored in between is missed; then every broadcast is checked against the
//! last delivered `seq`. Duplicates are skipped, and a gap (events published
//! out of order, or a lagging subscriber) is filled from the store.
//! Signals (typing, read receipts) pass straight through.

use baton_shared::{ConversationId, Event, Seq};
use tokio::sync::broadcast;

use crate::desk::{Broadcast, Desk, DeskError, Signal};

/// What one broadcast means for the socket.
pub enum Delivery {
    Events(Vec<Event>),
    Signal(Signal),
}

pub struct Follower {
    pub id: ConversationId,
    last: Seq,
}

impl Follower {
    /// Subscribes and returns the events after `last_seq` to send first.
    pub async fn start(
        desk: &Desk,
        id: ConversationId,
        last_seq: Seq,
    ) -> Result<(Self, broadcast::Receiver<Broadcast>, Vec<Event>), DeskError> {
        let rx = desk.hub().subscribe(id);
        let mut follower = Self { id, last: last_seq };
        let backlog = follower.catch_up(desk).await?;
        Ok((follower, rx, backlog))
    }

    /// What to send for one broadcast (or a lag notice).
    pub async fn on_broadcast(
        &mut self,
        desk: &Desk,
        received: Result<Broadcast, broadcast::error::RecvError>,
    ) -> Result<Delivery, DeskError> {
        let events = match received {
            Ok(Broadcast::Signal(signal)) => return Ok(Delivery::Signal(signal)),
            Ok(Broadcast::Event(event)) if event.seq <= self.last => Vec::new(),
            Ok(Broadcast::Event(event)) if event.seq == self.last + 1 => {
                self.last = event.seq;
                vec![Event::clone(&event)]
            }
            // A gap, a lag or missed notices: the log has the truth.
            Ok(Broadcast::Event(_) | Broadcast::Resync)
            | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up(desk).await?,
            // The hub never drops a sender that still has receivers.
            Err(broadcast::error::RecvError::Closed) => Vec::new(),
        };
        Ok(Delivery::Events(events))
    }

    async fn catch_up(&mut self, desk: &Desk) -> Result<Vec<Event>, DeskError> {
        let events = desk.events_after(self.id, self.last).await?;
        if let Some(last) = events.last() {
            self.last = last.seq;
        }
        Ok(events)
    }
}
