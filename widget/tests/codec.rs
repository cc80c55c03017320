//! The widget's serde-free codec must read and write exactly what serde
//! does for the shared protocol types: every frame kind, both directions.

use baton_shared::domain::{ConversationState, Event, EventBody, Responder};
use baton_shared::protocol::{ErrorCode, VisitorRequest, VisitorUpdate};
use baton_widget::codec::{decode, encode};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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
            },
        ),
        event(
            3,
            EventBody::Assistant {
                name: "Nova".into(),
                text: "ok".into(),
                articles: vec![],
                confidence: None,
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
        VisitorUpdate::Ack {
            client_id: "c1".into(),
            seq: 9,
        },
        VisitorUpdate::Error {
            code: ErrorCode::UnknownToken,
            message: "unknown token".into(),
        },
        VisitorUpdate::Error {
            code: ErrorCode::Conflict,
            message: "already".into(),
        },
        VisitorUpdate::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
        },
    ];
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
        },
        VisitorRequest::Hello {
            token: Some("tok".into()),
            last_seq: 42,
            page: None,
        },
        VisitorRequest::Say {
            client_id: "c1".into(),
            text: "line one\nline \"two\" ✓".into(),
        },
        VisitorRequest::RequestHuman {
            client_id: "h1".into(),
        },
    ];
    for request in requests {
        let json = encode(&request);
        assert_eq!(
            serde_json::from_str::<VisitorRequest>(&json).unwrap(),
            request,
            "{json}"
        );
    }
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
    ] {
        assert_eq!(decode(text), None, "{text}");
    }
    let extra = r#"{"type":"ack","client_id":"c","seq":3,"future_field":true}"#;
    assert_eq!(
        decode(extra),
        Some(VisitorUpdate::Ack {
            client_id: "c".into(),
            seq: 3
        })
    );
}
