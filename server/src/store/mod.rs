//! Durable storage: conversations and their event logs, handoff records,
//! agents and their sessions — in SQLite (the default: WAL,
//! `synchronous = FULL`, so a write has reached the disk before anything is
//! acknowledged) or in PostgreSQL (several nodes on one database), chosen
//! by the URL's scheme.
//!
//! The SQL is written once, in the dialect both share (`$1` parameters,
//! `UPDATE … RETURNING`, `ON CONFLICT`, `CASE` instead of two-argument
//! `MAX`), and runs through sqlx's `Any` driver. What differs lives in
//! [`Backend`]: connecting, the migrations folder, reading JSON in SQL, and
//! the change feed PostgreSQL nodes share (`pg_notify` in the writing
//! transaction; see `desk::relay`).
//!
//! - [`conversations`]: the log and the state machine's transitions. Every
//!   change goes through one guarded transaction, [`Store::append`].
//! - [`team`]: agent accounts and login sessions.
//! - [`outbox`]: notifications waiting to be delivered, and settings.
//! - [`lessons`]: wordings agents taught the assistant.
//! - [`analytics`]: handoff rows for analytics and export, verdicts, the
//!   visitor's presence, and the figures `/metrics` reads.
//!
//! A schema change is a migration in both `migrations/sqlite` and
//! `migrations/postgres`; `tests/store.rs` runs the same suite on both.

mod analytics;
mod attachments;
pub mod changes;
mod conversations;
mod lessons;
mod outbox;
mod team;

use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use analytics::{ExportRow, HandoffRow};
pub use attachments::Upload;
pub use conversations::{Appended, ConversationRow, Guard, HandoffWrite, NewHandoff, Transition};
pub use lessons::{NewLesson, Taught};
pub use outbox::{Due, HandoffFacts};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value no longer parses: a bug or a hand-edited database.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A write named a conversation that does not exist.
    #[error("no conversation {0}")]
    NoConversation(baton_shared::ConversationId),
    #[error("{0}")]
    Url(String),
}

/// The database a [`Store`] runs on, and what differs between the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL names.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// SQL for the text field `field` of the JSON stored in `column`.
    fn json_text(self, column: &str, field: &str) -> String {
        match self {
            Self::Sqlite => format!("json_extract({column}, '$.{field}')"),
            Self::Postgres => format!("(CAST({column} AS jsonb) ->> '{field}')"),
        }
    }

    /// Run on every new connection: SQLite's durability and locking
    /// settings are per connection.
    fn session_setup(self) -> &'static str {
        match self {
            Self::Sqlite => {
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
            }
            // Stored times are integers; nothing depends on the session.
            Self::Postgres => "SET TIME ZONE 'UTC'",
        }
    }
}

/// A cloneable handle on the database.
#[derive(Clone, Debug)]
pub struct Store {
    /// For reads.
    pool: AnyPool,
    /// For writes. On SQLite one connection: writers queue for it in
    /// order instead of each taking a connection and then sleeping in
    /// SQLite's busy handler until the file's one write lock is free. On
    /// PostgreSQL the same pool as reads (row locks order writers there).
    writer: AnyPool,
    backend: Backend,
    /// Names this process in change notices, so it can skip its own.
    node: std::sync::Arc<str>,
}

/// The channel PostgreSQL nodes announce changes on.
pub const CHANNEL: &str = "baton";

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, true).await
    }

    /// Opens an existing database (for commands that only read, such as
    /// `baton export`): a missing SQLite file is an error, not a new
    /// database.
    pub async fn connect_existing(url: &str) -> Result<Self, StoreError> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of_url(url).ok_or_else(|| {
            StoreError::Url(format!(
                "{url:?}: not a database URL Baton knows; use sqlite://path/to/file.db or postgres://…"
            ))
        })?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url, create),
            Backend::Postgres => url.to_string(),
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool_of = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(backend.session_setup()).await?;
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let writer = pool_of(1).await?;
                // Schema first, through the writer, before any reader opens.
                sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
                (pool_of(8).await?, writer)
            }
            Backend::Postgres => {
                let pool = pool_of(16).await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            pool,
            writer,
            backend,
            node: crate::secret::new_token()[..12].into(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This process's name in change notices.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Tells the other nodes (PostgreSQL) something that is not in the log
    /// (a signal, a queue change). Nothing to do on SQLite: one node.
    pub async fn announce(&self, notice: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(notice)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Flushes and closes every connection; called on shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// For tests: the PostgreSQL server to make databases on
/// (`BATON_TEST_DATABASE_URL`), or `None` when there is none — which fails
/// instead when `BATON_REQUIRE_POSTGRES` is set (`cargo xtask test` sets
/// both), so CI cannot skip the PostgreSQL tests silently.
pub fn test_postgres() -> Option<String> {
    let url = std::env::var("BATON_TEST_DATABASE_URL").ok();
    assert!(
        url.is_some() || std::env::var_os("BATON_REQUIRE_POSTGRES").is_none(),
        "BATON_REQUIRE_POSTGRES is set but BATON_TEST_DATABASE_URL is not"
    );
    url
}

/// For tests and benchmarks: creates a new, empty database named
/// `<prefix>_<random>` (`prefix`: lowercase letters, digits, `_`) on the
/// PostgreSQL server `admin_url` reaches, and returns its URL.
pub async fn create_postgres_database(admin_url: &str, prefix: &str) -> Result<String, StoreError> {
    use sqlx::Connection;
    if prefix.is_empty()
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Url(format!(
            "{prefix:?}: not a database name for tests"
        )));
    }
    let random: String = crate::secret::new_token()
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase() as char)
        .take(16)
        .collect();
    let name = format!("{prefix}_{random}");
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await?;
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| StoreError::Url(format!("{admin_url:?}: not a URL")))?;
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    Ok(format!("{scheme}://{host}/{name}{query}"))
}

/// SQLite's connection options live in code, not in the URL, but `Any`
/// takes a URL: creating a missing file is its `mode=rwc`.
fn sqlite_url(url: &str, create: bool) -> String {
    if !create || url.contains("mode=") || url.contains(":memory:") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
