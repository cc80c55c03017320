//! Files in the agent console, in real Chromium: a visitor (over the
//! protocol) asks for a person, then uploads and shares a photo and leaves
//! a voice message while waiting; the agent claims the conversation, sees the photo as a
//! thumbnail that really loaded and the voice message as a player, and
//! shares a text file through the reply box's attach button; the visitor
//! receives it and downloads the same bytes. A file that is not what its
//! name says is refused, in the server's words, under it.
//!
//! The visitor asks first, so no assistant turn runs while the files go
//! in: what the assistant makes of a photo alone is the handoff engine's
//! business (server tests), not the console's.
//!
//! Run alone: `cargo test -p baton-e2e --test console_attachments` (after
//! `cargo xtask build`). Screenshot:
//! `target/e2e-screenshots/console-attachments.png`.

use std::path::PathBuf;
use std::time::Duration;

use baton_e2e::samples::{png, wav};
use baton_e2e::wire::Socket;
use baton_e2e::{Browser, Driver, Server, eventually};
use baton_shared::*;
use fantoccini::Locator;

const WAIT: Duration = Duration::from_secs(20);

/// A file name with markup in it: it must stay text (and `alt`).
const PHOTO_NAME: &str = "boots <img src=x onerror=window.__xss=1>.png";
const NOTES: &[u8] = b"Return label: RMA-4471\nDrop the boots at any post office.\n";

type Visitor = Socket<VisitorRequest, VisitorUpdate>;

/// The next visitor update `pick` accepts; an error frame fails the test.
async fn until<T>(visitor: &mut Visitor, mut pick: impl FnMut(VisitorUpdate) -> Option<T>) -> T {
    loop {
        let update = visitor.recv(WAIT).await.expect("the expected frame");
        if let VisitorUpdate::Error { message, .. } = &update {
            panic!("visitor: {message}");
        }
        if let Some(found) = pick(update) {
            return found;
        }
    }
}

