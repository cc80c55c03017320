//! `GET /api/analytics/handoffs?from=YYYY-MM-DD&to=YYYY-MM-DD`: the
//! console's Analytics page, for signed-in agents (401 otherwise). The
//! range is whole UTC days, both included (default: the last 30 days);
//! a date that is not one, a start after the end or more than 366 days is
//! a 400 naming the parameter.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum_extra::extract::CookieJar;
use baton_shared::analytics::HandoffAnalytics;
use serde::Deserialize;

use super::AppState;
use super::http::{AppError, signed_in_agent};
use crate::analytics::{self, Days};

#[derive(Deserialize)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
}

pub async fn handoffs(
    State(state): State<AppState>,
    jar: CookieJar,
    range: Result<Query<Range>, QueryRejection>,
) -> Result<Json<HandoffAnalytics>, AppError> {
    signed_in_agent(&state, &jar).await?;
    let Query(range) = range.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let given = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
    let (from, to) = (given(&range.from), given(&range.to));
    let days = Days::parse(from.as_deref(), to.as_deref(), analytics::today())
        .map_err(AppError::BadRequest)?;
    let (start, end) = days.millis();
    let rows = state.desk.store().handoffs_between(start, end).await?;
    Ok(Json(analytics::summarise(&days, &rows)))
}
