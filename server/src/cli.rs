//! The `baton` command line: run the server, manage agents, evaluate the
//! handoff engine. Lives in the library so test harnesses can build the
//! same command as their own binary.

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
        /// The knowledge base (Markdown).
        #[arg(long)]
        kb: PathBuf,
        /// Cases, one JSON object per line.
        cases: PathBuf,
        /// Exit non-zero when any case does not match its expectation.
        #[arg(long)]
        check: bool,
        /// Take the policy from this config file instead of the default.
        #[arg(long)]
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "baton=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config } => serve(config).await,
            Command::Eval {
                kb,
                cases,
                check,
                config,
            } => eval(&kb, &cases, check, config),
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
    println!("Baton is running.");
    println!("  demo page:     http://{addr}/");
    println!("  agent console: http://{addr}/console/");
    if config.demo {
        let (email, _, password) = crate::team::DEMO_AGENT;
        println!("  demo agent:    {email} / {password}");
    }
    std::io::stdout().flush()?;
    crate::serve(listener, config, shutdown_signal()).await?;
    Ok(())
}

fn eval(kb: &Path, cases: &Path, check: bool, config: Option<PathBuf>) -> Result<(), AnyError> {
    let config = Config::load(config.as_deref())?;
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let kb = KnowledgeBase::parse(&read(kb)?).map_err(|e| format!("{}: {e}", kb.display()))?;
    let cases = read(cases)?;
    let summary = crate::eval::run(&config.policy, &kb, &cases, &mut std::io::stdout().lock())?;
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
