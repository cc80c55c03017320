//! The protocol at its edges, as a client written from the docs would hit
//! them: requests about a conversation that does not exist, a `last_seq`
//! past any log, and a client id reused by the other side. Each is refused
//! (or answered) as the docs say, with no database text, and changes
//! nothing.

mod support;

use baton_shared::*;
use support::*;
use tokio_tungstenite::tungstenite::Message;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");

type Agent = Client<AgentRequest, AgentUpdate>;

/// Frames up to the error a bad frame brings: what arrived before it.
async fn until_bad_frame(agent: &mut Agent) -> Vec<AgentUpdate> {
    agent.send_raw(Message::text("{}")).await;
    let mut before = Vec::new();
    loop {
        match agent.next().await {
            AgentUpdate::Error {
                code: ErrorCode::BadFrame,
                ..
            } => return before,
            other => before.push(other),
        }
    }
}

#[tokio::test]
async fn every_request_about_a_conversation_that_does_not_exist_is_not_found() {
    let server = TestServer::start().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    agent.queue().await;
    let missing: ConversationId = 4242;
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let leo = baton::team::add_agent(&store, "leo@example.com", "Leo", "leo-password-1")
        .await
        .unwrap();
    let requests = [
        AgentRequest::Watch {
            conversation: missing,
            last_seq: 0,
        },
        AgentRequest::Claim {
            conversation: missing,
        },
        AgentRequest::Reply {
            conversation: missing,
            client_id: "r1".into(),
            text: "Hello?".into(),
        },
        AgentRequest::Resume {
            conversation: missing,
        },
        AgentRequest::Close {
            conversation: missing,
        },
        AgentRequest::Release {
            conversation: missing,
        },
        AgentRequest::Transfer {
            conversation: missing,
            to: leo.id,
        },
        AgentRequest::Typing {
            conversation: missing,
            typing: true,
        },
        AgentRequest::Verdict {
            conversation: missing,
            verdict: Verdict::HandoffRight,
        },
        AgentRequest::Teach {
            conversation: missing,
            article: "How long does shipping take?".into(),
            phrasing: "when will it come".into(),
            answer: None,
        },
    ];
    for request in requests {
        agent.send(&request).await;
        let (code, message) = agent.error().await;
        assert_eq!(code, ErrorCode::NotFound, "{request:?}: {message}");
        assert!(message.contains("4242"), "{request:?}: {message}");
        for leak in ["database", "rows", "query"] {
            assert!(!message.contains(leak), "{request:?}: {message}");
        }
    }
    // Nothing was created on the way.
    assert!(store.conversation(missing).await.unwrap().is_none());
}

#[tokio::test]
async fn a_last_seq_past_any_log_replays_nothing() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.ask("m1", "How long does shipping take?").await;
    visitor.press_human().await;
    drop(visitor);

    // 2^63 and more used to wrap to a negative number: the whole log again.
    for last_seq in [1 << 63, u64::MAX] {
        let mut visitor = server.visitor().await;
        let welcome = visitor.hello(Some(&token), last_seq).await;
        assert!(
            matches!(welcome, VisitorUpdate::Welcome { .. }),
            "{welcome:?}"
        );
        assert_eq!(backlog(&mut visitor).await, [], "hello at {last_seq}");
    }

    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    let id = agent.queue().await[0].conversation;
    for last_seq in [1 << 63, u64::MAX] {
        agent
            .send(&AgentRequest::Watch {
                conversation: id,
                last_seq,
            })
            .await;
        let replayed: Vec<_> = until_bad_frame(&mut agent)
            .await
            .into_iter()
            .filter(|u| matches!(u, AgentUpdate::Event { .. }))
            .collect();
        assert_eq!(replayed, [], "watch at {last_seq}");
    }
    // From 0, everything.
    agent
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await;
    let replayed = until_bad_frame(&mut agent)
        .await
        .into_iter()
        .filter(|u| matches!(u, AgentUpdate::Event { .. }))
        .count();
    assert!(replayed >= 3, "{replayed} events from 0");
}

