//! `cargo xtask fresh`: the README's two commands as a new user meets
//! them, to re-check that set-up works from nothing.
//!
//! A warm machine hides missing install steps (a crate only the registry
//! cache had, a model only the user cache had). This clones the committed
//! `HEAD` into a temporary folder and runs both commands there with an
//! empty `CARGO_HOME` and an empty cache folder (`XDG_CACHE_HOME`: the
//! embedding model, pip's downloads): first `cargo xtask demo`, until its
//! demo page and widget answer, then `cargo xtask test`. Tools already on
//! the `PATH` (trunk, wasm-bindgen, Chromium) are used as a user's would
//! be; on a new machine there are none and both commands install them.
//! It prints how long each took, and removes the folder when both passed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, root};

pub fn check() -> Result {
    let work = std::env::temp_dir().join(format!("baton-fresh-{}", std::process::id()));
    let clone = work.join("baton");
    let cargo_home = work.join("cargo-home");
    let cache = work.join("cache");
    for dir in [&cargo_home, &cache] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-local"])
        .arg(root())
        .arg(&clone)
        .status()
        .map_err(|e| format!("git: {e}"))?;
    if !status.success() {
        return Err("git clone failed".into());
    }
    eprintln!(
        "xtask fresh: a clone of HEAD in {}, CARGO_HOME={} (empty)",
        clone.display(),
        cargo_home.display()
    );
    let command = |task: &str| {
        let mut command = Command::new("cargo");
        command
            .args(["xtask", task])
            .current_dir(&clone)
            .env("CARGO_HOME", &cargo_home)
            .env("XDG_CACHE_HOME", &cache)
            // Not the machine's own target folder, if one is set.
            .env_remove("CARGO_TARGET_DIR");
        command
    };

    let started = Instant::now();
    demo(command("demo"))?;
    let demo_took = started.elapsed();
    eprintln!("xtask fresh: `cargo xtask demo` served its demo after {demo_took:.0?}");

    let started = Instant::now();
    let status = command("test")
        .status()
        .map_err(|e| format!("cargo xtask test: {e}"))?;
    let test_took = started.elapsed();
    if !status.success() {
        return Err(format!(
            "`cargo xtask test` failed after {test_took:.0?} (left in {})",
            work.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("From an empty cargo home, on a fresh clone of HEAD:");
    println!("  cargo xtask demo  serving after {}", minutes(demo_took));
    println!(
        "  cargo xtask test  passed after  {} (its crates already fetched by the demo)",
        minutes(test_took)
    );
    Ok(())
}

fn minutes(d: Duration) -> String {
    format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60)
}

/// Runs `cargo xtask demo` until Baton says it is running, checks that its
/// demo page and widget script are served, then stops it.
fn demo(mut command: Command) -> Result {
    let mut child = command
        // Any free port: a user's 8080 may be taken on this machine.
        .env("BATON_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        // Its own process group, so the server it starts stops with it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cargo xtask demo: {e}"))?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped");
    let mut address = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref().map_while(|l| l.ok()) {
        println!("{line}");
        if let Some(url) = line.trim().strip_prefix("demo page:") {
            address = url
                .trim()
                .strip_prefix("http://")
                .map(|a| a.trim_end_matches('/').to_string());
            break;
        }
    }
    // Keep reading what the demo prints after that: a pipe closed under
    // it would fail its next write.
    std::thread::spawn(move || lines.map_while(|l| l.ok()).for_each(|l| println!("{l}")));
    let checked = match &address {
        None => Err("`cargo xtask demo` ended before Baton was running".to_string()),
        Some(addr) => ["/", "/widget.js"]
            .iter()
            .try_for_each(|path| expect_ok(addr, path)),
    };
    // SAFETY: a plain syscall; the group is the one the demo leads.
    unsafe { libc::killpg(pid as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    checked
}

/// A plain HTTP/1.1 GET that must answer 200.
fn expect_ok(addr: &str, path: &str) -> Result {
    let failed = |e: std::io::Error| format!("GET http://{addr}{path}: {e}");
    let mut stream = TcpStream::connect(addr).map_err(failed)?;
    // The server answers once the knowledge base is ready (model loaded).
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(failed)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(failed)?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    let status = response.lines().next().unwrap_or_default();
    if status.contains(" 200 ") {
        eprintln!("xtask fresh: GET {path}: {status}");
        Ok(())
    } else {
        Err(format!("GET http://{addr}{path}: {status:?}"))
    }
}
