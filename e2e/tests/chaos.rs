//! Nothing lost, nothing twice — under chaos.
//!
//! The real `baton` binary runs as a child process. Scripted visitors (one
//! conversation each) and one agent talk to it over WebSockets while
//! sockets are dropped at random, the server is `kill -9`ed twice mid-run
//! and restarted on the same port and SQLite file, and finally stopped
//! with SIGTERM (sockets get 1012) and started once more. Clients do what
//! the widget and console must: reconnect with backoff and jitter, send
//! `last_seq`, and resend every unacknowledged message with its original
//! `client_id`.
//!
//! Then every conversation's log is read through an agent socket, and:
//! every acknowledged client message is stored exactly once, in the order
//! it was sent, at the `seq` its ack named; each visitor's live view (what
//! it received across all its reconnects) and the agent's live view of the
//! conversations it handled equal that log event for event. The counts are
//! printed even when the test passes.
//!
//! Run alone: `cargo test -p baton-e2e --test chaos`. `CHAOS_CONVERSATIONS`,
//! `CHAOS_MESSAGES` and `CHAOS_SEED` change the scale and the script (the
//! seed is printed, but thread timing still varies between runs: the
//! verdict must not).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_e2e::child::ChildServer;
use baton_e2e::wire::{Backoff, Gone, Rng, Socket, login, read_all_logs};
use baton_shared::*;
use tokio::sync::watch;

/// Rate limits off: every scripted client shares 127.0.0.1 and sends
/// faster than a person types (`server/tests/limits.rs` covers them).
const CONFIG: &str = "[limits]\nconnections_per_minute = 0\nframes_per_second = 0\n";

/// How long a connect or a welcome may take.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// Silence while waiting for an ack after which a client gives the socket
/// up and reconnects (counted as a stall; none are expected).
const STALL: Duration = Duration::from_secs(30);
/// How often an idle client looks at whether the run is over.
const IDLE: Duration = Duration::from_millis(500);
/// How long any phase of the run may take before the test fails.
const PHASE_DEADLINE: Duration = Duration::from_secs(240);

/// What visitors ask. After a dozen messages they start repeating
/// themselves, which the frustration rule hands to a person: every
/// conversation ends up in the agent's queue, while the assistant answers
/// until then.
const QUESTIONS: [&str; 12] = [
    "How long does shipping take?",
    "Which payment methods do you accept?",
    "Do you ship internationally?",
    "How do I track my order?",
    "What is your return policy?",
    "How do I find my shoe size?",
    "Do you offer gift cards?",
    "What are your opening hours?",
    "How much does shipping cost?",
    "How do I reset my password?",
    "Do you have a physical store?",
    "How do I care for leather shoes?",
];

#[derive(Clone, Copy, Debug)]
struct Plan {
    conversations: usize,
    messages: usize,
    /// Messages a visitor sends ahead of their acks.
    window: usize,
    /// Chance a visitor drops its socket right after sending (the message
    /// may or may not be stored: the resend must sort it out).
    drop_after_send: f64,
    /// Chance a visitor drops its socket after receiving an event.
    drop_on_event: f64,
    /// `kill -9` when this share of all visitor messages is acknowledged;
    /// once more when half the agent's replies are.
    kill_at: [f64; 2],
    /// Conversations the agent takes from the queue, and replies to each.
    /// Every fourth visitor asks for a person, so there are enough.
    claims: usize,
    replies: usize,
    seed: u64,
}

impl Plan {
    fn from_env() -> Self {
        let number = |var: &str, default: u64| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let seed = number("CHAOS_SEED", 0x5eed_ba70);
        let conversations = number("CHAOS_CONVERSATIONS", 200).max(1) as usize;
        Self {
            conversations,
            messages: number("CHAOS_MESSAGES", 20) as usize,
            window: 3,
            drop_after_send: 0.02,
            drop_on_event: 0.01,
            kill_at: [0.3, 0.65],
            claims: conversations.div_ceil(4).min(40),
            replies: 2,
            seed,
        }
    }

    fn agent_replies(&self) -> usize {
        self.claims * self.replies
    }

