//! The people behind the handoff: agent accounts (argon2id password hashes)
//! and their login sessions (an HttpOnly cookie holding a random token whose
//! SHA-256 digest is stored).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use baton_shared::AgentRef;

use crate::clock;
use crate::secret;
use crate::store::{Store, StoreError};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "baton_session";
/// How long a login lasts.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The account `baton serve` creates in demo mode.
pub const DEMO_AGENT: (&str, &str, &str) = ("demo@baton.local", "Mia", "baton-demo");

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("{0}")]
    Invalid(String),
    #[error("an agent with email {0} already exists")]
    Taken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Creates an agent account.
pub async fn add_agent(
    store: &Store,
    email: &str,
    name: &str,
    password: &str,
) -> Result<AgentRef, TeamError> {
    let email = email.trim().to_lowercase();
    let name = name.trim();
    if !email.contains('@') || email.len() > 254 {
        return Err(TeamError::Invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    if name.is_empty() || name.chars().count() > 80 {
        return Err(TeamError::Invalid(
            "the name must have 1 to 80 characters".into(),
        ));
    }
    if password.chars().count() < 8 {
        return Err(TeamError::Invalid(
            "the password must have at least 8 characters".into(),
        ));
    }
    let hash = hash_password(password.to_string()).await?;
    store
        .add_agent(&email, name, &hash, clock::now())
        .await?
        .ok_or(TeamError::Taken(email))
}

/// Checks a login; on success returns the agent and a new session token.
pub async fn login(
    store: &Store,
    email: &str,
    password: &str,
) -> Result<Option<(AgentRef, String)>, TeamError> {
    let found = store
        .agent_credentials(&email.trim().to_lowercase())
        .await?;
    // Verify against a real hash even for unknown emails, so response time
    // does not reveal which accounts exist.
    let (agent, hash) = found.unzip();
    let ok = verify_password(password.to_string(), hash).await?;
    let Some(agent) = agent.filter(|_| ok) else {
        return Ok(None);
    };
    let token = secret::new_token();
    store
        .create_session(
            &secret::digest(&token),
            agent.id,
            clock::now() + SESSION_TTL_MS,
        )
        .await?;
    Ok(Some((agent, token)))
}

/// The agent behind a session cookie, if the session is live.
pub async fn session_agent(store: &Store, token: &str) -> Result<Option<AgentRef>, StoreError> {
    store
        .session_agent(&secret::digest(token), clock::now())
        .await
}

pub async fn logout(store: &Store, token: &str) -> Result<(), StoreError> {
    store.delete_session(&secret::digest(token)).await
}

async fn hash_password(password: String) -> Result<String, TeamError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| TeamError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| TeamError::Hash(e.to_string()))?
}

async fn verify_password(password: String, hash: Option<String>) -> Result<bool, TeamError> {
    tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
        let parsed = PasswordHash::new(hash).map_err(|e| TeamError::Hash(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| TeamError::Hash(e.to_string()))?
}

/// A valid argon2id hash of a random password, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret::new_token().as_bytes(), &salt)
            .expect("hashing a random password")
            .to_string()
    })
}
