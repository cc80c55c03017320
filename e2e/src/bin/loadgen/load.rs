//! The relay-latency load, whichever server carries it: sockets with a
//! writer task each, an open-loop schedule, and the books every message is
//! kept in.
//!
//! Open loop: message `k` of a step is due at `start + k / rate`, whatever
//! happened to earlier ones, so a slow server cannot slow the load down
//! and hide its own slowness (coordinated omission). The scheduler hands
//! each frame to its socket's writer task through a channel and notes that
//! instant; latency runs from there to the instant the other side's reader
//! task has the frame, so a server that stops reading (TCP backpressure)
//! is charged for it. How late the scheduler itself ran is measured apart
//! ("gen lag"): it shows when the generator, not the server, fell behind.
//!
//! Messages alternate between the two directions (visitor → agent,
//! agent → visitor), so each direction gets half the rate, spread over the
//! conversations round-robin. Each carries an id `v<step>.<n>` or
//! `a<step>.<n>` (Baton's `client_id`), which is how readers find it in the
//! books.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type WsReader = futures::stream::SplitStream<Ws>;

/// The text every message carries besides its id: about a chat line.
pub const TEXT: &str = "Load test message: about as long as a line someone types into a chat.";

/// Read buffer of each client socket. tungstenite's default (128 KiB,
/// zero-filled on first read) would cost 2.5 GiB of client memory at
/// 20,000 idle sockets; frames here are small, and larger ones (the
/// agent's queue) grow the buffer as needed.
const CLIENT_READ_BUFFER: usize = 4096;

/// How long a connect (handshake included) may take.
pub const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// The instant everything is measured from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`], never 0 (0 means "not sent").
pub fn now_ns() -> u64 {
    (epoch().elapsed().as_nanos() as u64).max(1)
}

/// Opens a client WebSocket with small buffers and Nagle off (latency is
/// the point), optionally with a session cookie.
pub async fn connect(url: &str, cookie: Option<&str>) -> Result<Ws, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("{url}: {e}"))?;
    if let Some(cookie) = cookie {
        let value = cookie
            .parse()
            .map_err(|_| "the session cookie is not a header value".to_string())?;
        request.headers_mut().insert("cookie", value);
    }
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(CONNECT_WAIT, connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connecting to {url}: {e}")),
        Err(_) => Err(format!(
            "connecting to {url}: no answer in {CONNECT_WAIT:?}"
        )),
    }
}

/// The next text frame within `wait`.
pub async fn recv_text(ws: &mut Ws, wait: Duration) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Err(format!("nothing arrived within {wait:?}")),
            Ok(None) => return Err("the server closed the socket".into()),
            Ok(Some(Err(e))) => return Err(format!("reading: {e}")),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(text.to_string()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(format!("the server closed the socket: {frame:?}"));
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Splits a socket: frames sent into the returned channel are written by
/// a task of their own (batched, one flush per burst), so the scheduler
/// never waits on a socket; the read half is the caller's.
pub fn split(ws: Ws, live: Arc<Live>) -> (mpsc::UnboundedSender<String>, WsReader) {
    let (mut sink, stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(Message::text(first)).await.is_err() {
                live.error("a socket failed while writing".into());
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(Message::text(more)).await.is_err() {
                    live.error("a socket failed while writing".into());
                    return;
                }
            }
            if sink.flush().await.is_err() {
                live.error("a socket failed while writing".into());
                return;
            }
        }
    });
    (tx, stream)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// The visitor writes, the agent's socket receives.
    V2A = 0,
    /// The agent replies, the visitor's socket receives.
    A2V = 1,
}

impl Dir {
    pub const BOTH: [Dir; 2] = [Dir::V2A, Dir::A2V];

    pub fn label(self) -> &'static str {
        match self {
            Dir::V2A => "visitor→agent",
            Dir::A2V => "agent→visitor",
        }
    }

    fn letter(self) -> char {
        match self {
            Dir::V2A => 'v',
            Dir::A2V => 'a',
        }
    }
}

