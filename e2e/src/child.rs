//! The real `baton serve` as a child process, so a test can do to it what
//! happens to servers in production: `kill -9` at any moment, SIGTERM, and
//! a restart on the same port and database file.
//!
//! The binary is this package's `baton-under-test` (the `baton` command
//! line, built alongside the tests); cargo tells only integration tests
//! where it is, so they pass `env!("CARGO_BIN_EXE_baton-under-test")`. Its
//! stderr (tracing) goes to a log file whose tail a failing test can print.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::net::TcpStream;

/// How long a start or a graceful stop may take.
pub const START_DEADLINE: Duration = Duration::from_secs(60);

/// A `baton serve` child process and the files it keeps between restarts.
pub struct ChildServer {
    child: Option<Child>,
    binary: PathBuf,
    /// Fixed after the first start: restarts reuse the port, as a
    /// restarted server behind a fixed address would.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    /// Extra TOML appended to the config (e.g. a `[limits]` table).
    extra: String,
    assets: Option<PathBuf>,
    /// `None`: a SQLite file in `dir`.
    database_url: Option<String>,
    /// Starts so far, the first included.
    pub starts: usize,
}

impl ChildServer {
    /// Starts `binary` as a demo-mode server (agent demo@baton.local /
    /// baton-demo) on a free port and a fresh database. `extra` is appended
    /// to the config file; `assets` is the built `dist/` when the test needs
    /// the widget.
    pub async fn start(binary: &str, extra: &str, assets: Option<&Path>) -> Self {
        Self::start_on(binary, None, extra, assets).await
    }

    /// As [`start`](Self::start), on the database at `database_url` (e.g.
    /// a PostgreSQL database other nodes share) instead of a fresh file.
    pub async fn start_on(
        binary: &str,
        database_url: Option<&str>,
        extra: &str,
        assets: Option<&Path>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut server = Self {
            child: None,
            binary: PathBuf::from(binary),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
            extra: extra.to_string(),
            assets: assets.map(Path::to_path_buf),
            database_url: database_url.map(str::to_string),
            starts: 0,
        };
        server.spawn().await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("baton.db")
    }

    /// `kill -9`: no chance to flush, close sockets or finish a write.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to exit; panics (with the log)
    /// if it does not within [`START_DEADLINE`].
    pub async fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) with a pid we spawned and have not reaped yet, so
        // it cannot name another process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the server") {
                return status;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within {START_DEADLINE:?} of SIGTERM\n{}",
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await; // poll interval
        }
    }

    /// Replaces the extra config the next [`restart`](Self::restart)
    /// uses, as an owner edits the config file.
    pub fn reconfigure(&mut self, extra: &str) {
        self.extra = extra.to_string();
    }

    /// The server's log so far (its stderr: tracing at `baton=warn`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Starts again on the same port and database.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        self.spawn().await;
    }

    /// The last `lines` lines the server logged.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        format!(
            "--- server log (last {lines} lines) ---\n{}",
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }

    /// Writes the config, runs `baton serve`, learns the address from what
    /// it prints, and waits until the port accepts connections.
    async fn spawn(&mut self) {
        let config = self.dir.path().join("baton.toml");
        let database_url = self
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.database().display()));
        let mut toml = format!(
            "listen = \"{}\"\ndatabase_url = \"{database_url}\"\ndemo = true\n",
            self.addr,
        );
        if let Some(assets) = &self.assets {
            toml.push_str(&format!("assets_dir = \"{}\"\n", assets.display()));
        }
        // Words only, unless the test configures embeddings itself.
        if !self.extra.contains("[embeddings]") {
            toml.push_str("[embeddings]\nsource = \"off\"\n");
        }
        toml.push_str(&self.extra);
        std::fs::write(&config, toml).expect("writing the config");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("the server log");

        let mut command = Command::new(&self.binary);
        command.arg("serve").arg("--config").arg(&config);
        // The test's environment must not redirect the server elsewhere.
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("BATON_") {
                command.env_remove(&var);
            }
        }
        let mut child = command
            .env(
                "RUST_LOG",
                std::env::var("BATON_TEST_LOG").unwrap_or_else(|_| "baton=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let addr = read_address(&mut child, "demo page");
        self.starts += 1;
        self.child = Some(child);
        match addr {
            Some(addr) => self.addr = addr,
            None => {
                self.kill();
                panic!(
                    "the server did not say where it listens\n{}",
                    self.log_tail(40)
                );
            }
        }
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        while TcpStream::connect(self.addr).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server never accepted\n{}",
                self.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(20)).await; // poll interval
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads stdout up to the line with `marker` and its `http://ADDR/` (for
/// `baton serve`, "demo page"); `None` if the process ends (or says
/// nothing) within [`START_DEADLINE`]. Keeps draining stdout afterwards so
/// the child never blocks on a full pipe.
pub fn read_address(child: &mut Child, marker: &'static str) -> Option<SocketAddr> {
    let stdout = child.stdout.take()?;
    let (found, address) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent
                && line.contains(marker)
                && let Some(addr) = line
                    .split("http://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
            {
                sent = found.send(addr.parse::<SocketAddr>().ok()).is_ok();
            }
        }
    });
    address.recv_timeout(START_DEADLINE).ok().flatten()
}
