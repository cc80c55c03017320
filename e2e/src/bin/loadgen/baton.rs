//! Baton's side of the load: conversations held by a person, the sockets
//! that carry them, and the handoff probes.
//!
//! Setup, as a real team would get there: each visitor opens the widget's
//! socket (`hello`, which creates the conversation) and presses "Talk to a
//! human" (`request_human`); the agent's socket sees the conversation
//! arrive in the queue, watches it and claims it; the visitor sees the
//! agent join. Visitors say who they are (`identity.user_id = load-<i>`,
//! unverified, which no policy rule trusts) because the queue names
//! conversations by id and the visitor never learns its id.
//!
//! Under load, visitors `say` and the agent `reply`s; each is acknowledged
//! once durably stored, and the other side gets it as an `event`.
//!
//! Handoff probes: while a step runs, fresh visitors (`probe-<step>-<k>`)
//! press the button; the latency runs from that frame to the first queue
//! update on agent socket 0 that lists the conversation. The agent then
//! hands it back to the assistant (`resume`), so the queue stays the size
//! of the load's conversations, step after step.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use baton_shared::{
    AgentRequest, AgentUpdate, ConversationId, EventBody, IdentityClaim, QueueEntry,
    VisitorRequest, VisitorUpdate,
};
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{self, Dir, Live, TEXT, Wiring, Ws, WsReader};

/// How long the setup of all conversations may take, per conversation
/// (plus a minute).
const SETUP_PER_CONVERSATION: Duration = Duration::from_millis(250);

/// Signs the demo agent in; returns the session cookie (`name=value`).
pub async fn login(base: &str) -> Result<String, String> {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({ "email": "demo@baton.local", "password": "baton-demo" }))
        .send()
        .await
        .map_err(|e| format!("signing in: {e}"))?;
    if response.status() != 200 {
        return Err(format!("signing in: HTTP {}", response.status()));
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("signing in: no session cookie")?;
    Ok(cookie.to_string())
}

/// Opens a visitor socket and starts a conversation, as the widget does:
/// `hello` without a token, then the `welcome`.
pub async fn open_visitor(url: &str, user_id: Option<String>) -> Result<Ws, String> {
    let mut ws = load::connect(url, None).await?;
    let hello = VisitorRequest::Hello {
        token: None,
        last_seq: 0,
        page: Some("http://127.0.0.1/loadgen".into()),
        identity: user_id.map(|user_id| IdentityClaim {
            user_id,
            ..IdentityClaim::default()
        }),
        metadata: Default::default(),
    };
    send_now(&mut ws, &hello).await?;
    loop {
        let text = load::recv_text(&mut ws, load::CONNECT_WAIT).await?;
        match serde_json::from_str::<VisitorUpdate>(&text) {
            Ok(VisitorUpdate::Welcome { .. }) => return Ok(ws),
            Ok(VisitorUpdate::Error { code, message, .. }) => {
                return Err(format!("hello refused: {code:?}: {message}"));
            }
            _ => continue,
        }
    }
}

async fn send_now(ws: &mut Ws, frame: &impl serde::Serialize) -> Result<(), String> {
    use futures::SinkExt;
    let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("sending: {e}"))
}

fn encode(frame: &impl serde::Serialize) -> String {
    serde_json::to_string(frame).expect("protocol frames serialise")
}

/// The handoff probes of the step under way, and their latencies.
#[derive(Default)]
struct Probes {
    /// user id → when the button frame was sent.
    pressed: Mutex<HashMap<String, Instant>>,
    seen: Mutex<Option<Histogram<u64>>>,
    recorded: AtomicUsize,
}

