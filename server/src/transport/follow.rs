//! Delivering a conversation's events to one socket exactly once, in order.
//!
//! The socket subscribes to the hub *before* reading the log, so nothing
//! stored in between is missed; then every broadcast is checked against the
//! last delivered `seq`. Duplicates are skipped, and a gap (events published
//! out of order, or a lagging subscriber) is filled from the store.

use std::sync::Arc;

use baton_shared::{ConversationId, Event, Seq};
use tokio::sync::broadcast;

use crate::desk::{Desk, DeskError};

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
    ) -> Result<(Self, broadcast::Receiver<Arc<Event>>, Vec<Event>), DeskError> {
        let rx = desk.hub().subscribe(id);
        let mut follower = Self { id, last: last_seq };
        let backlog = follower.catch_up(desk).await?;
        Ok((follower, rx, backlog))
    }

    /// What to send for one broadcast (or a lag notice).
    pub async fn on_broadcast(
        &mut self,
        desk: &Desk,
        received: Result<Arc<Event>, broadcast::error::RecvError>,
    ) -> Result<Vec<Event>, DeskError> {
        match received {
            Ok(event) if event.seq <= self.last => Ok(Vec::new()),
            Ok(event) if event.seq == self.last + 1 => {
                self.last = event.seq;
                Ok(vec![Event::clone(&event)])
            }
            // A gap or a lag: the log has the truth.
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up(desk).await,
            // The hub never drops a sender that still has receivers.
            Err(broadcast::error::RecvError::Closed) => Ok(Vec::new()),
        }
    }

    async fn catch_up(&mut self, desk: &Desk) -> Result<Vec<Event>, DeskError> {
        let events = desk.events_after(self.id, self.last).await?;
        if let Some(last) = events.last() {
            self.last = last.seq;
        }
        Ok(events)
    }
}
