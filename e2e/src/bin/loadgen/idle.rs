//! Memory per idle connection: a fresh server per count, K sockets that
//! each start a conversation (Baton: `hello`, as the widget does; relay:
//! `join` a room of its own) and then sit idle, and the server's resident
//! memory before and after, once it has settled.
//!
//! A fresh server each time keeps one count's leftovers out of the next.
//! Before the baseline a warm-up batch connects and leaves, so one-time
//! costs (database connections and their caches, allocator arenas) are not
//! charged to the sockets.

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::load::Ws;
use crate::servers::{BatonSpec, ServerProcess};

/// Sockets opening at once: enough to be quick, few enough not to
/// overflow the listen backlog.
const CONCURRENCY: usize = 64;
/// Files each side needs besides the sockets: the listener, the database
/// and its WAL per pooled connection, the log, epoll and friends.
const FILES_RESERVED: u64 = 100;
/// How long the server may take to settle after the sockets are open.
const SETTLE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Baton,
    Relay,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Baton => "baton",
            Target::Relay => "relay",
        }
    }
}

#[derive(serde::Serialize, Clone, Debug)]
pub struct IdleResult {
    pub target: String,
    pub sockets: usize,
    /// What was asked for, when the open-files limit allowed fewer.
    pub requested: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// (after − before) / sockets.
    pub kib_per_socket: f64,
    /// How long opening them took.
    pub open_secs: f64,
}

/// How to start each server.
pub struct Servers<'a> {
    pub baton: BatonSpec<'a>,
    pub relay_read_buffer: Option<usize>,
}

/// Measures each count in `counts` on a fresh server of `target`.
pub async fn measure(
    target: Target,
    counts: &[usize],
    warmup: usize,
    servers: &Servers<'_>,
) -> Result<Vec<IdleResult>, String> {
    let mut results = Vec::new();
    for &requested in counts {
        let count = requested;
        let server = match target {
            Target::Baton => ServerProcess::baton(&servers.baton)?,
            Target::Relay => {
                ServerProcess::relay(servers.relay_read_buffer, servers.baton.data_dir)?
            }
        };
        // Every socket is a file on both ends: past the open-files limit
        // (20,000 here, a hard limit without CAP_SYS_RESOURCE) neither
        // side can hold it. Measure as many as fit and say so.
        let limit = server
            .nofile_limit()
            .unwrap_or(u64::MAX)
            .min(crate::servers::nofile_soft());
        let fit = usize::try_from(limit.saturating_sub(FILES_RESERVED)).unwrap_or(usize::MAX);
        let count = if count > fit {
            eprintln!(
                "loadgen: warning: {count} {} sockets do not fit the open-files limit ({limit}); measuring {fit}",
                target.name()
            );
            fit
        } else {
            count
        };
        let warm = open_many(target, &server, warmup, 0).await?;
        drop(warm);
        let before = server.settle(SETTLE).await?;
        let started = Instant::now();
        let sockets = open_many(target, &server, count, warmup).await?;
        let open_secs = started.elapsed().as_secs_f64();
        let after = server.settle(SETTLE).await?;
        let result = IdleResult {
            target: target.name().into(),
            sockets: sockets.len(),
            requested,
            rss_before_kib: before,
            rss_after_kib: after,
            kib_per_socket: after.saturating_sub(before) as f64 / count.max(1) as f64,
            open_secs,
        };
        eprintln!(
            "loadgen: idle {}: {} sockets, RSS {} → {} KiB: {:.1} KiB each (opened in {:.1}s)",
            result.target, result.sockets, before, after, result.kib_per_socket, open_secs
        );
        results.push(result);
        // The server goes first (see `ServerProcess::drop`), then ours.
        drop(server);
        drop(sockets);
    }
    Ok(results)
}

/// Opens `count` sockets, each starting its own conversation; room and
/// identity numbers start at `first`.
async fn open_many(
    target: Target,
    server: &ServerProcess,
    count: usize,
    first: usize,
) -> Result<Vec<Ws>, String> {
    let url = match target {
        Target::Baton => server.ws("/ws/visitor"),
        Target::Relay => server.ws("/ws"),
    };
    let opened: Vec<Result<Ws, String>> = futures::stream::iter(first..first + count)
        .map(|i| {
            let url = url.clone();
            async move {
                match target {
                    Target::Baton => crate::baton::open_visitor(&url, None).await,
                    Target::Relay => crate::bare::open(&url, [i]).await,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    opened.into_iter().collect()
}
