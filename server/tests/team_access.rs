//! The team's side: sign-in guards every agent route and the agent socket,
//! claiming is atomic, and only the agent holding a conversation answers.

mod support;

use baton_shared::*;
use support::*;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");

#[tokio::test]
async fn agent_routes_and_socket_refuse_requests_without_a_session() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();

    let me = http
        .get(format!("http://{}/api/me", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let refused = Client::<AgentRequest, AgentUpdate>::connect(
        format!("ws://{}/ws/agent", server.addr),
        None,
    )
    .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {:?}", other.map(|_| "a socket")),
    }
    let forged = Client::<AgentRequest, AgentUpdate>::connect(
        format!("ws://{}/ws/agent", server.addr),
        Some("baton_session=forged"),
    )
    .await;
    assert!(forged.is_err(), "a made-up session is refused");

    assert_eq!(
        server.post_login(MIA.0, "wrong password").await.status(),
        401
    );
    assert_eq!(
        server
            .post_login("nobody@baton.local", MIA.1)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_session_works_until_logout() {
    let server = TestServer::start().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let http = reqwest::Client::new();
    let me = |cookie: String| {
        http.get(format!("http://{}/api/me", server.addr))
            .header("cookie", cookie)
            .send()
    };
    let agent: AgentRef = me(cookie.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(agent.name, "Mia");

    let mut socket = server.agent(&cookie).await;
    let hello = socket.next().await;
    assert_eq!(
        hello,
        AgentUpdate::Hello {
            agent: agent.clone(),
            team: vec![agent.clone()]
        }
    );

    let out = http
        .post(format!("http://{}/api/logout", server.addr))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(me(cookie).await.unwrap().status(), 401);
}

/// The console's check on load: 200 either way, so its sign-in page starts
/// without a failed request in the browser's console.
#[tokio::test]
async fn the_session_says_who_is_signed_in_without_failing() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let session = |cookie: Option<String>| {
        let mut request = http.get(format!("http://{}/api/session", server.addr));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    assert_eq!(session(None).await, serde_json::json!({ "agent": null }));
    assert_eq!(
        session(Some("baton_session=forged".into())).await,
        serde_json::json!({ "agent": null })
    );
    let cookie = server.login(MIA.0, MIA.1).await;
    let signed_in = session(Some(cookie)).await;
    assert_eq!(signed_in["agent"]["name"], "Mia", "{signed_in}");
}

#[tokio::test]
async fn two_agents_claim_at_once_and_exactly_one_wins() {
    let server = TestServer::start().await;
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    baton::team::add_agent(&store, "leo@baton.local", "Leo", "leo-password")
        .await
        .unwrap();

    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.press_human().await;

    let mut mia = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let mut leo = server
        .agent(&server.login("leo@baton.local", "leo-password").await)
        .await;
    let id = mia.queue().await[0].conversation;
    leo.queue().await;
    for agent in [&mut mia, &mut leo] {
        agent
            .send(&AgentRequest::Watch {
                conversation: id,
                last_seq: 0,
            })
            .await;
        agent.detail().await;
    }

    // Both click "claim" at the same moment.
    let claim = AgentRequest::Claim { conversation: id };
    tokio::join!(mia.send(&claim), leo.send(&claim));
    let joined = visitor
        .event_where(|b| matches!(b, EventBody::AgentJoined { .. }))
        .await;
    let EventBody::AgentJoined { name: winner } = joined.body else {
        unreachable!()
    };
    let (loser, loser_name) = if winner == "Mia" {
        (&mut leo, "Leo")
    } else {
        (&mut mia, "Mia")
    };

    let (code, message) = loser.error().await;
    assert_eq!(code, ErrorCode::Conflict);
    assert!(
        message.contains(&winner),
        "the loser sees who has it: {message}"
    );

    // Only the holder may answer the visitor.
    loser
        .send(&AgentRequest::Reply {
            conversation: id,
            client_id: "r1".into(),
            text: "Me too!".into(),
        })
        .await;
    let (code, _) = loser.error().await;
    assert_eq!(code, ErrorCode::Conflict, "{loser_name} cannot reply");

    let log = full_log(&server, &token).await;
    let joins = log
        .iter()
        .filter(|e| matches!(e.body, EventBody::AgentJoined { .. }))
        .count();
    assert_eq!(joins, 1, "{log:?}");
    assert!(
        !log.iter()
            .any(|e| matches!(e.body, EventBody::Agent { .. }))
    );
}

/// The agent socket with the session cookie, from a page at `origin`.
async fn agent_from(
    server: &TestServer,
    cookie: &str,
    origin: Option<&str>,
) -> Result<Client<AgentRequest, AgentUpdate>, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/ws/agent", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Client::from_stream(ws))
}

/// A page on another site (or a sandboxed one) cannot drive the console's
/// socket with the agent's cookie; the console's own page and clients
/// outside a browser can.
#[tokio::test]
async fn the_agent_socket_is_only_for_the_consoles_own_pages() {
    let server = TestServer::start().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    for origin in [
        "https://evil.example",
        "null",
        "http://chat.example.com.evil.example",
    ] {
        match agent_from(&server, &cookie, Some(origin)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{origin}")
            }
            other => panic!(
                "{origin}: expected 403, got {:?}",
                other.map(|_| "a socket")
            ),
        }
    }
    let own = format!("http://{}", server.addr);
    for origin in [Some(own.as_str()), None] {
        let mut socket = agent_from(&server, &cookie, origin).await.unwrap();
        assert!(
            matches!(socket.next().await, AgentUpdate::Hello { .. }),
            "{origin:?}"
        );
    }
}

/// A socket lives as long as its sign-in: signing out closes it at once,
/// and a session that ended elsewhere (another node, expiry) acts no more.
#[tokio::test]
async fn signing_out_ends_the_agents_open_sockets() {
    let server = TestServer::start().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut socket = server.agent(&cookie).await;
    socket.queue().await;
    let out = reqwest::Client::new()
        .post(format!("http://{}/api/logout", server.addr))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(socket.error().await.0, ErrorCode::Unauthorized);
    assert_eq!(socket.closed().await, Some(1008));

    // Signed in again; the session then ends outside this node.
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor.press_human().await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut socket = server.agent(&cookie).await;
    let id = socket.queue().await[0].conversation;
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let token = cookie.split_once('=').unwrap().1;
    store
        .delete_session(&baton::secret::digest(token))
        .await
        .unwrap();
    socket.send(&AgentRequest::Claim { conversation: id }).await;
    assert_eq!(socket.error().await.0, ErrorCode::Unauthorized);
    assert_eq!(socket.closed().await, Some(1008));
    let row = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(
        row.state,
        ConversationState::Queued,
        "the claim was not made"
    );
}

/// Behind https (as `public_url` says) the session cookie is `Secure`, so
/// a browser never sends it in the clear; on plain http it cannot be.
#[tokio::test]
async fn the_session_cookie_is_secure_when_the_console_is_served_over_https() {
    let https = TestServer::start_with(baton::Config {
        demo: true,
        public_url: Some("https://chat.example.com".into()),
        ..baton::Config::default()
    })
    .await;
    let cookie = set_cookie(&https).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let plain = TestServer::start().await;
    let cookie = set_cookie(&plain).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
}

async fn set_cookie(server: &TestServer) -> String {
    let response = server.post_login(MIA.0, MIA.1).await;
    assert_eq!(response.status(), 200);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string()
}
