//! The edges of the server: HTTP routes and the two WebSockets. Handlers
//! only decode, call the [`Desk`], and encode; no policy lives here.
//!
//! - [`frames`]: JSON frames in and out, size limits, error frames.
//! - [`limits`]: rate limits per socket and per address.
//! - [`origins`]: which sites may embed the widget, and what a refused
//!   page is told.
//! - [`follow`]: exactly-once, in-order delivery of a conversation's events.
//! - [`visitor_socket`], [`agent_socket`]: the two sockets.
//! - [`http`]: agent login/logout and the `AppError` every route answers with.
//! - [`assets`]: `widget.js`, the built widget and console, the demo page.
//! - [`uploads`]: attachments in and out over HTTP.
//! - [`analytics`]: handoff analytics for the console; [`metrics`]: the
//!   Prometheus endpoint.
//! - [`knowledge`]: the articles an agent can teach a wording to.

mod agent_socket;
mod analytics;
mod assets;
mod follow;
mod frames;
mod http;
mod knowledge;
mod limits;
mod metrics;
pub mod origins;
mod uploads;
mod visitor_socket;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method};
use axum::routing::{get, post};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

pub use assets::Assets;
pub use frames::{Reject, decode_bytes};
pub use http::AppError;
pub use limits::RateLimits;
pub use origins::Origins;

use crate::desk::Desk;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    pub assets: Arc<Assets>,
    /// Flips to `true` when the server shuts down: sockets say goodbye.
    pub shutdown: watch::Receiver<bool>,
    /// Upgraded sockets, which axum no longer tracks, so shutdown can wait
    /// for them.
    pub sockets: TaskTracker,
    pub rate_limits: Arc<RateLimits>,
    /// The sites that may embed the widget.
    pub origins: Arc<Origins>,
    /// The console's own origin as configured (`public_url`), for the
    /// agent socket's check; without it, the origin the request was sent to
    /// (its `Host`).
    pub public_origin: Option<Arc<str>>,
    /// Whether and for whom `/metrics` is served.
    pub metrics: Arc<crate::config::MetricsConfig>,
}

/// Every route of the server.
pub fn app(state: AppState) -> Router {
    let assets = state.assets.routes();
    // The widget uploads from the host site's pages: another origin.
    let origins = state.origins.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|origin| origins.allows(origin))
        }))
        .allow_methods([Method::POST])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static(uploads::TOKEN_HEADER),
            HeaderName::from_static(uploads::FILENAME_HEADER),
        ]);
    let max_upload = state.desk.attachments().max_bytes;
    Router::new()
        .route("/", get(assets::demo_page))
        .route("/widget.js", get(assets::widget_js))
        .route("/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .route("/ws/visitor", get(visitor_socket::upgrade))
        .route("/ws/agent", get(agent_socket::upgrade))
        .route("/api/login", post(http::login))
        .route("/api/logout", post(http::logout))
        .route("/api/me", get(http::me))
        .route("/api/session", get(http::session))
        .route(
            "/resume/{token}",
            get(http::resume_page).post(http::resume_link),
        )
        .route("/api/analytics/handoffs", get(analytics::handoffs))
        .route("/api/knowledge", get(knowledge::articles))
        .merge(
            Router::new()
                .route("/api/uploads", post(uploads::upload))
                .layer(DefaultBodyLimit::max(max_upload))
                .layer(cors),
        )
        .route("/api/uploads/{id}", get(uploads::download))
        .route("/metrics", get(metrics::metrics))
        .merge(assets)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
