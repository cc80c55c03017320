//! A throwaway PostgreSQL server for the tests (and `cargo xtask postgres`).
//!
//! The server's PostgreSQL tests create their own databases from
//! `BATON_TEST_DATABASE_URL`. When that is not given, we start a private
//! server: its own data directory under `target/pg-test/<xtask pid>`, its own
//! free port on 127.0.0.1 (never the machine's usual 5432, which may be a
//! real server), trust authentication for the user `baton`, and `fsync=on`
//! because some tests measure durability. It is stopped and its directory
//! removed when the [`Postgres`] guard drops, on success or failure; a
//! directory left by a run that was killed is cleaned by the next one.

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Result, root};

/// Given by the caller: use that server as is.
pub const URL_VAR: &str = "BATON_TEST_DATABASE_URL";
/// Tells the tests to fail, not skip, when PostgreSQL is unreachable.
pub const REQUIRE_VAR: &str = "BATON_REQUIRE_POSTGRES";

/// How long initdb + start may take before we give up (a cold CI disk is slow).
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before we escalate.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// The database the tests use: either given, or a server we run (stopped,
/// and its directory removed, on drop).
pub struct Postgres {
    pub url: String,
    /// `target/pg-test/<pid>`: data directory, socket and log.
    dir: Option<PathBuf>,
    server: Option<Child>,
}

impl Postgres {
    /// `BATON_TEST_DATABASE_URL` if set, else a fresh local server.
    pub fn for_tests() -> Result<Self> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => {
                eprintln!("xtask: PostgreSQL: using {URL_VAR} from the environment");
                Ok(Self {
                    url,
                    dir: None,
                    server: None,
                })
            }
            _ => Self::start(),
        }
    }

    /// Starts a throwaway server (installing PostgreSQL with apt when root
    /// and it is missing) and waits until it accepts connections.
    pub fn start() -> Result<Self> {
        catch_interrupt();
        let started = Instant::now();
        let bin = find_or_install()?;
        let user = server_user()?;
        clean_stale();
        let dir = run_dir(user.as_ref())?;
        // From here on, dropping `pg` removes `dir`, whatever fails.
        let mut pg = Self {
            url: String::new(),
            dir: Some(dir.clone()),
            server: None,
        };
        let initdb_started = Instant::now();
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-A", "trust", "-U", "baton", "--no-locale", "-E", "UTF8"])
            // Syncing a directory we delete afterwards buys nothing; the
            // server itself runs with fsync=on.
            .arg("--no-sync")
            .arg("-D")
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let initdb = as_user(&mut initdb, user.as_ref(), &dir)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
        let initdb_took = initdb_started.elapsed();
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed ({}): {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr).trim()
            ));
        }

        // A free port can be taken by someone else between our probe and the
        // server's bind: try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            pg.server = Some(spawn_server(&bin, user.as_ref(), &dir, port)?);
            match pg.wait_ready(&bin, port) {
                Ok(()) => {
                    pg.url = format!("postgres://baton@127.0.0.1:{port}/postgres");
                    eprintln!(
                        "xtask: PostgreSQL {} ({}) on 127.0.0.1:{port}, data in {}, \
                         ready in {:.1?} (initdb {:.1?})",
                        version(&bin),
                        bin.display(),
                        dir.display(),
                        started.elapsed(),
                        initdb_took,
                    );
                    return Ok(pg);
                }
                Err(e) if e.contains("already in use") => {
                    pg.stop();
                    last_error = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }

    /// The environment the test commands get.
    pub fn envs(&self) -> [(&'static str, &str); 2] {
        [(URL_VAR, self.url.as_str()), (REQUIRE_VAR, "1")]
    }

    /// Polls `pg_isready` until the server accepts connections, the server
    /// exits, or the deadline passes.
    fn wait_ready(&mut self, bin: &Path, port: u16) -> Result {
        let pg_isready = if bin.join("pg_isready").is_file() {
            bin.join("pg_isready")
        } else {
            PathBuf::from("pg_isready")
        };
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "postgres exited while starting ({status}):\n{}",
                    self.log().trim()
                ));
            }
            let ready = Command::new(&pg_isready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-U", "baton", "-d", "postgres", "-t", "1"])
                .status()
                .map_err(|e| format!("cannot run {}: {e}", pg_isready.display()))?;
            if ready.success() {
                return Ok(());
            }
            if interrupted() {
                return Err("interrupted".into());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not accept connections within {READY_DEADLINE:?}:\n{}",
                    self.log().trim()
                ));
            }
            sleep(Duration::from_millis(25));
        }
    }

    /// How our server ended, if it has.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.server.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGINT is PostgreSQL's "fast" shutdown (what `pg_ctl stop -m fast`
    /// sends): open sessions are cut rather than waited for, as a client a
    /// test left open must not hold us up.
    fn stop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        let pid = child.id() as libc::pid_t;
        for signal in [libc::SIGINT, libc::SIGQUIT] {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            // SAFETY: signalling our own child, which has not been reaped.
            unsafe { libc::kill(pid, signal) };
            let deadline = Instant::now() + STOP_DEADLINE;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn log(&self) -> String {
        let mut log = String::new();
        if let Some(dir) = &self.dir {
            let _ = fs::File::open(dir.join("postgres.log"))
                .and_then(|mut f| f.read_to_string(&mut log));
        }
        log
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = self.dir.take()
            && let Err(e) = fs::remove_dir_all(&dir)
        {
            eprintln!("xtask: cannot remove {}: {e}", dir.display());
        }
    }
}

