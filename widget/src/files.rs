//! What the visitor may share, in plain Rust (tested natively): the types
//! the server accepts, a browser's name for a type turned into the
//! server's, and file sizes as people read them.

use crate::i18n::Strings;

pub use baton_shared::uploads::{ACCEPT, TYPES, content_type};

/// The name a recorded voice message is shared under.
pub const VOICE_MESSAGE: &str = "voice-message.webm";
/// What the recorder records, where the browser can.
pub const VOICE_TYPE: &str = "audio/webm";

/// `532 B`, `1.4 KB`, `12 MB` (in the widget's language: `1,4 Ko`). No
/// float formatting: it would cost the widget kilobytes of code.
pub fn human_size(bytes: u64, t: &Strings) -> String {
    let [b, kb, mb] = t.units;
    let (unit, scale) = match bytes {
        0..1024 => return [bytes.to_string().as_str(), " ", b].concat(),
        1024..1_048_576 => (kb, 1024),
        _ => (mb, 1_048_576),
    };
    let tenths = (bytes * 10 + scale / 2) / scale;
    let number = if tenths < 100 {
        [
            (tenths / 10).to_string(),
            t.decimal.into(),
            (tenths % 10).to_string(),
        ]
        .concat()
    } else {
        ((bytes + scale / 2) / scale).to_string()
    };
    [number.as_str(), " ", unit].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, FR};

    #[test]
    fn browser_types_become_the_servers() {
        for (browser, name, want) in [
            ("image/png", "a.png", Some("image/png")),
            ("IMAGE/JPEG", "a.jpg", Some("image/jpeg")),
            ("image/jpg", "a.jpg", Some("image/jpeg")),
            ("audio/x-wav", "a.wav", Some("audio/wav")),
            ("audio/wav", "a.wav", Some("audio/wav")),
            ("audio/webm;codecs=opus", "v.webm", Some("audio/webm")),
            ("video/webm", "voice.webm", Some("audio/webm")),
            ("audio/mp3", "s.mp3", Some("audio/mpeg")),
            ("audio/x-m4a", "s.m4a", Some("audio/mp4")),
            ("application/pdf", "invoice.pdf", Some("application/pdf")),
            ("text/plain", "notes.txt", Some("text/plain")),
            // The browser does not know: the name says.
            ("", "receipt.PDF", Some("application/pdf")),
            ("", "voice.opus", Some("audio/ogg")),
            ("", "README", None),
            ("", "archive.zip", None),
            // Known to the browser, refused by the server: the name cannot overrule.
            ("text/html", "page.png", None),
            ("image/svg+xml", "logo.svg", None),
            ("video/mp4", "clip.mp4", None),
            ("application/zip", "a.zip", None),
        ] {
            assert_eq!(content_type(browser, name), want, "{browser} {name}");
        }
        for accepted in TYPES {
            assert_eq!(content_type(accepted, ""), Some(accepted));
        }
        assert_eq!(ACCEPT, TYPES.join(","));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        for (bytes, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KB"),
            (1536, "1.5 KB"),
            (10_137, "9.9 KB"),
            (10_200, "10 KB"),
            (1_047_000, "1022 KB"),
            (1_048_576, "1.0 MB"),
            (10 * 1_048_576, "10 MB"),
            (1_572_864, "1.5 MB"),
        ] {
            assert_eq!(human_size(bytes, &EN), want, "{bytes}");
        }
        assert_eq!(human_size(1536, &FR), "1,5 Ko");
        assert_eq!(human_size(12, &FR), "12 o");
    }
}
