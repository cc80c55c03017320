//! The agent HTTP API: sign in, sign out, who am I, file uploads (and,
//! through [`call`], the analytics). The session is an HttpOnly cookie the
//! browser keeps; these calls only see status codes.

use baton_shared::domain::{AgentRef, ArticleRef, Attachment, ConversationId};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, Headers, RequestCredentials, RequestInit, Response};

#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// 401: not signed in, or wrong credentials (with the server's words).
    Unauthorized(String),
    /// The server said no, and why (a file too large, a type not accepted).
    Refused(String),
    /// No answer, or one that makes no sense.
    Unreachable,
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized(message) | Self::Refused(message) => message.clone(),
            Self::Unreachable => "The server cannot be reached. Try again in a moment.".into(),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// `/api/session`'s answer: 200 whether or not anyone is signed in.
#[derive(Deserialize)]
struct Session {
    agent: Option<AgentRef>,
}

/// Who is signed in. Asks `/api/session`, not `/api/me`: not being signed
/// in is the sign-in page's normal case, not a failed request for the
/// browser to log.
pub async fn me() -> Result<AgentRef, ApiError> {
    let (status, body) = call("GET", "/api/session", None).await?;
    if status != 200 {
        return Err(ApiError::Unreachable);
    }
    serde_json::from_str::<Session>(&body)
        .map_err(|_| ApiError::Unreachable)?
        .agent
        .ok_or_else(|| ApiError::Unauthorized("Please sign in.".into()))
}

pub async fn login(email: &str, password: &str) -> Result<AgentRef, ApiError> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, body) = call("POST", "/api/login", Some(body)).await?;
    parse(status, &body)
}

pub async fn logout() -> Result<(), ApiError> {
    call("POST", "/api/logout", None).await.map(drop)
}

fn parse(status: u16, body: &str) -> Result<AgentRef, ApiError> {
    match status {
        200 => serde_json::from_str(body).map_err(|_| ApiError::Unreachable),
        401 => Err(ApiError::Unauthorized(
            serde_json::from_str::<ErrorBody>(body)
                .map_or_else(|_| "Please sign in.".into(), |b| b.error),
        )),
        _ => Err(ApiError::Unreachable),
    }
}

/// Uploads `file` to `conversation` (`POST /api/uploads`); the stored
/// attachment, to share with an `attach` frame.
pub async fn upload(
    conversation: ConversationId,
    file: &File,
    content_type: &str,
) -> Result<Attachment, ApiError> {
    let headers = Headers::new().map_err(|_| ApiError::Unreachable)?;
    for (name, value) in [
        ("content-type", content_type.to_owned()),
        ("x-baton-conversation", conversation.to_string()),
        (
            "x-baton-filename",
            crate::files::percent_encode(&file.name()),
        ),
    ] {
        headers
            .set(name, &value)
            .map_err(|_| ApiError::Unreachable)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_headers(&headers);
    init.set_body(file);
    let (status, body) = fetch("/api/uploads", &init).await?;
    crate::files::upload_answer(status, &body)
}

/// The knowledge base's articles (`GET /api/knowledge`), to teach a
/// wording to.
pub async fn articles() -> Result<Vec<ArticleRef>, ApiError> {
    #[derive(Deserialize)]
    struct Articles {
        articles: Vec<ArticleRef>,
    }
    match call("GET", "/api/knowledge", None).await? {
        (200, body) => serde_json::from_str::<Articles>(&body)
            .map(|a| a.articles)
            .map_err(|_| ApiError::Unreachable),
        (401, _) => Err(ApiError::Unauthorized(
            "Your session has ended: sign in again.".into(),
        )),
        _ => Err(ApiError::Unreachable),
    }
}

/// One request with the session cookie: the status and the body.
pub(crate) async fn call(
    method: &str,
    path: &str,
    json: Option<String>,
) -> Result<(u16, String), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(json) = json {
        let headers = Headers::new().map_err(|_| ApiError::Unreachable)?;
        headers
            .set("content-type", "application/json")
            .map_err(|_| ApiError::Unreachable)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&json));
    }
    fetch(path, &init).await
}

async fn fetch(path: &str, init: &RequestInit) -> Result<(u16, String), ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, init))
        .await
        .map_err(|_| ApiError::Unreachable)?
        .unchecked_into();
    let text = JsFuture::from(response.text().map_err(|_| ApiError::Unreachable)?)
        .await
        .map_err(|_| ApiError::Unreachable)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}
