//! Telling the team: every handoff queues a notification per configured
//! webhook (in the same transaction as the handoff, so none is ever lost),
//! and the [`courier`] delivers them with retries. Each carries a one-click
//! "Resume assistant" link ([`links`]); [`payload`] says what they contain.

pub mod courier;
pub mod links;
pub mod payload;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

pub use courier::Courier;
pub use links::{LinkError, ResumeClaim, Signer};

use crate::config::Notifications;
use crate::store::Store;

/// What the desk needs to queue notifications, and to wake the courier.
#[derive(Clone)]
pub struct Dispatch {
    /// (url, format) of every webhook.
    pub targets: Vec<(String, &'static str)>,
    /// How long undelivered notifications are retried.
    pub give_up_ms: i64,
    wake: Arc<Notify>,
    /// Failed delivery attempts since start, counted by the courier.
    failures: Arc<AtomicU64>,
}

impl Dispatch {
    /// New notifications are in the outbox.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Failed delivery attempts since start (each is retried).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// The dispatch handle for the desk and the courier that serves it.
pub fn outbox(
    store: Store,
    signer: Signer,
    public_url: String,
    config: Notifications,
) -> (Dispatch, Courier) {
    let wake = Arc::new(Notify::new());
    let failures = Arc::new(AtomicU64::new(0));
    let dispatch = Dispatch {
        targets: config
            .webhooks
            .iter()
            .map(|h| (h.url.clone(), h.format.as_str()))
            .collect(),
        give_up_ms: i64::from(config.give_up_after_hours) * 3_600_000,
        wake: wake.clone(),
        failures: failures.clone(),
    };
    let courier = Courier {
        store,
        http: reqwest::Client::new(),
        signer,
        public_url,
        config,
        wake,
        failures,
    };
    (dispatch, courier)
}
