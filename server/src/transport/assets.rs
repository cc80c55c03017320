//! What browsers load: the `widget.js` loader, the built widget and console
//! (trunk's output under `assets_dir`), and the demo host page.
//!
//! The loader is compiled into the binary, and `cargo xtask build` writes a
//! minified copy (`widget/loader.js` under `assets_dir`), preferred when
//! present; trunk's hashed file names are found at start and written into
//! it, so a site's one script tag always loads the widget this server was
//! built with. The build also writes `.br` and `.gz` siblings of every
//! widget and console file, sent as they are to browsers that accept them
//! (anything else is compressed on the fly).

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;

const LOADER_TEMPLATE: &str = include_str!("../../../widget/loader.js");
const DEMO_PAGE: &str = include_str!("demo_page.html");
const FAVICON: &str = include_str!("favicon.svg");

pub struct Assets {
    dir: PathBuf,
    /// `widget.js` ready to serve, or why it cannot be.
    loader: Result<String, String>,
}

impl Assets {
    /// Finds the built widget in `dir/widget`.
    pub fn discover(dir: &Path) -> Self {
        let template = std::fs::read_to_string(dir.join("widget/loader.js"))
            .ok()
            .filter(|t| t.contains("__BATON_ASSETS__"))
            .unwrap_or_else(|| LOADER_TEMPLATE.to_owned());
        let loader = widget_files(&dir.join("widget")).map(|(js, wasm)| {
            let assets = serde_json::json!({ "js": format!("/widget/{js}"), "wasm": format!("/widget/{wasm}") });
            template.replace("__BATON_ASSETS__", &assets.to_string())
        });
        if let Err(why) = &loader {
            tracing::warn!("{why}");
        }
        Self {
            dir: dir.to_path_buf(),
            loader,
        }
    }

    pub fn routes(&self) -> Router<AppState> {
        let console = self.dir.join("console");
        // The widget runs on other sites' pages: its files are fetched
        // cross-origin (module import, wasm streaming) and, being named by
        // their content hash, never change.
        let widget = ServiceBuilder::new()
            .layer(
                CorsLayer::new()
                    .allow_origin(Any)
                    .allow_methods([Method::GET]),
            )
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ))
            // The body depends on it: ServeDir picks a precompressed
            // .br/.gz sibling without saying so.
            .layer(SetResponseHeaderLayer::appending(
                header::VARY,
                HeaderValue::from_static("accept-encoding"),
            ))
            .layer(CompressionLayer::new())
            .service(
                ServeDir::new(self.dir.join("widget"))
                    .precompressed_br()
                    .precompressed_gzip(),
            );
        Router::new().nest_service("/widget", widget).nest_service(
            "/console",
            ServiceBuilder::new()
                .layer(CompressionLayer::new())
                .service(
                    ServeDir::new(&console).fallback(ServeFile::new(console.join("index.html"))),
                ),
        )
    }
}

/// The glue JS and the wasm file trunk wrote (names carry a content hash).
fn widget_files(dir: &Path) -> Result<(String, String), String> {
    let missing = || {
        format!(
            "the widget is not built in {}: run `cargo xtask build`",
            dir.display()
        )
    };
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|_| missing())?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let js = names
        .iter()
        .find(|n| n.ends_with(".js") && *n != "loader.js");
    let wasm = names.iter().find(|n| n.ends_with("_bg.wasm"));
    match (js, wasm) {
        (Some(js), Some(wasm)) => Ok((js.clone(), wasm.clone())),
        _ => Err(missing()),
    }
}

/// `widget.js`, compressed for browsers that accept it.
pub async fn widget_js(State(state): State<AppState>, request: Request) -> Response {
    let loader = tower::service_fn(move |_: Request| {
        let response = loader_response(&state);
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    match CompressionLayer::new().layer(loader).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn loader_response(state: &AppState) -> Response {
    match &state.assets.loader {
        Ok(js) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/javascript; charset=utf-8"),
                ),
                // Short-lived: it names the current hashed widget files.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
                // Any site may embed it.
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ),
            ],
            js.clone(),
        )
            .into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            format!(
                "console.error({});",
                serde_json::Value::String(format!("Baton: {why}"))
            ),
        )
            .into_response(),
    }
}

/// The icon of Baton's own pages (demo, console, resume link), also at
/// `/favicon.ico`, which browsers ask for when a page names none: no page
/// of ours starts with a 404 in the browser's console.
pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// A shop page with the one script tag a site owner adds.
pub async fn demo_page() -> Html<&'static str> {
    Html(DEMO_PAGE)
}
