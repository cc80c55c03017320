//! Decoding client frames and encoding server frames: the only place that
//! knows the wire is JSON text over WebSocket. Anything that is not a
//! well-formed request becomes a [`Reject`] — an error frame for the
//! client — and never reaches the desk.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use baton_shared::{AgentUpdate, ErrorCode, VisitorUpdate};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::limits::FrameGate;
use crate::desk::DeskError;

/// Why a frame was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub code: ErrorCode,
    pub message: String,
}

impl Reject {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a received WebSocket message means for the connection.
pub enum Incoming<T> {
    Request(T),
    Bad(Reject),
    /// Ping/pong: nothing to do (the library answers pings).
    Ignore,
    Closed,
    /// The WebSocket layer could not read a frame (invalid UTF-8 in a text
    /// frame, a frame over the hard cap, a protocol violation). The stream
    /// cannot be trusted any more: answer with the error frame, then close
    /// with the code.
    Broken(Reject, u16),
}

/// Screens what `socket.recv()` returned: the socket's frame budget first
/// (see [`FrameGate`]), then [`decode`].
pub fn receive<T: DeserializeOwned>(
    received: Option<Result<Message, axum::Error>>,
    gate: &FrameGate,
    max_bytes: usize,
) -> Incoming<T> {
    match received {
        None => Incoming::Closed,
        Some(Err(e)) => broken(e, max_bytes),
        Some(Ok(message)) => match gate.check(&message) {
            Ok(()) => decode(message, max_bytes),
            Err(reject) => Incoming::Bad(reject),
        },
    }
}

/// Names a read failure and picks the close code RFC 6455 gives it.
fn broken<T>(e: axum::Error, max_bytes: usize) -> Incoming<T> {
    use tungstenite::error::{CapacityError, Error};
    let inner = e.into_inner();
    let (code, close, message) = match inner.downcast_ref::<Error>() {
        // A peer that vanished needs no answer.
        Some(Error::ConnectionClosed | Error::AlreadyClosed | Error::Io(_)) | None => {
            return Incoming::Closed;
        }
        Some(Error::Utf8(_)) => (
            ErrorCode::BadFrame,
            1007,
            "text frames must be valid UTF-8".to_string(),
        ),
        Some(Error::Capacity(CapacityError::MessageTooLong { size, .. })) => (
            ErrorCode::TooLarge,
            1009,
            format!("the frame has {size} bytes; the limit is {max_bytes}"),
        ),
        Some(other) => (
            ErrorCode::BadFrame,
            1002,
            format!("unreadable frame: {other}"),
        ),
    };
    Incoming::Broken(Reject::new(code, message), close)
}

/// Sends an error frame, then closes with `code` and a short `reason`
/// (browsers show neither status nor body of a refused upgrade, but do
/// hand the page a close code and reason: see [`origins`](super::origins)).
pub async fn close_with(mut socket: WebSocket, error_frame: Message, code: u16, reason: &str) {
    if socket.send(error_frame).await.is_ok() {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = socket.send(Message::Close(Some(frame))).await;
    }
}

/// Sends the error frame of a broken stream and closes with `code`.
pub async fn close_broken(socket: WebSocket, error_frame: Message, code: u16) {
    close_with(socket, error_frame, code, "unreadable frame").await;
}

/// Parses one text frame, enforcing the size limit before parsing.
pub fn decode<T: DeserializeOwned>(message: Message, max_bytes: usize) -> Incoming<T> {
    let text = match message {
        Message::Text(text) => text,
        Message::Binary(_) => {
            return Incoming::Bad(Reject::new(
                ErrorCode::BadFrame,
                "binary frames are not accepted; send JSON text",
            ));
        }
        Message::Ping(_) | Message::Pong(_) => return Incoming::Ignore,
        Message::Close(_) => return Incoming::Closed,
    };
    if text.len() > max_bytes {
        return Incoming::Bad(Reject::new(
            ErrorCode::TooLarge,
            format!(
                "the frame has {} bytes; the limit is {max_bytes}",
                text.len()
            ),
        ));
    }
    match serde_json::from_str(text.as_str()) {
        Ok(request) => Incoming::Request(request),
        Err(e) => Incoming::Bad(Reject::new(
            ErrorCode::BadFrame,
            format!("not a valid request: {e}"),
        )),
    }
}

/// [`decode`] over the raw payload of a data frame, for the fuzz targets
/// (`fuzz/`): valid UTF-8 arrives as a text frame, anything else as
/// binary, as from tungstenite (which refuses invalid UTF-8 text before it
/// reaches us, see [`receive`]).
pub fn decode_bytes<T: DeserializeOwned>(payload: &[u8], max_bytes: usize) -> Result<T, Reject> {
    let message = match std::str::from_utf8(payload) {
        Ok(text) => Message::Text(Utf8Bytes::from(text)),
        Err(_) => Message::Binary(payload.to_vec().into()),
    };
    match decode(message, max_bytes) {
        Incoming::Request(request) => Ok(request),
        Incoming::Bad(reject) | Incoming::Broken(reject, _) => Err(reject),
        Incoming::Ignore | Incoming::Closed => {
            Err(Reject::new(ErrorCode::BadFrame, "not a data frame"))
        }
    }
}

pub fn encode<T: Serialize>(frame: &T) -> Message {
    let json = serde_json::to_string(frame).expect("server frames serialise");
    Message::Text(Utf8Bytes::from(json))
}

/// Sends one frame; false when the socket is gone.
pub async fn send<T: Serialize>(socket: &mut WebSocket, frame: &T) -> bool {
    socket.send(encode(frame)).await.is_ok()
}

/// The server frames of either socket that can carry an error.
pub trait ErrorFrame: Sized {
    fn error_frame(code: ErrorCode, message: String, client_id: Option<String>) -> Self;

