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

use baton_shared::domain::{
    Attachment, ConversationState, Event, EventBody, IdentityClaim, Rating, Responder, Seq,
};
use baton_shared::protocol::{ErrorCode, VisitorRequest, VisitorUpdate};
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::chat::Config;
use crate::i18n::Lang;

/// One request as the JSON text the server expects.
pub fn encode(request: &VisitorRequest) -> String {
    let frame = Object::new();
    let set = |key: &str, value: JsValue| set(&frame, key, value);
    match request {
        VisitorRequest::Hello {
            token,
            last_seq,
            page,
            identity,
            metadata,
        } => {
            set("type", "hello".into());
            set("token", text(token));
            set("last_seq", (*last_seq as f64).into());
            set("page", text(page));
            if let Some(identity) = identity {
                set("identity", claim(identity).into());
            }
            if !metadata.is_empty() {
                let fields = Object::new();
                for (name, value) in metadata {
                    self::set(&fields, name, value.into());
                }
                set("metadata", fields.into());
            }
        }
        VisitorRequest::Say { client_id, text } => {
            set("type", "say".into());
            set("client_id", client_id.into());
            set("text", text.into());
        }
        VisitorRequest::Attach { client_id, upload } => {
            set("type", "attach".into());
            set("client_id", client_id.into());
            set("upload", upload.into());
        }
        VisitorRequest::RequestHuman { client_id } => {
            set("type", "request_human".into());
            set("client_id", client_id.into());
        }
        VisitorRequest::Typing { typing } => {
            set("type", "typing".into());
            set("typing", (*typing).into());
        }
        VisitorRequest::Read { seq } => {
            set("type", "read".into());
            set("seq", (*seq as f64).into());
        }
        VisitorRequest::Rate {
            client_id,
            rating,
            comment,
        } => {
            set("type", "rate".into());
            set("client_id", client_id.into());
            set("rating", rating.as_str().into());
            set("comment", text(comment));
        }
    }
    JSON::stringify(&frame)
        .map(String::from)
        .unwrap_or_default()
}

/// An identity claim in the protocol's shape; absent fields are left out,
/// as serde leaves them out.
fn claim(identity: &IdentityClaim) -> Object {
    let object = Object::new();
    set(&object, "user_id", identity.user_id.as_str().into());
    for (key, value) in [
        ("name", &identity.name),
        ("email", &identity.email),
        ("tier", &identity.tier),
        ("user_hash", &identity.user_hash),
    ] {
        if value.is_some() {
            set(&object, key, text(value));
        }
    }
    object
}

/// What the host page passed to `Baton('identify', {userId, name, email,
/// tier, userHash})`, in the protocol's terms. `userId` (a string or a
/// number) is required; other fields that are not strings are ignored.
pub fn identity_from_js(value: &JsValue) -> Option<IdentityClaim> {
    let id = field(value, "userId");
    // A number is written out by the browser: Rust's float formatting
    // would cost the widget about 20 KB.
    let user_id = id
        .as_string()
        .or_else(|| id.as_f64().and(JSON::stringify(&id).ok()).map(String::from))
        .filter(|id| !id.is_empty())?;
    Some(IdentityClaim {
        user_id,
        name: string(value, "name"),
        email: string(value, "email"),
        tier: string(value, "tier"),
        user_hash: string(value, "userHash"),
    })
}

/// The host page's settings for the widget (the script tag's `data-`
/// attributes merged with `Baton('set', …)`, as the loader keeps them):
/// `lang` (already picked by the loader), `name`, `avatar`, `greeting`.
/// Anything that is not a non-empty string is left at its default.
pub fn config_from_js(value: &JsValue) -> Config {
    let text = |key| string(value, key).filter(|s| !s.trim().is_empty());
    Config {
        lang: text("lang")
            .and_then(|l| Lang::parse(&l))
            .unwrap_or_default(),
        name: text("name"),
        avatar: text("avatar"),
        greeting: text("greeting"),
    }
}

/// `Baton('set', {page})`: `Some(None)` when the page cleared it (`null` or
/// `""`), `None` when it said nothing about the page.
pub fn page_from_js(value: &JsValue) -> Option<Option<String>> {
    let page = field(value, "page");
    (!page.is_undefined()).then(|| page.as_string())
}

/// `Baton('set', {metadata: {plan: "pro", seats: 3}})` as text pairs:
/// the object's own keys whose values are strings, numbers or booleans
/// (written out by the browser); `None` when no metadata was given.
pub fn metadata_from_js(value: &JsValue) -> Option<Vec<(String, String)>> {
    let metadata = field(value, "metadata");
    if !metadata.is_object() {
        return None;
    }
    let pairs = Object::entries(&Object::from(metadata))
        .iter()
        .filter_map(|entry| {
            let entry = Array::from(&entry);
            let (key, value) = (entry.get(0).as_string()?, entry.get(1));
            let text = match value.as_string() {
                Some(text) => text,
                None if value.as_f64().is_some() || value.as_bool().is_some() => {
                    JSON::stringify(&value).ok()?.into()
                }
                None => return None,
            };
            Some((key, text))
        })
        .collect();
    Some(pairs)
}

