//! `GET /api/knowledge`: the knowledge base's articles, for signed-in
//! agents (401 otherwise) — what the console offers when an agent teaches
//! the assistant a wording (the `teach` frame), with the phrasings each
//! article already has.

use axum::Json;
use axum::extract::State;
use axum_extra::extract::CookieJar;
use baton_shared::ArticleRef;
use serde::Serialize;

use super::AppState;
use super::http::{AppError, signed_in_agent};

#[derive(Serialize)]
pub struct Articles {
    articles: Vec<ArticleRef>,
}

pub async fn articles(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Json<Articles>, AppError> {
    signed_in_agent(&state, &jar).await?;
    Ok(Json(Articles {
        articles: state.desk.articles(),
    }))
}
