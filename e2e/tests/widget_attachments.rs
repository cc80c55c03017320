//! Sharing files from the widget in real Chromium: the visitor attaches a
//! picture through the paperclip's file input and sees it as a thumbnail
//! that really loads from the server; a text file shows as a link with its
//! name and size, an audio file as a player. Another visitor's voice message
//! (an audio file) hands their conversation to a person by the policy's
//! attachment rule. The conversations' logs, read as an agent reads them,
//! hold every file.
//!
//! Run alone: `cargo test -p baton-e2e --test widget_attachments` (after
//! `cargo xtask build`; `cargo xtask test` does both).

use std::path::Path;
use std::time::Duration;

use baton_e2e::samples::{png, wav};
use baton_e2e::wire::{Socket, login, read_all_logs};
use baton_e2e::{Browser, Driver, Server, eventually};
use baton_shared::{AgentRequest, AgentUpdate, Brief, ConversationId, EventBody, Mechanism};

const PICTURE: &str = "broken-mug.png";
const NOTES: &str = "order notes.txt";
const VOICE: &str = "voice-note.wav";

#[tokio::test]
async fn visitors_share_pictures_files_and_voice_messages() {
    // Reading every log at the end takes more frames than a person sends.
    let server = Server::start_with(|config| config.limits.frames_per_second = 0).await;
    let driver = Driver::start().await;
    let (visitor, talker) = tokio::join!(driver.browser(1280, 900), driver.browser(1280, 900));
    let files = tempfile::tempdir().unwrap();
    let picture = write(files.path(), PICTURE, &png(64, 48));
    let notes = write(
        files.path(),
        NOTES,
        b"Order 1042: the mug arrived broken.\n",
    );
    let voice = write(files.path(), VOICE, &wav(2.0));

    visitor.open_widget(&server.url("/")).await;
    let attach = ready_to_attach(&visitor).await;
    assert_eq!(
        attach.attr("aria-label").await.unwrap().as_deref(),
        Some("Attach a file"),
        "a named button"
    );

    // A picture: a thumbnail in the visitor's own column, loaded from the server.
    choose(&visitor, &picture).await;
    let thumbnail = "[data-baton=message][data-author=visitor][data-seq] img[data-baton=thumbnail]";
    let width = eventually("the thumbnail to load from the server", || async {
        let img = visitor.find_in_widget(thumbnail).await.into_iter().next()?;
        let width = visitor
            .client
            .execute(
                "return arguments[0].complete ? arguments[0].naturalWidth : 0;",
                vec![serde_json::to_value(&img).ok()?],
            )
            .await
            .ok()?;
        width.as_u64().filter(|w| *w > 0)
    })
    .await;
    assert_eq!(width, 64, "the picture itself, not a broken image");
    let img = visitor.widget(thumbnail).await;
    assert_eq!(img.attr("alt").await.unwrap().as_deref(), Some(PICTURE));
    let link = visitor
        .widget("[data-baton=message][data-author=visitor] [data-kind=image] a")
        .await;
    let href = link.attr("href").await.unwrap().unwrap_or_default();
    assert!(
        href.starts_with(&server.url("/api/uploads/")),
        "the full picture, from the server: {href}"
    );
    assert_eq!(
        link.attr("target").await.unwrap().as_deref(),
        Some("_blank"),
        "opens in a new tab"
    );

    // A text file: a link with its name and size.
    choose(&visitor, &notes).await;
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=visitor][data-seq] a[data-baton=file]",
            "the file's name and size",
            |t| t.contains(NOTES) && t.contains("36 B"),
        )
        .await;

    // An audio file: a player.
    choose(&visitor, &voice).await;
    let player = visitor
        .widget("[data-baton=message][data-author=visitor][data-seq] audio[data-baton=audio]")
        .await;
    assert_eq!(
        player.attr("aria-label").await.unwrap().as_deref(),
        Some(VOICE)
    );
    assert!(player.attr("controls").await.unwrap().is_some());
    let stored = eventually("all three stored, nothing pending or refused", || async {
        let settled = visitor
            .find_in_widget("[data-baton=message][data-pending], [data-baton=failed]")
            .await
            .is_empty();
        let files = visitor
            .find_in_widget(
                "[data-baton=message][data-author=visitor][data-seq] [data-baton=attachment]",
            )
            .await;
        (settled && files.len() == 3).then_some(files)
    })
    .await;
    let mut kinds = Vec::new();
    for file in stored {
        kinds.push(file.attr("data-kind").await.unwrap().unwrap_or_default());
    }
    assert_eq!(kinds, ["image", "file", "audio"], "in the order sent");
    // The pointer off the launcher (it grows under it), for the picture.
    visitor
        .widget("[data-baton=responder]")
        .await
        .click()
        .await
        .unwrap();
    visitor.screenshot("widget-attachments").await;

    // Another visitor's voice message: a person is brought in, by the rule.
    talker.open_widget(&server.url("/")).await;
    ready_to_attach(&talker).await;
    choose(&talker, &voice).await;
    talker
        .widget("[data-baton=message][data-author=visitor][data-seq] audio[data-baton=audio]")
        .await;
    talker
        .widget_text_until(
            "[data-baton=message][data-author=notice]",
            "the handoff notice after the voice message",
            |t| !t.is_empty(),
        )
        .await;
    a_person_is_on_the_way(&talker).await;

    // The logs, as an agent reads them: every file, with its name, type
    // and size; the voice message's handoff by the attachment rule.
    let cookie = login(&server.url("")).await;
    let agent_url = format!("ws://{}/ws/agent", server.addr);
    let logs = read_all_logs(&agent_url, &cookie).await;
    assert_eq!(logs.len(), 2, "two conversations: {logs:?}");
    let shared = |id: ConversationId| -> Vec<(String, String, u64)> {
        logs[&id]
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::VisitorAttachment { attachment, .. } => Some((
                    attachment.name.clone(),
                    attachment.content_type.clone(),
                    attachment.size,
                )),
                _ => None,
            })
            .collect()
    };
    let (first, second) = {
        let mut ids = logs.keys().copied();
        (ids.next().unwrap(), ids.next().unwrap())
    };
    let voice_entry = (
        VOICE.to_string(),
        "audio/wav".to_string(),
        wav(2.0).len() as u64,
    );
    assert_eq!(
        shared(first),
        [
            (PICTURE.into(), "image/png".into(), png(64, 48).len() as u64),
            (NOTES.into(), "text/plain".into(), 36),
            voice_entry.clone(),
        ]
    );
    assert_eq!(shared(second), [voice_entry]);
    for id in [first, second] {
        assert!(
            !logs[&id]
                .iter()
                .any(|e| matches!(e.body, EventBody::Assistant { .. })),
            "the assistant answers no file: {:?}",
            logs[&id]
        );
    }
    assert!(
        matches!(
            logs[&second].last().map(|e| &e.body),
            Some(EventBody::HandoffStarted { .. })
        ),
        "{:?}",
        logs[&second]
    );
    let brief = brief(&agent_url, &cookie, second).await;
    assert_eq!(
        (brief.mechanism, brief.rule.as_deref()),
        (Mechanism::Rule, Some("attachment")),
        "{brief:?}"
    );
    assert!(brief.reason.contains("voice message"), "{}", brief.reason);

    visitor.close().await;
    talker.close().await;
}

