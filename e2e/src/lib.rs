//! End-to-end harness: the real server (in-process, on a free port, with
//! its own SQLite file and the built widget and console from `dist/`) and
//! real headless Chromium driven through chromedriver (WebDriver).
//!
//! Every wait has a deadline and checks a condition; nothing sleeps a fixed
//! time hoping the page caught up.
//!
//! - [`child`]: the real `baton` binary as a child process, for tests that
//!   kill and restart it.
//! - [`wire`]: a protocol client that survives a server going away, and the
//!   backoff it reconnects with.
//! - [`samples`]: real PNG and WAV files for the attachment tests.

pub mod child;
pub mod samples;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long a test waits for the page to show something.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `check` until it returns `Some`, failing with `what` after
/// [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
    }
}

/// Baton running in this process on a free port.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Demo configuration (demo agent Mia, demo knowledge base) on a fresh
    /// database, serving the widget and console built into `dist/`.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// The same, with changes to the configuration.
    pub async fn start_with(configure: impl FnOnce(&mut baton::Config)) -> Self {
        let assets = assets_dir();
        let dir = tempfile::tempdir().unwrap();
        let mut config = baton::Config {
            database_url: format!("sqlite://{}", dir.path().join("baton.db").display()),
            assets_dir: assets,
            demo: true,
            attachments: baton::config::Attachments {
                dir: dir.path().join("uploads"),
                ..Default::default()
            },
            ..baton::Config::default()
        };
        // Words only, unless a test names a model: every browser test
        // then starts fast and answers alike on any machine.
        config.embeddings = baton::config::Embeddings::off();
        configure(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            baton::serve(listener, config, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        // Ready once it answers HTTP: its database is migrated, so tests may
        // open the same file.
        let me = format!("http://{addr}/api/me");
        eventually("the server to answer", || async {
            reqwest::get(&me).await.ok().map(drop)
        })
        .await;
        Self {
            addr,
            stop: Some(stop),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The database file, for tests that add agents.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self._dir.path().join("baton.db").display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A customer's site: a page on its own port, so another origin than
/// Baton's. Bound first, so a test knows the origin before it configures
/// Baton, then [`serve`](Self::serve)d.
pub struct HostSite {
    listener: TcpListener,
    /// `http://127.0.0.1:PORT`, as browsers send it in `Origin`.
    pub origin: String,
}

impl HostSite {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        Self { listener, origin }
    }

    /// Serves `html` at `/` until the test ends; the page's address.
    pub fn serve(self, html: String) -> String {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let html = html.clone();
                async move { axum::response::Html(html) }
            }),
        );
        tokio::spawn(async move { axum::serve(self.listener, app).await });
        format!("{}/", self.origin)
    }
}

/// The built widget and console (`cargo xtask build`), or
/// `BATON_ASSETS_DIR`.
pub fn assets_dir() -> PathBuf {
    let assets = std::env::var_os("BATON_ASSETS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    assert!(
        assets.join("widget").is_dir() && assets.join("console").is_dir(),
        "the widget and console are not built in {}: run `cargo xtask build` \
         (or set BATON_ASSETS_DIR)",
        assets.display()
    );
    assets
}

