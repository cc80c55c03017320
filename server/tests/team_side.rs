//! The team side over real sockets: verified identities, allowed origins,
//! typing and read receipts, release and transfer, the satisfaction rating,
//! and sign-in throttling.

mod support;

use baton::config::Visitors;
use baton_shared::*;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");
const SECRET: &str = "site-identity-secret";

fn with_identity_secret(require: bool) -> baton::Config {
    baton::Config {
        demo: true,
        visitors: Visitors {
            identity_secret: Some(SECRET.into()),
            require_verified_identity: require,
            ..Visitors::default()
        },
        ..baton::Config::default()
    }
}

fn claim(tier: &str, hash: Option<String>) -> IdentityClaim {
    IdentityClaim {
        user_id: "u-42".into(),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        tier: Some(tier.into()),
        user_hash: hash,
    }
}

async fn hello_as(
    server: &TestServer,
    identity: Option<IdentityClaim>,
) -> (Client<VisitorRequest, VisitorUpdate>, VisitorUpdate) {
    let mut visitor = server.visitor().await;
    visitor
        .send(&VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            page: None,
            identity,
            metadata: Default::default(),
        })
        .await;
    let welcome = visitor.next().await;
    (visitor, welcome)
}

/// Mia, signed in, watching the first conversation in the queue.
async fn watching_first_in_queue(
    server: &TestServer,
) -> (Client<AgentRequest, AgentUpdate>, ConversationId) {
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let id = agent.queue().await[0].conversation;
    agent
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await;
    (agent, id)
}

