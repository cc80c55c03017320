//! The servers under test as child processes, and what the kernel says
//! about them: a separate process is the only way to read one server's
//! memory (`VmRSS` in `/proc/<pid>/status`) and CPU time
//! (`/proc/<pid>/stat`) without counting the load generator's own.
//!
//! Also the facts about this machine that the numbers depend on: cores,
//! memory, and how long `fdatasync` takes where the database lives — with
//! every message durably stored, that is the floor under Baton's latency.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_e2e::child::{START_DEADLINE, read_address};

/// A server child process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    /// Holds the config, the log and (by default) the SQLite file.
    dir: tempfile::TempDir,
    pub what: &'static str,
}

/// How to start Baton.
pub struct BatonSpec<'a> {
    pub binary: &'a Path,
    /// `None`: a fresh SQLite file in the server's temporary directory.
    pub database_url: Option<&'a str>,
    /// Where temporary directories (and so the default SQLite file) go.
    pub data_dir: Option<&'a Path>,
}

impl ServerProcess {
    /// `baton serve` in demo mode (the agent demo@baton.local) with every
    /// rate and connection limit off: all load comes from 127.0.0.1, far
    /// faster than a person, and measuring the limiter is not the point.
    pub fn baton(spec: &BatonSpec<'_>) -> Result<Self, String> {
        let dir = temp_dir(spec.data_dir)?;
        let database_url = match spec.database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", dir.path().join("baton.db").display()),
        };
        let config = dir.path().join("baton.toml");
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = {database_url:?}\ndemo = true\n\
             [limits]\nconnections_per_minute = 0\nframes_per_second = 0\nlogins_per_minute = 0\n\
             [embeddings]\nsource = \"off\"\n"
        );
        std::fs::write(&config, toml).map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut command = Command::new(spec.binary);
        command.arg("serve").arg("--config").arg(&config);
        // The environment must not point the server elsewhere.
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("BATON_") {
                command.env_remove(&var);
            }
        }
        command.env(
            "RUST_LOG",
            std::env::var("LOADGEN_SERVER_LOG").unwrap_or_else(|_| "baton=warn".into()),
        );
        Self::spawn(command, dir, "baton", "demo page")
    }

    /// This program's hidden `relay` subcommand: the bare relay.
    pub fn relay(read_buffer: Option<usize>, data_dir: Option<&Path>) -> Result<Self, String> {
        let dir = temp_dir(data_dir)?;
        let exe = std::env::current_exe().map_err(|e| format!("finding loadgen itself: {e}"))?;
        let mut command = Command::new(exe);
        command.arg("relay").arg("--listen").arg("127.0.0.1:0");
        if let Some(bytes) = read_buffer {
            command.arg("--read-buffer").arg(bytes.to_string());
        }
        Self::spawn(command, dir, "relay", "relay listening")
    }

    /// Starts `command` (stderr to a log file), reads the address from the
    /// stdout line containing `marker` (`… http://ADDR/`), and waits until
    /// the port accepts connections.
    fn spawn(
        mut command: Command,
        dir: tempfile::TempDir,
        what: &'static str,
        marker: &'static str,
    ) -> Result<Self, String> {
        // The server dies with loadgen, however loadgen ends (Ctrl-C, kill):
        // a benchmark must not leave servers behind.
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the {what} server: {e}"))?;
        let pid = child.id();
        let addr = read_address(&mut child, marker);
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid,
            dir,
            what,
        };
        match addr {
            Some(addr) => server.addr = addr,
            None => {
                return Err(format!(
                    "the {what} server did not say where it listens\n{}",
                    server.log_tail(30)
                ));
            }
        }
        let deadline = Instant::now() + START_DEADLINE;
        while std::net::TcpStream::connect(server.addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "the {what} server never accepted\n{}",
                    server.log_tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(20)); // poll interval
        }
        Ok(server)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> Result<u64, String> {
        rss_kib(self.pid)
    }

    /// User + system CPU time so far.
    pub fn cpu(&self) -> Duration {
        cpu_time(&format!("/proc/{}/stat", self.pid)).unwrap_or_default()
    }

    /// The open-files limit the process actually has (inherited from us).
    pub fn nofile_limit(&self) -> Option<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid)).ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        format!(
            "--- {} log (last {lines} lines) ---\n{}",
            self.what,
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }

    /// Waits until the server is idle and its memory settled: resident
    /// memory within 0.5 % over three reads 250 ms apart, and less than a
    /// tenth of a core busy between them. Returns the last RSS (KiB).
    /// Gives up (returning the last read) after `deadline`.
    pub async fn settle(&self, deadline: Duration) -> Result<u64, String> {
        let until = Instant::now() + deadline;
        let mut reads: Vec<u64> = Vec::new();
        let mut cpu = self.cpu();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await; // sampling interval
            let rss = self.rss_kib()?;
            let now_cpu = self.cpu();
            let busy = (now_cpu.saturating_sub(cpu)).as_secs_f64() / 0.25;
            cpu = now_cpu;
            if busy > 0.1 {
                reads.clear();
            } else {
                reads.push(rss);
            }
            if reads.len() >= 3 {
                let last = &reads[reads.len() - 3..];
                let (lo, hi) = (last.iter().min(), last.iter().max());
                if let (Some(&lo), Some(&hi)) = (lo, hi)
                    && (hi - lo) * 200 <= hi
                {
                    return Ok(rss);
                }
            }
            if Instant::now() > until {
                return Ok(rss);
            }
        }
    }

    /// Waits (up to `deadline`) until the server uses under a tenth of a
    /// core: the previous step's backlog is worked off.
    pub async fn quiesce(&self, deadline: Duration) {
        let until = Instant::now() + deadline;
        let mut cpu = self.cpu();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(300)).await; // sampling interval
            let now_cpu = self.cpu();
            if now_cpu.saturating_sub(cpu).as_secs_f64() / 0.3 < 0.1 {
                return;
            }
            cpu = now_cpu;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGKILL: the measurements are over, nothing needs to be flushed,
        // and the server's side closes its sockets first (TIME_WAIT lands
        // there, not on our ephemeral ports).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(data_dir: Option<&Path>) -> Result<tempfile::TempDir, String> {
    let made = match data_dir {
        Some(dir) => tempfile::Builder::new().prefix("loadgen-").tempdir_in(dir),
        None => tempfile::Builder::new().prefix("loadgen-").tempdir(),
    };
    made.map_err(|e| format!("creating a temporary directory: {e}"))
}

