//! `loadgen`: load against the real Baton server and, in the same run, a
//! bare WebSocket relay with no storage — the numbers in BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release -p baton-server -p baton-e2e
//! target/release/loadgen --max            # everything, SQLite in a temp dir
//! target/release/loadgen --smoke          # seconds; checks that it works
//! ```
//!
//! What it measures, each on servers running as child processes (so their
//! memory and CPU are theirs alone):
//! - relay latency, visitor → agent and agent → visitor, at fixed rates and
//!   (`--max`) at the highest rate Baton sustains, on conversations held by
//!   a person; every Baton message counts once acknowledged, i.e. durably
//!   stored ([`load`], [`baton`]);
//! - the same load through the bare relay ([`relay`], [`bare`]), and the
//!   ratio of the two p99s;
//! - handoff latency under that load: the button frame to the agent
//!   socket's queue update ([`baton`]);
//! - memory per idle connected visitor at 1k/10k/20k sockets ([`idle`]).
//!
//! Layout: this file holds the command line, the order of the run and the
//! report; [`servers`] starts the child processes and reads `/proc`.
//! `loadgen relay` (hidden) is the bare relay itself: loadgen starts it by
//! running its own executable again.
//!
//! Exit status: 0 when every measurement ran and nothing was lost; 2 when
//! an acknowledged message never arrived or arrived twice (a fault at any
//! load); 1 when the run could not be carried out. Speed never fails it:
//! benchmarks are not tests.

// A binary's root file finds its modules beside it (in `src/bin/`, where
// cargo would take each for a binary of its own); they live in `loadgen/`.
#[path = "loadgen/bare.rs"]
mod bare;
#[path = "loadgen/baton.rs"]
mod baton;
#[path = "loadgen/idle.rs"]
mod idle;
#[path = "loadgen/load.rs"]
mod load;
#[path = "loadgen/relay.rs"]
mod relay;
#[path = "loadgen/servers.rs"]
mod servers;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use idle::{IdleResult, Target};
use load::{Dir, Live, StepPlan, StepResult};
use servers::{BatonSpec, Machine, ServerProcess};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for Baton: relay latency, handoff latency and memory per \
             connection, against the real server and a bare relay",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Hidden>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Hidden {
    /// The bare relay (started by loadgen itself).
    #[command(hide = true)]
    Relay {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Read buffer per socket, bytes (default: axum's).
        #[arg(long)]
        read_buffer: Option<usize>,
    },
}

