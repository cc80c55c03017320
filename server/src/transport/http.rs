//! The JSON API for agents (login, logout, who am I), the one-click resume
//! link, and the one error type every HTTP route answers with.

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use baton_shared::AgentRef;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::desk::LinkOutcome;
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
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    TooLarge(String),
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
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Json(login): Json<Login>,
) -> Result<(CookieJar, Json<AgentRef>), AppError> {
    state
        .rate_limits
        .admit_login(peer, &headers)
        .map_err(|reject| AppError::TooManyRequests(reject.message))?;
    let (agent, token) = team::login(state.desk.store(), &login.email, &login.password)
        .await?
        .ok_or(AppError::BadLogin)?;
    // Over https (as `public_url` says) the browser must never send it in
    // the clear.
    let https = state
        .public_origin
        .as_deref()
        .is_some_and(|o| o.starts_with("https://"));
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(time_from_millis(SESSION_TTL_MS))
        .build();
    Ok((jar.add(cookie), Json(agent)))
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        team::logout(state.desk.store(), cookie.value()).await?;
        // Its open sockets here close now; on other nodes at their next
        // request or check (`agent_socket`).
        state
            .desk
            .hub()
            .signed_out(crate::secret::digest(cookie.value()));
    }
    let gone = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    Ok((jar.remove(gone), StatusCode::NO_CONTENT))
}

pub async fn me(State(state): State<AppState>, jar: CookieJar) -> Result<Json<AgentRef>, AppError> {
    Ok(Json(signed_in_agent(&state, &jar).await?))
}

/// `GET /api/session`: who is signed in, if anyone — `{"agent": …}` or
/// `{"agent": null}`, always 200. The console asks this on load, so its
/// sign-in page costs no failed request (a 401 the browser would log in
/// red); `/api/me` keeps answering 401 for clients that want that.
#[derive(Serialize)]
pub struct Session {
    agent: Option<AgentRef>,
}

pub async fn session(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Json<Session>, AppError> {
    let agent = match signed_in_agent(&state, &jar).await {
        Ok(agent) => Some(agent),
        Err(AppError::Unauthorized) => None,
        Err(e) => return Err(e),
    };
    Ok(Json(Session { agent }))
}

/// `GET /resume/{token}`: the notification's "Resume assistant" link opens
/// a page with one button; only pressing it (a `POST`) hands back. Link
/// previews, chat apps unfurling the link and mail scanners only ever GET,
/// so they change nothing.
pub async fn resume_page(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<(StatusCode, Html<String>), AppError> {
    let plain = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    Ok(match state.desk.check_link(&token).await? {
        Ok(id) if plain => (
            StatusCode::OK,
            Html(link_page(
                "Resume the assistant?",
                &format!(
                    "Conversation {id} goes back to the assistant, which answers the visitor in the same thread."
                ),
                // A signed token's characters (base64url and a dot) need no escaping.
                &format!(
                    "<form method=post action=\"/resume/{token}\"><button type=submit \
                     style=\"font:inherit;padding:.6em 1.2em\">Resume assistant</button></form>"
                ),
            )),
        ),
        Ok(_) => link_outcome(LinkOutcome::Invalid),
        Err(outcome) => link_outcome(outcome),
    })
}

/// `POST /resume/{token}`: the button on that page. A page says what
/// happened; a used, expired or altered link changes nothing.
pub async fn resume_link(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<(StatusCode, Html<String>), AppError> {
    let outcome = state.desk.resume_by_link(&token).await?;
    Ok(link_outcome(outcome))
}

fn link_outcome(outcome: LinkOutcome) -> (StatusCode, Html<String>) {
    let (status, title, text) = match outcome {
        LinkOutcome::Resumed(id) => (
            StatusCode::OK,
            "Assistant resumed",
            format!(
                "The assistant has conversation {id} again. The visitor sees it answering in the same thread."
            ),
        ),
        LinkOutcome::AlreadyUsed => (
            StatusCode::CONFLICT,
            "Nothing changed",
            "This link was already used, or the handoff has ended. Nothing changed.".to_string(),
        ),
        LinkOutcome::Expired => (
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Nothing changed; use the console.".to_string(),
        ),
        LinkOutcome::Invalid => (
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "This link is not valid. Nothing changed.".to_string(),
        ),
    };
    (status, Html(link_page(title, &text, "")))
}

fn link_page(title: &str, text: &str, action: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{title} — Baton</title>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32em;margin:15vh auto;padding:0 1em\">\
         <h1>{title}</h1><p>{text}</p>{action}<p><a href=\"/console/\">Open the console</a></p>"
    )
}

fn time_from_millis(ms: i64) -> time::Duration {
    time::Duration::milliseconds(ms)
}