    fn script(&self, visitor: usize, j: usize) -> (String, String) {
        let text = if visitor.is_multiple_of(4) && j == self.messages / 3 {
            "Can I speak to a human please?".to_string()
        } else {
            QUESTIONS[(visitor + j) % QUESTIONS.len()].to_string()
        };
        // The marker makes every text unique, so a duplicate stored under
        // another client id would be seen too.
        (
            format!("v{visitor}-m{j}"),
            format!("{text} [v{visitor} #{j}]"),
        )
    }
}

/// What every client reports to the controller while it runs.
#[derive(Default)]
struct Shared {
    acked: AtomicUsize,
    agent_acked: AtomicUsize,
    visitors_done: AtomicUsize,
    reconnects: AtomicUsize,
    drops: AtomicUsize,
    resent: AtomicUsize,
    stalls: AtomicUsize,
    closed_1012: AtomicUsize,
    /// Set by the agent once it has taken and answered its conversations
    /// and nothing it sent is unacknowledged.
    agent_done: AtomicBool,
    violations: Mutex<Vec<String>>,
}

impl Shared {
    fn violation(&self, what: String) {
        self.violations.lock().expect("violations").push(what);
    }

    fn note_gone(&self, gone: &Gone) {
        if matches!(gone, Gone::Closed(Some(1012))) {
            self.closed_1012.fetch_add(1, Relaxed);
        }
    }
}

/// The logs as read at the end, for clients to know when they have caught
/// up: the last `seq` of each visitor's and each conversation's log.
#[derive(Default)]
struct Finals {
    by_visitor: HashMap<usize, Seq>,
    by_conversation: HashMap<ConversationId, Seq>,
}

type FinalsRx = watch::Receiver<Option<Arc<Finals>>>;

fn last_seq(view: &[Event]) -> Seq {
    view.last().map_or(0, |e| e.seq)
}

/// Appends a live event to a view, recording any gap or repeat.
fn apply(view: &mut Vec<Event>, event: Event, who: &str, shared: &Shared) {
    let last = last_seq(view);
    if event.seq == last + 1 {
        view.push(event);
    } else {
        shared.violation(format!(
            "{who}: received seq {} right after {last}",
            event.seq
        ));
        if event.seq > last {
            view.push(event);
        }
    }
}

// ---------------------------------------------------------------- visitors

struct Visitor {
    idx: usize,
    plan: Plan,
    script: Vec<(String, String)>,
    token: Option<String>,
    view: Vec<Event>,
    acked: Vec<(String, Seq)>,
    /// Sent at least once, not yet acknowledged, in script order.
    unacked: VecDeque<usize>,
    next_new: usize,
    done: bool,
    rng: Rng,
}

struct VisitorReport {
    idx: usize,
    acked: Vec<(String, Seq)>,
    view: Vec<Event>,
}

enum End {
    Lost,
    Finished,
}