#[tokio::test]
async fn only_a_verified_identity_counts_for_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path().join("b.db"), with_identity_secret(false)).await;
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    agent.queue().await;

    // A verified tier-1 customer goes straight to a person.
    let valid = claim("tier-1", Some(baton::identity::user_hash(SECRET, "u-42")));
    let (mut vip, _) = hello_as(&server, Some(valid)).await;
    vip.say("m1", "How long does shipping take?").await;
    vip.event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;
    let entries = agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } if !entries.is_empty() => Some(entries),
            _ => None,
        })
        .await;
    let identity = entries[0].identity.clone().expect("identity in the queue");
    assert!(identity.verified);
    assert_eq!(identity.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(entries[0].mechanism, Mechanism::Rule);

    // The same claim with a wrong or missing hash is kept, unverified, and
    // the assistant answers as for anyone.
    for hash in [Some(baton::identity::user_hash("guessed", "u-42")), None] {
        let (mut claimed, _) = hello_as(&server, Some(claim("tier-1", hash))).await;
        let answer = claimed.ask("m1", "How long does shipping take?").await;
        assert!(matches!(answer.body, EventBody::Assistant { .. }));
        claimed.press_human().await;
    }
    let entries = agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } if entries.len() == 3 => Some(entries),
            _ => None,
        })
        .await;
    for entry in &entries[1..] {
        let identity = entry.identity.as_ref().unwrap();
        assert!(!identity.verified, "{entry:?}");
        assert_eq!(entry.mechanism, Mechanism::User);
    }

    // Oversized claims are refused and open nothing.
    let mut long = claim("tier-1", None);
    long.user_id = "x".repeat(300);
    let (_, refused) = hello_as(&server, Some(long)).await;
    assert!(
        matches!(
            refused,
            VisitorUpdate::Error {
                code: ErrorCode::Invalid,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_site_can_require_verified_visitors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path().join("b.db"), with_identity_secret(true)).await;
    for identity in [None, Some(claim("basic", Some("00".repeat(32))))] {
        let (_, refused) = hello_as(&server, identity).await;
        assert!(
            matches!(
                refused,
                VisitorUpdate::Error {
                    code: ErrorCode::Unauthorized,
                    ..
                }
            ),
            "{refused:?}"
        );
    }
    let valid = claim("basic", Some(baton::identity::user_hash(SECRET, "u-42")));
    let (_, welcome) = hello_as(&server, Some(valid)).await;
    assert!(
        matches!(welcome, VisitorUpdate::Welcome { token: Some(_), .. }),
        "{welcome:?}"
    );
}

/// A socket opened from a page with `Origin: origin`.
async fn from_page(server: &TestServer, origin: &str) -> Client<VisitorRequest, VisitorUpdate> {
    let mut request = format!("ws://{}/ws/visitor", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade is accepted, even to refuse");
    Client::from_stream(ws)
}

#[tokio::test]
async fn only_allowed_origins_may_open_the_widget_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = baton::Config {
        visitors: Visitors {
            allowed_origins: Some(vec!["https://shop.example".into()]),
            ..Visitors::default()
        },
        ..baton::Config::default()
    };
    let server = TestServer::start_on(dir.path().join("b.db"), config).await;

    // Refused, and told why in a way a browser page can read: an error
    // frame naming the origin and the setting, then close 1008.
    let mut evil = from_page(&server, "https://evil.example").await;
    let (code, message) = evil.error().await;
    assert_eq!(code, ErrorCode::OriginNotAllowed);
    assert!(
        message.contains("\"https://evil.example\"") && message.contains("allowed_origins"),
        "{message}"
    );
    assert_eq!(evil.closed().await, Some(1008));

    for origin in ["https://shop.example", &format!("http://{}", server.addr)] {
        let mut allowed = from_page(&server, origin).await;
        assert!(
            matches!(
                allowed.hello(None, 0).await,
                VisitorUpdate::Welcome { token: Some(_), .. }
            ),
            "{origin} is listed, or the server's own"
        );
    }
}

#[tokio::test]
async fn any_site_may_open_the_widget_socket_until_the_owner_lists_theirs() {
    let server = TestServer::start().await;
    let mut visitor = from_page(&server, "https://anyone.example").await;
    assert!(matches!(
        visitor.hello(None, 0).await,
        VisitorUpdate::Welcome { token: Some(_), .. }
    ));
}

#[tokio::test]
async fn typing_and_read_receipts_pass_between_visitor_and_agent() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;

    // The assistant "types" while it prepares an answer.
    visitor
        .send(&VisitorRequest::Say {
            client_id: "m1".into(),
            text: "How long does shipping take?".into(),
        })
        .await;
    let typing = visitor
        .until(|u| match u {
            VisitorUpdate::Typing { name, typing } => Some((name, typing)),
            _ => None,
        })
        .await;
    assert_eq!(typing, ("Nova".to_string(), true));
    visitor
        .event_where(|b| matches!(b, EventBody::Assistant { .. }))
        .await;

    visitor.press_human().await;
    let (mut agent, id) = watching_first_in_queue(&server).await;
    agent.detail().await;
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    let joined = visitor
        .event_where(|b| matches!(b, EventBody::AgentJoined { .. }))
        .await;

    agent
        .send(&AgentRequest::Typing {
            conversation: id,
            typing: true,
        })
        .await;
    let typing = visitor
        .until(|u| match u {
            VisitorUpdate::Typing { name, typing } => Some((name, typing)),
            _ => None,
        })
        .await;
    assert_eq!(typing, ("Mia".to_string(), true));

    visitor.send(&VisitorRequest::Typing { typing: true }).await;
    let seen = agent
        .until(|u| match u {
            AgentUpdate::Typing {
                conversation,
                typing,
            } => Some((conversation, typing)),
            _ => None,
        })
        .await;
    assert_eq!(seen, (id, true));

    visitor
        .send(&VisitorRequest::Read { seq: joined.seq })
        .await;
    let read = agent
        .until(|u| match u {
            AgentUpdate::Read { conversation, seq } => Some((conversation, seq)),
            _ => None,
        })
        .await;
    assert_eq!(read, (id, joined.seq));
    // Receipts never move back, nor past the log.
    visitor.send(&VisitorRequest::Read { seq: 1 }).await;
    visitor.send(&VisitorRequest::Read { seq: 10_000 }).await;
    let mut again = server.agent(&server.login(MIA.0, MIA.1).await).await;
    again.queue().await;
    again
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await;
    let detail = again.detail().await;
    assert!(
        detail.visitor_read >= joined.seq && detail.visitor_read <= joined.seq + 1,
        "{}",
        detail.visitor_read
    );
}