/// `VmRSS` of a process, KiB.
pub fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// utime + stime from a `/proc/…/stat` file.
pub fn cpu_time(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may hold spaces; count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file are 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf reads a constant; no memory is touched.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// This process's CPU time so far.
pub fn own_cpu() -> Duration {
    cpu_time("/proc/self/stat").unwrap_or_default()
}

/// CPU time every core spent busy so far (`/proc/stat`): with the server's
/// and our own subtracted, what else ran during a step — on a 2-core
/// machine, anything else running skews the numbers.
pub fn machine_busy() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return Duration::ZERO;
    };
    // user nice system idle iowait irq softirq steal …: all but idle and
    // iowait are busy.
    let ticks: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf reads a constant; no memory is touched.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    match u64::try_from(per_second) {
        Ok(per_second) if per_second > 0 => {
            Duration::from_secs_f64(ticks as f64 / per_second as f64)
        }
        _ => Duration::ZERO,
    }
}

/// The open-files limit of this process.
pub fn nofile_soft() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    limit.rlim_cur
}

/// Raises the open-files limit to at least `wanted` (root may raise the
/// hard limit too). Children inherit it, so the servers get the same.
/// Returns the soft limit now in force.
pub fn raise_nofile(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    if limit.rlim_cur >= wanted {
        return limit.rlim_cur;
    }
    let raised = libc::rlimit {
        rlim_cur: wanted.max(limit.rlim_cur),
        rlim_max: wanted.max(limit.rlim_max),
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return raised.rlim_cur;
    }
    // Not allowed past the hard limit: take what there is.
    let capped = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } == 0 {
        capped.rlim_cur
    } else {
        limit.rlim_cur
    }
}

/// The machine, as far as the numbers depend on it.
#[derive(serde::Serialize, Clone, Debug)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// Where the SQLite file goes (the temporary directory).
    pub data_dir: String,
    /// 4 KiB appended then `fdatasync`, 200 times: p50, p99, max in ms.
    pub fdatasync_ms: [f64; 3],
}

impl Machine {
    pub fn describe(data_dir: Option<&Path>) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let dir: PathBuf = data_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            data_dir: dir.display().to_string(),
            fdatasync_ms: fdatasync_probe(&dir).unwrap_or([f64::NAN; 3]),
        }
    }
}

/// What one durable append costs on the disk at `dir`: SQLite in WAL mode
/// with `synchronous = FULL` does one such flush per commit.
fn fdatasync_probe(dir: &Path) -> Option<[f64; 3]> {
    let file = tempfile::tempfile_in(dir).ok()?;
    let mut file = std::io::BufWriter::new(file);
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        file.write_all(&block).ok()?;
        file.flush().ok()?;
        let started = Instant::now();
        file.get_ref().sync_data().ok()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Some([times[100], times[198], times[199]])
}
