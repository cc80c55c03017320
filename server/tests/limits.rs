//! Rate limits and frames the WebSocket layer itself cannot read, over real
//! sockets: every refusal is an error frame, nothing refused is stored, and
//! the server carries on.

mod support;

use std::time::Instant;

use baton::Config;
use baton::config::Limits;
use baton_shared::*;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

fn limited(limits: Limits) -> Config {
    Config {
        demo: true,
        limits,
        ..Config::default()
    }
}

/// What each `say` got back, in order: its ack's seq, or the error code.
async fn replies(
    visitor: &mut Client<VisitorRequest, VisitorUpdate>,
    n: usize,
) -> Vec<Result<Seq, ErrorCode>> {
    let mut outcomes = Vec::new();
    while outcomes.len() < n {
        match visitor.next().await {
            VisitorUpdate::Ack { seq, .. } => outcomes.push(Ok(seq)),
            VisitorUpdate::Error { code, .. } => outcomes.push(Err(code)),
            _ => {}
        }
    }
    outcomes
}

#[tokio::test]
async fn a_socket_sending_too_fast_gets_rate_limited_frames_and_stays_usable() {
    let limits = Limits {
        frames_per_second: 1,
        frame_burst: 3,
        ..Limits::default()
    };
    let server = TestServer::start_with(limited(limits)).await;
    let mut visitor = server.visitor().await;
    let started = Instant::now();
    let token = new_conversation(&mut visitor).await; // the first frame of the burst

    for i in 0..8 {
        let say = VisitorRequest::Say {
            client_id: format!("m{i}"),
            text: format!("Question {i} about shipping"),
        };
        visitor.send(&say).await;
    }
    let outcomes = replies(&mut visitor, 8).await;
    let elapsed = started.elapsed().as_secs();

    let accepted: Vec<usize> = (0..8).filter(|&i| outcomes[i].is_ok()).collect();
    let limited = outcomes
        .iter()
        .filter(|o| **o == Err(ErrorCode::RateLimited))
        .count();
    assert_eq!(
        accepted.len() + limited,
        8,
        "every frame is acked or rate limited: {outcomes:?}"
    );
    assert!(
        limited >= 1,
        "nine frames in a burst of three: {outcomes:?}"
    );
    // GCRA admits at most the burst plus one a second; the hello took one.
    assert!(
        accepted.len() as u64 <= 2 + elapsed,
        "{} accepted in {elapsed}s: {outcomes:?}",
        accepted.len()
    );
    assert!(accepted.len() >= 2, "the burst is honoured: {outcomes:?}");

    // Only what was acknowledged is stored, once each.
    let log = full_log(&server, &token).await;
    let stored: Vec<&str> = log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Visitor { client_id, .. } => Some(client_id.as_str()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = accepted.iter().map(|i| format!("m{i}")).collect();
    assert_eq!(stored, expected);

    // Once the budget refills, a resend of a refused message goes through on
    // the same socket.
    let refused = (0..8).find(|i| outcomes[*i].is_err()).unwrap();
    let client_id = format!("m{refused}");
    let resend = VisitorRequest::Say {
        client_id: client_id.clone(),
        text: format!("Question {refused} about shipping"),
    };
    let deadline = Instant::now() + DEADLINE;
    loop {
        visitor.send(&resend).await;
        match replies(&mut visitor, 1).await[0] {
            Ok(_) => break,
            Err(ErrorCode::RateLimited) if Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await; // poll interval
            }
            other => panic!("the resend of {client_id}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_agent_socket_is_rate_limited_too() {
    let limits = Limits {
        frames_per_second: 1,
        frame_burst: 2,
        ..Limits::default()
    };
    let server = TestServer::start_with(limited(limits)).await;
    let cookie = server.login("demo@baton.local", "baton-demo").await;
    let mut agent = server.agent(&cookie).await;
    agent.queue().await;
    for _ in 0..6 {
        agent
            .send(&AgentRequest::Watch {
                conversation: 424242,
                last_seq: 0,
            })
            .await;
    }
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(agent.error().await.0);
    }
    assert!(
        codes
            .iter()
            .all(|c| matches!(c, ErrorCode::NotFound | ErrorCode::RateLimited)),
        "{codes:?}"
    );
    assert!(codes.contains(&ErrorCode::RateLimited), "{codes:?}");
    assert!(
        codes.contains(&ErrorCode::NotFound),
        "the burst is served: {codes:?}"
    );
}

#[tokio::test]
async fn an_address_opening_too_many_sockets_is_told_to_try_later() {
    let limits = Limits {
        connections_per_minute: 2,
        ..Limits::default()
    };
    let server = TestServer::start_with(limited(limits)).await;
    let cookie = server.login("demo@baton.local", "baton-demo").await; // HTTP: not counted

    let mut first = server.visitor().await;
    new_conversation(&mut first).await;
    let mut agent = server.agent(&cookie).await; // the second socket from 127.0.0.1
    agent.queue().await;

    let mut third = server.visitor().await;
    match third.next().await {
        VisitorUpdate::Error {
            code: ErrorCode::RateLimited,
            message,
            ..
        } => assert!(!message.is_empty()),
        other => panic!("expected a rate_limited error frame, got {other:?}"),
    }
    assert_eq!(third.closed().await, Some(1013), "try again later");

    let mut another_agent = server.agent(&cookie).await;
    assert_eq!(
        another_agent.error().await.0,
        ErrorCode::RateLimited,
        "both sockets share the budget"
    );

    // The sockets already open are not affected.
    first.ask("m1", "How long does shipping take?").await;
    agent
        .send(&AgentRequest::Watch {
            conversation: 424242,
            last_seq: 0,
        })
        .await;
    assert_eq!(agent.error().await.0, ErrorCode::NotFound);
}

/// A text frame whose payload is not UTF-8 is a protocol error (RFC 6455
/// says fail the connection): tungstenite refuses to read it, and the
/// server answers with an error frame and closes with 1007.
#[tokio::test]
async fn invalid_utf8_gets_an_error_frame_and_a_1007_close_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.ask("m1", "How long does shipping take?").await;
    let before = full_log(&server, &token).await;

    let payload = br#"{"type":"say","client_id":"m2","text":"caf"#
        .iter()
        .copied()
        .chain([0xc3, 0x28, 0xff]) // a broken two-byte sequence, then a byte UTF-8 never uses
        .chain(br#""}"#.iter().copied())
        .collect::<Vec<u8>>();
    visitor
        .send_raw(Message::Frame(Frame::message(
            payload,
            OpCode::Data(Data::Text),
            true,
        )))
        .await;
    let (code, message) = visitor.error().await;
    assert_eq!(code, ErrorCode::BadFrame);
    assert!(message.contains("UTF-8"), "{message}");
    assert_eq!(
        visitor.closed().await,
        Some(1007),
        "invalid frame payload data"
    );

    assert_eq!(
        full_log(&server, &token).await,
        before,
        "nothing was stored"
    );
    // The same conversation carries on over a new socket.
    let mut again = server.visitor().await;
    again.hello(Some(&token), before.last().unwrap().seq).await;
    again
        .ask("m2", "Which payment methods do you accept?")
        .await;

    // The agent socket answers the same way.
    let cookie = server.login("demo@baton.local", "baton-demo").await;
    let mut agent = server.agent(&cookie).await;
    agent.queue().await;
    agent
        .send_raw(Message::Frame(Frame::message(
            vec![b'"', 0xff, b'"'],
            OpCode::Data(Data::Text),
            true,
        )))
        .await;
    assert_eq!(agent.error().await.0, ErrorCode::BadFrame);
    assert_eq!(agent.closed().await, Some(1007));
}

/// Above the library's hard cap (four times `max_frame_bytes`) a frame is
/// not even read: the server sends an error frame and a 1009 close and
/// drops the socket. The unread rest of the frame makes the kernel reset
/// the connection, which can overtake the close frame, so the client may
/// see the reset instead. Below the cap, the frame gets `too_large` and
/// the socket stays open (see `delivery.rs`).
#[tokio::test]
async fn a_frame_over_the_hard_cap_closes_the_socket_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let huge = format!(
        r#"{{"type":"say","client_id":"big","text":"{}"}}"#,
        "x".repeat(DEFAULT_MAX_FRAME_BYTES * 4)
    );
    visitor.send_raw(Message::text(huge)).await;
    let (code, _) = visitor.error().await;
    assert_eq!(code, ErrorCode::TooLarge);
    let closed = visitor.closed().await;
    assert!(
        matches!(closed, Some(1009) | None),
        "message too big, or reset: {closed:?}"
    );
    assert!(full_log(&server, &token).await.is_empty());
}