    /// A request the desk refused (naming its client id, if it had one).
    fn refused(e: &DeskError, client_id: Option<String>) -> Self {
        if let DeskError::Store(inner) = e {
            tracing::error!(%inner, "request failed");
        }
        Self::error_frame(e.code(), e.message(), client_id)
    }

    /// A frame that never reached the desk.
    fn rejected(reject: Reject) -> Self {
        Self::error_frame(reject.code, reject.message, None)
    }
}

impl ErrorFrame for VisitorUpdate {
    fn error_frame(code: ErrorCode, message: String, client_id: Option<String>) -> Self {
        Self::Error {
            code,
            message,
            client_id,
        }
    }
}

impl ErrorFrame for AgentUpdate {
    fn error_frame(code: ErrorCode, message: String, client_id: Option<String>) -> Self {
        Self::Error {
            code,
            message,
            client_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_shared::VisitorRequest;

    fn text(s: &str) -> Message {
        Message::Text(Utf8Bytes::from(s.to_string()))
    }

    #[test]
    fn rejects_without_panicking() {
        let cases = [
            (text("not json"), ErrorCode::BadFrame),
            (text(r#"{"type":"say"}"#), ErrorCode::BadFrame),
            (text(r#"{"type":"unknown"}"#), ErrorCode::BadFrame),
            (
                text(&format!(
                    r#"{{"type":"say","client_id":"a","text":"{}"}}"#,
                    "x".repeat(2000)
                )),
                ErrorCode::TooLarge,
            ),
            (
                Message::Binary(vec![0xff, 0xfe].into()),
                ErrorCode::BadFrame,
            ),
        ];
        for (message, code) in cases {
            match decode::<VisitorRequest>(message, 1024) {
                Incoming::Bad(reject) => assert_eq!(reject.code, code, "{}", reject.message),
                _ => panic!("expected a rejection"),
            }
        }
    }

    #[test]
    fn accepts_a_request() {
        let decoded =
            decode::<VisitorRequest>(text(r#"{"type":"request_human","client_id":"c1"}"#), 1024);
        assert!(matches!(
            decoded,
            Incoming::Request(VisitorRequest::RequestHuman { .. })
        ));
    }
}
