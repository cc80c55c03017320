//! Attachments over HTTP: `POST /api/uploads` stores a file for a
//! conversation and answers with its [`Attachment`]; the visitor or agent
//! then shares it with an `attach` frame, which puts it in the log.
//! `GET /api/uploads/{id}` serves it back.
//!
//! - Who: a visitor by their conversation token (`X-Baton-Token`), an agent
//!   by session cookie and `X-Baton-Conversation`.
//! - What: the declared `Content-Type` must be one the config allows, and
//!   the bytes must be what it says (magic numbers, via `infer`); HTML,
//!   SVG and anything else that could run in a browser are never allowed.
//!   The size limit is the request body limit.
//! - Where: a file named by the attachment's id in `attachments.dir`,
//!   written and flushed before the row is committed and the upload
//!   acknowledged.
//! - Serving: the id is 256 random bits, so the URL is the capability (as
//!   with Slack's and Intercom's file links); responses say `nosniff` and
//!   carry a sandboxing CSP, images and audio inline, the rest as
//!   downloads.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use baton_shared::{Attachment, ConversationId};
use tokio_util::io::ReaderStream;

use super::AppState;
use super::http::{AppError, signed_in_agent};
use crate::attachments::{self, Checked, UploadError};
use crate::desk::DeskError;
use crate::handoff::AttachmentKind;

pub const TOKEN_HEADER: &str = "x-baton-token";
pub const FILENAME_HEADER: &str = "x-baton-filename";
pub const CONVERSATION_HEADER: &str = "x-baton-conversation";

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Refused(message) => Self::BadRequest(message),
            UploadError::Io(message) => Self::Internal(message),
        }
    }
}

impl From<DeskError> for AppError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::UnknownToken => Self::Unauthorized,
            DeskError::Unauthorized(m) => Self::Forbidden(m),
            DeskError::NotFound(_) | DeskError::Invalid(_) | DeskError::Conflict(_) => {
                Self::BadRequest(e.to_string())
            }
            DeskError::Store(e) => Self::Internal(e.to_string()),
            DeskError::Internal(message) => Self::Internal(message),
        }
    }
}

/// `POST /api/uploads`: the body is the file.
pub async fn upload(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Attachment>, AppError> {
    let desk = &state.desk;
    // Over `attachments.max_bytes` (the route's body limit): said in the
    // JSON error shape like every other refusal, not axum's plain text.
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(format!(
            "the file is larger than {} bytes",
            desk.attachments().max_bytes
        )),
        _ => AppError::BadRequest(rejection.body_text()),
    })?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (conversation, agent) = match text(TOKEN_HEADER) {
        Some(token) => (desk.conversation_of(token).await?, None),
        None => {
            let agent = signed_in_agent(&state, &jar).await?;
            let conversation: ConversationId = text(CONVERSATION_HEADER)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| {
                    AppError::BadRequest(format!("say which conversation in {CONVERSATION_HEADER}"))
                })?;
            desk.may_upload(conversation, &agent).await?;
            (conversation, Some(agent.id))
        }
    };
    let declared = text(header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let name = attachments::file_name(text(FILENAME_HEADER).unwrap_or_default());
    let Checked { content_type } =
        attachments::check(&desk.attachments().allowed_types, declared, &body)?;
    let attachment = desk
        .store_upload(conversation, agent, &name, content_type, body)
        .await?;
    Ok(Json(attachment))
}

/// `GET /api/uploads/{id}`.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some((attachment, file)) = state.desk.read_upload(&id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such file"})),
        )
            .into_response());
    };
    let inline = matches!(
        AttachmentKind::of(&attachment.content_type),
        AttachmentKind::Image | AttachmentKind::Audio
    );
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        attachments::percent_encode(&attachment.name)
    );
    let mut response = Response::new(Body::from_stream(ReaderStream::new(file)));
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, &attachment.content_type);
    set(
        headers,
        header::CONTENT_LENGTH,
        &attachment.size.to_string(),
    );
    set(headers, header::CONTENT_DISPOSITION, &disposition);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "sandbox; default-src 'none'",
    );
    // Never changes; only people holding the link have it.
    set(
        headers,
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    Ok(response)
}