/// A chromedriver process; each [`Browser`] it opens is a separate
/// Chromium with its own profile (cookies, localStorage).
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub async fn start() -> Self {
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} ({e}); `cargo xtask test` installs it")
            });
        eventually("chromedriver to listen", || async move {
            TcpStream::connect(("127.0.0.1", port)).await.ok().map(drop)
        })
        .await;
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A fresh headless Chromium window of `width`×`height`.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        self.launch(width, height, None, &[]).await
    }

    /// A fresh headless Chromium whose microphone is Chromium's fake device
    /// (a generated tone, through the real `getUserMedia` and
    /// `MediaRecorder`), granted without asking.
    pub async fn browser_with_microphone(&self, width: u32, height: u32) -> Browser {
        let microphone = [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ];
        self.launch(width, height, None, &microphone).await
    }

    /// A fresh headless Chromium emulating a phone whose screen is
    /// `width`×`height` CSS pixels (a window cannot be narrower than
    /// 500 px).
    pub async fn phone(&self, width: u32, height: u32) -> Browser {
        let metrics = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2, "touch": true }
        });
        self.launch(width.max(500), height, Some(metrics), &[])
            .await
    }

    async fn launch(
        &self,
        width: u32,
        height: u32,
        mobile: Option<serde_json::Value>,
        extra: &[&str],
    ) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ]
        .map(String::from)
        .into();
        args.extend([
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut capabilities = serde_json::Map::new();
        let mut options = serde_json::json!({ "binary": chromium(), "args": args });
        if let Some(mobile) = mobile {
            options["mobileEmulation"] = mobile;
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        // Everything the page and the browser log, for `console_log`.
        capabilities.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a WebDriver session");
        Browser {
            client,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// One browser window, with helpers for the widget (inside its shadow
/// root) and the console.
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The first element matching `css` inside the widget's shadow root.
    pub async fn widget(&self, css: &str) -> Element {
        let css = css.to_string();
        eventually(&format!("widget element {css}"), || {
            let css = css.clone();
            async move { self.find_in_widget(&css).await.into_iter().next() }
        })
        .await
    }

    /// Every element matching `css` inside the widget's shadow root (none
    /// while the widget is not there).
    pub async fn find_in_widget(&self, css: &str) -> Vec<Element> {
        let Ok(host) = self.client.find(Locator::Css("#baton-host")).await else {
            return Vec::new();
        };
        let Ok(root) = host.shadow_root().await else {
            return Vec::new();
        };
        root.find_all(Locator::Css(css)).await.unwrap_or_default()
    }

    /// The first element matching `css` in the page.
    pub async fn page(&self, css: &str) -> Element {
        let css = css.to_string();
        eventually(&format!("page element {css}"), || {
            let css = css.clone();
            async move { self.client.find(Locator::Css(&css)).await.ok() }
        })
        .await
    }

    /// Waits until the text of the widget element `css` satisfies `ok`.
    pub async fn widget_text_until(
        &self,
        css: &str,
        what: &str,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        eventually(what, || async {
            for element in self.find_in_widget(css).await {
                if let Ok(text) = element.text().await
                    && ok(&text)
                {
                    return Some(text);
                }
            }
            None
        })
        .await
    }

    /// The widget's transcript: (author attribute, author name, text) per
    /// entry, in order.
    pub async fn widget_transcript(&self) -> Vec<(String, String, String)> {
        let mut entries = Vec::new();
        for message in self.find_in_widget("[data-baton=message]").await {
            let author = message
                .attr("data-author")
                .await
                .unwrap()
                .unwrap_or_default();
            let name = match message.find(Locator::Css("[data-baton=author]")).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let text = match message.find(Locator::Css("[data-baton=text]")).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => message.text().await.unwrap_or_default(),
            };
            entries.push((author, name, text));
        }
        entries
    }

    /// Opens the page at `url` and the chat on it.
    pub async fn open_widget(&self, url: &str) {
        self.goto(url).await;
        self.widget("[data-baton=launcher]")
            .await
            .click()
            .await
            .unwrap();
        self.widget("[data-baton=panel]").await;
    }

    /// Asks the assistant in the open widget and waits for its answer,
    /// which must contain `expect`; returns the answer's text.
    pub async fn ask_assistant(&self, question: &str, expect: &str) -> String {
        self.type_message(question).await;
        self.widget_text_until(
            "[data-baton=message][data-author=assistant]",
            &format!("the assistant's answer to {question:?}"),
            |t| t.contains(expect),
        )
        .await
    }

    /// Waits until the widget shows a notice line (the handoff notice,
    /// when the visitor has just been handed off); returns its text.
    pub async fn handoff_notice(&self) -> String {
        self.widget_text_until(
            "[data-baton=message][data-author=notice]",
            "the handoff notice",
            |t| !t.is_empty(),
        )
        .await
    }

    /// The text of the first element matching `css` in the page, once
    /// there is one.
    pub async fn page_text(&self, css: &str) -> String {
        self.page(css).await.text().await.unwrap()
    }

    /// Types a message into the widget and sends it with Enter.
    pub async fn type_message(&self, text: &str) {
        let input = self.widget("[data-baton=input]").await;
        input.send_keys(text).await.unwrap();
        input
            .send_keys(&fantoccini::key::Key::Enter.to_string())
            .await
            .unwrap();
    }

    /// Signs in to the console as an agent and waits for the queue.
    pub async fn sign_in(&self, server: &Server, email: &str, password: &str) {
        self.goto(&server.url("/console/")).await;
        self.page("[data-console=email]")
            .await
            .send_keys(email)
            .await
            .unwrap();
        self.page("[data-console=password]")
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.page("[data-console=login]")
            .await
            .click()
            .await
            .unwrap();
        self.page("[data-console=queue]").await;
    }

    /// Opens the conversation at the top of the console's queue.
    pub async fn open_first_in_queue(&self) {
        self.page("[data-console=queue-entry]")
            .await
            .click()
            .await
            .unwrap();
    }

    /// Whether a script planted in the page's text ever ran: the payloads
    /// the tests send set `window.__xss`.
    pub async fn xss_ran(&self) -> bool {
        let ran = self
            .client
            .execute("return window.__xss !== undefined;", vec![])
            .await
            .unwrap();
        ran.as_bool().unwrap_or(true)
    }

    /// Saves a screenshot under `target/e2e-screenshots/` for people to
    /// look at when a test fails or the UI changes.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }

    /// What the browser's console showed since the last call: the page's
    /// `console.*` lines and the browser's own (failed requests, uncaught
    /// errors), as chromedriver reports them.
    pub async fn console_log(&self) -> Vec<ConsoleEntry> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver reports the browser's log");
        serde_json::from_value(entries).expect("log entries")
    }

    /// The console's errors (what a person sees in red) since the last
    /// [`console_log`](Self::console_log).
    pub async fn console_errors(&self) -> Vec<String> {
        self.console_log()
            .await
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| e.message)
            .collect()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// One line of the browser's console.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ConsoleEntry {
    /// `SEVERE` (red), `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// For the page's own lines: its address, position and the text.
    pub message: String,
}

/// chromedriver's log command (`POST /session/{id}/se/log`), which
/// fantoccini has no method for.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}