/// What `Baton('on', kind, callback)` listeners receive for an event:
/// `("message", {author, name, text, seq, at})` (a shared file's `text` is
/// its name, with `file: {name, type, size}`), `("handoff", {notice, seq,
/// at})` or `("agent_joined", {name, seq, at})`; `None` for events the page
/// is not told about.
pub fn event_for_page(event: &Event) -> Option<(&'static str, JsValue)> {
    let detail = Object::new();
    let set = |key: &str, value: JsValue| set(&detail, key, value);
    let kind = match &event.body {
        EventBody::Visitor { text, .. } => {
            set("author", "visitor".into());
            set("text", text.into());
            "message"
        }
        EventBody::Assistant { name, text, .. } | EventBody::Agent { name, text, .. } => {
            let author = match event.body {
                EventBody::Assistant { .. } => "assistant",
                _ => "agent",
            };
            set("author", author.into());
            set("name", name.into());
            set("text", text.into());
            "message"
        }
        EventBody::VisitorAttachment { attachment, .. }
        | EventBody::AgentAttachment { attachment, .. } => {
            match &event.body {
                EventBody::AgentAttachment { name, .. } => {
                    set("author", "agent".into());
                    set("name", name.into());
                }
                _ => set("author", "visitor".into()),
            }
            set("text", attachment.name.as_str().into());
            let file = Object::new();
            self::set(&file, "name", attachment.name.as_str().into());
            self::set(&file, "type", attachment.content_type.as_str().into());
            self::set(&file, "size", (attachment.size as f64).into());
            set("file", file.into());
            "message"
        }
        EventBody::HandoffStarted { notice } => {
            set("notice", notice.into());
            "handoff"
        }
        EventBody::AgentJoined { name } => {
            set("name", name.into());
            "agent_joined"
        }
        _ => return None,
    };
    set("seq", (event.seq as f64).into());
    set("at", (event.at as f64).into());
    Some((kind, detail.into()))
}

fn set(object: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(object, &key.into(), &value);
}

fn text(s: &Option<String>) -> JsValue {
    s.as_deref().map_or(JsValue::NULL, JsValue::from_str)
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
        "typing" => VisitorUpdate::Typing {
            name: string(&frame, "name")?,
            typing: field(&frame, "typing").as_bool()?,
        },
        "draft" => VisitorUpdate::Draft {
            name: string(&frame, "name")?,
            text: string(&frame, "text")?,
        },
        // A code this widget does not know is a failure on the server's
        // side as far as the visitor is concerned.
        "error" => VisitorUpdate::Error {
            code: ErrorCode::parse(&string(&frame, "code")?).unwrap_or(ErrorCode::Internal),
            message: string(&frame, "message").unwrap_or_default(),
            client_id: string(&frame, "client_id"),
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
            choices: strings(&field(value, "choices")),
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
        "agent_left" => EventBody::AgentLeft { name: s("name")? },
        "assistant_resumed" => EventBody::AssistantResumed { name: s("name")? },
        "visitor_attachment" => EventBody::VisitorAttachment {
            client_id: s("client_id")?,
            attachment: attachment(&field(value, "attachment"))?,
        },
        "agent_attachment" => EventBody::AgentAttachment {
            name: s("name")?,
            client_id: s("client_id")?,
            attachment: attachment(&field(value, "attachment"))?,
        },
        "closed" => EventBody::Closed,
        "rated" => EventBody::Rated {
            client_id: s("client_id")?,
            rating: Rating::parse(&s("rating")?)?,
            comment: s("comment"),
        },
        _ => return None,
    };
    Some(Event {
        seq: seq(value, "seq")?,
        at: field(value, "at").as_f64()? as i64,
        body,
    })
}

/// A file as the server describes it: in `*_attachment` events, and as the
/// answer to `POST /api/uploads`.
pub fn attachment(value: &JsValue) -> Option<Attachment> {
    Some(Attachment {
        id: string(value, "id").filter(|id| !id.is_empty())?,
        name: string(value, "name")?,
        content_type: string(value, "content_type")?,
        size: seq(value, "size")?,
    })
}

/// The `error` of a refused upload (`{"error": "..."}`).
pub fn error_message(value: &JsValue) -> Option<String> {
    string(value, "error").filter(|e| !e.trim().is_empty())
}

fn responder(value: &JsValue) -> Option<Responder> {
    let name = string(value, "name")?;
    match string(value, "kind")?.as_str() {
        "assistant" => Some(Responder::Assistant { name }),
        "agent" => Some(Responder::Agent { name }),
        _ => None,
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

/// A sequence number (or a size): a non-negative whole number.
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
