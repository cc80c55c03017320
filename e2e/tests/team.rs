//! The team side in real Chromium: two agents race for a conversation and
//! exactly one gets it; what visitors and agents type is shown as text and
//! never runs; and the "Resume assistant" link from a notification hands
//! the conversation back — the widget shows the assistant's name again.
//!
//! Run alone: `cargo test -p baton-e2e --test team` (after `cargo xtask build`).

use std::time::Duration;

use axum::routing::post;
use baton::config::{Webhook, WebhookFormat};
use baton_e2e::{Driver, Server, eventually};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const XSS_VISITOR: &str = r#"<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script> is this safe?"#;
const XSS_AGENT: &str = r#"<b>bold</b><img src=x onerror="window.__xss='reply'">"#;

#[tokio::test]
async fn one_agent_wins_the_claim_and_typed_markup_stays_text() {
    let server = Server::start().await;
    let store = baton::store::Store::connect(&server.database_url())
        .await
        .unwrap();
    baton::team::add_agent(&store, "leo@baton.local", "Leo", "leo-password")
        .await
        .unwrap();
    let driver = Driver::start().await;
    let (visitor, mia, leo) = tokio::join!(
        driver.browser(1280, 900),
        driver.browser(1400, 900),
        driver.browser(1400, 900)
    );

    // The visitor's markup is shown literally (and, unanswerable, goes to a person).
    visitor.open_widget(&server.url("/")).await;
    visitor.type_message(XSS_VISITOR).await;
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=visitor]",
            "the visitor's text, literally",
            |t| t.contains("<img src=x onerror=") && t.contains("<script>"),
        )
        .await;
    visitor.handoff_notice().await;

    // Both agents open the conversation.
    mia.sign_in(&server, "demo@baton.local", "baton-demo").await;
    leo.sign_in(&server, "leo@baton.local", "leo-password")
        .await;
    for agent in [&mia, &leo] {
        agent.open_first_in_queue().await;
        let transcript = agent.page("[data-console=transcript]").await;
        eventually("the payload shown literally in the console", || async {
            transcript
                .text()
                .await
                .ok()
                .filter(|t| t.contains("<script>window.__xss='script'</script>"))
        })
        .await;
    }

    // They click "claim" at once: exactly one wins, the other sees who has it.
    let (a, b) = tokio::join!(
        async { mia.page("[data-console=claim]").await.click().await },
        async { leo.page("[data-console=claim]").await.click().await }
    );
    a.unwrap();
    b.unwrap();
    let holder = visitor
        .widget_text_until("[data-baton=responder]", "an agent to join", |t| {
            t == "Mia" || t == "Leo"
        })
        .await;
    let (winner, loser, loser_name) = if holder == "Mia" {
        (&mia, &leo, "Leo")
    } else {
        (&leo, &mia, "Mia")
    };
    let state = loser.page("[data-console=state]").await;
    eventually(
        &format!("{loser_name}'s console to show that {holder} has it"),
        || async { state.text().await.ok().filter(|t| t.contains(&holder)) },
    )
    .await;
    let loser_input = loser.page("[data-console=reply-input]").await;
    assert!(
        !loser_input.is_enabled().await.unwrap(),
        "{loser_name} cannot reply"
    );
    let joins = visitor
        .find_in_widget("[data-baton=message][data-author=notice]")
        .await;
    let mut join_notices = 0;
    for notice in joins {
        if notice.text().await.unwrap().contains("joined") {
            join_notices += 1;
        }
    }
    assert_eq!(join_notices, 1, "the visitor saw exactly one person join");

    // The winner answers with markup of their own: text again.
    let input = winner.page("[data-console=reply-input]").await;
    eventually("the reply box to be enabled", || async {
        input.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    input.send_keys(XSS_AGENT).await.unwrap();
    winner
        .page("[data-console=reply-send]")
        .await
        .click()
        .await
        .unwrap();
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=agent]",
            "the agent's markup, literally",
            |t| t.contains("<b>bold</b><img src=x"),
        )
        .await;
    winner.screenshot("team-xss-console").await;
    visitor.screenshot("team-xss-widget").await;

    for (who, browser) in [("visitor", &visitor), ("Mia", &mia), ("Leo", &leo)] {
        assert!(!browser.xss_ran().await, "a script ran in the {who}'s page");
    }
    for browser in [visitor, mia, leo] {
        browser.close().await;
    }
}

#[tokio::test]
async fn the_resume_link_from_a_notification_hands_back_to_the_assistant() {
    // A webhook receiver standing in for the team's tool: it keeps the JSON.
    let (tx, mut delivered) = mpsc::unbounded_channel::<serde_json::Value>();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let _ = tx.send(body);
            async {}
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let server = Server::start_with(|config| {
        config.notifications.webhooks = vec![Webhook {
            url: hook.clone(),
            format: WebhookFormat::Json,
            secret: Some("hook-secret-value".into()),
        }];
    })
    .await;

    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    visitor.open_widget(&server.url("/")).await;
    visitor
        .widget("[data-baton=human]")
        .await
        .click()
        .await
        .unwrap();
    visitor.handoff_notice().await;

    let notification = tokio::time::timeout(Duration::from_secs(20), delivered.recv())
        .await
        .expect("a notification in time")
        .unwrap();
    let link = notification["links"]["resume"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone on the team opens it, in their own browser, signed in or
    // not, and presses the one button (opening alone changes nothing).
    let teammate = driver.browser(1000, 700).await;
    teammate.goto(&link).await;
    let page = teammate.page("h1").await.text().await.unwrap();
    assert_eq!(page, "Resume the assistant?");
    teammate.page("form button").await.click().await.unwrap();
    let page = eventually("the result page", || async {
        let h1 = teammate.page("h1").await.text().await.ok()?;
        (h1 != "Resume the assistant?").then_some(h1)
    })
    .await;
    assert_eq!(page, "Assistant resumed");
    teammate.screenshot("team-resume-link").await;

    visitor
        .widget_text_until(
            "[data-baton=message][data-author=notice]",
            "the assistant's return",
            |t| t.contains("Nova"),
        )
        .await;
    visitor
        .widget_text_until("[data-baton=responder]", "the responder to be Nova", |t| {
            t.trim() == "Nova"
        })
        .await;
    visitor
        .type_message("Which payment methods do you accept?")
        .await;
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=assistant]",
            "the assistant's answer",
            |t| t.contains("PayPal"),
        )
        .await;

    // The link works once.
    teammate.goto(&link).await;
    assert_eq!(
        teammate.page("h1").await.text().await.unwrap(),
        "Nothing changed"
    );
    visitor.close().await;
    teammate.close().await;
}
