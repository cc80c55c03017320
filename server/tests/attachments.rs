//! Attachments over real HTTP and sockets: what is accepted and what is
//! refused (changing nothing), who may share which upload, and what a
//! shared file does to the conversation — a voice message hands off by
//! rule, an image on confidence (the assistant cannot read it), an agent's
//! file reaches the visitor.

mod support;

use std::path::Path;

use baton_shared::*;
use support::{TestServer, new_conversation};

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
/// The start of a WAV file: what a voice message sniffs as.
const WAV: &[u8] = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x44\xac\0\0\x88\x58\x01\0\x02\0\x10\0data\0\0\0\0";

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// What is tried, the upload, its credentials, and the status expected.
type Refusal<'a> = (&'a str, Upload<'a>, &'a [(&'a str, &'a str)], u16);

struct Upload<'a> {
    content_type: &'a str,
    name: &'a str,
    bytes: &'a [u8],
}

impl Upload<'static> {
    fn png(name: &'static str) -> Self {
        Upload {
            content_type: "image/png",
            name,
            bytes: PNG,
        }
    }

    fn wav(name: &'static str) -> Self {
        Upload {
            content_type: "audio/wav",
            name,
            bytes: WAV,
        }
    }
}

async fn post(
    server: &TestServer,
    upload: &Upload<'_>,
    auth: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/api/uploads", server.addr))
        .header("content-type", upload.content_type)
        .header("x-baton-filename", upload.name)
        .body(upload.bytes.to_vec());
    for (name, value) in auth {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Shares an upload in the visitor's conversation (answered later).
async fn attach(
    visitor: &mut support::Client<VisitorRequest, VisitorUpdate>,
    client_id: &str,
    upload: &str,
) {
    visitor
        .send(&VisitorRequest::Attach {
            client_id: client_id.into(),
            upload: upload.into(),
        })
        .await;
}

async fn visitor_upload(server: &TestServer, token: &str, upload: &Upload<'_>) -> Attachment {
    let response = post(server, upload, &[("x-baton-token", token)]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_upload_is_checked_stored_and_served_back() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let png = Upload::png("boots%20photo.png");
    let attachment = visitor_upload(&server, &token, &png).await;
    assert_eq!(attachment.name, "boots photo.png");
    assert_eq!(attachment.content_type, "image/png");
    assert_eq!(attachment.size, PNG.len() as u64);
    assert!(attachment.id.len() >= 40, "{}", attachment.id);
    assert_eq!(files_in(&server.uploads), 1);

    let served = reqwest::get(format!("http://{}{}", server.addr, attachment.path()))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    for missing in ["nope", "../baton.db", "a%2F..%2Fb"] {
        let response = reqwest::get(format!("http://{}/api/uploads/{missing}", server.addr))
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn refused_uploads_change_nothing() {
    let mut config = baton::Config {
        demo: true,
        ..baton::Config::default()
    };
    config.attachments.max_bytes = 1024;
    let server = TestServer::start_with(config).await;
    let dir = server.uploads.clone();
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    let cases: [Refusal<'_>; 6] = [
        // Not a PNG, whatever it says.
        (
            "lying type",
            Upload {
                content_type: "image/png",
                name: "x.png",
                bytes: b"<script>alert(1)</script>",
            },
            &[("x-baton-token", &token)],
            400,
        ),
        // Never accepted: runs in a browser.
        (
            "html",
            Upload {
                content_type: "text/html",
                name: "x.html",
                bytes: b"<b>hi</b>",
            },
            &[("x-baton-token", &token)],
            400,
        ),
        (
            "svg",
            Upload {
                content_type: "image/svg+xml",
                name: "x.svg",
                bytes: b"<svg onload=alert(1)>",
            },
            &[("x-baton-token", &token)],
            400,
        ),
        (
            "too large",
            Upload {
                content_type: "text/plain",
                name: "x.txt",
                bytes: &[b'a'; 2048],
            },
            &[("x-baton-token", &token)],
            413,
        ),
        (
            "unknown token",
            Upload::png("x.png"),
            &[("x-baton-token", "not-a-token")],
            401,
        ),
        ("nobody", Upload::png("x.png"), &[], 401),
    ];
    for (what, upload, auth, status) in cases {
        let response = post(&server, &upload, auth).await;
        assert_eq!(response.status(), status, "{what}");
        // Every refusal in the one error shape, the size limit's too.
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert!(body["error"].is_string(), "{what}: {body}");
        if status == 413 {
            assert!(body["error"].as_str().unwrap().contains("1024"), "{body}");
        }
    }
    assert_eq!(files_in(&dir), 0, "no file was kept");
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    assert!(store.upload("anything").await.unwrap().is_none());
}

#[tokio::test]
async fn a_voice_message_hands_off_by_rule_and_an_image_on_confidence() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    // An image: stored, acknowledged, and beyond the assistant.
    let photo = visitor_upload(&server, &token, &Upload::png("sole.png")).await;
    attach(&mut visitor, "img", &photo.id).await;
    let shared = visitor
        .event_where(|b| matches!(b, EventBody::VisitorAttachment { .. }))
        .await;
    assert_eq!(
        shared.body,
        EventBody::VisitorAttachment {
            client_id: "img".into(),
            attachment: photo.clone()
        }
    );
    let handed = visitor
        .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;
    assert_eq!(
        handed.seq,
        shared.seq + 1,
        "no answer was attempted in between"
    );
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    let queue = agent.queue().await;
    assert_eq!(queue[0].mechanism, Mechanism::Confidence);
    assert_eq!(queue[0].intent, "An image (sole.png).", "{queue:?}");
    // Back to the assistant, for the voice message below.
    agent
        .send(&AgentRequest::Resume {
            conversation: queue[0].conversation,
        })
        .await;
    visitor
        .event_where(|b| matches!(b, EventBody::AssistantResumed { .. }))
        .await;

    // A retry is stored once.
    attach(&mut visitor, "img", &photo.id).await;
    let seq = visitor
        .until(|u| match u {
            VisitorUpdate::Ack { client_id, seq } if client_id == "img" => Some(seq),
            _ => None,
        })
        .await;
    assert_eq!(seq, shared.seq);

    // A voice message: a person is needed.
    let voice = visitor_upload(&server, &token, &Upload::wav("voice.wav")).await;
    attach(&mut visitor, "voice", &voice.id).await;
    visitor
        .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;
    let queue = agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } if entries.len() == 1 => Some(entries),
            _ => None,
        })
        .await;
    assert_eq!(queue[0].mechanism, Mechanism::Rule);
    assert!(
        queue[0].reason.contains("voice message"),
        "{}",
        queue[0].reason
    );
}

#[tokio::test]
async fn uploads_are_shared_only_by_who_made_them_where_they_belong() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let mut other = server.visitor().await;
    let other_token = new_conversation(&mut other).await;
    let mine = visitor_upload(
        &server,
        &token,
        &Upload {
            content_type: "text/plain",
            name: "order.txt",
            bytes: b"order 1234\n",
        },
    )
    .await;

    // Another visitor cannot share it.
    attach(&mut other, "steal", &mine.id).await;
    let (code, message) = other.error().await;
    assert_eq!(code, ErrorCode::Invalid, "{message}");
    assert!(support::full_log(&server, &other_token).await.is_empty());

    // The agent uploads to the conversation only once holding it.
    visitor.press_human().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    let id = agent.queue().await[0].conversation;
    let label_pdf = Upload {
        content_type: "application/pdf",
        name: "label.pdf",
        bytes: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    };
    let agent_headers = [
        ("cookie", cookie.as_str()),
        ("x-baton-conversation", &id.to_string()),
    ];
    let stored_before = files_in(&server.uploads);
    let response = post(&server, &label_pdf, &agent_headers).await;
    assert_eq!(response.status(), 400, "not held yet");
    let refused: serde_json::Value = response.json().await.unwrap();
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("claim it first"),
        "{refused}"
    );
    assert_eq!(files_in(&server.uploads), stored_before, "nothing stored");
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } => entries
                .iter()
                .any(|e| e.conversation == id && e.state == ConversationState::Human)
                .then_some(()),
            _ => None,
        })
        .await;
    let response = post(&server, &label_pdf, &agent_headers).await;
    assert_eq!(response.status(), 200);
    let label: Attachment = response.json().await.unwrap();
    let attach = AgentRequest::Attach {
        conversation: id,
        client_id: "label".into(),
        upload: label.id.clone(),
    };
    // Nor can the agent share the visitor's upload as theirs.
    agent
        .send(&AgentRequest::Attach {
            conversation: id,
            client_id: "x".into(),
            upload: mine.id.clone(),
        })
        .await;
    let (code, _) = agent.error().await;
    assert_eq!(code, ErrorCode::Invalid);
    agent.send(&attach).await;
    agent
        .until(|u| match u {
            AgentUpdate::Ack { client_id, .. } if client_id == "label" => Some(()),
            _ => None,
        })
        .await;
    let shared = visitor
        .event_where(|b| matches!(b, EventBody::AgentAttachment { .. }))
        .await;
    assert_eq!(
        shared.body,
        EventBody::AgentAttachment {
            name: "Mia".into(),
            client_id: "label".into(),
            attachment: label.clone()
        }
    );
    let download = reqwest::get(format!("http://{}{}", server.addr, label.path()))
        .await
        .unwrap();
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // An agent's upload needs a session.
    let response = post(
        &server,
        &Upload {
            content_type: "text/plain",
            name: "x.txt",
            bytes: b"x",
        },
        &[("x-baton-conversation", &id.to_string())],
    )
    .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn pages_on_allowed_sites_may_upload_across_origins() {
    let mut config = baton::Config {
        demo: true,
        ..baton::Config::default()
    };
    config.visitors.allowed_origins = Some(vec!["https://shop.example".into()]);
    let server = TestServer::start_with(config).await;
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(
                reqwest::Method::OPTIONS,
                format!("http://{}/api/uploads", server.addr),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-baton-token,x-baton-filename",
            )
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// The button pressed while the assistant's turn is storing its outcome is
/// answered: the turn runs on its own and never waits for the socket
/// (it once could, holding the database's one writer).
#[tokio::test]
async fn the_button_during_a_turn_is_answered() {
    let server = TestServer::start().await;
    for round in 0..20 {
        let mut visitor = server.visitor().await;
        let token = new_conversation(&mut visitor).await;
        let photo = visitor_upload(&server, &token, &Upload::png("p.png")).await;
        // No waiting in between: the turn for the photo is under way.
        attach(&mut visitor, "p", &photo.id).await;
        visitor
            .send(&VisitorRequest::RequestHuman {
                client_id: "h".into(),
            })
            .await;
        visitor
            .until(|u| match u {
                VisitorUpdate::Ack { client_id, .. } if client_id == "h" => Some(()),
                VisitorUpdate::Error { message, .. } => panic!("round {round}: {message}"),
                _ => None,
            })
            .await;
        let log = support::full_log(&server, &token).await;
        let handoffs = log
            .iter()
            .filter(|e| matches!(e.body, EventBody::HandoffStarted { .. }))
            .count();
        assert_eq!(handoffs, 1, "round {round}: {log:?}");
    }
}