/// `cargo xtask postgres`: one server for a developer or a benchmark run by
/// hand; prints the URL and stays up until ctrl-c (or SIGTERM).
pub fn serve() -> Result {
    let mut pg = Postgres::start()?;
    catch(libc::SIGTERM);
    println!("{}", pg.url);
    eprintln!("xtask: export {URL_VAR}={}  (ctrl-c stops it)", pg.url);
    while !interrupted() {
        if let Some(status) = pg.exited() {
            return Err(format!("postgres exited ({status}):\n{}", pg.log().trim()));
        }
        sleep(Duration::from_millis(100));
    }
    eprintln!("xtask: stopping PostgreSQL");
    Ok(())
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-c while a server is up: the foreground children (initdb, cargo
/// test) still die of it, but xtask lives on to stop the server and remove
/// its directory. The server is in its own process group, so the terminal's
/// SIGINT does not reach it.
fn catch_interrupt() {
    catch(libc::SIGINT);
}

fn catch(signal: libc::c_int) {
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe { libc::signal(signal, handler as *const () as libc::sighandler_t) };
}

/// Whether ctrl-c was pressed since a server was started.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The directory holding `initdb` and `postgres`: the highest
/// `/usr/lib/postgresql/<version>/bin` (Debian keeps them off PATH), else
/// PATH; installed with apt when missing and root.
fn find_or_install() -> Result<PathBuf> {
    if let Some(bin) = find() {
        return Ok(bin);
    }
    if !is_root() {
        return Err("PostgreSQL is not installed (no initdb and postgres in \
                    /usr/lib/postgresql/*/bin or on PATH): run \
                    `sudo apt-get install -y postgresql`, or set \
                    BATON_TEST_DATABASE_URL to a server's URL, and try again"
            .into());
    }
    // Like Chromium: try the install first, refresh the lists only if that
    // fails (stale lists on a fresh image).
    let install = || apt(&["install", "-y", "postgresql"]);
    install().or_else(|_| apt(&["update"]).and_then(|()| install()))?;
    find().ok_or_else(|| "apt installed postgresql, but initdb and postgres are not found".into())
}

fn find() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut versioned: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter_map(|dir| fs::canonicalize(dir.join("initdb")).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
        .find(|dir| has_server(dir))
}

fn apt(args: &[&str]) -> Result {
    let mut command = Command::new("apt-get");
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("apt-get {} failed ({status})", args.join(" ")))
}

fn is_root() -> bool {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Who runs initdb and postgres: `None` is ourselves; as root it is the
/// `postgres` system user, because PostgreSQL refuses to run as root.
#[derive(Clone, Copy)]
struct User {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

fn server_user() -> Result<Option<User>> {
    if !is_root() {
        return Ok(None);
    }
    if let Some(user) = lookup_postgres() {
        return Ok(Some(user));
    }
    // The Debian package creates it; a PostgreSQL from elsewhere may not.
    let status = Command::new("useradd")
        .args(["--system", "--user-group", "--no-create-home"])
        .args(["--shell", "/usr/sbin/nologin", "postgres"])
        .status()
        .map_err(|e| format!("cannot run useradd: {e}"))?;
    if !status.success() {
        return Err(format!("useradd postgres failed ({status})"));
    }
    lookup_postgres()
        .map(Some)
        .ok_or_else(|| "the postgres user was created but cannot be found".into())
}

fn lookup_postgres() -> Option<User> {
    // SAFETY: a NUL-terminated name; the result is read before any other
    // getpw* call (xtask is single-threaded here).
    let entry = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
    // SAFETY: non-null means a valid passwd record.
    (!entry.is_null()).then(|| unsafe {
        User {
            uid: (*entry).pw_uid,
            gid: (*entry).pw_gid,
        }
    })
}

/// Runs `command` in `dir`, as `user` when given.
fn as_user<'a>(command: &'a mut Command, user: Option<&User>, dir: &Path) -> &'a mut Command {
    command.current_dir(dir);
    if let Some(&User { uid, gid }) = user {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.env("HOME", dir).env("USER", "postgres");
    }
    command
}

/// Where throwaway servers live; `<pid>` names the xtask that owns one.
fn base_dirs() -> [PathBuf; 2] {
    [
        root().join("target/pg-test"),
        // Used when the postgres user cannot reach `target/` (a checkout
        // under /root, say).
        std::env::temp_dir().join("baton-pg-test"),
    ]
}

/// Removes directories whose xtask is gone (killed before its guard ran),
/// first stopping a server still running in one. Directories of other xtask
/// runs still alive are left alone.
fn clean_stale() {
    // Without /proc we cannot tell who is alive: leave everything alone.
    if !Path::new("/proc/self/stat").exists() {
        return;
    }
    let me = std::process::id();
    // A directory named by our own pid is a dead run's: we have not made
    // ours yet.
    let alive = |pid| pid != me && running(pid).is_some_and(|name| name == "xtask");
    for base in base_dirs() {
        for entry in fs::read_dir(&base).into_iter().flatten().flatten() {
            let owner = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok());
            if owner.is_some_and(alive) {
                continue;
            }
            let dir = entry.path();
            stop_orphan(&dir.join("data"));
            match fs::remove_dir_all(&dir) {
                Ok(()) => eprintln!("xtask: removed stale {}", dir.display()),
                Err(e) => eprintln!("xtask: cannot remove stale {}: {e}", dir.display()),
            }
        }
    }
}

