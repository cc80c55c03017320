//! The JSON API for agents (login, logout, who am I) and the one error type
//! every HTTP route answers with.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use baton_shared::AgentRef;
use serde::Deserialize;

use super::AppState;
use crate::store::StoreError;
use crate::team::{self, SESSION_COOKIE, SESSION_TTL_MS, TeamError};

/// Every failure an HTTP route can answer with, as a status and a JSON
/// `{"error": "..."}` body.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthorized,
    #[error("wrong email or password")]
    BadLogin,
    #[error("{0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<TeamError> for AppError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::Invalid(m) => Self::BadRequest(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthorized | Self::BadLogin => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// The agent behind the request's session cookie, or 401.
pub async fn signed_in_agent(state: &AppState, jar: &CookieJar) -> Result<AgentRef, AppError> {
    let token = jar.get(SESSION_COOKIE).ok_or(AppError::Unauthorized)?;
    team::session_agent(state.desk.store(), token.value())
        .await?
        .ok_or(AppError::Unauthorized)
}

#[derive(Deserialize)]
pub struct Login {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Json(login): Json<Login>,
) -> Result<(CookieJar, Json<AgentRef>), AppError> {
    let (agent, token) = team::login(state.desk.store(), &login.email, &login.password)
        .await?
        .ok_or(AppError::BadLogin)?;
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(time_from_millis(SESSION_TTL_MS))
        .build();
    Ok((jar.add(cookie), Json(agent)))
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Result<(CookieJar, StatusCode), AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        team::logout(state.desk.store(), cookie.value()).await?;
    }
    let gone = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    Ok((jar.remove(gone), StatusCode::NO_CONTENT))
}

pub async fn me(State(state): State<AppState>, jar: CookieJar) -> Result<Json<AgentRef>, AppError> {
    Ok(Json(signed_in_agent(&state, &jar).await?))
}

fn time_from_millis(ms: i64) -> time::Duration {
    time::Duration::milliseconds(ms)
}
