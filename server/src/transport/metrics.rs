//! `GET /metrics`: counters, gauges and the time-to-human histogram in the
//! Prometheus text exposition format (see [`crate::metrics`]).
//!
//! Like most exporters it is open by default, so a Prometheus on the same
//! network can scrape it as is; it holds counts only, nothing about any
//! visitor. With `metrics.token` set a scrape must send `Authorization:
//! Bearer <token>` (Prometheus: `authorization: {credentials: …}`), and
//! `metrics.enabled = false` removes it (404).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::http::AppError;
use crate::metrics::Scraped;

pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let config = &state.metrics;
    if !config.enabled {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    if let Some(token) = &config.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(sent, token) {
            return Ok((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics.token is set: send it as `Authorization: Bearer <token>`\n",
            )
                .into_response());
        }
    }
    let (queued, held) = state.desk.store().queue_lengths().await?;
    let text = state.desk.metrics().render(&Scraped {
        queued,
        held,
        webhook_failures: state.desk.webhook_failures(),
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Compares digests, so the time taken says nothing about the token.
fn same_secret(sent: &str, token: &str) -> bool {
    let (a, b) = (Sha256::digest(sent), Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