/// The name of process `pid` if it is running. A zombie counts as ended:
/// a killed xtask can stay unreaped for a while (when PID 1 is lazy).
fn running(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "<pid> (<name>) <state> ..."; the name may itself hold ") ".
    let (head, tail) = stat.rsplit_once(") ")?;
    let name = head.split_once(" (")?.1;
    (!tail.starts_with(['Z', 'X'])).then(|| name.to_string())
}

/// An orphaned postmaster of a killed run still holds its data directory:
/// stop it (immediate: nothing in it is worth keeping). Its command line
/// must name that directory, so a recycled pid is never signalled.
fn stop_orphan(data: &Path) {
    let Some(pid) = fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
    else {
        return;
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let data = data.as_os_str().as_encoded_bytes();
    if !cmdline.windows(data.len()).any(|w| w == data) {
        return;
    }
    // SAFETY: a plain kill(2) to the orphaned postmaster, checked above.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGQUIT) };
    let deadline = Instant::now() + STOP_DEADLINE;
    while running(pid).is_some() && Instant::now() < deadline {
        sleep(Duration::from_millis(20));
    }
}

/// A fresh `<base>/<pid>` that the server's user may write to: under
/// `target/`, else under the temporary directory.
fn run_dir(user: Option<&User>) -> Result<PathBuf> {
    let name = std::process::id().to_string();
    let mut errors = Vec::new();
    for base in base_dirs() {
        let dir = base.join(&name);
        let made = fs::create_dir_all(&base)
            .and_then(|()| fs::create_dir(&dir))
            .and_then(|()| match user {
                Some(u) => chown(&dir, Some(u.uid), Some(u.gid)),
                None => Ok(()),
            });
        match made {
            Ok(()) if user.is_none() || writable_by(user, &dir) => return Ok(dir),
            Ok(()) => errors.push(format!(
                "the postgres user cannot write to {}",
                dir.display()
            )),
            Err(e) => errors.push(format!("cannot create {}: {e}", dir.display())),
        }
        let _ = fs::remove_dir_all(&dir);
    }
    Err(errors.join("; "))
}

fn writable_by(user: Option<&User>, dir: &Path) -> bool {
    let mut test = Command::new("test");
    test.arg("-w").arg(dir).arg("-a").arg("-x").arg(dir);
    as_user(&mut test, user, Path::new("/"))
        .status()
        .is_ok_and(|s| s.success())
}

/// A port nobody listens on now: the kernel's pick, released for postgres.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn spawn_server(bin: &Path, user: Option<&User>, dir: &Path, port: u16) -> Result<Child> {
    let log = fs::File::create(dir.join("postgres.log"))
        .map_err(|e| format!("cannot create the server log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    // A Unix socket path longer than sun_path (108 bytes) is fatal to the
    // server; then TCP only (the tests use TCP anyway).
    let socket_dir = if dir.as_os_str().len() + "/.s.PGSQL.65535".len() < 108 {
        dir.as_os_str()
    } else {
        "".as_ref()
    };
    let mut postgres = Command::new(bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .arg("-k")
        .arg(socket_dir)
        .args(["-c", "fsync=on"])
        // Tests run in parallel, each with a pool.
        .args(["-c", "max_connections=200"])
        .args(["-c", "shared_buffers=64MB"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Out of the terminal's process group: ctrl-c is for xtask, which
        // then stops the server in order (see `catch_interrupt`).
        .process_group(0);
    as_user(&mut postgres, user, dir)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("postgres").display()))
}

/// "15.20 (Debian 15.20-0+deb12u1)", from `postgres --version`.
fn version(bin: &Path) -> String {
    Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
        .trim()
        .trim_start_matches("postgres (PostgreSQL) ")
        .to_string()
}
