//! Sharing files from the widget in real Chromium: the visitor attaches a
//! picture through the paperclip's file input and sees it as a thumbnail
//! that really loads from the server; a text file shows as a link with its
//! name and size; a voice message (an audio file) hands the conversation to
//! a person by the policy's voice-message rule. The conversation's log, read
//! as an agent reads it, holds every file.
//!
//! Run alone: `cargo test -p baton-e2e --test attachments` (after
//! `cargo xtask build`; `cargo xtask test` does both).

use std::path::Path;

use baton_e2e::wire::{login, read_all_logs};
use baton_e2e::{Browser, Driver, Server, eventually};
use baton_shared::EventBody;

const PICTURE: &str = "broken-mug.png";
const NOTES: &str = "order notes.txt";
const VOICE: &str = "voice-note.wav";

#[tokio::test]
async fn a_visitor_shares_a_picture_a_file_and_a_voice_message() {
    // Reading every log at the end takes more frames than a person sends.
    let server = Server::start_with(|config| config.limits.frames_per_second = 0).await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    let files = tempfile::tempdir().unwrap();
    let picture = write(files.path(), PICTURE, &png(64, 48));
    let notes = write(files.path(), NOTES, b"Order 1042: the mug arrived broken.\n");
    let voice = write(files.path(), VOICE, &wav(0.6));

    visitor.open_widget(&server.url("/")).await;
    // The paperclip works once the conversation exists (uploads carry its
    // token); it is a real, named button.
    let attach = visitor.widget("[data-baton=attach]").await;
    eventually("the attach button to be enabled", || async {
        attach.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    assert_eq!(
        attach.attr("aria-label").await.unwrap().as_deref(),
        Some("Attach a file")
    );

    // A picture: a thumbnail in the visitor's own column, loaded from the server.
    choose(&visitor, &picture).await;
    let thumbnail = "[data-baton=message][data-author=visitor][data-seq] [data-baton=thumbnail]";
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
        .widget("[data-baton=message][data-author=visitor] a.thumb")
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
            "[data-baton=message][data-author=visitor][data-seq] [data-baton=file]",
            "the file's name and size",
            |t| t.contains(NOTES) && t.contains("36 B"),
        )
        .await;

    // Neither gets an answer from the assistant: it cannot read them.
    assert!(
        visitor
            .find_in_widget("[data-baton=message][data-author=assistant]")
            .await
            .is_empty(),
        "no answer to a picture or a file alone"
    );

    // A voice message: a player, and a person is brought in.
    choose(&visitor, &voice).await;
    let player = visitor
        .widget("[data-baton=message][data-author=visitor][data-seq] audio[data-baton=audio]")
        .await;
    assert_eq!(
        player.attr("aria-label").await.unwrap().as_deref(),
        Some(VOICE)
    );
    assert!(player.attr("controls").await.unwrap().is_some());
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=notice]",
            "the handoff notice after the voice message",
            |t| !t.is_empty(),
        )
        .await;
    visitor
        .widget_text_until("[data-baton=human]", "a person on the way", |t| {
            t.contains("on the way")
        })
        .await;
    assert!(
        visitor
            .find_in_widget("[data-baton=message][data-pending], [data-baton=failed]")
            .await
            .is_empty(),
        "everything stored, nothing refused"
    );
    visitor.screenshot("widget-attachments").await;
    let transcript = visitor.widget_transcript().await;
    {
        let cookie = login(&server.url("")).await;
        let logs = read_all_logs(&format!("ws://{}/ws/agent", server.addr), &cookie).await;
        for e in logs.values().next().unwrap() { eprintln!("LOG {} {}", e.seq, e.body.kind()); }
    }
    let kinds: Vec<&str> = transcript.iter().map(|(author, _, _)| author.as_str()).collect();
    assert_eq!(
        kinds,
        ["visitor", "visitor", "visitor", "notice"],
        "{transcript:?}"
    );

    // The log, as an agent reads it: the three files, in order, then the
    // handoff.
    let cookie = login(&server.url("")).await;
    let agent_url = format!("ws://{}/ws/agent", server.addr);
    let logs = read_all_logs(&agent_url, &cookie).await;
    assert_eq!(logs.len(), 1, "one conversation");
    let log = logs.into_values().next().unwrap();
    let shared: Vec<(String, String, u64)> = log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorAttachment { attachment, .. } => Some((
                attachment.name.clone(),
                attachment.content_type.clone(),
                attachment.size,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        shared,
        [
            (PICTURE.into(), "image/png".into(), png(64, 48).len() as u64),
            (NOTES.into(), "text/plain".into(), 36),
            (VOICE.into(), "audio/wav".into(), wav(0.6).len() as u64),
        ]
    );
    let voice_at = log
        .iter()
        .position(|e| matches!(&e.body, EventBody::VisitorAttachment { attachment, .. } if attachment.is_audio()))
        .unwrap();
    assert!(
        log[voice_at..]
            .iter()
            .any(|e| matches!(e.body, EventBody::HandoffStarted { .. })),
        "the voice message handed off: {log:?}"
    );
    assert!(
        !log.iter()
            .any(|e| matches!(e.body, EventBody::Assistant { .. })),
        "the assistant never answered"
    );

    visitor.close().await;
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

/// A `width`×`height` RGB gradient as a PNG (stored, uncompressed).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::new();
    for y in 0..height {
        pixels.push(0); // no filter
        for x in 0..width {
            pixels.extend([
                (40 + x * 200 / width) as u8,
                (90 + y * 120 / height) as u8,
                200,
            ]);
        }
    }
    let stored = u16::try_from(pixels.len()).expect("one stored block");
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend(stored.to_le_bytes());
    zlib.extend((!stored).to_le_bytes());
    zlib.extend(&pixels);
    zlib.extend(adler32(&pixels).to_be_bytes());
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &header), (b"IDAT", &zlib), (b"IEND", &Vec::new())] {
        png.extend((data.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend(data);
        png.extend(&typed);
        png.extend(crc32(&typed).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// `seconds` of a 440 Hz tone, 8 kHz mono 16-bit PCM, as a WAV file.
fn wav(seconds: f32) -> Vec<u8> {
    let rate = 8000u32;
    let samples: Vec<i16> = (0..(rate as f32 * seconds) as u32)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16)
        .collect();
    let data = (samples.len() * 2) as u32;
    let mut wav = b"RIFF".to_vec();
    wav.extend((36 + data).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes()); // PCM
    wav.extend(1u16.to_le_bytes()); // mono
    wav.extend(rate.to_le_bytes());
    wav.extend((rate * 2).to_le_bytes());
    wav.extend(2u16.to_le_bytes());
    wav.extend(16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend(data.to_le_bytes());
    for sample in samples {
        wav.extend(sample.to_le_bytes());
    }
    wav
}
