//! Several nodes on one PostgreSQL database: what one node's sockets do,
//! the others' sockets hear, through `LISTEN`/`NOTIFY` on
//! [`CHANNEL`](crate::store::CHANNEL).
//!
//! - Events: the store announces every committed range of a conversation's
//!   log in the writing transaction ([`Notice::Events`]). A node with
//!   sockets on that conversation reads the range back from the log and
//!   publishes it to them through its [`Hub`]; the notice carries no event.
//! - Signals (typing, drafts, read receipts) and queue changes go out from
//!   the hub as they happen; they are passing news and may be lost.
//! - Lessons: the store announces a new one in the writing transaction
//!   ([`Notice::Knowledge`]) and every node re-reads them into its
//!   [`Knowledge`].
//! - A listener that loses its connection connects again, listens, and
//!   only then tells every socket here to re-read its log
//!   ([`Hub::resync`]) and re-reads the lessons: whatever was committed
//!   while it was away is read, and whatever is committed afterwards is
//!   announced.
//!
//! Claiming and every other transition stay atomic across nodes because
//! they are guarded updates in the shared database (`store::conversations`).

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Hub, Signal};
use crate::knowledge::Knowledge;
use crate::store::changes::{MAX_NOTICE_BYTES, Notice};
use crate::store::{CHANNEL, Store};

/// Longest wait between attempts to reach the database again.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Joins this node to the others on `url`: starts listening (returns once
/// it does, so nothing committed afterwards is missed) and passes the
/// hub's signals and queue changes on. Both tasks end with `shutdown`.
pub async fn start(
    url: &str,
    store: Store,
    hub: Hub,
    knowledge: Knowledge,
    shutdown: watch::Receiver<bool>,
) -> Result<[JoinHandle<()>; 2], sqlx::Error> {
    let listener = listen(url).await?;
    let (peers, outgoing) = mpsc::unbounded_channel();
    hub.connect_peers(peers);
    let announcer = tokio::spawn(announce(store.clone(), outgoing, shutdown.clone()));
    let here = Here {
        store,
        hub,
        knowledge,
    };
    let receiver = tokio::spawn(receive(url.to_string(), listener, here, shutdown));
    Ok([announcer, receiver])
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends this node's signals and queue changes to the others.
async fn announce(
    store: Store,
    mut outgoing: mpsc::UnboundedReceiver<Notice>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let notice = tokio::select! {
            notice = outgoing.recv() => match notice {
                Some(notice) => notice,
                None => return,
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let text = notice.encode(store.node());
        // A long streaming draft does not fit; the answer itself is in the
        // log, and the next, shorter signal still goes out.
        if text.len() > MAX_NOTICE_BYTES {
            continue;
        }
        if let Err(error) = store.announce(&text).await {
            tracing::warn!(%error, "could not tell the other nodes");
        }
    }
}

/// What the other nodes' news is passed to.
struct Here {
    store: Store,
    hub: Hub,
    knowledge: Knowledge,
}

/// Hears the other nodes and passes what they did to this node's sockets.
async fn receive(
    url: String,
    mut listener: PgListener,
    here: Here,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let received = tokio::select! {
            received = listener.try_recv() => received,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match received {
            Ok(Some(notification)) => {
                if let Some((node, notice)) = Notice::decode(notification.payload())
                    && node != here.store.node()
                {
                    deliver(&here, notice).await;
                }
            }
            // The connection is gone, and with it any notice sent meanwhile.
            Ok(None) | Err(_) => {
                tracing::warn!("lost the other nodes' notices; reconnecting");
                listener = tokio::select! {
                    listener = reconnect(&url) => listener,
                    _ = shutdown.wait_for(|stop| *stop) => return,
                };
                here.hub.resync();
                here.knowledge.learn_or_warn(&here.store).await;
            }
        }
    }
}

/// Listens again, retrying with backoff until the database answers.
async fn reconnect(url: &str) -> PgListener {
    let mut delay = Duration::from_millis(100);
    loop {
        match listen(url).await {
            Ok(listener) => return listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for the other nodes yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RECONNECT_MAX);
            }
        }
    }
}

async fn deliver(here: &Here, notice: Notice) {
    let Here {
        store,
        hub,
        knowledge,
    } = here;
    match notice {
        Notice::Events {
            conversation,
            first,
            last,
        } => {
            if !hub.watched(conversation) {
                return;
            }
            match store
                .events_after(conversation, first.saturating_sub(1))
                .await
            {
                Ok(mut events) => {
                    events.retain(|e| e.seq <= last);
                    hub.publish(conversation, &events);
                }
                // The sockets catch up on the next event or resync.
                Err(error) => {
                    tracing::warn!(%error, conversation, "could not read announced events")
                }
            }
        }
        Notice::Signal { conversation, json } => {
            if let Ok(signal) = serde_json::from_str::<Signal>(&json) {
                hub.signal_here(conversation, signal);
            }
        }
        Notice::Queue => hub.queue_changed_here(),
        Notice::Knowledge => knowledge.learn_or_warn(store).await,
    }
}
