//! The `baton` command as people and CI run it: `eval` on the repository's
//! copies of the shared knowledge base and sample cases, invalid config
//! refused at start, and `agent add`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn eval(kb: &Path, cases: &Path, check: bool) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.arg("eval").arg("--kb").arg(kb).arg(cases);
    if check {
        command.arg("--check");
    }
    command.output().expect("baton runs")
}

#[test]
fn every_sample_case_passes_with_check() {
    let out = eval(
        &repo("eval/kb-shop.md"),
        &repo("eval/sample-cases.jsonl"),
        true,
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cases = std::fs::read_to_string(repo("eval/sample-cases.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        cases.lines().count() + 1,
        "one line per case, then the summary"
    );
    for line in &lines[..lines.len() - 1] {
        for key in ["id", "handoff", "mechanism", "turn", "reason"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    assert_eq!(
        lines.last().unwrap()["summary"]["failed"],
        serde_json::json!([])
    );
}

#[test]
fn the_shared_copies_are_in_sync() {
    let shared = repo("../shared/eval");
    if !shared.is_dir() {
        return; // a clone outside the team folder has only the repository's copies
    }
    for file in ["kb-shop.md", "sample-cases.jsonl"] {
        let ours = std::fs::read_to_string(repo(&format!("eval/{file}"))).unwrap();
        let theirs = std::fs::read_to_string(shared.join(file)).unwrap();
        assert_eq!(
            ours, theirs,
            "eval/{file} differs from ../shared/eval/{file}"
        );
    }
}

#[test]
fn check_fails_on_a_mismatch_and_bad_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.jsonl");
    std::fs::write(
        &wrong,
        r#"{"id":"claims-no-handoff","turns":[{"text":"I want to speak to a human"}],"expect":{"handoff":false}}"#,
    )
    .unwrap();
    let kb = repo("eval/kb-shop.md");
    assert!(
        eval(&kb, &wrong, false).status.success(),
        "without --check it reports and exits 0"
    );
    let checked = eval(&kb, &wrong, true);
    assert!(!checked.status.success());
    assert!(String::from_utf8_lossy(&checked.stderr).contains("claims-no-handoff"));

    let broken = dir.path().join("broken.jsonl");
    std::fs::write(
        &broken,
        "{\"id\":\"ok\",\"turns\":[{\"text\":\"hi\"}],\"expect\":{\"handoff\":false}}\nnot json\n",
    )
    .unwrap();
    let out = eval(&kb, &broken, false);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_config_stops_the_server_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[assistant]\nnmae = \"x\"\n", "nmae"),
        (
            "[policy.business_hours]\ntime_zone = \"Europe/Berln\"\n",
            "policy.business_hours.time_zone",
        ),
        (
            "[policy]\nconfidence_threshold = 1.5\n",
            "confidence_threshold",
        ),
        (
            "[visitors]\nallowed_origins = [\"shop.example/path\"]\n",
            "visitors.allowed_origins",
        ),
    ];
    for (i, (toml, key)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&path, format!("listen = \"127.0.0.1:0\"\n{toml}")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{toml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
    }
}

/// What `baton serve` prints at start about who may embed the widget.
fn embedding_line(toml: &str) -> String {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.toml");
    let db = dir.path().join("b.db");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}\"\n{toml}",
            db.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("widget on:"));
    let _ = child.kill();
    let _ = child.wait();
    line.expect("the start-up lines name who may embed the widget")
}

#[test]
fn serve_says_at_start_which_sites_may_embed_the_widget() {
    let open = embedding_line("");
    assert!(
        open.contains("any site") && open.contains("allowed_origins"),
        "{open}"
    );
    let listed = embedding_line("[visitors]\nallowed_origins = [\"https://shop.example\"]\n");
    assert!(
        listed.contains("https://shop.example") && listed.contains("http://127.0.0.1:"),
        "{listed}"
    );
}

#[tokio::test]
async fn an_agent_added_on_the_command_line_can_sign_in() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let add = |password: &'static str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args([
                "agent",
                "add",
                "--email",
                "Ana@Example.com",
                "--name",
                "Ana",
            ])
            .env("BATON_DATABASE_URL", format!("sqlite://{}", db.display()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let short = add("short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let added = add("a long enough password\n");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let again = add("a long enough password\n");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let server = support::TestServer::start_on(db, baton::Config::default()).await;
    server
        .login("ana@example.com", "a long enough password")
        .await;
}

/// A supervisor that closes the server's stdout (or a pipe whose reader
/// went away) must not stop it: the start-up banner is best effort.
#[tokio::test]
async fn serve_keeps_serving_when_its_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("baton.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n",
            dir.path().join("b.db").display()
        ),
    )
    .unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("BATON_EMBEDDINGS", "off")
        .stdout(writer)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/me");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answered = loop {
        if let Ok(response) = reqwest::get(&url).await {
            break Some(response.status());
        }
        if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // poll interval
    };
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        answered.is_some() && alive,
        "the server stopped: {answered:?}"
    );
}