/// What the handoff probes of one step measured.
#[derive(serde::Serialize, Clone, Debug, Default)]
pub struct HandoffResult {
    pub pressed: usize,
    /// Probes whose conversation reached the agent's queue.
    pub seen: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Everything the readers and the scheduler share.
struct Shared {
    live: Arc<Live>,
    agents: Vec<UnboundedSender<String>>,
    visitors: OnceLock<Vec<UnboundedSender<String>>>,
    /// Conversation id of load conversation `i`, once the queue showed it.
    ids: Vec<OnceLock<ConversationId>>,
    /// Load conversations whose visitor saw the agent join.
    joined: AtomicUsize,
    probes: Probes,
}

impl Shared {
    /// A queue update on agent socket 0: new load conversations are
    /// watched and claimed; probes are timed and handed back.
    fn on_queue(&self, entries: Vec<QueueEntry>) {
        let now = Instant::now();
        for entry in entries {
            let Some(user) = entry.identity.and_then(|i| i.user_id) else {
                continue;
            };
            if let Some(i) = user
                .strip_prefix("load-")
                .and_then(|i| i.parse::<usize>().ok())
            {
                let Some(slot) = self.ids.get(i) else {
                    continue;
                };
                if slot.set(entry.conversation).is_ok() {
                    let agent = &self.agents[i % self.agents.len()];
                    let conversation = entry.conversation;
                    let _ = agent.send(encode(&AgentRequest::Watch {
                        conversation,
                        last_seq: 0,
                    }));
                    let _ = agent.send(encode(&AgentRequest::Claim { conversation }));
                }
            } else if user.starts_with("probe-") {
                let pressed = self
                    .probes
                    .pressed
                    .lock()
                    .expect("probes lock")
                    .remove(&user);
                if let Some(pressed) = pressed {
                    let micros = now.saturating_duration_since(pressed).as_micros() as u64;
                    if let Some(h) = self.probes.seen.lock().expect("probes lock").as_mut() {
                        let _ = h.record(micros.max(1));
                    }
                    self.probes.recorded.fetch_add(1, Relaxed);
                    let _ = self.agents[0].send(encode(&AgentRequest::Resume {
                        conversation: entry.conversation,
                    }));
                }
            }
        }
    }
}

/// Baton carrying the load: set up and ready for steps.
pub struct BatonLoad {
    shared: Arc<Shared>,
    visitor_url: String,
}

impl Wiring for BatonLoad {
    fn send(&self, dir: Dir, conversation: usize, id: &str) -> bool {
        match dir {
            Dir::V2A => {
                let frame = VisitorRequest::Say {
                    client_id: id.to_string(),
                    text: format!("{TEXT} [{id}]"),
                };
                self.shared
                    .visitors
                    .get()
                    .and_then(|v| v.get(conversation))
                    .is_some_and(|v| v.send(encode(&frame)).is_ok())
            }
            Dir::A2V => {
                let Some(&id_of) = self.shared.ids.get(conversation).and_then(|i| i.get()) else {
                    return false;
                };
                let frame = AgentRequest::Reply {
                    conversation: id_of,
                    client_id: id.to_string(),
                    text: format!("{TEXT} [{id}]"),
                };
                let agents = &self.shared.agents;
                agents[conversation % agents.len()]
                    .send(encode(&frame))
                    .is_ok()
            }
        }
    }

    fn conversations(&self) -> usize {
        self.shared.ids.len()
    }

