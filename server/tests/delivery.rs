//! Nothing lost, nothing twice: reconnect replay, retried sends, restarts,
//! token isolation and bad input, over real sockets and a real SQLite file.

mod support;

use baton_shared::*;
use support::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn reconnecting_with_last_seq_gets_exactly_the_missed_events() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.ask("m1", "How long does shipping take?").await;
    visitor
        .ask("m2", "Which payment methods do you accept?")
        .await;
    let log = full_log(&server, &token).await;
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);

    let mut again = server.visitor().await;
    let welcome = again.hello(Some(&token), 2).await;
    assert!(
        matches!(welcome, VisitorUpdate::Welcome { token: None, .. }),
        "{welcome:?}"
    );
    assert_eq!(backlog(&mut again).await, log[2..]);
}

#[tokio::test]
async fn a_retried_send_is_stored_once_and_acknowledged_with_the_original_seq() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let first = visitor.say("m1", "How long does shipping take?").await;
    visitor
        .event_where(|b| matches!(b, EventBody::Assistant { .. }))
        .await;

    // The same message again, as after a timeout, on a new connection.
    let mut retry = server.visitor().await;
    retry.hello(Some(&token), 0).await;
    assert_eq!(retry.say("m1", "How long does shipping take?").await, first);

    let log = full_log(&server, &token).await;
    let kinds: Vec<_> = log.iter().map(|e| e.body.kind()).collect();
    assert_eq!(
        kinds,
        ["visitor", "assistant"],
        "stored once, answered once"
    );
}

#[tokio::test]
async fn a_token_opens_its_own_conversation_and_nothing_else() {
    let server = TestServer::start().await;
    let mut alice = server.visitor().await;
    let alice_token = new_conversation(&mut alice).await;
    alice.ask("a1", "How long does shipping take?").await;

    let mut bob = server.visitor().await;
    let bob_token = new_conversation(&mut bob).await;
    assert_ne!(alice_token, bob_token);
    assert!(
        full_log(&server, &bob_token).await.is_empty(),
        "Bob sees nothing of Alice's"
    );

    // A guessed token is refused; the connection stays usable.
    let mut mallory = server.visitor().await;
    let refused = mallory.hello(Some("not-a-real-token"), 0).await;
    assert!(
        matches!(
            refused,
            VisitorUpdate::Error {
                code: ErrorCode::UnknownToken,
                ..
            }
        ),
        "{refused:?}"
    );
    mallory
        .send(&VisitorRequest::Say {
            client_id: "x".into(),
            text: "hi".into(),
        })
        .await;
    assert_eq!(mallory.error().await.0, ErrorCode::HelloFirst);
    let welcome = mallory.hello(None, 0).await;
    assert!(matches!(
        welcome,
        VisitorUpdate::Welcome { token: Some(_), .. }
    ));
    assert_eq!(
        full_log(&server, &alice_token).await.len(),
        2,
        "Alice's conversation is untouched"
    );
}

#[tokio::test]
async fn bad_input_gets_an_error_frame_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    let long_text = "x".repeat(DEFAULT_MAX_TEXT_CHARS + 1);
    let cases: Vec<(Message, ErrorCode)> = vec![
        (Message::text("{not json"), ErrorCode::BadFrame),
        (
            Message::text(r#"{"type":"format_disk"}"#),
            ErrorCode::BadFrame,
        ),
        (
            Message::text(r#"{"type":"say","client_id":"c1"}"#),
            ErrorCode::BadFrame,
        ),
        (
            Message::text(r#"{"type":"say","client_id":"c1","text":"   "}"#),
            ErrorCode::Invalid,
        ),
        (
            Message::text(r#"{"type":"say","client_id":"","text":"hi"}"#),
            ErrorCode::Invalid,
        ),
        (
            Message::text(format!(
                r#"{{"type":"say","client_id":"{}","text":"hi"}}"#,
                "c".repeat(65)
            )),
            ErrorCode::Invalid,
        ),
        (
            Message::text(format!(
                r#"{{"type":"say","client_id":"c1","text":"{long_text}"}}"#
            )),
            ErrorCode::Invalid,
        ),
        (
            Message::text(format!(
                r#"{{"type":"say","client_id":"c1","text":"{}"}}"#,
                "x".repeat(20_000)
            )),
            ErrorCode::TooLarge,
        ),
        (
            Message::binary(vec![0xde, 0xad, 0xbe, 0xef]),
            ErrorCode::BadFrame,
        ),
        (
            Message::text(r#"{"type":"hello","token":null,"last_seq":0}"#),
            ErrorCode::HelloFirst,
        ),
    ];
    for (frame, code) in cases {
        visitor.send_raw(frame).await;
        let (got, message) = visitor.error().await;
        assert_eq!(got, code, "{message}");
        assert!(!message.is_empty());
    }
    assert!(
        full_log(&server, &token).await.is_empty(),
        "nothing was stored"
    );

    // Still usable afterwards.
    visitor.ask("ok", "How long does shipping take?").await;
    let log = full_log(&server, &token).await;
    assert_eq!(log.len(), 2, "{log:#?}");
}

#[tokio::test]
async fn conversations_survive_a_restart_and_sockets_are_told_to_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let config = || baton::Config {
        demo: true,
        ..baton::Config::default()
    };

    let mut server = TestServer::start_on(db.clone(), config()).await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.ask("m1", "How long does shipping take?").await;
    let before = full_log(&server, &token).await;
    assert_eq!(before.len(), 2);

    server.stop().await;
    assert_eq!(
        visitor.closed().await,
        Some(1012),
        "service restart: come back"
    );

    let server = TestServer::start_on(db, config()).await;
    assert_eq!(full_log(&server, &token).await, before);
}

#[tokio::test]
async fn a_turn_left_unanswered_by_a_crash_is_answered_when_the_visitor_returns() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    drop(visitor);

    // As if the server died after acknowledging this message and before the
    // assistant's turn: stored, unanswered.
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let row = store
        .conversation_by_token(&baton::secret::digest(&token))
        .await
        .unwrap()
        .unwrap();
    let body = EventBody::Visitor {
        client_id: "m1".into(),
        text: "How long does shipping take?".into(),
    };
    store
        .append(
            row.id,
            baton::store::Guard::ANY,
            baton::store::Transition::Keep,
            &[body],
            baton::store::HandoffWrite::None,
            0,
        )
        .await
        .unwrap();

    let mut back = server.visitor().await;
    back.hello(Some(&token), 1).await;
    let answer = back.event().await;
    assert!(
        matches!(&answer.body, EventBody::Assistant { text, .. } if text.contains("business days")),
        "{answer:?}"
    );

    // Answered once, however many times the visitor comes back.
    let mut again = server.visitor().await;
    again.hello(Some(&token), 0).await;
    let log = full_log(&server, &token).await;
    assert_eq!(
        log.iter()
            .filter(|e| matches!(e.body, EventBody::Assistant { .. }))
            .count(),
        1,
        "{log:?}"
    );
}
