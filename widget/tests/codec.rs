//! The widget's serde-free codec must read and write exactly what serde
//! does for the shared protocol types: every frame kind, both directions.

use baton_shared::domain::{
    Attachment, ConversationState, Event, EventBody, IdentityClaim, Rating, Responder,
};
use baton_shared::protocol::{ErrorCode, VisitorRequest, VisitorUpdate};
use baton_widget::codec::{
    attachment, decode, encode, error_message, event_for_page, identity_from_js,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn photo() -> Attachment {
    Attachment {
        id: "Zm9v-YmFy_0123456789".into(),
        name: "my \"photo\" <1>.png".into(),
        content_type: "image/png".into(),
        size: 10_485_760,
    }
}

fn event(seq: u64, body: EventBody) -> VisitorUpdate {
    VisitorUpdate::Event {
        event: Event {
            seq,
            at: 1_763_700_000_123,
            body,
        },
    }
}

#[wasm_bindgen_test]
fn every_update_decodes_as_serde_encodes_it() {
    let updates = [
        VisitorUpdate::Welcome {
            token: Some("tok".into()),
            state: ConversationState::Assistant,
            responder: Responder::Assistant {
                name: "Nova".into(),
            },
        },
        VisitorUpdate::Welcome {
            token: None,
            state: ConversationState::Human,
            responder: Responder::Agent { name: "Mia".into() },
        },
        event(
            1,
            EventBody::Visitor {
                client_id: "c1".into(),
                text: "hi \"there\" <b>\n".into(),
            },
        ),
        event(
            2,
            EventBody::Assistant {
                name: "Nova".into(),
                text: "Shipping takes 3 days.".into(),
                articles: vec!["Shipping".into(), "Returns".into()],
                confidence: Some(0.5),
                choices: vec![],
            },
        ),
        event(
            2,
            EventBody::Assistant {
                name: "Nova".into(),
                text: "Did you mean one of these?".into(),
                articles: vec![],
                confidence: Some(0.375),
                choices: vec!["Shipping".into(), "Returns \"abroad\"".into()],
            },
        ),
        event(
            3,
            EventBody::Assistant {
                name: "Nova".into(),
                text: "ok".into(),
                articles: vec![],
                confidence: None,
                choices: vec![],
            },
        ),
        event(
            4,
            EventBody::Agent {
                name: "Mia".into(),
                client_id: "r1".into(),
                text: "Hello".into(),
            },
        ),
        event(
            5,
            EventBody::HandoffStarted {
                notice: "Connecting you with a person…".into(),
            },
        ),
        event(6, EventBody::AgentJoined { name: "Mia".into() }),
        event(
            7,
            EventBody::AssistantResumed {
                name: "Nova".into(),
            },
        ),
        event(8, EventBody::Closed),
        event(9, EventBody::AgentLeft { name: "Mia".into() }),
        event(
            10,
            EventBody::Rated {
                client_id: "r1".into(),
                rating: Rating::Good,
                comment: Some("Quick \"and\" kind ✓".into()),
            },
        ),
        event(
            11,
            EventBody::Rated {
                client_id: "r2".into(),
                rating: Rating::Bad,
                comment: None,
            },
        ),
        event(
            12,
            EventBody::VisitorAttachment {
                client_id: "f1".into(),
                attachment: photo(),
            },
        ),
        event(
            13,
            EventBody::AgentAttachment {
                name: "Mia".into(),
                client_id: "f2".into(),
                attachment: Attachment {
                    id: "x".into(),
                    name: "voice.webm".into(),
                    content_type: "audio/webm".into(),
                    size: 0,
                },
            },
        ),
        VisitorUpdate::Ack {
            client_id: "c1".into(),
            seq: 9,
        },
        VisitorUpdate::Typing {
            name: "Mia".into(),
            typing: true,
        },
        VisitorUpdate::Typing {
            name: "Nova".into(),
            typing: false,
        },
        VisitorUpdate::Draft {
            name: "Nova".into(),
            text: "Refunds take".into(),
        },
        VisitorUpdate::Draft {
            name: "Nova".into(),
            text: String::new(),
        },
        VisitorUpdate::Error {
            code: ErrorCode::Invalid,
            message: "too long".into(),
            client_id: Some("c2".into()),
        },
    ];
    // Every error code, by the shared names.
    let errors = ErrorCode::ALL.map(|code| VisitorUpdate::Error {
        code,
        message: format!("{} happened", code.as_str()),
        client_id: None,
    });
    let updates = updates.into_iter().chain(errors);
    for update in updates {
        let json = serde_json::to_string(&update).unwrap();
        assert_eq!(decode(&json), Some(update), "{json}");
    }
}

#[wasm_bindgen_test]
fn every_request_encodes_as_serde_decodes_it() {
    let requests = [
        VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            page: Some("https://shop.example/?q=1".into()),
            identity: None,
            metadata: Vec::new(),
        },
        VisitorRequest::Hello {
            token: Some("tok".into()),
            last_seq: 42,
            page: None,
            identity: Some(IdentityClaim {
                user_id: "u-42".into(),
                name: Some("Ana \"A\" Silva".into()),
                email: Some("ana@example.com".into()),
                tier: Some("gold".into()),
                user_hash: Some("9f86d081884c7d65".into()),
            }),
            metadata: vec![
                ("plan".into(), "pro \"gold\" ✓".into()),
                ("seats".into(), "3".into()),
            ],
        },
        VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            page: None,
            identity: Some(IdentityClaim {
                user_id: "7".into(),
                ..IdentityClaim::default()
            }),
            metadata: Vec::new(),
        },
        VisitorRequest::Say {
            client_id: "c1".into(),
            text: "line one\nline \"two\" ✓".into(),
        },
        VisitorRequest::RequestHuman {
            client_id: "h1".into(),
        },
        VisitorRequest::Attach {
            client_id: "f1".into(),
            upload: "Zm9v-YmFy_0123456789".into(),
        },
        VisitorRequest::Typing { typing: true },
        VisitorRequest::Typing { typing: false },
        VisitorRequest::Read { seq: 17 },
        VisitorRequest::Rate {
            client_id: "r1".into(),
            rating: Rating::Good,
            comment: Some("thanks!\nreally".into()),
        },
        VisitorRequest::Rate {
            client_id: "r2".into(),
            rating: Rating::Bad,
            comment: None,
        },
    ];
    for request in requests {
        let json = encode(&request);
        assert_eq!(
            serde_json::from_str::<VisitorRequest>(&json).unwrap(),
            request,
            "{json}"
        );
        // Byte for byte what serde writes, so the server sees one shape.
        let ours: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(ours, serde_json::to_value(&request).unwrap(), "{json}");
    }
}

