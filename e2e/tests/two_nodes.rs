//! Two `baton serve` processes on one PostgreSQL database, sharing nothing
//! else: the visitor talks to node A, the agent works on node B, and the
//! handoff journey runs across them — the queue, the claim, the responder's
//! name, typing, messages both ways and the hand back all arrive live. A
//! claim raced from both nodes has one winner, and when node B's listener
//! loses its connection it catches up from the log.
//!
//! Needs a PostgreSQL server: `BATON_TEST_DATABASE_URL` (`cargo xtask test`
//! starts one). Without it the test says so and passes, unless
//! `BATON_REQUIRE_POSTGRES` is set.
//!
//! Run alone: `cargo test -p baton-e2e --test two_nodes`.

use std::time::Duration;

use baton_e2e::child::ChildServer;
use baton_e2e::wire::{Socket, login, read_all_logs};
use baton_shared::{
    AgentRequest, AgentUpdate, ConversationId, ConversationState, ErrorCode, EventBody,
    VisitorRequest, VisitorUpdate,
};
use sqlx::Connection;

type Visitor = Socket<VisitorRequest, VisitorUpdate>;
type Agent = Socket<AgentRequest, AgentUpdate>;

const WAIT: Duration = Duration::from_secs(20);

/// Frames until `pick` finds what it wants, failing with `what` after
/// [`WAIT`] in all.
async fn until<Req, Upd, T>(
    socket: &mut Socket<Req, Upd>,
    what: &str,
    mut pick: impl FnMut(Upd) -> Option<T>,
) -> T
where
    Req: serde::Serialize,
    Upd: serde::de::DeserializeOwned,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.recv(left).await {
            Ok(update) => {
                if let Some(found) = pick(update) {
                    return found;
                }
            }
            Err(gone) => panic!("waiting for {what}: {gone:?}"),
        }
    }
}

async fn visitor_event(
    visitor: &mut Visitor,
    what: &str,
    want: impl Fn(&EventBody) -> bool,
) -> EventBody {
    until(visitor, what, |u| match u {
        VisitorUpdate::Event { event } if want(&event.body) => Some(event.body),
        _ => None,
    })
    .await
}

async fn agent_event(
    agent: &mut Agent,
    id: ConversationId,
    what: &str,
    want: impl Fn(&EventBody) -> bool,
) -> EventBody {
    until(agent, what, |u| match u {
        AgentUpdate::Event {
            conversation,
            event,
        } if conversation == id && want(&event.body) => Some(event.body),
        _ => None,
    })
    .await
}

/// A new conversation on `node`; its id, as the agent learns it from the
/// queue once the visitor asks for a person.
async fn visitor_on(node: &ChildServer) -> Visitor {
    let mut visitor = Visitor::connect(&node.ws_url("/ws/visitor"), None, WAIT)
        .await
        .expect("a visitor socket");
    visitor
        .send(&VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            page: Some("/two-nodes".into()),
            identity: None,
            metadata: Default::default(),
        })
        .await
        .unwrap();
    until(&mut visitor, "welcome", |u| {
        matches!(u, VisitorUpdate::Welcome { .. }).then_some(())
    })
    .await;
    visitor
}

async fn ask_for_a_person(
    visitor: &mut Visitor,
    agent: &mut Agent,
    client_id: &str,
) -> ConversationId {
    visitor
        .send(&VisitorRequest::RequestHuman {
            client_id: client_id.into(),
        })
        .await
        .unwrap();
    visitor_event(visitor, "the handoff notice", |b| {
        matches!(b, EventBody::HandoffStarted { .. })
    })
    .await;
    // The agent is on the other node: the queue reaches it live.
    until(agent, "the queue entry on the other node", |u| match u {
        AgentUpdate::Queue { entries } => entries
            .iter()
            .rev()
            .find(|e| e.state == ConversationState::Queued)
            .map(|e| e.conversation),
        _ => None,
    })
    .await
}