async fn run_visitor(
    idx: usize,
    plan: Plan,
    url: Arc<str>,
    shared: Arc<Shared>,
    mut finals: FinalsRx,
) -> VisitorReport {
    let mut rng = Rng::new(plan.seed ^ (idx as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut backoff = Backoff::new(
        Duration::from_millis(25),
        Duration::from_secs(1),
        rng.next_u64(),
    );
    let mut me = Visitor {
        idx,
        plan,
        script: (0..plan.messages).map(|j| plan.script(idx, j)).collect(),
        token: None,
        view: Vec::new(),
        acked: Vec::new(),
        unacked: VecDeque::new(),
        next_new: 0,
        done: false,
        rng,
    };
    let mut first = true;
    loop {
        if !first {
            shared.reconnects.fetch_add(1, Relaxed);
            tokio::time::sleep(backoff.next_delay()).await;
        }
        first = false;
        let Ok(mut socket) =
            Socket::<VisitorRequest, VisitorUpdate>::connect(&url, None, CONNECT_WAIT).await
        else {
            continue;
        };
        let hello = VisitorRequest::Hello {
            token: me.token.clone(),
            last_seq: last_seq(&me.view),
            page: None,
            identity: None,
            metadata: Default::default(),
        };
        if socket.send(&hello).await.is_err() {
            continue;
        }
        match socket.recv(CONNECT_WAIT).await {
            Ok(VisitorUpdate::Welcome { token, .. }) => match (&me.token, token) {
                (None, Some(token)) => me.token = Some(token),
                (Some(_), None) => {}
                (mine, theirs) => {
                    shared.violation(format!(
                        "v{idx}: welcome with token {theirs:?} while holding {mine:?}"
                    ));
                    continue;
                }
            },
            Ok(other) => {
                shared.violation(format!("v{idx}: expected welcome, got {other:?}"));
                continue;
            }
            Err(gone) => {
                shared.note_gone(&gone);
                continue;
            }
        }
        backoff.reset();
        if let End::Finished = me.session(socket, &shared, &mut finals).await {
            return VisitorReport {
                idx,
                acked: me.acked,
                view: me.view,
            };
        }
    }
}

impl Visitor {
    /// One socket's life: (re)send what is unacknowledged, send the rest of
    /// the script, take events and acks, until the socket is lost or the
    /// run is over and this view has caught up with the final log.
    async fn session(
        &mut self,
        mut socket: Socket<VisitorRequest, VisitorUpdate>,
        shared: &Shared,
        finals: &mut FinalsRx,
    ) -> End {
        let idx = self.idx;
        // Acks come in the order frames were sent: `in_flight` counts the
        // front of `unacked` sent on this socket.
        let mut in_flight = 0;
        loop {
            while in_flight < self.plan.window {
                let j = if in_flight < self.unacked.len() {
                    shared.resent.fetch_add(1, Relaxed);
                    self.unacked[in_flight]
                } else if self.next_new < self.plan.messages {
                    self.unacked.push_back(self.next_new);
                    self.next_new += 1;
                    self.next_new - 1
                } else {
                    break;
                };
                let (client_id, text) = self.script[j].clone();
                if socket
                    .send(&VisitorRequest::Say { client_id, text })
                    .await
                    .is_err()
                {
                    return End::Lost;
                }
                in_flight += 1;
                if self.rng.chance(self.plan.drop_after_send) {
                    shared.drops.fetch_add(1, Relaxed);
                    socket.abort();
                    return End::Lost;
                }
            }

            if self.unacked.is_empty() && self.next_new == self.plan.messages {
                if !self.done {
                    self.done = true;
                    shared.visitors_done.fetch_add(1, Relaxed);
                }
                let target = finals
                    .borrow()
                    .as_ref()
                    .map(|f| f.by_visitor.get(&idx).copied());
                match target {
                    Some(Some(last)) if last_seq(&self.view) >= last => return End::Finished,
                    Some(None) => {
                        shared.violation(format!("v{idx}: no conversation holds my messages"));
                        return End::Finished;
                    }
                    _ => {}
                }
            }

            let waiting = in_flight > 0;
            let received = tokio::select! {
                received = socket.recv(if waiting { STALL } else { IDLE }) => received,
                _ = finals.changed() => continue,
            };
            match received {
                Ok(VisitorUpdate::Event { event }) => {
                    apply(&mut self.view, event, &format!("visitor {idx}"), shared);
                    if self.rng.chance(self.plan.drop_on_event) {
                        shared.drops.fetch_add(1, Relaxed);
                        socket.abort();
                        return End::Lost;
                    }
                }
                Ok(VisitorUpdate::Ack { client_id, seq }) => match self.unacked.front() {
                    Some(&j) if in_flight > 0 && self.script[j].0 == client_id => {
                        self.unacked.pop_front();
                        in_flight -= 1;
                        self.acked.push((client_id, seq));
                        shared.acked.fetch_add(1, Relaxed);
                    }
                    _ => shared.violation(format!("v{idx}: ack for {client_id} out of turn")),
                },
                Ok(VisitorUpdate::Error { code, message, .. }) => {
                    shared.violation(format!("v{idx}: error frame {code:?}: {message}"));
                    return End::Lost;
                }
                Ok(other @ VisitorUpdate::Welcome { .. }) => {
                    shared.violation(format!("v{idx}: second welcome {other:?}"));
                }
                // The assistant "typing" while it drafts: passing news.
                Ok(VisitorUpdate::Typing { .. } | VisitorUpdate::Draft { .. }) => {}
                Err(Gone::Silent) if !waiting => {}
                Err(gone) => {
                    if matches!(gone, Gone::Silent) {
                        shared.stalls.fetch_add(1, Relaxed);
                    }
                    shared.note_gone(&gone);
                    return End::Lost;
                }
            }
        }
    }
}

// ------------------------------------------------------------------- agent

#[derive(Default)]
struct Taken {
    view: Vec<Event>,
    /// From the latest detail frame; `None` until the watch is answered.
    state: Option<ConversationState>,
    claimed: bool,
    replies_acked: usize,
}

struct Agent {
    plan: Plan,
    me: Option<AgentRef>,
    taken: BTreeMap<ConversationId, Taken>,
    candidates: VecDeque<ConversationId>,
    seen: HashSet<ConversationId>,
    /// A reply sent and not yet acknowledged: sent again, with the same
    /// client id, before anything else after a reconnect.
    pending_reply: Option<ConversationId>,
    sent: HashSet<String>,
    replies: Vec<(ConversationId, String, Seq)>,
}

struct AgentReport {
    replies: Vec<(ConversationId, String, Seq)>,
    views: BTreeMap<ConversationId, Vec<Event>>,
}

/// What a frame meant for the operation waiting on it.
enum Reply {
    Ack(String, Seq),
    Error(ErrorCode, String),
    Other,
}

async fn run_agent(
    plan: Plan,
    url: Arc<str>,
    cookie: String,
    shared: Arc<Shared>,
    mut finals: FinalsRx,
) -> AgentReport {
    let mut rng = Rng::new(plan.seed ^ 0xa6e7);
    let mut backoff = Backoff::new(
        Duration::from_millis(25),
        Duration::from_secs(1),
        rng.next_u64(),
    );
    let mut agent = Agent {
        plan,
        me: None,
        taken: BTreeMap::new(),
        candidates: VecDeque::new(),
        seen: HashSet::new(),
        pending_reply: None,
        sent: HashSet::new(),
        replies: Vec::new(),
    };
    let mut first = true;
    loop {
        if !first {
            shared.reconnects.fetch_add(1, Relaxed);
            tokio::time::sleep(backoff.next_delay()).await;
        }
        first = false;
        let Ok(socket) =
            Socket::<AgentRequest, AgentUpdate>::connect(&url, Some(&cookie), CONNECT_WAIT).await
        else {
            continue;
        };
        backoff.reset();
        match agent.session(socket, &shared, &mut finals).await {
            Ok(()) => {
                let views = agent
                    .taken
                    .into_iter()
                    .map(|(id, t)| (id, t.view))
                    .collect();
                return AgentReport {
                    replies: agent.replies,
                    views,
                };
            }
            Err(gone) => shared.note_gone(&gone),
        }
    }
}

impl Agent {
    async fn session(
        &mut self,
        mut socket: Socket<AgentRequest, AgentUpdate>,
        shared: &Shared,
        finals: &mut FinalsRx,
    ) -> Result<(), Gone> {
        match socket.recv(CONNECT_WAIT).await? {
            AgentUpdate::Hello { agent, .. } => self.me = Some(agent),
            other => shared.violation(format!("agent: expected hello, got {other:?}")),
        }
        // Catch up on every conversation already taken, from its last seq.
        let taken: Vec<(ConversationId, Seq)> = self
            .taken
            .iter()
            .map(|(id, t)| (*id, last_seq(&t.view)))
            .collect();
        for (id, last) in taken {
            self.watch(&mut socket, shared, id, last).await?;
        }
        loop {
            if let Some(id) = self.pending_reply {
                self.reply(&mut socket, shared, id).await?;
                continue;
            }
            let claim = self
                .taken
                .iter()
                .find(|(_, t)| !t.claimed && t.state == Some(ConversationState::Queued));
            if let Some((&id, _)) = claim {
                self.claim(&mut socket, shared, id).await?;
                continue;
            }
            let more = self
                .taken
                .iter()
                .find(|(_, t)| t.claimed && t.replies_acked < self.plan.replies);
            if let Some((&id, _)) = more {
                self.pending_reply = Some(id);
                continue;
            }
            if self.taken.len() < self.plan.claims {
                if let Some(id) = self.candidates.pop_front() {
                    self.watch(&mut socket, shared, id, 0).await?;
                    continue;
                }
            } else {
                // Nothing left to do; from here on the agent only watches.
                shared.agent_done.store(true, Relaxed);
                if self.caught_up(finals) {
                    return Ok(());
                }
            }
            let received = tokio::select! {
                received = socket.recv(IDLE) => received,
                _ = finals.changed() => continue,
            };
            match received {
                Ok(frame) => {
                    self.take(frame, shared);
                }
                Err(Gone::Silent) => {}
                Err(gone) => return Err(gone),
            }
        }
    }

    /// Every watched conversation has reached its final log.
    fn caught_up(&self, finals: &FinalsRx) -> bool {
        let finals = finals.borrow();
        let Some(finals) = finals.as_ref() else {
            return false;
        };
        self.taken.iter().all(|(id, t)| {
            last_seq(&t.view) >= finals.by_conversation.get(id).copied().unwrap_or(0)
        })
    }

    /// Applies one frame to what the agent knows.
    fn take(&mut self, frame: AgentUpdate, shared: &Shared) -> Reply {
        match frame {
            AgentUpdate::Queue { entries } => {
                for entry in entries {
                    if entry.state == ConversationState::Queued
                        && self.seen.insert(entry.conversation)
                    {
                        self.candidates.push_back(entry.conversation);
                    }
                }
            }
            AgentUpdate::Conversation { detail } => {
                let me = self.me.as_ref().map(|a| a.id);
                if let Some(taken) = self.taken.get_mut(&detail.id) {
                    taken.state = Some(detail.state);
                    if detail.state == ConversationState::Human && detail.agent.map(|a| a.id) == me
                    {
                        taken.claimed = true;
                    }
                }
            }
            AgentUpdate::Event {
                conversation,
                event,
            } => match self.taken.get_mut(&conversation) {
                Some(taken) => apply(
                    &mut taken.view,
                    event,
                    &format!("agent on {conversation}"),
                    shared,
                ),
                None => shared.violation(format!(
                    "agent: event for unwatched conversation {conversation}"
                )),
            },
            AgentUpdate::Ack { client_id, seq } => return Reply::Ack(client_id, seq),
            AgentUpdate::Error { code, message, .. } => return Reply::Error(code, message),
            AgentUpdate::Hello { .. } => shared.violation("agent: a second hello".into()),
            // Passing news, not part of the log.
            AgentUpdate::Typing { .. } | AgentUpdate::Read { .. } => {}
        }
        Reply::Other
    }

    async fn watch(
        &mut self,
        socket: &mut Socket<AgentRequest, AgentUpdate>,
        shared: &Shared,
        id: ConversationId,
        last_seq: Seq,
    ) -> Result<(), Gone> {
        self.taken.entry(id).or_default().state = None;
        socket
            .send(&AgentRequest::Watch {
                conversation: id,
                last_seq,
            })
            .await?;
        while self.taken[&id].state.is_none() {
            if let Reply::Error(code, message) = self.take(socket.recv(STALL).await?, shared) {
                shared.violation(format!("agent: watch {id}: {code:?} {message}"));
                return Err(Gone::Failed("watch refused".into()));
            }
        }
        Ok(())
    }

    async fn claim(
        &mut self,
        socket: &mut Socket<AgentRequest, AgentUpdate>,
        shared: &Shared,
        id: ConversationId,
    ) -> Result<(), Gone> {
        socket
            .send(&AgentRequest::Claim { conversation: id })
            .await?;
        while !self.taken[&id].claimed {
            if let Reply::Error(code, message) = self.take(socket.recv(STALL).await?, shared) {
                shared.violation(format!("agent: claim {id}: {code:?} {message}"));
                return Err(Gone::Failed("claim refused".into()));
            }
        }
        Ok(())
    }

    async fn reply(
        &mut self,
        socket: &mut Socket<AgentRequest, AgentUpdate>,
        shared: &Shared,
        id: ConversationId,
    ) -> Result<(), Gone> {
        let k = self.taken[&id].replies_acked;
        let client_id = format!("a{id}-r{k}");
        let text = format!("Agent reply {k} in conversation {id}.");
        if !self.sent.insert(client_id.clone()) {
            shared.resent.fetch_add(1, Relaxed);
        }
        socket
            .send(&AgentRequest::Reply {
                conversation: id,
                client_id: client_id.clone(),
                text,
            })
            .await?;
        loop {
            match self.take(socket.recv(STALL).await?, shared) {
                Reply::Ack(acked, seq) if acked == client_id => {
                    self.replies.push((id, client_id, seq));
                    self.taken.get_mut(&id).expect("taken").replies_acked += 1;
                    self.pending_reply = None;
                    shared.agent_acked.fetch_add(1, Relaxed);
                    return Ok(());
                }
                Reply::Ack(other, _) => shared.violation(format!(
                    "agent: ack for {other} while waiting for {client_id}"
                )),
                Reply::Error(code, message) => {
                    shared.violation(format!("agent: reply {client_id}: {code:?} {message}"));
                    return Err(Gone::Failed("reply refused".into()));
                }
                Reply::Other => {}
            }
        }
    }
}

// -------------------------------------------------------------- controller

/// Polls `done` until it holds; fails the test with the server's log and
/// `context` after [`PHASE_DEADLINE`].
async fn wait_until(
    what: &str,
    server: &ChildServer,
    context: impl Fn() -> String,
    done: impl Fn() -> bool,
) {
    let deadline = Instant::now() + PHASE_DEADLINE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} ({})\n{}",
            context(),
            server.log_tail(60)
        );
        tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
    }
}