#[tokio::test]
async fn the_agent_sees_the_visitors_photo_and_shares_a_file_back() {
    let server = Server::start().await;
    let http = reqwest::Client::new();

    // The visitor starts a conversation over the protocol.
    let url = server.url("/ws/visitor").replace("http://", "ws://");
    let mut visitor = Visitor::connect(&url, None, WAIT).await.expect("a socket");
    visitor
        .send(&VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            page: Some("https://shop.example/orders/1042".into()),
            identity: None,
            metadata: Default::default(),
        })
        .await
        .unwrap();
    let token = until(&mut visitor, |u| match u {
        VisitorUpdate::Welcome { token, .. } => Some(token.expect("a new conversation's token")),
        _ => None,
    })
    .await;

    // … asks for a person …
    visitor
        .send(&VisitorRequest::RequestHuman {
            client_id: "human-1".into(),
        })
        .await
        .unwrap();
    until(&mut visitor, |u| match u {
        VisitorUpdate::Event { event } => {
            matches!(event.body, EventBody::HandoffStarted { .. }).then_some(())
        }
        _ => None,
    })
    .await;
    // … and, while waiting, uploads a photo with their token and shares it …
    let uploaded = share(
        &mut visitor,
        &server,
        &token,
        PHOTO_NAME,
        "image/png",
        png(160, 100),
    )
    .await;
    // … and leaves a voice message.
    share(
        &mut visitor,
        &server,
        &token,
        "voice-note.wav",
        "audio/wav",
        wav(2.0),
    )
    .await;

    // The agent opens and claims it in the console.
    let driver = Driver::start().await;
    let agent = driver.browser(1400, 1050).await;
    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    agent.open_first_in_queue().await;
    let claim = agent.page("[data-console=claim]").await;
    eventually("the claim button to be enabled", || async {
        claim.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    claim.click().await.unwrap();

    // The visitor's photo is a thumbnail on their side, loaded for real,
    // named by its file name (as text), linking to the full size.
    let thumbnail = agent
        .page("[data-console=message][data-author=visitor] img[data-console=thumbnail]")
        .await;
    assert_eq!(
        thumbnail.attr("alt").await.unwrap().as_deref(),
        Some(PHOTO_NAME)
    );
    eventually("the thumbnail to load", || async {
        let width = agent
            .client
            .execute(
                "const img = document.querySelector('img[data-console=thumbnail]');
                 return img && img.complete ? img.naturalWidth : 0;",
                vec![],
            )
            .await
            .ok()?
            .as_u64()?;
        (width == 160).then_some(())
    })
    .await;
    let link = agent
        .page("[data-console=message][data-author=visitor] a.thumb")
        .await;
    assert_eq!(
        link.attr("href").await.unwrap(),
        Some(uploaded.path()),
        "the thumbnail opens the full size"
    );
    assert_eq!(
        link.attr("target").await.unwrap().as_deref(),
        Some("_blank")
    );

    // The voice message is a player, with its name and size to download.
    let player = agent
        .page("[data-console=message][data-author=visitor] audio[data-console=audio]")
        .await;
    assert!(player.attr("controls").await.unwrap().is_some());
    eventually("the voice message's length to be known", || async {
        let seconds = agent
            .client
            .execute(
                "const a = document.querySelector('audio[data-console=audio]');
                 return a && a.readyState >= 1 ? a.duration : 0;",
                vec![],
            )
            .await
            .ok()?
            .as_f64()?;
        (seconds > 1.9 && seconds < 2.1).then_some(())
    })
    .await;

    // The agent shares a text file through the reply box's attach button.
    let attach = agent.page("[data-console=attach]").await;
    eventually("the attach button to be enabled", || async {
        attach.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("return-label.txt");
    std::fs::write(&notes, NOTES).unwrap();
    agent
        .page("[data-console=attach-input]")
        .await
        .send_keys(notes.to_str().unwrap())
        .await
        .unwrap();

    // The visitor receives it under the agent's name, and its file is the
    // same bytes.
    let shared = until(&mut visitor, |u| match u {
        VisitorUpdate::Event {
            event:
                Event {
                    body:
                        EventBody::AgentAttachment {
                            name, attachment, ..
                        },
                    ..
                },
        } => Some((name, attachment)),
        _ => None,
    })
    .await;
    let (name, attachment) = shared;
    assert_eq!(name, "Mia");
    assert_eq!(attachment.name, "return-label.txt");
    assert_eq!(attachment.content_type, "text/plain");
    assert_eq!(attachment.size, NOTES.len() as u64);
    let download = http
        .get(server.url(&attachment.path()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), NOTES);

    // In the console it is stored on the agent's side: a download link with
    // its name and size, under the agent's name, nothing pending or failed.
    let stored = "[data-console=message][data-author=agent][data-kind=agent_attachment]";
    let link = agent
        .page(&format!("{stored} [data-console=download]"))
        .await;
    let text = link.text().await.unwrap();
    assert!(
        text.contains("return-label.txt") && text.contains(&format!("{} B", NOTES.len())),
        "{text}"
    );
    assert_eq!(link.attr("href").await.unwrap(), Some(attachment.path()));
    let author = agent
        .page(&format!("{stored} [data-console=author]"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(author, "Mia");
    for leftover in [
        "[data-pending]",
        "[data-console=failed]",
        "[data-console=progress]",
    ] {
        assert!(
            agent
                .client
                .find_all(Locator::Css(leftover))
                .await
                .unwrap()
                .is_empty(),
            "nothing left {leftover}"
        );
    }
    assert!(!agent.xss_ran().await, "a file name ran as markup");

    // Text named like a photo is refused: the line says why, in the
    // server's words, and nothing is shared.
    let fake = dir.path().join("not-a-photo.png");
    std::fs::write(&fake, b"just text").unwrap();
    agent
        .page("[data-console=attach-input]")
        .await
        .send_keys(fake.to_str().unwrap())
        .await
        .unwrap();
    let failed = agent
        .page("[data-console=message][data-failed] [data-console=failed]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        failed, "Not sent: the file's contents are not image/png",
        "the server's words"
    );
    agent.screenshot("console-attachments").await;
    axe(&agent).await;
    agent.close().await;
}

/// Runs axe-core (installed by `cargo xtask build`) on the console and
/// fails on any violation, listing them.
async fn axe(browser: &Browser) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tools/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed at {} ({e}): `cargo xtask build` installs it",
            path.display()
        )
    });
    browser.client.execute(&source, vec![]).await.unwrap();
    let script = "const done = arguments[arguments.length - 1];\
         axe.run(document, { resultTypes: ['violations'] })\
           .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + '\\n    ' +\
             v.nodes.map(n => JSON.stringify(n.target) + ' ' + n.failureSummary).join('\\n    '))))\
           .catch(e => done(['axe failed: ' + e]));";
    let result = browser.client.execute_async(script, vec![]).await.unwrap();
    let violations: Vec<String> = serde_json::from_value(result).unwrap();
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) in the console with files:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Uploads `bytes` as the visitor (by their token) and shares the upload;
/// returns it once its event arrived.
async fn share(
    visitor: &mut Visitor,
    server: &Server,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Attachment {
    let response = reqwest::Client::new()
        .post(server.url("/api/uploads"))
        .header("x-baton-token", token)
        .header("content-type", content_type)
        .header("x-baton-filename", uploads::percent_encode(name))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let uploaded: Attachment = response.json().await.unwrap();
    assert_eq!(uploaded.name, name);
    let client_id = format!("file-{}", &uploaded.id[..8]);
    visitor
        .send(&VisitorRequest::Attach {
            client_id: client_id.clone(),
            upload: uploaded.id.clone(),
        })
        .await
        .unwrap();
    until(visitor, |u| match u {
        VisitorUpdate::Event { event } => match event.body {
            EventBody::VisitorAttachment {
                client_id: id,
                attachment,
            } if id == client_id => Some(attachment),
            _ => None,
        },
        _ => None,
    })
    .await
}
