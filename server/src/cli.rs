//! The `baton` command line: run the server, manage agents, evaluate the
//! handoff engine, export escalations as eval cases. Lives in the library
//! so test harnesses can build the same command as their own binary.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;
use crate::knowledge::KnowledgeBase;
use crate::store::Store;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(name = "baton", version, about = "Customer chat with human handoff")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. Without --config: the demo (SQLite file in the
    /// working directory, demo knowledge base, demo agent).
    Serve {
        /// TOML config file.
        #[arg(long, env = "BATON_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run recorded conversations through the handoff engine and the
    /// knowledge-base assistant; print one JSON line per case and a summary.
    Eval {
        /// The knowledge base (Markdown); default: the config's
        /// `knowledge_base`, else the demo one.
        #[arg(long)]
        kb: Option<PathBuf>,
        /// Cases, one JSON object per line.
        cases: PathBuf,
        /// Exit non-zero when any case does not match its expectation.
        #[arg(long)]
        check: bool,
        /// Instead of the cases, print for confidence thresholds 0.50 to
        /// 0.95 how many answerable cases would be handed off and how many
        /// handoffs would be missed.
        #[arg(long, conflicts_with = "check")]
        sweep: bool,
        /// Take the policy from this config file instead of the default,
        /// and list on stderr the cases it decides differently from the
        /// baseline (the built-in policy unless --baseline is given).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Compare with the policy of this config file (the one running
        /// now): the cases decided differently are listed on stderr.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Also use what agents taught the assistant in the console (the
        /// lessons in the config's database), as `baton serve` does.
        #[arg(long)]
        lessons: bool,
    },
    /// Write handoffs as eval cases (JSON Lines on stdout) with the
    /// expectation the agents confirmed in the console, for `baton eval`.
    Export {
        /// First day (UTC, YYYY-MM-DD) of handoffs to export.
        #[arg(long)]
        since: String,
        /// Last day (UTC, YYYY-MM-DD), included; default: up to now.
        #[arg(long)]
        until: Option<String>,
        /// Only handoffs with this outcome (repeat or separate with commas).
        #[arg(long = "outcome", value_delimiter = ',',
              value_parser = clap::builder::PossibleValuesParser::new(crate::export::OUTCOMES))]
        outcomes: Vec<String>,
        /// Also export handoffs no agent has judged, expecting the handoff
        /// as it happened.
        #[arg(long)]
        unreviewed: bool,
        /// The config file: where the database is, and the time zone the
        /// cases' times are written in (the policy's business hours).
        #[arg(long, env = "BATON_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Manage agent accounts.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Add an agent. The password is prompted for, or read from stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "BATON_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Parses the arguments, runs the command, and reports errors on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server's log is its output; the other commands print a report of
    // their own on stderr, which informational lines would only interleave.
    let default_filter = match cli.command {
        Command::Serve { .. } => "baton=info,tower_http=warn",
        _ => "baton=warn,tower_http=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config } => serve(config).await,
            Command::Eval {
                kb,
                cases,
                check,
                sweep,
                config,
                baseline,
                lessons,
            } => {
                let options = EvalOptions {
                    check,
                    sweep,
                    lessons,
                };
                eval(kb.as_deref(), &cases, options, config, baseline).await
            }
            Command::Export {
                since,
                until,
                outcomes,
                unreviewed,
                config,
            } => export(&since, until.as_deref(), outcomes, unreviewed, config).await,
            Command::Agent {
                command:
                    AgentCommand::Add {
                        email,
                        name,
                        config,
                    },
            } => add_agent(config, &email, &name).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error>;

async fn serve(config_path: Option<PathBuf>) -> Result<(), AnyError> {
    let config = Config::load(config_path.as_deref())?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    // Who may embed the widget: the first thing to check when a site's
    // chat does not connect (see `transport::origins`).
    let origins = crate::transport::Origins::new(config.visitors.allowed_origins.as_deref());
    let mut banner = format!(
        "Baton is running.\n  demo page:     http://{addr}/\n  agent console: http://{addr}/console/\n  widget on:     {}\n",
        origins.describe(&format!("http://{addr}"))
    );
    if config.demo {
        let (email, _, password) = crate::team::DEMO_AGENT;
        banner.push_str(&format!("  demo agent:    {email} / {password}\n"));
    }
    // Serving does not depend on anyone reading this: a closed stdout (a
    // supervisor, a pipe whose reader went away) must not stop the server,
    // as `println!` would by panicking.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    crate::serve(listener, config, shutdown_signal()).await?;
    Ok(())
}

/// `baton eval`'s switches.
struct EvalOptions {
    check: bool,
    sweep: bool,
    lessons: bool,
}

async fn eval(
    kb: Option<&Path>,
    cases: &Path,
    EvalOptions {
        check,
        sweep,
        lessons,
    }: EvalOptions,
    config_path: Option<PathBuf>,
    baseline: Option<PathBuf>,
) -> Result<(), AnyError> {
    let config = Config::load(config_path.as_deref())?;
    // Evaluation stays offline and repeatable: the engine with the
    // knowledge-base assistant, whatever backend serves live traffic.
    if config.assistant.backend != crate::config::Backend::KnowledgeBase {
        eprintln!(
            "baton eval: answers come from the knowledge base; assistant.backend = {:?} is not asked",
            config.assistant.backend.as_str()
        );
    }
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let kb_path = kb.or(config.knowledge_base.as_deref());
    let kb = match kb_path {
        Some(path) => {
            KnowledgeBase::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => KnowledgeBase::parse(crate::server::DEMO_KNOWLEDGE_BASE)
            .map_err(|e| format!("the demo knowledge base: {e}"))?,
    };
    // The same understanding as `baton serve`: the model the config
    // names, else the one `cargo xtask` provisions, else words only.
    let mut kb = kb.with_model(&config.embeddings).await?;
    if lessons {
        kb = with_lessons(kb, &config.database_url).await?;
    }
    let cases = read(cases)?;
    // Answering may wait on an embeddings endpoint with a blocking call.
    tokio::task::block_in_place(|| judge(&config, &kb, &cases, check, sweep, config_path, baseline))
}

/// `kb` with the lessons stored in the database at `url`; says on stderr
/// what it added.
async fn with_lessons(kb: KnowledgeBase, url: &str) -> Result<KnowledgeBase, AnyError> {
    let store = Store::connect_existing(url)
        .await
        .map_err(|e| format!("--lessons: {e}"))?;
    let (lessons, _) = store.lessons().await?;
    store.close().await;
    let learned = kb.with_lessons(&lessons)?;
    eprintln!(
        "baton eval: with {} lessons agents taught ({} for articles the knowledge base no longer has)",
        lessons.len(),
        learned.unmatched
    );
    Ok(learned.kb)
}

/// `eval` once the knowledge base is ready.
fn judge(
    config: &Config,
    kb: &KnowledgeBase,
    cases: &str,
    check: bool,
    sweep: bool,
    config_path: Option<PathBuf>,
    baseline: Option<PathBuf>,
) -> Result<(), AnyError> {
    if sweep {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "threshold  answerable handed off  handoffs missed  cases passed"
        )?;
        for p in crate::eval::sweep(&config.policy, kb, cases)? {
            let share = |n: usize, of: usize| {
                format!(
                    "{n:>3}/{of:<3} {:>4.0}%",
                    100.0 * n as f32 / of.max(1) as f32
                )
            };
            writeln!(
                out,
                "{:>9.2}  {:>21}  {:>15}  {:>12}",
                p.threshold,
                share(p.false_handoffs, p.answerable),
                share(p.missed_handoffs, p.handoffs),
                format!("{}/{}", p.passed, p.cases),
            )?;
        }
        return Ok(());
    }
    let summary = crate::eval::run(&config.policy, kb, cases, &mut std::io::stdout().lock())?;
    if config_path.is_some() || baseline.is_some() {
        let (name, before) = match &baseline {
            Some(path) => (path.display().to_string(), Config::load(Some(path))?.policy),
            None => ("the built-in policy".to_string(), Config::default().policy),
        };
        let before = crate::eval::decisions(&before, kb, cases)?;
        let after = crate::eval::decisions(&config.policy, kb, cases)?;
        let changes = crate::eval::changes(&before, &after);
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "compared with {name}: {} of {} cases decided differently",
            changes.len(),
            after.len()
        )?;
        for (b, a) in changes {
            let status = match (b.passes, a.passes) {
                (false, true) => "now passes",
                (true, false) => "now fails",
                (true, true) => "passes either way",
                (false, false) => "fails either way",
            };
            writeln!(
                err,
                "  {}: {} → {} ({status})",
                a.id,
                decided(b.handoff),
                decided(a.handoff)
            )?;
        }
    }
    if check && !summary.failed.is_empty() {
        return Err(format!(
            "{} of {} cases failed: {}",
            summary.failed.len(),
            summary.cases,
            summary.failed.join(", ")
        )
        .into());
    }
    Ok(())
}

/// "handoff (rule, turn 2)" or "no handoff".
fn decided(handoff: Option<(baton_shared::Mechanism, usize)>) -> String {
    match handoff {
        Some((mechanism, turn)) => format!("handoff ({}, turn {turn})", mechanism.as_str()),
        None => "no handoff".into(),
    }
}

async fn export(
    since: &str,
    until: Option<&str>,
    outcomes: Vec<String>,
    unreviewed: bool,
    config_path: Option<PathBuf>,
) -> Result<(), AnyError> {
    let config = Config::load(config_path.as_deref())?;
    let since = crate::analytics::day("--since", since)?;
    let until = until
        .map(|u| crate::analytics::day("--until", u))
        .transpose()?;
    if until.is_some_and(|u| u < since) {
        return Err("--until is before --since".into());
    }
    let time_zone = jiff::tz::TimeZone::get(&config.policy.business_hours.time_zone)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let store = Store::connect_existing(&config.database_url)
        .await
        .map_err(|e| format!("{}: {e}", config.database_url))?;
    let options = crate::export::Options {
        since,
        until,
        outcomes,
        unreviewed,
        time_zone,
    };
    let exported = crate::export::export(&store, &options, &mut std::io::stdout().lock()).await;
    store.close().await;
    let exported = exported?;
    let mut err = std::io::stderr().lock();
    write!(err, "exported {} cases", exported.cases)?;
    if exported.unreviewed > 0 {
        write!(
            err,
            "; {} handoffs nobody judged were left out (--unreviewed includes them)",
            exported.unreviewed
        )?;
    }
    if exported.other_outcome > 0 {
        write!(err, "; {} with other outcomes", exported.other_outcome)?;
    }
    writeln!(err)?;
    for (id, why) in &exported.unrebuildable {
        writeln!(err, "  left out {id}: {why}")?;
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn add_agent(config_path: Option<PathBuf>, email: &str, name: &str) -> Result<(), AnyError> {
    let config = Config::load(config_path.as_deref())?;
    let password = read_password()?;
    let store = Store::connect(&config.database_url).await?;
    let agent = crate::team::add_agent(&store, email, name, &password).await?;
    store.close().await;
    println!("Added agent {} ({email}), id {}.", agent.name, agent.id);
    Ok(())
}

/// From the terminal (prompted, not echoed) or the first line of stdin
/// (scripts).
fn read_password() -> Result<String, AnyError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