#[tokio::test]
async fn release_and_transfer_move_the_conversation_between_people() {
    let server = TestServer::start().await;
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let leo_ref = baton::team::add_agent(&store, "leo@baton.local", "Leo", "leo-password")
        .await
        .unwrap();

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor.press_human().await;

    let mut mia = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let AgentUpdate::Hello { team, .. } = mia.next().await else {
        panic!("hello first")
    };
    assert_eq!(
        team.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["Leo", "Mia"]
    );
    let id = mia.queue().await[0].conversation;
    let mut leo = server
        .agent(&server.login("leo@baton.local", "leo-password").await)
        .await;
    leo.queue().await;

    mia.send(&AgentRequest::Claim { conversation: id }).await;
    visitor
        .event_where(|b| matches!(b, EventBody::AgentJoined { .. }))
        .await;
    mia.send(&AgentRequest::Transfer {
        conversation: id,
        to: 999,
    })
    .await;
    assert_eq!(mia.error().await.0, ErrorCode::Invalid, "no such agent");
    mia.send(&AgentRequest::Transfer {
        conversation: id,
        to: leo_ref.id,
    })
    .await;
    let joined = visitor
        .event_where(|b| matches!(b, EventBody::AgentJoined { .. }))
        .await;
    assert_eq!(joined.body, EventBody::AgentJoined { name: "Leo".into() });

    // Now only Leo answers.
    mia.send(&AgentRequest::Reply {
        conversation: id,
        client_id: "r1".into(),
        text: "hi".into(),
    })
    .await;
    let refused = mia
        .until(|u| match u {
            AgentUpdate::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await;
    assert_eq!(
        refused,
        (ErrorCode::Conflict, Some("r1".to_string())),
        "the error names the refused reply"
    );
    leo.send(&AgentRequest::Reply {
        conversation: id,
        client_id: "r2".into(),
        text: "Leo here.".into(),
    })
    .await;
    visitor
        .event_where(|b| matches!(b, EventBody::Agent { name, .. } if name == "Leo"))
        .await;

    // Leo releases: back in the queue, and anyone may claim it.
    leo.send(&AgentRequest::Release { conversation: id }).await;
    let left = visitor
        .event_where(|b| matches!(b, EventBody::AgentLeft { .. }))
        .await;
    assert_eq!(left.body, EventBody::AgentLeft { name: "Leo".into() });
    let entries = mia
        .until(|u| match u {
            AgentUpdate::Queue { entries }
                if entries.iter().any(|e| e.state == ConversationState::Queued) =>
            {
                Some(entries)
            }
            _ => None,
        })
        .await;
    assert_eq!(entries[0].agent, None);
    mia.send(&AgentRequest::Claim { conversation: id }).await;
    let joined = visitor
        .event_where(|b| matches!(b, EventBody::AgentJoined { .. }))
        .await;
    assert_eq!(joined.body, EventBody::AgentJoined { name: "Mia".into() });
}

#[tokio::test]
async fn closing_asks_for_a_rating_that_is_kept_once() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    // Nothing to rate before the team closes.
    visitor
        .send(&VisitorRequest::Rate {
            client_id: "early".into(),
            rating: Rating::Good,
            comment: None,
        })
        .await;
    let (code, _) = visitor.error().await;
    assert_eq!(code, ErrorCode::Conflict);

    visitor.press_human().await;
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let id = agent.queue().await[0].conversation;
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    agent.send(&AgentRequest::Close { conversation: id }).await;
    visitor
        .event_where(|b| matches!(b, EventBody::Closed))
        .await;

    let rate = VisitorRequest::Rate {
        client_id: "r1".into(),
        rating: Rating::Good,
        comment: Some("Quick and kind".into()),
    };
    visitor.send(&rate).await;
    let seq = visitor
        .until(|u| match u {
            VisitorUpdate::Ack { client_id, seq } if client_id == "r1" => Some(seq),
            _ => None,
        })
        .await;
    // A retry is the same rating; a second rating is refused.
    visitor.send(&rate).await;
    let again = visitor
        .until(|u| match u {
            VisitorUpdate::Ack { client_id, seq } if client_id == "r1" => Some(seq),
            _ => None,
        })
        .await;
    assert_eq!(again, seq);
    visitor
        .send(&VisitorRequest::Rate {
            client_id: "r2".into(),
            rating: Rating::Bad,
            comment: None,
        })
        .await;
    let refused = visitor
        .until(|u| match u {
            VisitorUpdate::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await;
    assert_eq!(refused, (ErrorCode::Conflict, Some("r2".to_string())));

    let log = full_log(&server, &token).await;
    let rated: Vec<_> = log
        .iter()
        .filter(|e| matches!(e.body, EventBody::Rated { .. }))
        .collect();
    assert_eq!(rated.len(), 1);
    assert_eq!(
        rated[0].body,
        EventBody::Rated {
            client_id: "r1".into(),
            rating: Rating::Good,
            comment: Some("Quick and kind".into())
        }
    );
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_per_address() {
    let server = TestServer::start().await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(server.post_login(MIA.0, "wrong").await.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    // Even the right password waits now.
    assert_eq!(server.post_login(MIA.0, MIA.1).await.status(), 429);
}

#[tokio::test]
async fn errors_name_the_refused_message() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor
        .send(&VisitorRequest::Say {
            client_id: "m1".into(),
            text: " ".into(),
        })
        .await;
    let refused = visitor
        .until(|u| match u {
            VisitorUpdate::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await;
    assert_eq!(refused, (ErrorCode::Invalid, Some("m1".to_string())));
}

#[tokio::test]
async fn a_new_identity_on_reconnect_reaches_watching_agents() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path().join("b.db"), with_identity_secret(false)).await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.press_human().await;
    let (mut agent, _) = watching_first_in_queue(&server).await;
    assert_eq!(agent.detail().await.identity, None);

    // The visitor signs in on the site; the widget reconnects with who they are.
    let mut again = server.visitor().await;
    let valid = claim("basic", Some(baton::identity::user_hash(SECRET, "u-42")));
    again
        .send(&VisitorRequest::Hello {
            token: Some(token),
            last_seq: 0,
            page: None,
            identity: Some(valid),
            metadata: Default::default(),
        })
        .await;
    // Both the open conversation and the queue show it, in either order.
    let (mut detail, mut queue) = (None, None);
    while detail.is_none() || queue.is_none() {
        match agent.next().await {
            AgentUpdate::Conversation { detail: d } if d.identity.is_some() => detail = d.identity,
            AgentUpdate::Queue { entries } if entries[0].identity.is_some() => {
                queue = entries[0].identity.clone()
            }
            _ => {}
        }
    }
    assert!(detail.unwrap().verified);
    assert_eq!(queue.unwrap().name.as_deref(), Some("Ada Lovelace"));
}

#[tokio::test]
async fn what_the_page_says_about_the_visitor_reaches_the_team_within_bounds() {
    let server = TestServer::start().await;
    let hello = |token: Option<String>, metadata: Vec<(String, String)>| VisitorRequest::Hello {
        token,
        last_seq: 0,
        page: None,
        identity: None,
        metadata,
    };
    let said = vec![
        ("plan".to_string(), "pro".to_string()),
        ("order".into(), "1042".into()),
    ];
    let mut visitor = server.visitor().await;
    visitor.send(&hello(None, said.clone())).await;
    // Shown by name.
    let said: Metadata = said.into_iter().collect();
    let token = match visitor.next().await {
        VisitorUpdate::Welcome {
            token: Some(token), ..
        } => token,
        other => panic!("{other:?}"),
    };
    visitor.press_human().await;
    let (mut agent, _) = watching_first_in_queue(&server).await;
    assert_eq!(agent.detail().await.metadata, said);

    // A page that says nothing leaves it as it was.
    let mut quiet = server.visitor().await;
    quiet.send(&hello(Some(token.clone()), Vec::new())).await;
    assert!(matches!(quiet.next().await, VisitorUpdate::Welcome { .. }));

    // A page that says too much: what it says replaces what was said, the
    // first 20 entries by name, each name and value cut to its longest.
    let mut lavish: Vec<(String, String)> =
        (0..30).map(|i| (format!("k{i:02}"), "v".into())).collect();
    lavish.push(("a-cart".into(), "x".repeat(2000)));
    lavish.push(("b".repeat(100), "long name".into()));
    let mut again = server.visitor().await;
    again.send(&hello(Some(token), lavish)).await;
    assert!(matches!(again.next().await, VisitorUpdate::Welcome { .. }));
    let kept = agent
        .until(|u| match u {
            AgentUpdate::Conversation { detail } if detail.metadata != said => {
                Some(detail.metadata)
            }
            _ => None,
        })
        .await;
    assert_eq!(kept.len(), MAX_METADATA_ENTRIES);
    assert_eq!(kept["a-cart"].chars().count(), MAX_METADATA_VALUE_CHARS);
    assert_eq!(
        kept["b".repeat(MAX_METADATA_NAME_CHARS).as_str()],
        "long name"
    );
    assert!(kept.contains_key("k17") && !kept.contains_key("k18"));
    assert!(!kept.contains_key("plan"), "replaced, not merged");
}

#[tokio::test]
async fn out_of_hours_the_handoff_still_happens_and_says_when_people_are_back() {
    // Today (and the days either side, should the test straddle midnight)
    // are holidays in Berlin: the team is away.
    let today = jiff::Zoned::now().in_tz("Europe/Berlin").unwrap().date();
    let holidays: Vec<String> = [-1, 0, 1]
        .iter()
        .map(|d| {
            today
                .checked_add(jiff::Span::new().days(*d))
                .unwrap()
                .to_string()
        })
        .collect();
    let toml = format!("demo = true\n[policy.business_hours]\nholidays = {holidays:?}\n");
    let away: baton::Config = toml::from_str(&toml).unwrap();
    away.validate().unwrap();
    let always_in: baton::Config =
        toml::from_str("demo = true\n[policy.business_hours]\nenabled = false\n").unwrap();

    for (config, out_of_hours) in [(away, true), (always_in, false)] {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start_on(dir.path().join("b.db"), config).await;
        let mut visitor = server.visitor().await;
        new_conversation(&mut visitor).await;
        visitor
            .send(&VisitorRequest::RequestHuman {
                client_id: "b1".into(),
            })
            .await;
        let notice = visitor
            .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
            .await;
        let EventBody::HandoffStarted { notice } = notice.body else {
            unreachable!()
        };
        assert_eq!(
            notice.contains("away right now and back"),
            out_of_hours,
            "{notice}"
        );

        let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
        let entry = agent.queue().await.remove(0);
        assert_eq!(entry.out_of_hours, out_of_hours, "the queue marks it");
        agent
            .send(&AgentRequest::Watch {
                conversation: entry.conversation,
                last_seq: 0,
            })
            .await;
        let brief = agent.detail().await.brief.unwrap();
        assert_eq!(brief.out_of_hours.is_some(), out_of_hours);
        if let Some(back) = brief.out_of_hours {
            assert!(
                back.contains("(Europe/Berlin)") && notice.contains(&back),
                "{back} / {notice}"
            );
        }
    }
}