/// `v<step>.<n>` / `a<step>.<n>`.
pub fn message_id(dir: Dir, step: u32, n: usize) -> String {
    format!("{}{step}.{n}", dir.letter())
}

fn parse_id(id: &str) -> Option<(Dir, u32, usize)> {
    let dir = match id.as_bytes().first()? {
        b'v' => Dir::V2A,
        b'a' => Dir::A2V,
        _ => return None,
    };
    let (step, n) = id.get(1..)?.split_once('.')?;
    Some((dir, step.parse().ok()?, n.parse().ok()?))
}

/// Latencies in microseconds, 1 µs to 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// The books of one direction of one step.
struct DirBooks {
    sent_ns: Vec<AtomicU64>,
    acked: Vec<AtomicBool>,
    delivered: Vec<AtomicBool>,
    sent: AtomicU64,
    acked_n: AtomicU64,
    delivered_n: AtomicU64,
    duplicates: AtomicU64,
    latency: Mutex<Histogram<u64>>,
    ack_latency: Mutex<Histogram<u64>>,
}

impl DirBooks {
    fn new(capacity: usize) -> Self {
        Self {
            sent_ns: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            acked: (0..capacity).map(|_| AtomicBool::new(false)).collect(),
            delivered: (0..capacity).map(|_| AtomicBool::new(false)).collect(),
            sent: AtomicU64::new(0),
            acked_n: AtomicU64::new(0),
            delivered_n: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            latency: Mutex::new(histogram()),
            ack_latency: Mutex::new(histogram()),
        }
    }
}

/// One step: a fixed rate for a fixed time, on one server.
pub struct Step {
    id: u32,
    /// Messages sent before this instant are kept in the books (lost is
    /// lost) but not in the histograms: connections, caches and the
    /// database's files warm up first.
    record_from_ns: u64,
    dirs: [DirBooks; 2],
    last_delivery_ns: AtomicU64,
}

impl Step {
    fn books(&self, dir: Dir) -> &DirBooks {
        &self.dirs[dir as usize]
    }
}

/// What the reader tasks report into: the step under way (if any) and the
/// errors seen over the whole run.
#[derive(Default)]
pub struct Live {
    current: RwLock<Option<Arc<Step>>>,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    /// Frames for a step already over (a backlog worked off late).
    stale: AtomicU64,
}

impl Live {
    fn step(&self) -> Option<Arc<Step>> {
        self.current.read().expect("step lock").clone()
    }

    /// The other side received message `id`.
    pub fn delivered(&self, id: &str) {
        let now = now_ns();
        let Some((dir, step_id, n)) = parse_id(id) else {
            return;
        };
        let Some(step) = self.step().filter(|s| s.id == step_id) else {
            self.stale.fetch_add(1, Relaxed);
            return;
        };
        let books = step.books(dir);
        let (Some(flag), Some(sent)) = (books.delivered.get(n), books.sent_ns.get(n)) else {
            return;
        };
        if flag.swap(true, Relaxed) {
            books.duplicates.fetch_add(1, Relaxed);
            return;
        }
        books.delivered_n.fetch_add(1, Relaxed);
        step.last_delivery_ns.fetch_max(now, Relaxed);
        let sent = sent.load(Relaxed);
        if sent >= step.record_from_ns {
            let micros = now.saturating_sub(sent) / 1000;
            let _ = books
                .latency
                .lock()
                .expect("histogram lock")
                .record(micros.max(1));
        }
    }

    /// The server acknowledged message `id` (stored it).
    pub fn acked(&self, id: &str) {
        let now = now_ns();
        let Some((dir, step_id, n)) = parse_id(id) else {
            return;
        };
        let Some(step) = self.step().filter(|s| s.id == step_id) else {
            self.stale.fetch_add(1, Relaxed);
            return;
        };
        let books = step.books(dir);
        let (Some(flag), Some(sent)) = (books.acked.get(n), books.sent_ns.get(n)) else {
            return;
        };
        if flag.swap(true, Relaxed) {
            return;
        }
        books.acked_n.fetch_add(1, Relaxed);
        let sent = sent.load(Relaxed);
        if sent >= step.record_from_ns {
            let micros = now.saturating_sub(sent) / 1000;
            let _ = books
                .ack_latency
                .lock()
                .expect("histogram lock")
                .record(micros.max(1));
        }
    }

