//! Telling the team: every handoff reaches each webhook (Slack format and
//! signed JSON), failed deliveries are retried and survive a restart, and
//! the one-click "Resume assistant" link works exactly once.
//!
//! The webhook receiver is a local HTTP server speaking what Slack's
//! incoming webhooks speak: a JSON POST answered with 200 (or, to test
//! retries, 500).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use baton::config::{Notifications, Webhook, WebhookFormat};
use baton_shared::*;
use support::*;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SECRET: &str = "json-webhook-secret";

/// One POST the receiver accepted.
#[derive(Debug)]
struct Delivery {
    path: String,
    signature: Option<String>,
    body: serde_json::Value,
    raw: String,
}

/// A webhook receiver that fails the first `failures` requests per path.
struct Receiver {
    url: String,
    attempts: Arc<AtomicUsize>,
    delivered: mpsc::UnboundedReceiver<Delivery>,
}

#[derive(Clone)]
struct ReceiverState {
    failures: usize,
    attempts: Arc<AtomicUsize>,
    seen: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    tx: mpsc::UnboundedSender<Delivery>,
}

impl Receiver {
    async fn start(listener: TcpListener, failures: usize) -> Self {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, delivered) = mpsc::unbounded_channel();
        let attempts = Arc::new(AtomicUsize::new(0));
        let state = ReceiverState {
            failures,
            attempts: attempts.clone(),
            seen: Arc::default(),
            tx,
        };
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            attempts,
            delivered,
        }
    }

    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(DEADLINE, self.delivered.recv())
            .await
            .expect("a delivery in time")
            .unwrap()
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
    raw: String,
) -> StatusCode {
    state.attempts.fetch_add(1, Ordering::SeqCst);
    let attempt = {
        let mut seen = state.seen.lock().unwrap();
        let n = seen.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    if attempt <= state.failures {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let signature = headers
        .get("x-baton-signature")
        .map(|v| v.to_str().unwrap().to_string());
    let body = serde_json::from_str(&raw).expect("JSON body");
    let _ = state.tx.send(Delivery {
        path,
        signature,
        body,
        raw,
    });
    StatusCode::OK
}

fn config_with(receiver_url: &str) -> baton::Config {
    baton::Config {
        demo: true,
        notifications: Notifications {
            webhooks: vec![
                Webhook {
                    url: format!("{receiver_url}/slack"),
                    format: WebhookFormat::Slack,
                    secret: None,
                },
                Webhook {
                    url: format!("{receiver_url}/json"),
                    format: WebhookFormat::Json,
                    secret: Some(SECRET.into()),
                },
            ],
            retry_initial_ms: 20,
            retry_max_ms: 200,
            ..Notifications::default()
        },
        ..baton::Config::default()
    }
}

async fn hand_off(server: &TestServer) -> (Client<VisitorRequest, VisitorUpdate>, String) {
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor
        .say(
            "m1",
            "I want to file a complaint about the delivery driver.",
        )
        .await;
    visitor
        .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;
    (visitor, token)
}

#[tokio::test]
async fn every_handoff_reaches_each_webhook_after_retries() {
    let mut receiver = Receiver::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), 2).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path().join("b.db"), config_with(&receiver.url)).await;
    hand_off(&server).await;

    let mut deliveries = vec![receiver.next().await, receiver.next().await];
    deliveries.sort_by(|a, b| a.path.cmp(&b.path));
    let [json, slack] = <[Delivery; 2]>::try_from(deliveries).unwrap();
    assert_eq!(
        receiver.attempts.load(Ordering::SeqCst),
        6,
        "two failures then success, per webhook"
    );

    // Slack: a fallback text and blocks with the reason, intent and links.
    assert_eq!(slack.path, "slack");
    let text = slack.body["text"].as_str().unwrap();
    assert!(
        text.contains("needs a person") && text.contains("complaint"),
        "{text}"
    );
    let blocks = slack.body["blocks"].to_string();
    assert!(
        blocks.contains("*Why*")
            && blocks.contains("*Visitor wants*")
            && blocks.contains("delivery driver"),
        "{blocks}"
    );
    let buttons = &slack.body["blocks"][2]["elements"];
    assert!(
        buttons[0]["url"]
            .as_str()
            .unwrap()
            .contains("/console/#/conversations/")
    );
    assert!(buttons[1]["url"].as_str().unwrap().contains("/resume/"));

    // JSON: the brief, signed with the webhook's secret over "<t>.<body>".
    assert_eq!(json.body["event"], "handoff");
    assert_eq!(json.body["brief"]["mechanism"], "rule");
    let signature = json.signature.expect("signed");
    let (t, v1) = signature.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let expected = baton::notify::Signer::hex_signature(
        SECRET.as_bytes(),
        format!("{t}.{}", json.raw).as_bytes(),
    );
    assert_eq!(v1, expected);
    assert!(
        slack.signature.is_none(),
        "Slack's format carries no signature"
    );
}