#[derive(Args, Clone, Debug)]
struct RunArgs {
    /// A quick check that everything works (tiny numbers, seconds; a debug
    /// build is fine). Other options still apply on top.
    #[arg(long)]
    smoke: bool,
    /// The `baton` binary to measure [default: `baton`, else
    /// `baton-under-test`, next to this executable].
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// The server's database [default: a fresh SQLite file in a temporary
    /// directory]. Also `postgres://…` once the server supports it; the
    /// database should be a dedicated, empty one.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Where temporary directories (and the default SQLite file) go
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Conversations carrying the relay load, each held by the agent.
    #[arg(long, default_value_t = 200)]
    conversations: usize,
    /// Agent sockets (consoles) sharing those conversations; all are the
    /// demo agent.
    #[arg(long, default_value_t = 1)]
    agent_sockets: usize,
    /// Fixed rates to measure, messages per second, both directions
    /// together (half each way).
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    rates: Vec<f64>,
    /// Measured seconds per step (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load per step before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds to wait for outstanding messages after a step.
    #[arg(long, default_value_t = 20.0)]
    drain: f64,
    /// Also search for Baton's maximum sustainable rate.
    #[arg(long)]
    max: bool,
    /// Also search for the bare relay's maximum sustainable rate.
    #[arg(long)]
    relay_max: bool,
    /// First rate of the search; it doubles until a rate is not
    /// sustained, then bisects.
    #[arg(long, default_value_t = 200.0)]
    max_start: f64,
    /// Highest rate the search tries.
    #[arg(long, default_value_t = 100_000.0)]
    max_ceiling: f64,
    /// Bisection steps after the doubling.
    #[arg(long, default_value_t = 3)]
    max_refine: usize,
    /// Sustained means: achieved ≥ 95 % of the rate, nothing lost, no
    /// errors, and p99 (both directions) at most this many ms.
    #[arg(long, default_value_t = 100.0)]
    max_p99_ms: f64,
    /// A step stops early once this many seconds of messages are
    /// outstanding (the server has fallen behind for good).
    #[arg(long, default_value_t = 2.0)]
    backlog_secs: f64,
    /// Handoff probes ("Talk to a human" from fresh visitors) per second
    /// during each Baton step.
    #[arg(long, default_value_t = 5.0)]
    handoff_rate: f64,
    /// Idle visitor sockets to measure memory at.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,20000")]
    idle: Vec<usize>,
    /// Skip the idle-memory measurements.
    #[arg(long)]
    skip_idle: bool,
    /// Sockets that connect and leave before each idle baseline.
    #[arg(long, default_value_t = 200)]
    idle_warmup: usize,
    /// Read buffer of the bare relay's sockets, bytes [default: axum's].
    #[arg(long, value_name = "BYTES")]
    relay_read_buffer: Option<usize>,
    /// Skip the relay-latency and handoff measurements.
    #[arg(long)]
    skip_latency: bool,
    /// Skip the bare relay (Baton only).
    #[arg(long)]
    skip_relay: bool,
    /// Before each step, wait up to this many seconds for the rest of the
    /// machine to go quiet (under a quarter of a core busy besides the
    /// servers and loadgen): on 2 cores, a build running beside the
    /// benchmark doubles its tail latencies. The "other CPU" column shows
    /// what ran anyway.
    #[arg(long, default_value_t = 180.0)]
    quiet_wait: f64,
    /// Write every result as JSON here too.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

impl RunArgs {
    /// `--smoke` turns the defaults down to a few seconds' worth.
    fn apply_smoke(&mut self) {
        if !self.smoke {
            return;
        }
        let defaults = Self::parse_from_defaults();
        let small = |value: &mut f64, default: f64, smoke: f64| {
            if *value == default {
                *value = smoke;
            }
        };
        if self.conversations == defaults.conversations {
            self.conversations = 20;
        }
        if self.rates == defaults.rates {
            self.rates = vec![50.0];
        }
        small(&mut self.duration, defaults.duration, 1.0);
        small(&mut self.warmup, defaults.warmup, 0.0);
        small(&mut self.drain, defaults.drain, 15.0);
        small(&mut self.max_start, defaults.max_start, 50.0);
        if self.max_refine == defaults.max_refine {
            self.max_refine = 0;
        }
        if self.idle == defaults.idle {
            self.idle = vec![50];
        }
        if self.idle_warmup == defaults.idle_warmup {
            self.idle_warmup = 5;
        }
        small(&mut self.quiet_wait, defaults.quiet_wait, 0.0);
    }

    fn parse_from_defaults() -> Self {
        Cli::parse_from(["loadgen"]).run
    }

    fn step_plan(&self, rate: f64) -> StepPlan {
        StepPlan {
            rate,
            warmup: Duration::from_secs_f64(self.warmup.max(0.0)),
            duration: Duration::from_secs_f64(self.duration.max(0.1)),
            drain: Duration::from_secs_f64(self.drain.max(1.0)),
            backlog_secs: self.backlog_secs,
        }
    }