#[wasm_bindgen_test]
fn the_pages_identify_call_maps_to_the_protocols_claim() {
    let js = |json: &str| js_sys::JSON::parse(json).unwrap();
    assert_eq!(
        identity_from_js(&js(
            r#"{"userId":"u1","name":"Ana","email":"ana@example.com","tier":"gold","userHash":"abc","extra":1}"#
        )),
        Some(IdentityClaim {
            user_id: "u1".into(),
            name: Some("Ana".into()),
            email: Some("ana@example.com".into()),
            tier: Some("gold".into()),
            user_hash: Some("abc".into()),
        })
    );
    assert_eq!(
        identity_from_js(&js(r#"{"userId":42,"name":7}"#)),
        Some(IdentityClaim {
            user_id: "42".into(),
            ..IdentityClaim::default()
        }),
        "a numeric id is fine; a name that is not text is dropped"
    );
    for nothing in [r#"{"name":"Ana"}"#, r#"{"userId":""}"#, "null", "\"u1\""] {
        assert_eq!(identity_from_js(&js(nothing)), None, "{nothing}");
    }
    assert_eq!(identity_from_js(&JsValue::UNDEFINED), None);
}

#[wasm_bindgen_test]
fn what_the_widget_does_not_understand_is_skipped() {
    for text in [
        "not json",
        "[]",
        "null",
        r#"{"type":"teleport"}"#,
        r#"{"type":"ack","client_id":"c"}"#,
        r#"{"type":"ack","client_id":"c","seq":-1}"#,
        r#"{"type":"event","event":{"seq":1,"at":0,"type":"dance"}}"#,
        r#"{"type":"welcome","token":null,"state":"asleep","responder":{"kind":"assistant","name":"N"}}"#,
        r#"{"type":"typing","name":"Mia"}"#,
        r#"{"type":"draft","name":"Nova"}"#,
        r#"{"type":"event","event":{"seq":1,"at":0,"type":"rated","client_id":"r","rating":"meh"}}"#,
        r#"{"type":"event","event":{"seq":1,"at":0,"type":"visitor_attachment","client_id":"f"}}"#,
        r#"{"type":"event","event":{"seq":1,"at":0,"type":"visitor_attachment","client_id":"f","attachment":{"id":"a","name":"n","content_type":"image/png","size":-1}}}"#,
        r#"{"type":"event","event":{"seq":1,"at":0,"type":"agent_attachment","client_id":"f","attachment":{"id":"a","name":"n","content_type":"image/png","size":1}}}"#,
    ] {
        assert_eq!(decode(text), None, "{text}");
    }
    assert_eq!(
        decode(r#"{"type":"error","code":"brand_new","message":"x"}"#),
        Some(VisitorUpdate::Error {
            code: ErrorCode::Internal,
            message: "x".into(),
            client_id: None
        }),
        "an unknown code is the server's failure"
    );
    let extra = r#"{"type":"ack","client_id":"c","seq":3,"future_field":true}"#;
    assert_eq!(
        decode(extra),
        Some(VisitorUpdate::Ack {
            client_id: "c".into(),
            seq: 3
        })
    );
}

#[wasm_bindgen_test]
fn an_upload_answers_with_the_attachment_or_an_error() {
    let js = |json: &str| js_sys::JSON::parse(json).unwrap();
    let answer = serde_json::to_string(&photo()).unwrap();
    assert_eq!(attachment(&js(&answer)), Some(photo()));
    for not_one in [
        r#"{"id":"","name":"a","content_type":"image/png","size":1}"#,
        r#"{"id":"x","name":"a","content_type":"image/png","size":1.5}"#,
        r#"{"id":"x","name":"a","size":1}"#,
        r#"{"error":"too big"}"#,
        "null",
    ] {
        assert_eq!(attachment(&js(not_one)), None, "{not_one}");
    }
    assert_eq!(
        error_message(&js(
            r#"{"error":"files of type \"text/html\" are not accepted"}"#
        )),
        Some("files of type \"text/html\" are not accepted".into())
    );
    assert_eq!(error_message(&js(r#"{"error":" "}"#)), None);
    assert_eq!(error_message(&JsValue::UNDEFINED), None);
}

/// What the page's `Baton('on', kind, …)` listeners are given, as JSON.
fn for_page(seq: u64, body: EventBody) -> Option<(&'static str, serde_json::Value)> {
    let event = Event {
        seq,
        at: 1_700,
        body,
    };
    event_for_page(&event).map(|(kind, detail)| {
        let json: String = js_sys::JSON::stringify(&detail).unwrap().into();
        (kind, serde_json::from_str(&json).unwrap())
    })
}

#[wasm_bindgen_test]
fn the_page_hears_messages_files_handoffs_and_agents() {
    assert_eq!(
        for_page(
            1,
            EventBody::Visitor {
                client_id: "c1".into(),
                text: "Hi".into()
            }
        ),
        Some((
            "message",
            serde_json::json!({"author": "visitor", "text": "Hi", "seq": 1, "at": 1700})
        ))
    );
    assert_eq!(
        for_page(
            2,
            EventBody::VisitorAttachment {
                client_id: "c2".into(),
                attachment: photo(),
            }
        ),
        Some((
            "message",
            serde_json::json!({
                "author": "visitor", "text": photo().name, "seq": 2, "at": 1700,
                "file": {"name": photo().name, "type": photo().content_type, "size": photo().size},
            })
        ))
    );
    let (kind, detail) = for_page(
        3,
        EventBody::AgentAttachment {
            name: "Mia".into(),
            client_id: "a1".into(),
            attachment: photo(),
        },
    )
    .unwrap();
    assert_eq!(
        (kind, &detail["author"], &detail["name"]),
        ("message", &"agent".into(), &"Mia".into())
    );
    assert_eq!(
        for_page(4, EventBody::AgentJoined { name: "Mia".into() }),
        Some((
            "agent_joined",
            serde_json::json!({"name": "Mia", "seq": 4, "at": 1700})
        ))
    );
    assert_eq!(for_page(5, EventBody::Closed), None, "not told");
}