async fn sign_in(node: &ChildServer, email: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(node.url("/api/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("a login request");
    assert_eq!(response.status(), 200, "login as {email}");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    cookie.split(';').next().unwrap().to_string()
}

/// Two nodes with `config` on a fresh PostgreSQL database, and its URL;
/// `None` (saying so) when there is no PostgreSQL server and none is
/// required.
async fn two_nodes(config: &str) -> Option<(String, ChildServer, ChildServer)> {
    let Some(admin) = baton::store::test_postgres() else {
        eprintln!("skipped: set BATON_TEST_DATABASE_URL to run the two-node test");
        return None;
    };
    let url = baton::store::create_postgres_database(&admin, "baton_n")
        .await
        .expect("a fresh database");
    let binary = env!("CARGO_BIN_EXE_baton-under-test");
    let a = ChildServer::start_on(binary, Some(&url), config, None).await;
    let b = ChildServer::start_on(binary, Some(&url), config, None).await;
    Some((url, a, b))
}

#[tokio::test]
async fn the_handoff_journey_runs_across_two_nodes() {
    // No per-socket frame limit: the log reader at the end probes ids
    // faster than a person would.
    let Some((url, a, b)) = two_nodes("[limits]\nframes_per_second = 0\n").await else {
        return;
    };

    // Signed in on A, working on B: sessions live in the shared database.
    let cookie = login(&a.url("")).await;
    let mut agent = Agent::connect(&b.ws_url("/ws/agent"), Some(&cookie), WAIT)
        .await
        .expect("an agent socket on node B");
    until(&mut agent, "the agent's hello", |u| {
        matches!(u, AgentUpdate::Hello { .. }).then_some(())
    })
    .await;

    // The assistant answers on A.
    let mut visitor = visitor_on(&a).await;
    visitor
        .send(&VisitorRequest::Say {
            client_id: "v1".into(),
            text: "How long does shipping take?".into(),
        })
        .await
        .unwrap();
    visitor_event(
        &mut visitor,
        "the assistant's answer",
        |b| matches!(b, EventBody::Assistant { text, .. } if text.contains("business days")),
    )
    .await;

    // The button on A; the queue on B; the claim on B reaches A.
    let id = ask_for_a_person(&mut visitor, &mut agent, "v2").await;
    agent
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await
        .unwrap();
    agent_event(&mut agent, id, "the backlog on B", |b| {
        matches!(b, EventBody::HandoffStarted { .. })
    })
    .await;
    agent
        .send(&AgentRequest::Claim { conversation: id })
        .await
        .unwrap();
    let joined = visitor_event(&mut visitor, "the agent joining, on A", |b| {
        matches!(b, EventBody::AgentJoined { .. })
    })
    .await;
    assert_eq!(joined, EventBody::AgentJoined { name: "Mia".into() });

    // Typing both ways, between nodes.
    agent
        .send(&AgentRequest::Typing {
            conversation: id,
            typing: true,
        })
        .await
        .unwrap();
    until(&mut visitor, "Mia typing, on A", |u| match u {
        VisitorUpdate::Typing { name, typing: true } => (name == "Mia").then_some(()),
        _ => None,
    })
    .await;
    visitor
        .send(&VisitorRequest::Typing { typing: true })
        .await
        .unwrap();
    until(&mut agent, "the visitor typing, on B", |u| match u {
        AgentUpdate::Typing {
            conversation,
            typing: true,
        } => (conversation == id).then_some(()),
        _ => None,
    })
    .await;

    // Messages both ways.
    agent
        .send(&AgentRequest::Reply {
            conversation: id,
            client_id: "a1".into(),
            text: "Hi, I'm Mia. Let me look.".into(),
        })
        .await
        .unwrap();
    visitor_event(
        &mut visitor,
        "Mia's reply, on A",
        |b| matches!(b, EventBody::Agent { text, .. } if text.contains("Let me look")),
    )
    .await;
    visitor
        .send(&VisitorRequest::Say {
            client_id: "v3".into(),
            text: "Order 1234, thanks".into(),
        })
        .await
        .unwrap();
    agent_event(
        &mut agent,
        id,
        "the visitor's message, on B",
        |b| matches!(b, EventBody::Visitor { text, .. } if text == "Order 1234, thanks"),
    )
    .await;

    // B's listener loses its connection; what is written meanwhile on A
    // still reaches B, read back from the log.
    let mut admin_db = sqlx::PgConnection::connect(&url)
        .await
        .expect("an admin connection");
    let cut: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(&mut admin_db)
    .await
    .unwrap();
    assert_eq!(cut, 2, "each node listens once");
    for n in 0..3 {
        visitor
            .send(&VisitorRequest::Say {
                client_id: format!("gap{n}"),
                text: format!("while B was deaf {n}"),
            })
            .await
            .unwrap();
    }
    for n in 0..3 {
        let text = format!("while B was deaf {n}");
        agent_event(
            &mut agent,
            id,
            "messages sent while B's listener was away",
            |b| matches!(b, EventBody::Visitor { text: t, .. } if *t == text),
        )
        .await;
    }

    // A claim raced from both nodes has one winner: Leo on A, Mia on B.
    let store = baton::store::Store::connect(&url)
        .await
        .expect("the shared database");
    baton::team::add_agent(&store, "leo@example.com", "Leo", "leo-password-1")
        .await
        .expect("a second agent");
    let leo = sign_in(&a, "leo@example.com", "leo-password-1").await;
    let mut agent_on_a = Agent::connect(&a.ws_url("/ws/agent"), Some(&leo), WAIT)
        .await
        .expect("an agent socket on node A");
    let mut second = visitor_on(&b).await;
    let other = ask_for_a_person(&mut second, &mut agent, "w1").await;
    until(&mut agent_on_a, "the queue on A", |u| match u {
        AgentUpdate::Queue { entries } => entries
            .iter()
            .any(|e| e.conversation == other)
            .then_some(()),
        _ => None,
    })
    .await;
    let claim = AgentRequest::Claim {
        conversation: other,
    };
    let (sent_a, sent_b) = tokio::join!(agent_on_a.send(&claim), agent.send(&claim));
    sent_a.unwrap();
    sent_b.unwrap();
    // Each socket sees the claimed conversation in its queue; the loser is
    // also refused, before or after that.
    let mut outcomes = Vec::new();
    for socket in [&mut agent_on_a, &mut agent] {
        let mut refused = false;
        let holder = until(
            socket,
            "the claimed conversation in the queue",
            |u| match u {
                AgentUpdate::Error { code, .. } => {
                    assert_eq!(code, ErrorCode::Conflict);
                    refused = true;
                    None
                }
                AgentUpdate::Queue { entries } => entries
                    .into_iter()
                    .find(|e| e.conversation == other && e.state == ConversationState::Human)
                    .and_then(|e| e.agent),
                _ => None,
            },
        )
        .await;
        outcomes.push((holder.name, refused));
    }
    let winner = outcomes[0].0.clone();
    assert_eq!(outcomes[1].0, winner, "both nodes show the same holder");
    let (winner_socket_refused, loser) = if winner == "Leo" {
        (outcomes[0].1, &mut agent)
    } else {
        (outcomes[1].1, &mut agent_on_a)
    };
    assert!(!winner_socket_refused, "{winner}'s claim won");
    let loser_refused = outcomes.iter().any(|(_, refused)| *refused);
    if !loser_refused {
        let code = until(loser, "the losing claim's refusal", |u| match u {
            AgentUpdate::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
        assert_eq!(code, ErrorCode::Conflict);
    }
    let joins = read_all_logs(&a.ws_url("/ws/agent"), &cookie).await[&other]
        .iter()
        .filter(|e| matches!(e.body, EventBody::AgentJoined { .. }))
        .count();
    assert_eq!(joins, 1);

    // Handed back on B; the assistant answers again on A.
    agent
        .send(&AgentRequest::Resume { conversation: id })
        .await
        .unwrap();
    let resumed = visitor_event(&mut visitor, "the assistant back, on A", |b| {
        matches!(b, EventBody::AssistantResumed { .. })
    })
    .await;
    assert_eq!(
        resumed,
        EventBody::AssistantResumed {
            name: "Nova".into()
        }
    );
    visitor
        .send(&VisitorRequest::Say {
            client_id: "v4".into(),
            text: "Which payment methods do you accept?".into(),
        })
        .await
        .unwrap();
    visitor_event(
        &mut visitor,
        "the assistant's answer after the hand back",
        |b| matches!(b, EventBody::Assistant { text, .. } if text.contains("PayPal")),
    )
    .await;

    // Both nodes read the same logs.
    let on_a = read_all_logs(&a.ws_url("/ws/agent"), &cookie).await;
    let on_b = read_all_logs(&b.ws_url("/ws/agent"), &cookie).await;
    assert_eq!(on_a, on_b);
    assert_eq!(on_a.len(), 2);
}

/// What node `node` would answer `title` with: the phrasings its
/// knowledge base has for that article.
async fn phrasings_on(node: &ChildServer, cookie: &str, title: &str) -> Vec<String> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(node.url("/api/knowledge"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("the articles")
        .json()
        .await
        .expect("articles as JSON");
    body["articles"]
        .as_array()
        .expect("a list of articles")
        .iter()
        .find(|a| a["title"] == title)
        .map(|a| serde_json::from_value(a["phrasings"].clone()).unwrap())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lesson_taught_on_one_node_is_answered_on_the_other() {
    let Some((_, a, b)) = two_nodes("").await else {
        return;
    };
    let wording = "Will my sneakers be with me before the weekend?";
    let shipping = "How long does shipping take?";

    // Handed off on A (the demo knowledge base has none of these words).
    let cookie = login(&b.url("")).await;
    let mut agent = Agent::connect(&b.ws_url("/ws/agent"), Some(&cookie), WAIT)
        .await
        .expect("an agent socket on node B");
    let mut visitor = visitor_on(&a).await;
    visitor
        .send(&VisitorRequest::Say {
            client_id: "v1".into(),
            text: wording.into(),
        })
        .await
        .unwrap();
    visitor_event(&mut visitor, "the handoff on A", |b| {
        matches!(b, EventBody::HandoffStarted { .. })
    })
    .await;
    let id = until(&mut agent, "the queue entry on B", |u| match u {
        AgentUpdate::Queue { entries } => entries.first().map(|e| e.conversation),
        _ => None,
    })
    .await;

    // Taught on B.
    agent
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await
        .unwrap();
    agent
        .send(&AgentRequest::Teach {
            conversation: id,
            article: shipping.into(),
            phrasing: wording.into(),
            answer: None,
        })
        .await
        .unwrap();
    until(&mut agent, "the lesson in the detail on B", |u| match u {
        AgentUpdate::Conversation { detail } => (!detail.lessons.is_empty()).then_some(()),
        AgentUpdate::Error { message, .. } => panic!("teach: {message}"),
        _ => None,
    })
    .await;
    assert_eq!(phrasings_on(&b, &cookie, shipping).await, [wording]);

    // A hears of it from the database and learns it.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while phrasings_on(&a, &cookie, shipping).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node A never learned the lesson taught on B"
        );
        tick.tick().await;
    }
    let mut next = visitor_on(&a).await;
    next.send(&VisitorRequest::Say {
        client_id: "v1".into(),
        text: wording.into(),
    })
    .await
    .unwrap();
    let answered = visitor_event(&mut next, "the answer on A", |b| {
        matches!(
            b,
            EventBody::Assistant { .. } | EventBody::HandoffStarted { .. }
        )
    })
    .await;
    assert!(
        matches!(&answered, EventBody::Assistant { text, .. } if text.contains("business days")),
        "{answered:?}"
    );
}
