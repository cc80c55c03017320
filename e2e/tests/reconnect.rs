//! The widget in real Chromium while the server under it goes away and
//! comes back on the same port and database: first `kill -9`, then a
//! graceful SIGTERM (close 1012). Each time the widget says it is
//! reconnecting, keeps its transcript, shows a message typed meanwhile as
//! pending, and once the server is back delivers it — exactly once, as the
//! server's own log confirms.
//!
//! Run alone: `cargo test -p baton-e2e --test reconnect` (after
//! `cargo xtask build`; `cargo xtask test` does both).

use baton_e2e::child::ChildServer;
use baton_e2e::wire::{login, read_all_logs};
use baton_e2e::{Browser, Driver, assets_dir, eventually};
use baton_shared::EventBody;

enum Stop {
    Kill,
    Terminate,
}

#[tokio::test]
async fn the_widget_keeps_its_transcript_and_delivers_what_was_typed_while_the_server_was_away() {
    // No per-socket frame limit: the log reader at the end probes ids
    // faster than a person would.
    let config = "[limits]\nframes_per_second = 0\n";
    let binary = env!("CARGO_BIN_EXE_baton-under-test");
    let mut server = ChildServer::start(binary, config, Some(&assets_dir())).await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;

    visitor.open_widget(&server.url("/")).await;
    visitor.type_message("How long does shipping take?").await;
    answered(&visitor, "business days").await;
    let mut before = settled(&visitor, 2).await;

    let rounds = [
        (Stop::Kill, "Which payment methods do you accept?", "PayPal"),
        (Stop::Terminate, "Do you offer gift cards?", "gift cards"),
    ];
    for (round, (stop, question, answer)) in rounds.into_iter().enumerate() {
        let how = match stop {
            Stop::Kill => {
                server.kill();
                "kill -9"
            }
            Stop::Terminate => {
                let status = server.terminate().await;
                assert!(
                    status.success(),
                    "SIGTERM ends the server cleanly: {status}"
                );
                "SIGTERM"
            }
        };

        // The widget notices, says so, and keeps everything it showed.
        visitor
            .widget_text_until(
                "[data-baton=status]",
                &format!("the reconnecting status after {how}"),
                |t| t.contains("Reconnecting"),
            )
            .await;
        assert_eq!(
            visitor.widget_transcript().await,
            before,
            "the transcript stays while the server is away"
        );

        // Typed while the server is away: shown at once, pending.
        visitor.type_message(question).await;
        let pending = "[data-baton=message][data-author=visitor][data-pending=true]";
        visitor
            .widget_text_until(pending, "the message shown as pending", |t| {
                t.contains(question)
            })
            .await;
        visitor
            .screenshot(&format!("reconnect-{}-away", round + 1))
            .await;

        server.restart().await;

        // Back: delivered, acknowledged, answered, and the status is gone.
        answered(&visitor, answer).await;
        let after = settled(&visitor, before.len() + 2).await;
        assert_eq!(
            after[..before.len()],
            before[..],
            "the earlier transcript is unchanged"
        );
        let (author, _, text) = &after[before.len()];
        assert_eq!(
            (author.as_str(), text.contains(question)),
            ("visitor", true),
            "{after:?}"
        );
        eventually(&format!("the status line to clear after {how}"), || async {
            match visitor.find_in_widget("[data-baton=status]").await.first() {
                Some(status) => (!status.is_displayed().await.unwrap_or(true)).then_some(()),
                None => Some(()),
            }
        })
        .await;
        visitor
            .screenshot(&format!("reconnect-{}-back", round + 1))
            .await;
        before = after;
    }

    // The server stored each message once, and the widget shows its log.
    let cookie = login(&server.url("")).await;
    let logs = read_all_logs(&server.ws_url("/ws/agent"), &cookie).await;
    assert_eq!(logs.len(), 1, "one conversation throughout: {logs:?}");
    let log = logs.values().next().unwrap();
    let said: Vec<&str> = log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Visitor { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        said,
        [
            "How long does shipping take?",
            "Which payment methods do you accept?",
            "Do you offer gift cards?"
        ],
        "each message stored once, in order"
    );
    let shown: Vec<&str> = before.iter().map(|(_, _, text)| text.as_str()).collect();
    assert_eq!(shown.len(), log.len(), "one line per event: {shown:?}");

    visitor.close().await;
}

async fn answered(visitor: &Browser, fragment: &str) {
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=assistant]",
            &format!("an answer with {fragment:?}"),
            |t| t.contains(fragment),
        )
        .await;
}

/// Waits until the widget shows `n` messages and none is pending.
async fn settled(visitor: &Browser, n: usize) -> Vec<(String, String, String)> {
    eventually(&format!("{n} settled messages"), || async {
        let pending = visitor
            .find_in_widget("[data-baton=message][data-pending=true]")
            .await;
        let transcript = visitor.widget_transcript().await;
        (pending.is_empty() && transcript.len() == n).then_some(transcript)
    })
    .await
}