#[derive(Default, Debug)]
struct Verdict {
    stored: usize,
    lost: usize,
    duplicated: usize,
    out_of_order: usize,
    wrong_seq: usize,
    views_compared: usize,
    views_differing: usize,
}

/// Checks one author's acknowledged messages against a log: each stored
/// exactly once, in sending order (`expected`), at its acked seq.
fn check_messages(
    verdict: &mut Verdict,
    problems: &mut Vec<String>,
    who: &str,
    log: &[Event],
    stored: &[&str],
    expected: &[String],
    acked: &[(String, Seq)],
) {
    verdict.stored += stored.len();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in stored {
        *counts.entry(id).or_default() += 1;
    }
    verdict.duplicated += counts.values().map(|n| n - 1).sum::<usize>();
    for (id, seq) in acked {
        if !counts.contains_key(id.as_str()) {
            verdict.lost += 1;
            problems.push(format!(
                "{who}: acknowledged {id} (seq {seq}) is not stored"
            ));
        } else if log
            .get((*seq as usize).wrapping_sub(1))
            .and_then(|e| e.body.client_id())
            != Some(id.as_str())
        {
            verdict.wrong_seq += 1;
            problems.push(format!(
                "{who}: {id} was acknowledged as seq {seq}, which holds something else"
            ));
        }
    }
    let mut once = Vec::new();
    for id in stored {
        if !once.contains(id) {
            once.push(*id);
        }
    }
    let in_order: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|id| counts.contains_key(id))
        .collect();
    if once != in_order {
        verdict.out_of_order += 1;
        problems.push(format!(
            "{who}: stored in the order {once:?}, sent as {in_order:?}"
        ));
    }
    if acked.len() != expected.len() {
        problems.push(format!(
            "{who}: {} of {} messages acknowledged",
            acked.len(),
            expected.len()
        ));
    }
}