    fn sustained(&self, step: &StepResult) -> bool {
        !step.overloaded
            && step.errors == 0
            && step.lost() == 0
            && step.dirs.iter().all(|d| d.unacked == 0)
            && step.achieved >= 0.95 * step.rate
            && step.p99_ms() <= self.max_p99_ms
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Hidden::Relay {
            listen,
            read_buffer,
        }) => match runtime.block_on(relay::serve(listen, read_buffer)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen relay: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            let mut args = cli.run;
            args.apply_smoke();
            match runtime.block_on(run(args)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("loadgen: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Everything one run found, as `--json` writes it.
#[derive(serde::Serialize, Default)]
struct Report {
    machine: Option<Machine>,
    server_binary: String,
    database: String,
    conversations: usize,
    agent_sockets: usize,
    steps: Vec<StepResult>,
    /// Baton's and the relay's highest sustained rate, when searched.
    max_baton: Option<f64>,
    max_relay: Option<f64>,
    idle: Vec<IdleResult>,
    targets: Vec<TargetCheck>,
}

#[derive(serde::Serialize, Clone)]
struct TargetCheck {
    target: String,
    measured: String,
    met: Option<bool>,
}

async fn run(args: RunArgs) -> Result<ExitCode, String> {
    let biggest_idle = args.idle.iter().copied().max().unwrap_or(0);
    let wanted = (biggest_idle + args.idle_warmup + 4 * args.conversations + 4096) as u64;
    let nofile = servers::raise_nofile(wanted);
    if nofile < wanted {
        eprintln!("loadgen: warning: only {nofile} open files allowed ({wanted} wanted)");
    }
    let machine = Machine::describe(args.data_dir.as_deref());
    let binary = find_baton(args.server_bin.as_deref())?;
    if cfg!(debug_assertions) && !args.smoke {
        eprintln!(
            "loadgen: warning: this is a debug build; build with --release for numbers that mean anything"
        );
    }
    eprintln!(
        "loadgen: {} cores, {:.1} GiB, fdatasync in {} p50 {:.2} ms / p99 {:.2} ms; server {}",
        machine.cores,
        machine.memory_gib,
        machine.data_dir,
        machine.fdatasync_ms[0],
        machine.fdatasync_ms[1],
        binary.display()
    );
    let mut report = Report {
        machine: Some(machine),
        server_binary: binary.display().to_string(),
        database: args
            .database_url
            .clone()
            .unwrap_or_else(|| "SQLite (fresh file in a temporary directory)".into()),
        conversations: args.conversations,
        agent_sockets: args.agent_sockets,
        ..Report::default()
    };
    let spec = BatonSpec {
        binary: &binary,
        database_url: args.database_url.as_deref(),
        data_dir: args.data_dir.as_deref(),
    };

    if !args.skip_latency {
        let mut bench = Bench::start(&args, &spec).await?;
        for &rate in &args.rates {
            bench.step(Target::Baton, rate).await?;
            if !args.skip_relay {
                bench.step(Target::Relay, rate).await?;
            }
        }
        if args.max {
            report.max_baton = bench.search_max(Target::Baton).await?;
            if let Some(max) = report.max_baton
                && !args.skip_relay
                && !args.rates.contains(&max)
            {
                bench.step(Target::Relay, max).await?;
            }
        }
        if args.relay_max && !args.skip_relay {
            report.max_relay = bench.search_max(Target::Relay).await?;
        }
        report.steps = std::mem::take(&mut bench.steps);
    }

    if !args.skip_idle && !args.idle.is_empty() {
        let servers = idle::Servers {
            baton: spec,
            relay_read_buffer: args.relay_read_buffer,
        };
        report
            .idle
            .extend(idle::measure(Target::Baton, &args.idle, args.idle_warmup, &servers).await?);
        if !args.skip_relay {
            report.idle.extend(
                idle::measure(Target::Relay, &args.idle, args.idle_warmup, &servers).await?,
            );
        }
    }

    report.targets = check_targets(&report, &args);
    println!("{}", render(&report, &args));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let faults: u64 = report
        .steps
        .iter()
        .map(|s| s.lost() + s.dirs.iter().map(|d| d.duplicates).sum::<u64>())
        .sum();
    if faults > 0 {
        eprintln!("loadgen: {faults} messages lost or duplicated: that is a bug, at any load");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The Baton binary: `--server-bin`, else `baton` or `baton-under-test`
/// next to this executable (a release loadgen finds the release server).
fn find_baton(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("--server-bin {}: no such file", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("finding loadgen itself: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    for name in ["baton", "baton-under-test"] {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no Baton server binary (baton or baton-under-test) in {}: build it first with \
         `cargo build --release -p baton-server -p baton-e2e`, or pass --server-bin PATH",
        dir.display()
    ))
}

/// The two servers under load, their sockets, and the steps so far.
struct Bench<'a> {
    args: &'a RunArgs,
    live: Arc<Live>,
    baton_server: ServerProcess,
    baton: baton::BatonLoad,
    relay: Option<(ServerProcess, bare::RelayLoad)>,
    next_step: u32,
    steps: Vec<StepResult>,
}

impl<'a> Bench<'a> {
    async fn start(args: &'a RunArgs, spec: &BatonSpec<'_>) -> Result<Self, String> {
        let live = Arc::new(Live::default());
        let baton_server = ServerProcess::baton(spec)?;
        eprintln!(
            "loadgen: baton (pid {}) on {}: setting up {} conversations held by the agent, {} agent socket(s)",
            baton_server.pid, baton_server.addr, args.conversations, args.agent_sockets
        );
        let started = Instant::now();
        let baton = baton::setup(
            &baton_server,
            args.conversations,
            args.agent_sockets,
            live.clone(),
        )
        .await
        .map_err(|e| format!("{e}\n{}", baton_server.log_tail(30)))?;
        eprintln!(
            "loadgen: baton ready in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let relay = if args.skip_relay {
            None
        } else {
            let server = ServerProcess::relay(args.relay_read_buffer, args.data_dir.as_deref())?;
            let load = bare::setup(
                &server,
                args.conversations,
                args.agent_sockets,
                live.clone(),
            )
            .await?;
            eprintln!(
                "loadgen: relay (pid {}) on {} ready",
                server.pid, server.addr
            );
            Some((server, load))
        };
        Ok(Self {
            args,
            live,
            baton_server,
            baton,
            relay,
            next_step: 1,
            steps: Vec::new(),
        })
    }

    /// One step at `rate` on `target`, with handoff probes on Baton.
    async fn step(&mut self, target: Target, rate: f64) -> Result<StepResult, String> {
        let id = self.next_step;
        self.next_step += 1;
        let plan = self.args.step_plan(rate);
        let server = match target {
            Target::Baton => &self.baton_server,
            Target::Relay => match &self.relay {
                Some((server, _)) => server,
                None => return Err("the relay is not running".into()),
            },
        };
        server.quiesce(Duration::from_secs(60)).await;
        self.wait_for_quiet_machine().await;
        let server = match target {
            Target::Baton => &self.baton_server,
            Target::Relay => match &self.relay {
                Some((server, _)) => server,
                None => return Err("the relay is not running".into()),
            },
        };
        let (cpu, own, busy) = (server.cpu(), servers::own_cpu(), servers::machine_busy());
        let started = Instant::now();
        let mut result = match target {
            Target::Baton => {
                let probing = self.baton.probe_handoffs(
                    id,
                    self.args.handoff_rate,
                    plan.warmup + plan.duration,
                    Duration::from_secs(30),
                );
                let (mut result, handoff) =
                    tokio::join!(load::run_step(&self.live, &self.baton, plan, id), probing);
                result.handoff = Some(handoff);
                result
            }
            Target::Relay => {
                let Some((_, relay)) = &self.relay else {
                    return Err("the relay is not running".into());
                };
                load::run_step(&self.live, relay, plan, id).await
            }
        };
        let wall = started.elapsed().as_secs_f64().max(1e-3);
        result.target = target.name().into();
        result.server_cores = server.cpu().saturating_sub(cpu).as_secs_f64() / wall;
        result.loadgen_cores = servers::own_cpu().saturating_sub(own).as_secs_f64() / wall;
        let all = servers::machine_busy().saturating_sub(busy).as_secs_f64() / wall;
        result.other_cores = (all - result.server_cores - result.loadgen_cores).max(0.0);
        result.server_rss_kib = server.rss_kib().unwrap_or(0);
        eprintln!(
            "loadgen: {}",
            progress_line(&result, self.args.sustained(&result))
        );
        let alive = match target {
            Target::Baton => self.baton_server.alive(),
            Target::Relay => self.relay.as_mut().is_some_and(|(s, _)| s.alive()),
        };
        if !alive {
            let log = match target {
                Target::Baton => self.baton_server.log_tail(30),
                Target::Relay => self
                    .relay
                    .as_ref()
                    .map(|(s, _)| s.log_tail(30))
                    .unwrap_or_default(),
            };
            return Err(format!("the {} server died\n{log}", target.name()));
        }
        self.steps.push(result.clone());
        Ok(result)
    }

    /// Waits (up to `--quiet-wait`) until, for two seconds running, less
    /// than a quarter of a core is busy with anything but loadgen and the
    /// servers.
    async fn wait_for_quiet_machine(&self) {
        let deadline = Instant::now() + Duration::from_secs_f64(self.args.quiet_wait.max(0.0));
        let ours = || {
            servers::own_cpu()
                + self.baton_server.cpu()
                + self.relay.as_ref().map_or(Duration::ZERO, |(s, _)| s.cpu())
        };
        let mut quiet_for = 0;
        let mut announced = false;
        while Instant::now() < deadline {
            let (busy, mine) = (servers::machine_busy(), ours());
            tokio::time::sleep(Duration::from_secs(1)).await; // sampling interval
            let others = servers::machine_busy()
                .saturating_sub(busy)
                .saturating_sub(ours().saturating_sub(mine));
            if others.as_secs_f64() < 0.25 {
                quiet_for += 1;
                if quiet_for >= 2 {
                    return;
                }
            } else {
                quiet_for = 0;
                if !announced {
                    eprintln!(
                        "loadgen: other processes keep {:.1} cores busy; waiting up to {}s for quiet",
                        others.as_secs_f64(),
                        self.args.quiet_wait
                    );
                    announced = true;
                }
            }
        }
    }

    /// Doubles the rate from `--max-start` until a step is not sustained
    /// (halving instead if the first is not), then bisects between the
    /// last sustained and the first unsustained rate. Returns the highest
    /// sustained rate.
    async fn search_max(&mut self, target: Target) -> Result<Option<f64>, String> {
        let args = self.args;
        let mut rate = args.max_start.max(1.0);
        let mut good: Option<f64> = None;
        let mut bad: Option<f64> = None;
        loop {
            let step = self.step(target, rate).await?;
            if args.sustained(&step) {
                good = Some(rate);
                if rate * 2.0 > args.max_ceiling {
                    break;
                }
                rate *= 2.0;
            } else {
                bad = Some(rate);
                break;
            }
        }
        while good.is_none() && rate >= 20.0 {
            rate = (rate / 2.0).round();
            let step = self.step(target, rate).await?;
            if args.sustained(&step) {
                good = Some(rate);
            } else {
                bad = Some(rate);
            }
        }
        for _ in 0..args.max_refine {
            let (Some(lo), Some(hi)) = (good, bad) else {
                break;
            };
            let mid = (((lo + hi) / 2.0) / 10.0).round() * 10.0;
            if mid <= lo || mid >= hi {
                break;
            }
            let step = self.step(target, mid).await?;
            if args.sustained(&step) {
                good = Some(mid);
            } else {
                bad = Some(mid);
            }
        }
        Ok(good)
    }
}

fn progress_line(step: &StepResult, sustained: bool) -> String {
    let d = &step.dirs;
    format!(
        "{} @ {} msg/s: achieved {:.0}, v→a p50/p99 {:.2}/{:.2} ms, a→v p50/p99 {:.2}/{:.2} ms, lost {}, errors {}, server {:.2} cores (others {:.2}){}{}",
        step.target,
        step.rate,
        step.achieved,
        d[0].p50_ms,
        d[0].p99_ms,
        d[1].p50_ms,
        d[1].p99_ms,
        step.lost(),
        step.errors,
        step.server_cores,
        step.other_cores,
        step.handoff
            .as_ref()
            .map(|h| format!(
                ", handoff p99 {:.1} ms ({}/{})",
                h.p99_ms, h.seen, h.pressed
            ))
            .unwrap_or_default(),
        if sustained { "" } else { " — not sustained" }
    )
}

// ------------------------------------------------------------------ report

fn check_targets(report: &Report, args: &RunArgs) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    let baton_at = |rate: f64| {
        report
            .steps
            .iter()
            .find(|s| s.target == "baton" && s.rate == rate)
    };
    let relay_at = |rate: f64| {
        report
            .steps
            .iter()
            .find(|s| s.target == "relay" && s.rate == rate)
    };
    if let Some(step) = baton_at(1000.0) {
        let p99 = step.p99_ms();
        checks.push(TargetCheck {
            target: "Baton p99 ≤ 5 ms at 1,000 msg/s".into(),
            measured: format!(
                "p99 {:.2} ms (visitor→agent {:.2}, agent→visitor {:.2}), achieved {:.0} msg/s{}",
                p99,
                step.dirs[0].p99_ms,
                step.dirs[1].p99_ms,
                step.achieved,
                if args.sustained(step) {
                    ""
                } else {
                    ", not sustained"
                }
            ),
            met: Some(p99 <= 5.0 && args.sustained(step)),
        });
    }
    let mut rates: Vec<f64> = args.rates.clone();
    if let Some(max) = report.max_baton {
        rates.push(max);
    }
    for rate in rates {
        if let (Some(b), Some(r)) = (baton_at(rate), relay_at(rate)) {
            let ratio = b.p99_ms() / r.p99_ms().max(0.001);
            checks.push(TargetCheck {
                target: format!("Baton p99 within 2× of the bare relay at {rate} msg/s"),
                measured: format!("{:.2} ms vs {:.2} ms: {ratio:.1}×", b.p99_ms(), r.p99_ms()),
                met: Some(ratio <= 2.0),
            });
        }
    }
    if let Some(idle) = report
        .idle
        .iter()
        .filter(|i| i.target == "baton")
        .max_by_key(|i| i.requested)
    {
        let bytes = idle.kib_per_socket * 1024.0;
        checks.push(TargetCheck {
            target: format!(
                "{} idle visitor sockets at ≤ 15 KB each (target: 20,000)",
                idle.sockets
            ),
            measured: format!("{:.1} KiB ({bytes:.0} bytes) each", idle.kib_per_socket),
            met: Some(bytes <= 15_000.0 && idle.requested >= 20_000),
        });
    }
    // Under load: at the fixed rates and at the maximum sustained one.
    let mut loaded: Vec<f64> = args.rates.clone();
    loaded.extend(report.max_baton);
    let handoffs: Vec<&StepResult> = loaded
        .iter()
        .filter_map(|&rate| baton_at(rate))
        .filter(|s| s.handoff.is_some())
        .collect();
    if !handoffs.is_empty() {
        let under: Vec<String> = handoffs
            .iter()
            .map(|s| {
                format!(
                    "{} msg/s{}: {:.1} ms",
                    s.rate,
                    if args.sustained(s) {
                        ""
                    } else {
                        " (not sustained)"
                    },
                    s.handoff.as_ref().map_or(0.0, |h| h.p99_ms)
                )
            })
            .collect();
        let ok = handoffs.iter().all(|s| {
            s.handoff
                .as_ref()
                .is_some_and(|h| h.p99_ms <= 100.0 && h.seen == h.pressed)
        });
        checks.push(TargetCheck {
            target: "Handoff p99 ≤ 100 ms under load".into(),
            measured: under.join("; "),
            met: Some(ok),
        });
    }
    checks
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "n/a",
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The report as Markdown tables (ready for BENCHMARKS.md).
fn render(report: &Report, args: &RunArgs) -> String {
    let mut out = String::new();
    let w = &mut out;
    if let Some(m) = &report.machine {
        let _ = writeln!(
            w,
            "\n## Machine\n\n{} cores ({}), {:.1} GiB memory, Linux {}; data in {} \
             (fdatasync of 4 KiB: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms)\n\
             server: {}; database: {}",
            m.cores,
            m.cpu,
            m.memory_gib,
            m.kernel,
            m.data_dir,
            m.fdatasync_ms[0],
            m.fdatasync_ms[1],
            m.fdatasync_ms[2],
            report.server_binary,
            report.database
        );
    }
    // Run order is search order; tables read better by server, then rate.
    let mut sorted: Vec<&StepResult> = report.steps.iter().collect();
    sorted.sort_by(|a, b| a.target.cmp(&b.target).then(a.rate.total_cmp(&b.rate)));
    if !report.steps.is_empty() {
        let _ = writeln!(
            w,
            "\n## Relay latency\n\n{} conversations, {} agent socket(s); rate = messages per \
             second, both directions together (half each way); latency in ms after a {} s \
             warm-up, over {} s.\n",
            report.conversations, report.agent_sockets, args.warmup, args.duration
        );
        let _ = writeln!(
            w,
            "| server | rate | direction | sent | acked | delivered | lost | p50 | p99 | max | ack p99 | achieved msg/s | errors | |"
        );
        let _ = writeln!(
            w,
            "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
        );
        for step in &sorted {
            for dir in Dir::BOTH {
                let d = &step.dirs[dir as usize];
                let first = dir == Dir::V2A;
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
                    step.target,
                    step.rate,
                    dir.label(),
                    d.sent,
                    d.acked.map_or("-".into(), |a| a.to_string()),
                    d.delivered,
                    d.lost,
                    d.p50_ms,
                    d.p99_ms,
                    d.max_ms,
                    d.ack_p99_ms.map_or("-".into(), |a| format!("{a:.2}")),
                    if first {
                        format!("{:.0}", step.achieved)
                    } else {
                        String::new()
                    },
                    if first {
                        step.errors.to_string()
                    } else {
                        String::new()
                    },
                    if first && !args.sustained(step) {
                        if step.overloaded {
                            "overloaded"
                        } else {
                            "not sustained"
                        }
                    } else {
                        ""
                    }
                );
            }
        }

        let mut pairs = Vec::new();
        for b in sorted.iter().filter(|s| s.target == "baton") {
            if let Some(r) = report
                .steps
                .iter()
                .find(|s| s.target == "relay" && s.rate == b.rate)
                && !pairs.iter().any(|(rate, _, _)| *rate == b.rate)
            {
                pairs.push((b.rate, b, r));
            }
        }
        if !pairs.is_empty() {
            let _ = writeln!(
                w,
                "\n## Baton against the bare relay (same load, same run)\n\n\
                 | rate | direction | Baton p50 | relay p50 | Baton p99 | relay p99 | p99 ratio |\n\
                 |--:|---|--:|--:|--:|--:|--:|"
            );
            for (rate, b, r) in &pairs {
                for dir in Dir::BOTH {
                    let (bd, rd) = (&b.dirs[dir as usize], &r.dirs[dir as usize]);
                    let _ = writeln!(
                        w,
                        "| {rate} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}× |",
                        dir.label(),
                        bd.p50_ms,
                        rd.p50_ms,
                        bd.p99_ms,
                        rd.p99_ms,
                        bd.p99_ms / rd.p99_ms.max(0.001)
                    );
                }
            }
        }

        let handoffs: Vec<&&StepResult> = sorted.iter().filter(|s| s.handoff.is_some()).collect();
        if !handoffs.is_empty() {
            let _ = writeln!(
                w,
                "\n## Handoff latency under load\n\nThe visitor's `request_human` frame to the \
                 first queue update on the agent socket that lists the conversation, ms; {} \
                 presses per second during each step.\n\n\
                 | relay load msg/s | pressed | seen | p50 | p99 | max |\n|--:|--:|--:|--:|--:|--:|",
                args.handoff_rate
            );
            for step in handoffs {
                if let Some(h) = &step.handoff {
                    let _ = writeln!(
                        w,
                        "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                        step.rate, h.pressed, h.seen, h.p50_ms, h.p99_ms, h.max_ms
                    );
                }
            }
        }

        for target in ["baton", "relay"] {
            let mut steps: Vec<&StepResult> =
                report.steps.iter().filter(|s| s.target == target).collect();
            if steps.len() < 2 {
                continue;
            }
            steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            let _ = writeln!(
                w,
                "\n## How cost grows: {target}\n\n\
                 | rate | achieved | v→a p50 | v→a p99 | a→v p50 | a→v p99 | ack p99 | server CPU (cores) | CPU ms per msg | server RSS MiB | loadgen CPU | other CPU | gen lag p99 | handoff p99 | sustained |\n\
                 |--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
            );
            for s in steps {
                let ack = s.dirs[0]
                    .ack_p99_ms
                    .zip(s.dirs[1].ack_p99_ms)
                    .map_or("-".into(), |(a, b)| format!("{:.2}", a.max(b)));
                let _ = writeln!(
                    w,
                    "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} |",
                    s.rate,
                    s.achieved,
                    s.dirs[0].p50_ms,
                    s.dirs[0].p99_ms,
                    s.dirs[1].p50_ms,
                    s.dirs[1].p99_ms,
                    ack,
                    s.server_cores,
                    s.server_cores * 1000.0 / s.achieved.max(1e-9),
                    mib(s.server_rss_kib),
                    s.loadgen_cores,
                    s.other_cores,
                    s.gen_lag_p99_ms,
                    s.handoff
                        .as_ref()
                        .map_or("-".into(), |h| format!("{:.1}", h.p99_ms)),
                    if args.sustained(s) {
                        "yes"
                    } else if s.overloaded {
                        "no (overloaded)"
                    } else {
                        "no"
                    }
                );
            }
        }
        if report.max_baton.is_some() || args.max {
            let _ = writeln!(
                w,
                "\nMaximum sustained rate (achieved ≥ 95 %, p99 ≤ {} ms, nothing lost, no errors): \
                 Baton {}{}",
                args.max_p99_ms,
                report
                    .max_baton
                    .map_or("none found".into(), |m| format!("{m} msg/s")),
                report
                    .max_relay
                    .map_or(String::new(), |m| format!(", bare relay {m} msg/s"))
            );
        }
    }
    if !report.idle.is_empty() {
        let _ = writeln!(
            w,
            "\n## Idle connected visitors\n\nA fresh server per count; each socket starts a \
             conversation, then sits idle. RSS after the server settled.\n\n\
             | server | sockets | RSS before MiB | RSS after MiB | KiB per socket | opened in s |\n\
             |---|---|--:|--:|--:|--:|"
        );
        for i in &report.idle {
            let _ = writeln!(
                w,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                i.target,
                if i.sockets < i.requested {
                    format!("{} (of {}: open-files limit)", i.sockets, i.requested)
                } else {
                    i.sockets.to_string()
                },
                mib(i.rss_before_kib),
                mib(i.rss_after_kib),
                i.kib_per_socket,
                i.open_secs
            );
        }
    }
    if !report.targets.is_empty() {
        let _ = writeln!(w, "\n## Targets\n\n| target | measured | |\n|---|---|---|");
        for t in &report.targets {
            let _ = writeln!(w, "| {} | {} | {} |", t.target, t.measured, verdict(t.met));
        }
    }
    out
}