    /// Something went wrong: an error frame, a failed socket.
    pub fn error(&self, what: String) {
        self.errors.fetch_add(1, Relaxed);
        let mut first = self.first_errors.lock().expect("errors lock");
        if first.len() < 5 {
            first.push(what);
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Relaxed)
    }

    pub fn first_errors(&self) -> Vec<String> {
        self.first_errors.lock().expect("errors lock").clone()
    }
}

/// Where the scheduler sends a message: implemented for each server.
pub trait Wiring: Send + Sync {
    /// Queues message `id` of `dir` in conversation `conversation` (an
    /// index) on the right socket; false if that socket is gone.
    fn send(&self, dir: Dir, conversation: usize, id: &str) -> bool;
    fn conversations(&self) -> usize;
    /// Whether the server acknowledges messages (Baton does, after the
    /// durable write; the bare relay has nothing to acknowledge).
    fn acks(&self) -> bool;
}

/// How one step runs.
#[derive(Clone, Copy, Debug)]
pub struct StepPlan {
    /// Messages per second, both directions together.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    /// How long to wait for outstanding messages after the last send.
    pub drain: Duration,
    /// Give the step up as overloaded once this many seconds' worth of
    /// messages are outstanding (sent, not yet delivered).
    pub backlog_secs: f64,
}

/// One direction's outcome.
#[derive(serde::Serialize, Clone, Debug, Default)]
pub struct DirResult {
    pub sent: u64,
    /// `None` for a server without acks.
    pub acked: Option<u64>,
    pub delivered: u64,
    /// Acknowledged (or, without acks, sent) and never delivered before
    /// the drain deadline. Always a fault, at any load.
    pub lost: u64,
    /// Sent and never acknowledged by the deadline (overload, not a fault
    /// by itself).
    pub unacked: u64,
    pub duplicates: u64,
    /// Delivery latency after the warm-up, milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: u64,
    /// Send to ack (the durable write), milliseconds.
    pub ack_p50_ms: Option<f64>,
    pub ack_p99_ms: Option<f64>,
}

/// A step's outcome.
#[derive(serde::Serialize, Clone, Debug, Default)]
pub struct StepResult {
    pub target: String,
    pub rate: f64,
    /// Delivered messages per second, both directions, from the first send
    /// to the last delivery.
    pub achieved: f64,
    pub dirs: [DirResult; 2],
    /// Error frames and failed sockets during the step.
    pub errors: u64,
    /// Stopped early: the backlog grew past the limit.
    pub overloaded: bool,
    /// How late the scheduler sent, p99 ms (the generator's own lag).
    pub gen_lag_p99_ms: f64,
    /// Cores the server used while sending (CPU seconds / wall seconds).
    pub server_cores: f64,
    pub loadgen_cores: f64,
    /// Cores busy with anything else on the machine meanwhile.
    pub other_cores: f64,
    pub server_rss_kib: u64,
    pub handoff: Option<crate::baton::HandoffResult>,
}

impl StepResult {
    /// Worst p99 of the two directions.
    pub fn p99_ms(&self) -> f64 {
        self.dirs[0].p99_ms.max(self.dirs[1].p99_ms)
    }

