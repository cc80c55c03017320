//! A protocol client that, unlike the integration tests' one, expects the
//! server to go away: every call returns an error instead of panicking, so
//! the caller can reconnect with [`Backoff`] and resend. Plus the agent's
//! login and a reader of every conversation's log, to check the outcome.

use std::collections::BTreeMap;
use std::time::Duration;

use baton_shared::{AgentRequest, AgentUpdate, ConversationId, ErrorCode, Event};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why a socket stopped being useful.
#[derive(Debug)]
pub enum Gone {
    /// The server closed it, with this close code if it sent one.
    Closed(Option<u16>),
    /// Connecting, reading or writing failed (refused, reset, ...).
    Failed(String),
    /// Nothing arrived within the wait.
    Silent,
}

/// One WebSocket speaking JSON frames: sends `Req`, receives `Upd`.
pub struct Socket<Req, Upd> {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    _types: std::marker::PhantomData<fn(Req) -> Upd>,
}

impl<Req: Serialize, Upd: DeserializeOwned> Socket<Req, Upd> {
    pub async fn connect(url: &str, cookie: Option<&str>, wait: Duration) -> Result<Self, Gone> {
        let mut request = url
            .into_client_request()
            .map_err(|e| Gone::Failed(e.to_string()))?;
        if let Some(cookie) = cookie {
            let value = cookie
                .parse()
                .map_err(|_| Gone::Failed("bad cookie".into()))?;
            request.headers_mut().insert("cookie", value);
        }
        match tokio::time::timeout(wait, tokio_tungstenite::connect_async(request)).await {
            Ok(Ok((ws, _))) => Ok(Self {
                ws,
                _types: std::marker::PhantomData,
            }),
            Ok(Err(e)) => Err(Gone::Failed(e.to_string())),
            Err(_) => Err(Gone::Silent),
        }
    }

    pub async fn send(&mut self, frame: &Req) -> Result<(), Gone> {
        let text = serde_json::to_string(frame).expect("requests serialise");
        self.ws.send(Message::text(text)).await.map_err(failed)
    }

    /// The next frame within `wait`. A frame that does not parse is a bug
    /// in the server and panics.
    pub async fn recv(&mut self, wait: Duration) -> Result<Upd, Gone> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err(Gone::Silent),
                Ok(None) => return Err(Gone::Closed(None)),
                Ok(Some(Err(e))) => return Err(failed(e)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    return Ok(serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("bad server frame {text}: {e}")));
                }
                Message::Close(frame) => return Err(Gone::Closed(frame.map(|f| f.code.into()))),
                _ => continue,
            }
        }
    }

    /// Drops the connection without a close handshake, as a lost network
    /// does.
    pub fn abort(self) {
        drop(self.ws);
    }
}

/// Signs the demo agent in; returns the session cookie as `name=value`.
/// `base` is the server's `http://host:port`.
pub async fn login(base: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({ "email": "demo@baton.local", "password": "baton-demo" }))
        .send()
        .await
        .expect("login request");
    assert_eq!(response.status(), 200, "demo login");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("cookie header")
        .to_string();
    cookie.split(';').next().expect("name=value").to_string()
}

/// Every conversation's whole log, as an agent reads it over `agent_url`
/// (`ws://…/ws/agent`). Each is watched from seq 0, then a conversation
/// that cannot exist is watched: its error marks the end of the backlog.
/// Ids are tried upwards until a run of 20 unknown ones. Meant for a
/// server nobody is writing to any more; panics on any surprise.
pub async fn read_all_logs(agent_url: &str, cookie: &str) -> BTreeMap<ConversationId, Vec<Event>> {
    let wait = Duration::from_secs(30);
    let mut socket = Socket::<AgentRequest, AgentUpdate>::connect(agent_url, Some(cookie), wait)
        .await
        .expect("an agent socket");
    let mut logs = BTreeMap::new();
    let mut unknown_in_a_row = 0;
    let mut id: ConversationId = 0;
    while unknown_in_a_row < 20 {
        id += 1;
        socket
            .send(&AgentRequest::Watch {
                conversation: id,
                last_seq: 0,
            })
            .await
            .expect("watch");
        socket
            .send(&AgentRequest::Watch {
                conversation: 0,
                last_seq: 0,
            })
            .await
            .expect("barrier");
        let mut found = None;
        let mut errors = 0;
        while errors < 2 - usize::from(found.is_some()) {
            match socket.recv(wait).await.expect("the log") {
                // A backlog that changes the state is followed by a fresh detail.
                AgentUpdate::Conversation { detail } if detail.id == id => {
                    found.get_or_insert_with(Vec::new);
                }
                AgentUpdate::Event {
                    conversation,
                    event,
                } if conversation == id => {
                    found.as_mut().expect("events after the detail").push(event);
                }
                AgentUpdate::Error {
                    code: ErrorCode::NotFound,
                    ..
                } => errors += 1,
                AgentUpdate::Hello { .. }
                | AgentUpdate::Queue { .. }
                | AgentUpdate::Typing { .. }
                | AgentUpdate::Read { .. } => {}
                other => panic!("reading conversation {id}: unexpected {other:?}"),
            }
        }
        match found {
            Some(log) => {
                unknown_in_a_row = 0;
                logs.insert(id, log);
            }
            None => unknown_in_a_row += 1,
        }
        socket
            .send(&AgentRequest::Unwatch { conversation: id })
            .await
            .expect("unwatch");
    }
    logs
}

fn failed(e: tungstenite::Error) -> Gone {
    Gone::Failed(e.to_string())
}

/// Bounded exponential backoff with full jitter: the n-th wait is uniform
/// in `[0, min(cap, base·2ⁿ)]`, so clients that lost the server together do
/// not come back together.
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: Rng,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Self {
        Self {
            base,
            cap,
            attempt: 0,
            rng: Rng::new(seed),
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << self.attempt.min(16))
            .min(self.cap);
        self.attempt += 1;
        ceiling.mul_f64(self.rng.unit())
    }

    /// A connection worked: start from the bottom next time.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// SplitMix64: tiny, seedable, good enough to script chaos reproducibly.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let cap = Duration::from_millis(800);
        let mut backoff = Backoff::new(Duration::from_millis(50), cap, 7);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= cap), "{delays:?}");
        assert!(delays[0] <= Duration::from_millis(50));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(50));
    }
}
