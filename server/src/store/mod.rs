//! Durable storage: conversations and their event logs, handoff records,
//! agents and their sessions, in SQLite (WAL, `synchronous = FULL`: a write
//! has reached the disk before anything is acknowledged).
//!
//! - [`conversations`]: the log and the state machine's transitions. Every
//!   change goes through one guarded transaction, [`Store::append`].
//! - [`team`]: agent accounts and login sessions.
//! - [`outbox`]: notifications waiting to be delivered, and settings.
//! - [`analytics`]: handoff rows for analytics and export, verdicts, the
//!   visitor's presence, and the figures `/metrics` reads.
//!
//! SQL stays portable (`UPDATE … RETURNING`, no SQLite-only syntax in the
//! hot paths) so a PostgreSQL implementation can follow the same shape.

mod analytics;
mod conversations;
mod outbox;
mod team;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use analytics::{ExportRow, HandoffRow};
pub use conversations::{Appended, ConversationRow, Guard, HandoffWrite, NewHandoff, Transition};
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
}

/// A cloneable handle on the database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, true).await
    }

    /// Opens an existing database (for commands that only read, such as
    /// `baton export`): a missing file is an error, not a new database.
    pub async fn connect_existing(url: &str) -> Result<Self, StoreError> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Flushes and closes every connection; called on shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