#[tokio::test]
async fn an_agent_reply_never_takes_over_the_visitors_client_id() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let asked = visitor.say("shared-id", "Is anyone there?").await;
    visitor.press_human().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    let id = agent.queue().await[0].conversation;
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    let reply = |client_id: &str| AgentRequest::Reply {
        conversation: id,
        client_id: client_id.into(),
        text: "Mia here.".into(),
    };

    // The visitor's id: refused, not acknowledged with the visitor's seq.
    agent.send(&reply("shared-id")).await;
    let refused = agent
        .until(|u| match u {
            AgentUpdate::Ack { client_id, seq } => panic!("acked {client_id} as {seq}"),
            AgentUpdate::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await;
    assert_eq!(refused, (ErrorCode::Conflict, Some("shared-id".into())));
    // A fresh id goes through; the visitor's retry is still a retry.
    agent.send(&reply("mia-1")).await;
    let replied = agent
        .until(|u| match u {
            AgentUpdate::Ack { client_id, seq } if client_id == "mia-1" => Some(seq),
            AgentUpdate::Error { message, .. } => panic!("{message}"),
            _ => None,
        })
        .await;
    assert!(replied > asked);
    assert_eq!(visitor.say("shared-id", "Is anyone there?").await, asked);

    let log = full_log(&server, &token).await;
    let bodies: Vec<_> = log
        .iter()
        .filter(|e| e.body.client_id().is_some())
        .map(|e| (e.body.kind(), e.body.client_id().unwrap().to_string()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("visitor", "shared-id".to_string()),
            ("agent", "mia-1".to_string())
        ]
    );
}

/// Characters that make text read otherwise than it is — a right-to-left
/// override turning "exe.png" around, invisible spaces — are not stored;
/// joiners that emoji and scripts need are.
#[tokio::test]
async fn hidden_direction_and_invisible_characters_are_not_stored() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor
        .say(
            "m1",
            "Open inv\u{202E}gnp.exe\u{202C} now\u{200B}\u{2066}!\u{2069} 👩\u{200D}💻",
        )
        .await;
    visitor
        .send(&VisitorRequest::Say {
            client_id: "m2".into(),
            text: "\u{200B}\u{202E}\u{FEFF} ".into(),
        })
        .await;
    let (code, _) = visitor.error().await;
    assert_eq!(
        code,
        ErrorCode::Invalid,
        "nothing visible is an empty message"
    );
    visitor.press_human().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut agent = server.agent(&cookie).await;
    let id = agent.queue().await[0].conversation;
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    agent
        .send(&AgentRequest::Reply {
            conversation: id,
            client_id: "r1".into(),
            text: "See \u{202D}the\u{202C} label\u{2060}.".into(),
        })
        .await;
    agent
        .until(|u| match u {
            AgentUpdate::Ack { client_id, .. } if client_id == "r1" => Some(()),
            AgentUpdate::Error { message, .. } => panic!("{message}"),
            _ => None,
        })
        .await;
    let texts: Vec<String> = full_log(&server, &token)
        .await
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Visitor { text, .. } | EventBody::Agent { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        ["Open invgnp.exe now! 👩\u{200D}💻", "See the label."]
    );
}

/// A widget socket that never says hello is told why and closed properly
/// (so a client can tell it from a network failure).
#[tokio::test]
async fn a_socket_that_never_says_hello_is_told_and_closed() {
    let mut config = baton::Config::default();
    config.limits.hello_timeout_ms = 200;
    let server = TestServer::start_with(config).await;
    let mut silent = server.visitor().await;
    let (code, message) = silent.error().await;
    assert_eq!(code, ErrorCode::HelloFirst, "{message}");
    assert_eq!(silent.closed().await, Some(1008));
}
