//! A real server on port 0 with its own database, and WebSocket clients
//! that speak the protocol, for the integration tests.
//!
//! The database is a SQLite file, or with `BATON_TEST_BACKEND=postgres` a
//! fresh PostgreSQL database on the server `BATON_TEST_DATABASE_URL` names
//! (`cargo xtask test` runs the suites both ways).
#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use baton::Config;
use baton_shared::*;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Whether this run's servers use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("BATON_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The database URL standing for the file `db`.
async fn database_for(db: &Path) -> String {
    static MADE: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());
    if !on_postgres() {
        return format!("sqlite://{}", db.display());
    }
    if let Some(url) = MADE.lock().unwrap().get(db) {
        return url.clone();
    }
    let admin = std::env::var("BATON_TEST_DATABASE_URL")
        .expect("BATON_TEST_BACKEND=postgres needs BATON_TEST_DATABASE_URL");
    let url = baton::store::create_postgres_database(&admin, "baton_t")
        .await
        .expect("a fresh PostgreSQL database");
    MADE.lock().unwrap().insert(db.to_path_buf(), url.clone());
    url
}

/// Runs the `baton` command (this package's binary) with `args`, words
/// only like the test servers, whatever config or model the environment
/// names.
pub fn baton(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env_remove("BATON_CONFIG")
        .env_remove("BATON_DATABASE_URL")
        .env("BATON_EMBEDDINGS", "off")
        .output()
        .expect("baton runs")
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How long a test waits for something that should happen promptly.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    /// What the server runs on; tests open the same database to check it.
    pub database_url: String,
    /// Where it keeps uploaded files.
    pub uploads: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// The embedding model `cargo xtask test` provisions
/// (`BATON_TEST_EMBEDDING_MODEL`), for the tests that need it. Without it
/// such a test fails when `BATON_REQUIRE_EMBEDDING_MODEL` is set (CI) and
/// is skipped, saying so, otherwise.
#[allow(dead_code)] // not every suite uses the model
pub fn model() -> Option<PathBuf> {
    match std::env::var_os("BATON_TEST_EMBEDDING_MODEL") {
        Some(dir) => Some(PathBuf::from(dir)),
        None if std::env::var_os("BATON_REQUIRE_EMBEDDING_MODEL").is_some() => {
            panic!("BATON_TEST_EMBEDDING_MODEL is not set (cargo xtask model prints it)")
        }
        None => {
            eprintln!(
                "skipped: no embedding model (run `cargo xtask model` and set BATON_TEST_EMBEDDING_MODEL)"
            );
            None
        }
    }
}

impl TestServer {
    /// A demo-mode server (demo agent Mia) on a fresh database.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("baton.db");
        let mut server = Self::start_on(
            db,
            Config {
                demo: true,
                ..Config::default()
            },
        )
        .await;
        server._dir = Some(dir);
        server
    }

    /// A server with `config` (its database a fresh file).
    pub async fn start_with(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("baton.db");
        let mut server = Self::start_on(db, config).await;
        server._dir = Some(dir);
        server
    }

    /// A server on the database named by `db`: that SQLite file, or the
    /// PostgreSQL database this run made for it (the same one every time,
    /// so a test can restart on it).
    pub async fn start_on(db: PathBuf, mut config: Config) -> Self {
        // `RUST_LOG=baton=debug cargo test … -- --nocapture` shows the server's log.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        config.database_url = database_for(&db).await;
        // Words only unless the test asks for the model (`model()`): every
        // suite then starts fast and answers the same on any machine.
        if config.embeddings.source == baton::config::EmbeddingSource::Auto {
            config.embeddings = baton::config::Embeddings::off();
        }
        // Uploads next to the database file, not in the working directory.
        if config.attachments.dir == baton::Config::default().attachments.dir {
            config.attachments.dir = db.with_extension("uploads");
        }
        let database_url = config.database_url.clone();
        let uploads = config.attachments.dir.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            baton::serve(listener, config, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        let server = Self {
            addr,
            database_url,
            uploads,
            stop: Some(stop),
            task: Some(task),
            _dir: None,
        };
        server.ready().await;
        server
    }

    /// Waits until the server answers HTTP, i.e. its database is migrated
    /// and it is accepting: tests may then open the same database.
    async fn ready(&self) {
        let url = format!("http://{}/api/me", self.addr);
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        while reqwest::get(&url).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not come up"
            );
            tick.tick().await;
        }
    }

    /// Shuts down gracefully and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("server stops")
                .unwrap();
        }
    }

    /// Logs an agent in and returns the session cookie (`name=value`).
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self.post_login(email, password).await;
        assert_eq!(response.status(), 200, "login as {email}");
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_string()
    }

    pub async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("http://{}/api/login", self.addr))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn visitor(&self) -> Client<VisitorRequest, VisitorUpdate> {
        Client::connect(format!("ws://{}/ws/visitor", self.addr), None)
            .await
            .unwrap()
    }

    pub async fn agent(&self, cookie: &str) -> Client<AgentRequest, AgentUpdate> {
        Client::connect(format!("ws://{}/ws/agent", self.addr), Some(cookie))
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One socket speaking the protocol: sends `Req` frames, receives `Upd`.
pub struct Client<Req, Upd> {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    _types: std::marker::PhantomData<(Req, Upd)>,
}

impl<Req: serde::Serialize, Upd: serde::de::DeserializeOwned + std::fmt::Debug> Client<Req, Upd> {
    pub async fn connect(url: String, cookie: Option<&str>) -> Result<Self, tungstenite::Error> {
        let mut request = url.into_client_request()?;
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self::from_stream(ws))
    }

    /// A socket the test opened itself (e.g. with its own headers).
    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            _types: std::marker::PhantomData,
        }
    }

    pub async fn send(&mut self, request: &Req) {
        self.send_raw(Message::text(serde_json::to_string(request).unwrap()))
            .await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// The next frame, failing the test after [`DEADLINE`].
    pub async fn next(&mut self) -> Upd {
        loop {
            let message = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("a frame within the deadline")
                .expect("socket open")
                .expect("socket healthy");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            }
        }
    }

    /// Skips frames until one matches, failing after [`DEADLINE`].
    pub async fn until<T>(&mut self, mut pick: impl FnMut(Upd) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next())
                .await
                .expect("the expected frame");
            if let Some(found) = pick(frame) {
                return found;
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("close within the deadline")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

impl Client<VisitorRequest, VisitorUpdate> {
    /// Says hello; returns the welcome frame's token (new conversations only).
    pub async fn hello(&mut self, token: Option<&str>, last_seq: Seq) -> VisitorUpdate {
        self.send(&VisitorRequest::Hello {
            token: token.map(Into::into),
            last_seq,
            page: Some("https://shop.example/boots".into()),
            identity: None,
            metadata: Default::default(),
        })
        .await;
        self.next().await
    }

    pub async fn say(&mut self, client_id: &str, text: &str) -> Seq {
        self.send(&VisitorRequest::Say {
            client_id: client_id.into(),
            text: text.into(),
        })
        .await;
        self.until(|u| match u {
            VisitorUpdate::Ack { client_id: c, seq } if c == client_id => Some(seq),
            VisitorUpdate::Error { message, .. } => panic!("say {client_id}: {message}"),
            _ => None,
        })
        .await
    }

    /// Says something the assistant answers, and waits for the answer.
    pub async fn ask(&mut self, client_id: &str, text: &str) -> Event {
        self.say(client_id, text).await;
        self.event_where(|b| matches!(b, EventBody::Assistant { .. }))
            .await
    }

    /// Presses "Talk to a human" and waits for the handoff notice.
    pub async fn press_human(&mut self) -> Event {
        self.send(&VisitorRequest::RequestHuman {
            client_id: "human".into(),
        })
        .await;
        self.event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
            .await
    }

    /// The next event frame.
    pub async fn event(&mut self) -> Event {
        self.until(|u| match u {
            VisitorUpdate::Event { event } => Some(event),
            _ => None,
        })
        .await
    }

    /// Skips events until one matches.
    pub async fn event_where(&mut self, mut pick: impl FnMut(&EventBody) -> bool) -> Event {
        loop {
            let event = self.event().await;
            if pick(&event.body) {
                return event;
            }
        }
    }

    /// An error frame, for a request that must be refused.
    pub async fn error(&mut self) -> (ErrorCode, String) {
        self.until(|u| match u {
            VisitorUpdate::Error { code, message, .. } => Some((code, message)),
            _ => None,
        })
        .await
    }
}

impl Client<AgentRequest, AgentUpdate> {
    pub async fn queue(&mut self) -> Vec<QueueEntry> {
        self.until(|u| match u {
            AgentUpdate::Queue { entries } => Some(entries),
            _ => None,
        })
        .await
    }

    pub async fn error(&mut self) -> (ErrorCode, String) {
        self.until(|u| match u {
            AgentUpdate::Error { code, message, .. } => Some((code, message)),
            _ => None,
        })
        .await
    }

    pub async fn detail(&mut self) -> ConversationDetail {
        self.until(|u| match u {
            AgentUpdate::Conversation { detail } => Some(detail),
            _ => None,
        })
        .await
    }
}

/// Starts a conversation and returns its token.
pub async fn new_conversation(visitor: &mut Client<VisitorRequest, VisitorUpdate>) -> String {
    match visitor.hello(None, 0).await {
        VisitorUpdate::Welcome {
            token: Some(token),
            state: ConversationState::Assistant,
            ..
        } => token,
        other => panic!("expected a welcome with a token, got {other:?}"),
    }
}

/// The whole log of a conversation, as a reconnecting visitor receives it.
pub async fn full_log(server: &TestServer, token: &str) -> Vec<Event> {
    let mut visitor = server.visitor().await;
    let welcome = visitor.hello(Some(token), 0).await;
    assert!(
        matches!(welcome, VisitorUpdate::Welcome { .. }),
        "{welcome:?}"
    );
    backlog(&mut visitor).await
}

/// The events replayed after `welcome`. The backlog is sent before any
/// request is read, so the error for an empty frame marks its end without
/// changing anything.
pub async fn backlog(visitor: &mut Client<VisitorRequest, VisitorUpdate>) -> Vec<Event> {
    visitor.send_raw(Message::text("{}")).await;
    let mut events = Vec::new();
    loop {
        match visitor.next().await {
            VisitorUpdate::Event { event } => events.push(event),
            VisitorUpdate::Error {
                code: ErrorCode::BadFrame,
                ..
            } => return events,
            other => panic!("unexpected {other:?}"),
        }
    }
}
