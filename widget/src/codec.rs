//! Visitor-socket frames to and from JSON, without serde.
//!
//! The widget ships to every visitor, and serde's derived code for the
//! protocol's internally tagged enums (plus `serde_json`) was about a third
//! of the widget's WebAssembly. The browser already has a JSON parser, so
//! frames are parsed with `JSON.parse` and read field by field into the
//! shared protocol types. The shapes are those of `baton_shared::protocol`;
//! `tests/codec.rs` checks every frame kind against serde's own encoding, so
//! the two cannot drift apart unnoticed.
//!
//! Decoding is lenient in the way serde's is: unknown fields are ignored,
//! and a frame of an unknown type (or a malformed one) is `None`.

use baton_shared::domain::{ConversationState, Event, EventBody, Responder, Seq};
use baton_shared::protocol::{ErrorCode, VisitorRequest, VisitorUpdate};
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::JsValue;

/// One request as the JSON text the server expects.
pub fn encode(request: &VisitorRequest) -> String {
    let frame = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&frame, &key.into(), &value);
    };
    let text = |s: &Option<String>| s.as_deref().map_or(JsValue::NULL, JsValue::from_str);
    match request {
        VisitorRequest::Hello {
            token,
            last_seq,
            page,
        } => {
            set("type", "hello".into());
            set("token", text(token));
            set("last_seq", (*last_seq as f64).into());
            set("page", text(page));
        }
        VisitorRequest::Say { client_id, text } => {
            set("type", "say".into());
            set("client_id", client_id.into());
            set("text", text.into());
        }
        VisitorRequest::RequestHuman { client_id } => {
            set("type", "request_human".into());
            set("client_id", client_id.into());
        }
    }
    JSON::stringify(&frame)
        .map(String::from)
        .unwrap_or_default()
}

/// One frame from the server, or `None` for anything this widget does not
/// understand.
pub fn decode(text: &str) -> Option<VisitorUpdate> {
    let frame = JSON::parse(text).ok()?;
    Some(match string(&frame, "type")?.as_str() {
        "welcome" => VisitorUpdate::Welcome {
            token: string(&frame, "token"),
            state: ConversationState::parse(&string(&frame, "state")?)?,
            responder: responder(&field(&frame, "responder"))?,
        },
        "event" => VisitorUpdate::Event {
            event: event(&field(&frame, "event"))?,
        },
        "ack" => VisitorUpdate::Ack {
            client_id: string(&frame, "client_id")?,
            seq: seq(&frame, "seq")?,
        },
        "error" => VisitorUpdate::Error {
            code: error_code(&string(&frame, "code")?),
            message: string(&frame, "message").unwrap_or_default(),
        },
        _ => return None,
    })
}

fn event(value: &JsValue) -> Option<Event> {
    let s = |key| string(value, key);
    let body = match s("type")?.as_str() {
        "visitor" => EventBody::Visitor {
            client_id: s("client_id")?,
            text: s("text")?,
        },
        "assistant" => EventBody::Assistant {
            name: s("name")?,
            text: s("text")?,
            articles: strings(&field(value, "articles")),
            confidence: field(value, "confidence").as_f64().map(|c| c as f32),
        },
        "agent" => EventBody::Agent {
            name: s("name")?,
            client_id: s("client_id")?,
            text: s("text")?,
        },
        "handoff_started" => EventBody::HandoffStarted {
            notice: s("notice")?,
        },
        "agent_joined" => EventBody::AgentJoined { name: s("name")? },
        "assistant_resumed" => EventBody::AssistantResumed { name: s("name")? },
        "closed" => EventBody::Closed,
        _ => return None,
    };
    Some(Event {
        seq: seq(value, "seq")?,
        at: field(value, "at").as_f64()? as i64,
        body,
    })
}

fn responder(value: &JsValue) -> Option<Responder> {
    let name = string(value, "name")?;
    match string(value, "kind")?.as_str() {
        "assistant" => Some(Responder::Assistant { name }),
        "agent" => Some(Responder::Agent { name }),
        _ => None,
    }
}

/// The widget acts on a few codes; a code it does not know is a failure on
/// the server's side as far as the visitor is concerned.
fn error_code(code: &str) -> ErrorCode {
    match code {
        "bad_frame" => ErrorCode::BadFrame,
        "too_large" => ErrorCode::TooLarge,
        "invalid" => ErrorCode::Invalid,
        "hello_first" => ErrorCode::HelloFirst,
        "unknown_token" => ErrorCode::UnknownToken,
        "not_found" => ErrorCode::NotFound,
        "conflict" => ErrorCode::Conflict,
        "unauthorized" => ErrorCode::Unauthorized,
        "rate_limited" => ErrorCode::RateLimited,
        _ => ErrorCode::Internal,
    }
}

fn field(value: &JsValue, key: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn string(value: &JsValue, key: &str) -> Option<String> {
    field(value, key).as_string()
}

/// A sequence number: a non-negative whole number.
fn seq(value: &JsValue, key: &str) -> Option<Seq> {
    let n = field(value, key).as_f64()?;
    (n >= 0.0 && n.fract() == 0.0).then_some(n as Seq)
}

fn strings(value: &JsValue) -> Vec<String> {
    if !Array::is_array(value) {
        return Vec::new();
    }
    Array::from(value)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}