    fn acks(&self) -> bool {
        true
    }
}

/// Opens `agent_sockets` agent sockets and `conversations` visitors, and
/// brings every conversation to the `human` state, claimed by the demo
/// agent and watched by one of the agent sockets.
pub async fn setup(
    server: &crate::servers::ServerProcess,
    conversations: usize,
    agent_sockets: usize,
    live: Arc<Live>,
) -> Result<BatonLoad, String> {
    let cookie = login(&server.http("")).await?;
    let mut agents = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..agent_sockets.max(1) {
        let ws = load::connect(&server.ws("/ws/agent"), Some(&cookie)).await?;
        let (tx, rx) = load::split(ws, live.clone());
        agents.push(tx);
        readers.push(rx);
    }
    let shared = Arc::new(Shared {
        live: live.clone(),
        agents,
        visitors: OnceLock::new(),
        ids: (0..conversations).map(|_| OnceLock::new()).collect(),
        joined: AtomicUsize::new(0),
        probes: Probes::default(),
    });
    for (j, reader) in readers.into_iter().enumerate() {
        tokio::spawn(agent_reader(reader, j, shared.clone()));
    }

    // Visitors: a few at a time, each straight to the button.
    let visitor_url = server.ws("/ws/visitor");
    let opened = futures::stream::iter(0..conversations)
        .map(|i| {
            let url = visitor_url.clone();
            async move { (i, open_visitor(&url, Some(format!("load-{i}"))).await) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let mut sockets: Vec<Option<Ws>> = (0..conversations).map(|_| None).collect();
    for (i, ws) in opened {
        sockets[i] = Some(ws?);
    }
    let mut visitors = Vec::with_capacity(conversations);
    for (i, ws) in sockets.into_iter().enumerate() {
        let ws = ws.ok_or("a visitor socket went missing")?;
        let (tx, rx) = load::split(ws, live.clone());
        let pressed = tx.send(encode(&VisitorRequest::RequestHuman {
            client_id: "talk-to-a-human".into(),
        }));
        if pressed.is_err() {
            return Err(format!("visitor {i}: its socket closed"));
        }
        visitors.push(tx);
        tokio::spawn(visitor_reader(rx, shared.clone()));
    }
    let _ = shared.visitors.set(visitors);

    let started = Instant::now();
    let deadline =
        started + Duration::from_secs(60) + SETUP_PER_CONVERSATION * conversations as u32;
    while shared.joined.load(Relaxed) < conversations {
        if Instant::now() > deadline {
            let mapped = shared.ids.iter().filter(|i| i.get().is_some()).count();
            return Err(format!(
                "setup: after {:?}, {mapped} of {conversations} conversations reached the queue \
                 and {} were joined by the agent; errors: {:?}",
                started.elapsed(),
                shared.joined.load(Relaxed),
                live.first_errors()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await; // poll interval
    }
    Ok(BatonLoad {
        shared,
        visitor_url,
    })
}

/// Agent socket `j`: the visitors' messages, the agent's acks, and (on
/// socket 0) the queue.
async fn agent_reader(mut reader: WsReader, j: usize, shared: Arc<Shared>) {
    while let Some(message) = reader.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        // Every agent socket gets the whole queue on every change; only
        // socket 0 needs it, the others skip parsing it.
        if j != 0 && text.as_str().starts_with(r#"{"type":"queue""#) {
            continue;
        }
        match serde_json::from_str::<AgentUpdate>(&text) {
            Ok(AgentUpdate::Event { event, .. }) => {
                if let EventBody::Visitor { client_id, .. } = &event.body {
                    shared.live.delivered(client_id);
                }
            }
            Ok(AgentUpdate::Ack { client_id, .. }) => shared.live.acked(&client_id),
            Ok(AgentUpdate::Queue { entries }) => shared.on_queue(entries),
            Ok(AgentUpdate::Error {
                code,
                message,
                client_id,
            }) => shared.live.error(format!(
                "agent socket {j}: {code:?} {message} ({client_id:?})"
            )),
            Ok(_) => {}
            Err(e) => shared
                .live
                .error(format!("agent socket {j}: unreadable frame: {e}")),
        }
    }
    shared.live.error(format!("agent socket {j} closed"));
}

/// A load visitor: the agent's replies, its own acks, the agent joining.
async fn visitor_reader(mut reader: WsReader, shared: Arc<Shared>) {
    let mut joined = false;
    while let Some(message) = reader.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        match serde_json::from_str::<VisitorUpdate>(&text) {
            Ok(VisitorUpdate::Event { event }) => match &event.body {
                EventBody::Agent { client_id, .. } => shared.live.delivered(client_id),
                EventBody::AgentJoined { .. } if !joined => {
                    joined = true;
                    shared.joined.fetch_add(1, Relaxed);
                }
                _ => {}
            },
            Ok(VisitorUpdate::Ack { client_id, .. }) => shared.live.acked(&client_id),
            Ok(VisitorUpdate::Error {
                code,
                message,
                client_id,
            }) => shared
                .live
                .error(format!("visitor: {code:?} {message} ({client_id:?})")),
            Ok(_) => {}
            Err(e) => shared.live.error(format!("visitor: unreadable frame: {e}")),
        }
    }
    shared.live.error("a visitor socket closed".into());
}

impl BatonLoad {
    /// Presses the button from fresh visitors at `per_second` for
    /// `duration` (at least one press), while the step runs; then waits
    /// up to `wait` for the stragglers.
    pub async fn probe_handoffs(
        &self,
        step: u32,
        per_second: f64,
        duration: Duration,
        wait: Duration,
    ) -> HandoffResult {
        let probes = &self.shared.probes;
        *probes.seen.lock().expect("probes lock") = Some(load::histogram());
        probes.recorded.store(0, Relaxed);
        let count = ((per_second * duration.as_secs_f64()).round() as usize).max(1);
        let start = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for k in 0..count {
            let due = start + Duration::from_secs_f64(k as f64 / per_second.max(0.001));
            tokio::time::sleep_until(due.into()).await;
            let url = self.visitor_url.clone();
            let shared = self.shared.clone();
            let done = done.clone();
            tasks.push(tokio::spawn(async move {
                let user = format!("probe-{step}-{k}");
                let mut ws = match open_visitor(&url, Some(user.clone())).await {
                    Ok(ws) => ws,
                    Err(e) => {
                        shared.live.error(format!("handoff probe: {e}"));
                        return;
                    }
                };
                let frame = VisitorRequest::RequestHuman {
                    client_id: "talk-to-a-human".into(),
                };
                shared
                    .probes
                    .pressed
                    .lock()
                    .expect("probes lock")
                    .insert(user, Instant::now());
                if let Err(e) = send_now(&mut ws, &frame).await {
                    shared.live.error(format!("handoff probe: {e}"));
                    return;
                }
                // Keep the socket open (and read) until the run is over, as
                // a visitor waiting for a person would.
                while !done.load(Relaxed) {
                    let _ = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
                }
            }));
        }
        let deadline = Instant::now() + wait;
        while probes.recorded.load(Relaxed) < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
        }
        done.store(true, Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        probes.pressed.lock().expect("probes lock").clear();
        let histogram = probes
            .seen
            .lock()
            .expect("probes lock")
            .take()
            .unwrap_or_else(load::histogram);
        HandoffResult {
            pressed: count,
            seen: histogram.len() as usize,
            p50_ms: histogram.value_at_quantile(0.5) as f64 / 1000.0,
            p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
            max_ms: histogram.max() as f64 / 1000.0,
        }
    }
}