fn report(line: String) {
    // Straight to stderr: libtest captures print!, and the counts are the
    // point of running this test.
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_kills_drops_and_restarts_exactly_once_in_order() {
    let plan = Plan::from_env();
    let started = Instant::now();
    let mut server = ChildServer::start(env!("CARGO_BIN_EXE_baton-under-test"), CONFIG, None).await;
    let cookie = login(&server.url("")).await;
    let shared = Arc::new(Shared::default());
    let (finals_tx, finals_rx) = watch::channel::<Option<Arc<Finals>>>(None);

    let visitor_url: Arc<str> = server.ws_url("/ws/visitor").into();
    let visitors: Vec<_> = (0..plan.conversations)
        .map(|idx| {
            tokio::spawn(run_visitor(
                idx,
                plan,
                visitor_url.clone(),
                shared.clone(),
                finals_rx.clone(),
            ))
        })
        .collect();
    let agent_url: Arc<str> = server.ws_url("/ws/agent").into();
    let agent = tokio::spawn(run_agent(
        plan,
        agent_url,
        cookie.clone(),
        shared.clone(),
        finals_rx.clone(),
    ));

    let total = plan.conversations * plan.messages;
    let progress = || {
        format!(
            "{} of {total} acked, {} visitors done, agent acked {}",
            shared.acked.load(Relaxed),
            shared.visitors_done.load(Relaxed),
            shared.agent_acked.load(Relaxed)
        )
    };
    let mut kills = 0;
    for share in plan.kill_at {
        let at = (total as f64 * share) as usize;
        wait_until(
            &format!("{at} acks before kill {}", kills + 1),
            &server,
            progress,
            || shared.acked.load(Relaxed) >= at,
        )
        .await;
        server.kill();
        kills += 1;
        let acked_at_kill = shared.acked.load(Relaxed);
        server.restart().await;
        report(format!(
            "chaos: SIGKILL {kills} at {acked_at_kill} of {total} visitor acks; restarted"
        ));
    }
    // Once more while the agent works through the queue (it gets most of
    // its work done once visitors stop competing for the database).
    let half = plan.agent_replies() / 2;
    wait_until(
        &format!("{half} agent replies before the last kill"),
        &server,
        progress,
        || shared.agent_acked.load(Relaxed) >= half,
    )
    .await;
    server.kill();
    kills += 1;
    let acked_at_kill = shared.agent_acked.load(Relaxed);
    server.restart().await;
    report(format!(
        "chaos: SIGKILL {kills} at {acked_at_kill} of {} agent acks; restarted",
        plan.agent_replies()
    ));

    wait_until(
        "every visitor message to be acknowledged",
        &server,
        progress,
        || shared.visitors_done.load(Relaxed) == plan.conversations,
    )
    .await;
    wait_until("the agent to finish its replies", &server, progress, || {
        shared.agent_done.load(Relaxed)
    })
    .await;

    // Graceful: in-flight writes finish, sockets are told 1012, exit 0.
    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status}\n{}",
        server.log_tail(40)
    );
    server.restart().await;

    let logs = read_all_logs(&server.ws_url("/ws/agent"), &cookie).await;
    let mut owner: HashMap<usize, ConversationId> = HashMap::new();
    let mut problems = Vec::new();
    let mut empty = 0;
    for (id, log) in &logs {
        let first_visitor = log.iter().find_map(|e| match &e.body {
            EventBody::Visitor { client_id, .. } => client_id
                .strip_prefix('v')?
                .split('-')
                .next()?
                .parse::<usize>()
                .ok(),
            _ => None,
        });
        match first_visitor {
            Some(idx) => {
                if let Some(other) = owner.insert(idx, *id) {
                    problems.push(format!(
                        "visitor {idx} wrote in conversations {other} and {id}"
                    ));
                }
            }
            None if log.is_empty() => empty += 1, // a hello whose welcome was lost to a drop
            None => problems.push(format!(
                "conversation {id} has events but no visitor message"
            )),
        }
        let seqs: Vec<Seq> = log.iter().map(|e| e.seq).collect();
        if seqs != (1..=log.len() as Seq).collect::<Vec<_>>() {
            problems.push(format!(
                "conversation {id}: seqs are not 1..={}: {seqs:?}",
                log.len()
            ));
        }
    }
    let finals = Finals {
        by_visitor: owner
            .iter()
            .map(|(idx, id)| (*idx, last_seq(&logs[id])))
            .collect(),
        by_conversation: logs.iter().map(|(id, log)| (*id, last_seq(log))).collect(),
    };
    finals_tx
        .send(Some(Arc::new(finals)))
        .expect("clients are listening");

    let mut verdict = Verdict::default();
    let mut visitor_acks = 0;
    for handle in visitors {
        let report = tokio::time::timeout(PHASE_DEADLINE, handle)
            .await
            .expect("visitors catch up")
            .expect("visitor task");
        visitor_acks += report.acked.len();
        let who = format!("visitor {}", report.idx);
        let Some(id) = owner.get(&report.idx) else {
            verdict.lost += report.acked.len();
            problems.push(format!("{who}: none of its messages is stored"));
            continue;
        };
        let log = &logs[id];
        let prefix = format!("v{}-", report.idx);
        let stored: Vec<&str> = log
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Visitor { client_id, .. } => Some(client_id.as_str()),
                _ => None,
            })
            .collect();
        if let Some(stranger) = stored.iter().find(|c| !c.starts_with(&prefix)) {
            problems.push(format!("{who}: conversation {id} holds {stranger}"));
        }
        let expected: Vec<String> = (0..plan.messages)
            .map(|j| plan.script(report.idx, j).0)
            .collect();
        check_messages(
            &mut verdict,
            &mut problems,
            &who,
            log,
            &stored,
            &expected,
            &report.acked,
        );
        // The same text stored again under another client id: the id check
        // above cannot see that kind of duplicate.
        let texts: HashSet<&str> = log
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Visitor { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let ids: HashSet<&str> = stored.iter().copied().collect();
        verdict.duplicated += ids.len().saturating_sub(texts.len());
        verdict.views_compared += 1;
        if report.view != *log {
            verdict.views_differing += 1;
            problems.push(format!("{who}: live view ({} events) differs from the log of conversation {id} ({} events)", report.view.len(), log.len()));
        }
    }
    let agent = tokio::time::timeout(PHASE_DEADLINE, agent)
        .await
        .expect("the agent catches up")
        .expect("agent task");
    let mut agent_views = 0;
    for (id, view) in &agent.views {
        let log = &logs[id];
        let stored: Vec<&str> = log
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Agent { client_id, .. } => Some(client_id.as_str()),
                _ => None,
            })
            .collect();
        let acked: Vec<(String, Seq)> = agent
            .replies
            .iter()
            .filter(|r| r.0 == *id)
            .map(|r| (r.1.clone(), r.2))
            .collect();
        let expected: Vec<String> = acked.iter().map(|r| r.0.clone()).collect();
        check_messages(
            &mut verdict,
            &mut problems,
            &format!("agent in {id}"),
            log,
            &stored,
            &expected,
            &acked,
        );
        agent_views += 1;
        verdict.views_compared += 1;
        if view != log {
            verdict.views_differing += 1;
            problems.push(format!(
                "agent: live view of {id} ({} events) differs from its log ({} events)",
                view.len(),
                log.len()
            ));
        }
    }
    let violations = shared.violations.lock().expect("violations").clone();
    let events: usize = logs.values().map(Vec::len).sum();

    report(format!(
        "chaos: {} conversations x {} messages, 1 agent taking up to {} (x{} replies), seed {:#x}",
        plan.conversations, plan.messages, plan.claims, plan.replies, plan.seed
    ));
    report(format!(
        "chaos: acked {} visitor messages + {} agent replies; stored {} client messages ({events} events in {} conversations, {empty} empty)",
        visitor_acks,
        agent.replies.len(),
        verdict.stored,
        logs.len()
    ));
    report(format!(
        "chaos: lost {}, duplicated {}, out of order {}, wrong ack seq {}; live views equal to the log: {} of {} ({} visitors, {agent_views} agent)",
        verdict.lost,
        verdict.duplicated,
        verdict.out_of_order,
        verdict.wrong_seq,
        verdict.views_compared - verdict.views_differing,
        verdict.views_compared,
        plan.conversations
    ));
    report(format!(
        "chaos: {kills} SIGKILLs, 1 SIGTERM restart ({} sockets closed with 1012), {} dropped sockets, {} reconnects, {} resent frames, {} stalls; {} server starts; {:.1}s",
        shared.closed_1012.load(Relaxed),
        shared.drops.load(Relaxed),
        shared.reconnects.load(Relaxed),
        shared.resent.load(Relaxed),
        shared.stalls.load(Relaxed),
        server.starts,
        started.elapsed().as_secs_f64()
    ));

    let all: Vec<&String> = violations.iter().chain(&problems).collect();
    assert!(
        all.is_empty(),
        "{} problems, first ones:\n{}",
        all.len(),
        all.iter()
            .take(20)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        visitor_acks, total,
        "every visitor message was acknowledged"
    );
    assert_eq!(
        (
            verdict.lost,
            verdict.duplicated,
            verdict.out_of_order,
            verdict.wrong_seq
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(verdict.views_differing, 0);
    assert_eq!(
        agent.replies.len(),
        plan.agent_replies(),
        "the agent took conversations from the queue and replied"
    );
    assert!(
        shared.closed_1012.load(Relaxed) > 0,
        "the graceful restart told connected clients to come back"
    );
}
