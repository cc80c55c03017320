//! Decoding client frames and encoding server frames: the only place that
//! knows the wire is JSON text over WebSocket. Anything that is not a
//! well-formed request becomes a [`Reject`] — an error frame for the
//! client — and never reaches the desk.

use axum::extract::ws::{Message, Utf8Bytes};
use baton_shared::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a frame was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub code: ErrorCode,
    pub message: String,
}

impl Reject {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// What a received WebSocket message means for the connection.
pub enum Incoming<T> {
    Request(T),
    Bad(Reject),
    /// Ping/pong: nothing to do (the library answers pings).
    Ignore,
    Closed,
}

/// Parses one text frame, enforcing the size limit before parsing.
pub fn decode<T: DeserializeOwned>(message: Message, max_bytes: usize) -> Incoming<T> {
    let text = match message {
        Message::Text(text) => text,
        Message::Binary(_) => {
            return Incoming::Bad(Reject::new(ErrorCode::BadFrame, "binary frames are not accepted; send JSON text"));
        }
        Message::Ping(_) | Message::Pong(_) => return Incoming::Ignore,
        Message::Close(_) => return Incoming::Closed,
    };
    if text.len() > max_bytes {
        return Incoming::Bad(Reject::new(
            ErrorCode::TooLarge,
            format!("the frame has {} bytes; the limit is {max_bytes}", text.len()),
        ));
    }
    match serde_json::from_str(text.as_str()) {
        Ok(request) => Incoming::Request(request),
        Err(e) => Incoming::Bad(Reject::new(ErrorCode::BadFrame, format!("not a valid request: {e}"))),
    }
}

pub fn encode<T: Serialize>(frame: &T) -> Message {
    let json = serde_json::to_string(frame).expect("server frames serialise");
    Message::Text(Utf8Bytes::from(json))
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
            (text(&format!(r#"{{"type":"say","client_id":"a","text":"{}"}}"#, "x".repeat(2000))), ErrorCode::TooLarge),
            (Message::Binary(vec![0xff, 0xfe].into()), ErrorCode::BadFrame),
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
        let decoded = decode::<VisitorRequest>(text(r#"{"type":"request_human","client_id":"c1"}"#), 1024);
        assert!(matches!(decoded, Incoming::Request(VisitorRequest::RequestHuman { .. })));
    }
}