    pub fn lost(&self) -> u64 {
        self.dirs.iter().map(|d| d.lost).sum()
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Runs one step: schedules, sends, drains, and reads the books.
pub async fn run_step(live: &Live, wiring: &dyn Wiring, plan: StepPlan, id: u32) -> StepResult {
    let total = (plan.rate * (plan.warmup + plan.duration).as_secs_f64()).ceil() as usize;
    let per_dir = total / 2 + 1;
    let lead = Duration::from_millis(50);
    let start = Instant::now() + lead;
    let start_ns = now_ns() + lead.as_nanos() as u64;
    let step = Arc::new(Step {
        id,
        record_from_ns: start_ns + plan.warmup.as_nanos() as u64,
        dirs: [DirBooks::new(per_dir), DirBooks::new(per_dir)],
        last_delivery_ns: AtomicU64::new(0),
    });
    *live.current.write().expect("step lock") = Some(step.clone());
    let errors_before = live.errors();
    let conversations = wiring.conversations().max(1);
    let backlog_limit = (plan.rate * plan.backlog_secs).max(50.0) as u64;
    let mut lag = histogram();
    let mut overloaded = false;
    let mut sent_total = 0u64;

    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / plan.rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let dir = Dir::BOTH[k % 2];
        let n = k / 2;
        // The two directions use different conversations at any moment.
        let conversation = (n + (dir as usize) * conversations / 2) % conversations;
        let books = step.books(dir);
        let Some(slot) = books.sent_ns.get(n) else {
            break;
        };
        let message = message_id(dir, id, n);
        let now = Instant::now();
        slot.store(now_ns(), Relaxed);
        if !wiring.send(dir, conversation, &message) {
            live.error(format!("the socket of conversation {conversation} is gone"));
            slot.store(0, Relaxed);
            continue;
        }
        books.sent.fetch_add(1, Relaxed);
        sent_total += 1;
        let _ = lag.record((now.saturating_duration_since(due).as_micros() as u64).max(1));
        if k % 32 == 0 {
            let delivered: u64 = step.dirs.iter().map(|d| d.delivered_n.load(Relaxed)).sum();
            if sent_total.saturating_sub(delivered) > backlog_limit {
                overloaded = true;
                break;
            }
        }
    }
    let sending_ended = Instant::now();

    // Drain: everything sent is delivered (and acknowledged), or the
    // deadline passes.
    let deadline = Instant::now() + plan.drain;
    loop {
        let done = step.dirs.iter().all(|d| {
            let sent = d.sent.load(Relaxed);
            d.delivered_n.load(Relaxed) >= sent
                && (!wiring.acks() || d.acked_n.load(Relaxed) >= sent)
        });
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
    }
    *live.current.write().expect("step lock") = None;

    let mut result = StepResult {
        rate: plan.rate,
        overloaded,
        errors: live.errors() - errors_before,
        gen_lag_p99_ms: ms(lag.value_at_quantile(0.99)),
        ..StepResult::default()
    };
    let mut delivered_total = 0;
    for dir in Dir::BOTH {
        let books = step.books(dir);
        let sent = books.sent.load(Relaxed);
        let delivered = books.delivered_n.load(Relaxed);
        delivered_total += delivered;
        let mut lost = 0;
        let mut unacked = 0;
        for n in 0..per_dir {
            if books.sent_ns[n].load(Relaxed) == 0 {
                continue;
            }
            let acked = books.acked[n].load(Relaxed);
            let arrived = books.delivered[n].load(Relaxed);
            if wiring.acks() && !acked {
                unacked += 1;
            }
            if (acked || !wiring.acks()) && !arrived {
                lost += 1;
            }
        }
        let latency = books.latency.lock().expect("histogram lock");
        let ack_latency = books.ack_latency.lock().expect("histogram lock");
        result.dirs[dir as usize] = DirResult {
            sent,
            acked: wiring.acks().then(|| books.acked_n.load(Relaxed)),
            delivered,
            lost,
            unacked,
            duplicates: books.duplicates.load(Relaxed),
            p50_ms: ms(latency.value_at_quantile(0.5)),
            p99_ms: ms(latency.value_at_quantile(0.99)),
            max_ms: ms(latency.max()),
            samples: latency.len(),
            ack_p50_ms: wiring
                .acks()
                .then(|| ms(ack_latency.value_at_quantile(0.5))),
            ack_p99_ms: wiring
                .acks()
                .then(|| ms(ack_latency.value_at_quantile(0.99))),
        };
    }
    let last = step.last_delivery_ns.load(Relaxed);
    let span = Duration::from_nanos(last.saturating_sub(start_ns))
        .max(sending_ended.saturating_duration_since(start))
        .as_secs_f64();
    result.achieved = if span > 0.0 {
        delivered_total as f64 / span
    } else {
        0.0
    };
    result
}
