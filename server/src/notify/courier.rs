//! Delivers the outbox: every due notification is POSTed to its webhook;
//! failures are retried with doubling delays until they succeed or expire.
//! The outbox lives in the database, so a restart loses nothing — the
//! courier simply picks up where it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::links::{ResumeClaim, Signer};
use super::payload::{self, Links};
use crate::clock;
use crate::config::{Notifications, Webhook};
use crate::store::{Due, Store, StoreError};

/// Longest a webhook may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many due notifications are taken at a time.
const BATCH: u32 = 50;
/// How long taken notifications stay this node's (several nodes share one
/// outbox): longer than a whole batch can take to send.
const LEASE_MS: i64 = BATCH as i64 * TIMEOUT.as_millis() as i64 + 60_000;

pub struct Courier {
    pub(super) store: Store,
    pub(super) http: reqwest::Client,
    pub(super) signer: Signer,
    pub(super) public_url: String,
    pub(super) config: Notifications,
    pub(super) wake: Arc<Notify>,
    /// Failed delivery attempts, for `/metrics`.
    pub(super) failures: Arc<AtomicU64>,
}

impl Courier {
    /// Runs until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let wait = match self.deliver_due().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::error!(%e, "notification outbox");
                    Duration::from_secs(5)
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Sends what is due; returns how long until the next one is.
    async fn deliver_due(&self) -> Result<Duration, StoreError> {
        loop {
            let now = clock::now();
            let due = self
                .store
                .take_due_notifications(now, LEASE_MS, BATCH)
                .await?;
            let full = due.len() == BATCH as usize;
            for notification in due {
                self.deliver(notification).await?;
            }
            if !full {
                break;
            }
        }
        let now = clock::now();
        let next = self.store.next_notification_at(now).await?;
        let wait_ms = next.map_or(60_000, |at| (at - now).clamp(0, 60_000));
        Ok(Duration::from_millis(wait_ms as u64))
    }

    async fn deliver(&self, due: Due) -> Result<(), StoreError> {
        let result = self.send(&due).await;
        let now = clock::now();
        match result {
            Ok(()) => self.store.notification_delivered(due.id, now).await,
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let delay = retry_delay(&self.config, due.attempts);
                tracing::warn!(url = %due.url, attempt = due.attempts + 1, %error, "notification failed; will retry");
                self.store
                    .notification_failed(due.id, now + delay, &error)
                    .await
            }
        }
    }

    async fn send(&self, due: &Due) -> Result<(), String> {
        let facts = self
            .store
            .handoff_facts(due.handoff)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the handoff is gone")?;
        let conversation = facts.conversation;
        let claim = ResumeClaim {
            conversation,
            handoff: due.handoff,
            expires_at: facts.created_at + i64::from(self.config.resume_link_ttl_hours) * 3_600_000,
            // A used link's nonce is gone; a fresh random one makes a link
            // that says "already used" rather than a usable one.
            nonce: facts.resume_nonce.unwrap_or_else(crate::secret::new_token),
        };
        let links = Links {
            console: format!("{}/console/#/conversations/{conversation}", self.public_url),
            resume: format!(
                "{}/resume/{}",
                self.public_url,
                self.signer.resume_token(&claim)
            ),
        };
        let hook = self.config.webhooks.iter().find(|h| h.url == due.url);
        let (body, signature) = match due.format.as_str() {
            "json" => {
                let body =
                    payload::json(due.handoff, conversation, &facts.brief, &links).to_string();
                let signature = hook.and_then(|h| signature(h, &body));
                (body, signature)
            }
            _ => (
                payload::slack(conversation, &facts.brief, &links).to_string(),
                None,
            ),
        };
        let mut request = self
            .http
            .post(&due.url)
            .timeout(TIMEOUT)
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("x-baton-signature", signature);
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", response.status()))
        }
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp
/// is signed too, so a receiver can refuse replays.
fn signature(hook: &Webhook, body: &str) -> Option<String> {
    let secret = hook.secret.as_ref()?;
    let t = clock::now() / 1000;
    let v1 = Signer::hex_signature(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    Some(format!("t={t},v1={v1}"))
}

/// Doubling from `retry_initial_ms`, capped at `retry_max_ms`.
fn retry_delay(config: &Notifications, attempts: u32) -> i64 {
    let factor = 1u64.checked_shl(attempts.min(32)).unwrap_or(u64::MAX);
    config
        .retry_initial_ms
        .saturating_mul(factor)
        .min(config.retry_max_ms) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_the_cap() {
        let config = Notifications {
            retry_initial_ms: 100,
            retry_max_ms: 1_000,
            ..Notifications::default()
        };
        let delays: Vec<i64> = (0..6).map(|a| retry_delay(&config, a)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(retry_delay(&config, 200), 1_000);
    }
}