#[tokio::test]
async fn undelivered_notifications_survive_a_restart() {
    // Nothing listens on the webhook's port while the first server runs.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let mut server = TestServer::start_on(db.clone(), config_with(&url)).await;
    hand_off(&server).await;
    server.stop().await;

    let mut receiver =
        Receiver::start(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), 0).await;
    let _server = TestServer::start_on(db, config_with(&url)).await;
    let mut paths = vec![receiver.next().await.path, receiver.next().await.path];
    paths.sort();
    assert_eq!(paths, ["json", "slack"]);
}

#[tokio::test]
async fn the_resume_link_hands_back_exactly_once() {
    let mut receiver = Receiver::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), 0).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path().join("b.db"), config_with(&receiver.url)).await;
    let (mut visitor, token) = hand_off(&server).await;
    let link = loop {
        let delivery = receiver.next().await;
        if delivery.path == "json" {
            break delivery.body["links"]["resume"]
                .as_str()
                .unwrap()
                .to_string();
        }
    };
    assert!(
        link.starts_with(&format!("http://{}/resume/", server.addr)),
        "{link}"
    );

    let http = reqwest::Client::new();
    // Opening the link (as a chat app's preview or a mail scanner does)
    // shows the button and changes nothing.
    for _ in 0..2 {
        let page = http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("<form method=post") && page.contains("Resume assistant"),
            "{page}"
        );
    }
    let log = full_log(&server, &token).await;
    assert!(
        !log.iter()
            .any(|e| matches!(e.body, EventBody::AssistantResumed { .. })),
        "a GET handed back"
    );
    let first = http.post(&link).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("Assistant resumed"));
    let resumed = visitor
        .event_where(|b| matches!(b, EventBody::AssistantResumed { .. }))
        .await;
    assert_eq!(
        resumed.body,
        EventBody::AssistantResumed {
            name: "Nova".into()
        }
    );

    let again = http.post(&link).send().await.unwrap();
    assert_eq!(again.status(), 409, "a used link does nothing");
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 409, "and offers no button");
    assert!(!page.text().await.unwrap().contains("<form"));

    let mut tampered = link.clone();
    let flip = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., flip);
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 400);
    assert_eq!(http.post(&tampered).send().await.unwrap().status(), 400);
    assert_eq!(
        http.get(format!("http://{}/resume/garbage", server.addr))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn an_expired_resume_link_does_nothing() {
    let mut receiver = Receiver::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), 0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(&receiver.url);
    config.notifications.resume_link_ttl_hours = 0;
    let server = TestServer::start_on(dir.path().join("b.db"), config).await;
    let (_visitor, token) = hand_off(&server).await;
    let link = loop {
        let delivery = receiver.next().await;
        if delivery.path == "json" {
            break delivery.body["links"]["resume"]
                .as_str()
                .unwrap()
                .to_string();
        }
    };
    let response = reqwest::get(&link).await.unwrap();
    assert_eq!(response.status(), 410);
    let log = full_log(&server, &token).await;
    assert!(
        !log.iter()
            .any(|e| matches!(e.body, EventBody::AssistantResumed { .. }))
    );
}