/// Waits until the widget says a person is on the way (the handoff).
async fn a_person_is_on_the_way(visitor: &Browser) {
    visitor
        .widget_text_until("[data-baton=human]", "a person on the way", |t| {
            t.contains("on the way")
        })
        .await;
}

/// Waits until the paperclip can be used (the conversation exists: uploads
/// carry its token).
async fn ready_to_attach(visitor: &Browser) -> fantoccini::elements::Element {
    let attach = visitor.widget("[data-baton=attach]").await;
    eventually("the attach button to be enabled", || async {
        attach.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    attach
}

/// The brief of conversation `id`'s latest handoff, as the console gets it.
async fn brief(agent_url: &str, cookie: &str, id: ConversationId) -> Brief {
    let wait = Duration::from_secs(20);
    let mut socket = Socket::<AgentRequest, AgentUpdate>::connect(agent_url, Some(cookie), wait)
        .await
        .expect("an agent socket");
    socket
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await
        .expect("watch");
    loop {
        if let AgentUpdate::Conversation { detail } = socket.recv(wait).await.expect("the detail")
            && detail.id == id
        {
            return detail.brief.expect("a handoff");
        }
    }
}

/// Picks `path` in the widget's file input, as the paperclip's file
/// dialog does.
async fn choose(visitor: &Browser, path: &Path) {
    visitor
        .widget("[data-baton=file-input]")
        .await
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A voice message recorded in the browser: Chromium's fake microphone
/// feeds a real `getUserMedia` stream to a real `MediaRecorder`. The mic
/// button records (pressed, the status line says so), a second press sends
/// the recording, which plays in the transcript, arrives as WebM audio, and
/// hands the conversation to a person by the policy's attachment rule.
#[tokio::test]
async fn a_voice_message_recorded_in_the_browser_is_sent_and_hands_off() {
    let server = Server::start_with(|config| config.limits.frames_per_second = 0).await;
    let driver = Driver::start().await;
    let visitor = driver.browser_with_microphone(1280, 900).await;
    visitor.open_widget(&server.url("/")).await;
    ready_to_attach(&visitor).await;

    let mic = visitor.widget("[data-baton=record]").await;
    assert!(mic.is_displayed().await.unwrap(), "recording is offered");
    assert_eq!(
        mic.attr("aria-label").await.unwrap().as_deref(),
        Some("Record a voice message")
    );
    mic.click().await.unwrap();
    eventually("the mic button to show it records", || async {
        (mic.attr("aria-pressed").await.ok()?.as_deref() == Some("true")).then_some(())
    })
    .await;
    visitor
        .widget_text_until("[data-baton=status]", "the status line to say so", |t| {
            t.contains("Recording")
        })
        .await;
    mic.click().await.unwrap();

    let player = "[data-baton=message][data-author=visitor][data-seq] audio[data-baton=audio]";
    visitor.widget(player).await;
    assert_eq!(
        mic.attr("aria-pressed").await.unwrap().as_deref(),
        Some("false"),
        "no longer recording"
    );
    a_person_is_on_the_way(&visitor).await;

    let cookie = login(&server.url("")).await;
    let agent_url = format!("ws://{}/ws/agent", server.addr);
    let logs = read_all_logs(&agent_url, &cookie).await;
    let (&id, log) = logs.iter().next().expect("the conversation");
    let recorded: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorAttachment { attachment, .. } => Some(attachment.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(recorded.len(), 1, "{log:?}");
    assert_eq!(
        (recorded[0].name.as_str(), recorded[0].content_type.as_str()),
        ("voice-message.webm", "audio/webm")
    );
    assert!(recorded[0].size > 0);
    let brief = brief(&agent_url, &cookie, id).await;
    assert_eq!(
        (brief.mechanism, brief.rule.as_deref()),
        (Mechanism::Rule, Some("attachment")),
        "{brief:?}"
    );
    visitor.close().await;
}
