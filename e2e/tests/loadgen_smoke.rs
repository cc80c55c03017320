//! The load generator works: `loadgen --smoke` runs against the real
//! server (this package's `baton-under-test`) and its own bare relay,
//! prints every table, counts messages and loses none.
//!
//! It checks that the benchmark runs, never how fast anything is: speed
//! depends on the machine, and BENCHMARKS.md is where the numbers live.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The smoke run takes seconds; a debug build on a busy 2-core machine
/// gets plenty more.
const DEADLINE: Duration = Duration::from_secs(300);

#[test]
fn loadgen_smoke_run_measures_both_servers_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("loadgen.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--smoke")
        .arg("--server-bin")
        .arg(env!("CARGO_BIN_EXE_baton-under-test"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts");

    // Read both pipes on threads so the child never blocks on a full one.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for loadgen") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "loadgen --smoke did not finish within {DEADLINE:?}\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50)); // poll interval
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    // Shown when the test fails, and with --nocapture.
    println!("{stdout}\n--- stderr ---\n{stderr}");
    assert!(status.success(), "loadgen --smoke failed: {status}");

    for table in [
        "## Relay latency",
        "## Baton against the bare relay",
        "## Handoff latency under load",
        "## Idle connected visitors",
        "## Targets",
    ] {
        assert!(stdout.contains(table), "no {table:?} in the output");
    }

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the --json report"))
            .expect("the report is JSON");
    let steps = report["steps"].as_array().expect("steps");
    for target in ["baton", "relay"] {
        let step = steps
            .iter()
            .find(|s| s["target"] == target)
            .unwrap_or_else(|| panic!("no {target} step"));
        for dir in step["dirs"].as_array().expect("two directions") {
            assert!(
                dir["sent"].as_u64() > Some(0),
                "{target}: nothing sent: {dir}"
            );
            assert!(
                dir["delivered"].as_u64() > Some(0),
                "{target}: nothing delivered: {dir}"
            );
            assert_eq!(dir["lost"], 0, "{target}: messages lost: {dir}");
            assert_eq!(dir["duplicates"], 0, "{target}: duplicates: {dir}");
            if target == "baton" {
                assert_eq!(dir["acked"], dir["sent"], "baton: unacknowledged: {dir}");
            }
        }
    }
    let baton = steps
        .iter()
        .find(|s| s["target"] == "baton")
        .expect("a baton step");
    assert!(
        baton["handoff"]["seen"].as_u64() > Some(0),
        "no handoff reached the agent's queue: {}",
        baton["handoff"]
    );
    let idle = report["idle"].as_array().expect("idle results");
    for target in ["baton", "relay"] {
        let row = idle
            .iter()
            .find(|i| i["target"] == target)
            .unwrap_or_else(|| panic!("no idle {target} row"));
        assert!(row["sockets"].as_u64() > Some(0), "{row}");
        assert!(row["rss_after_kib"].as_u64() > Some(0), "{row}");
    }
}
