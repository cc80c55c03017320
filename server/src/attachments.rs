//! What an uploaded file may be, checked before anything is stored: its
//! declared type is allowed by the config and its bytes agree (magic
//! numbers via `infer`; plain text must be UTF-8 without control bytes).
//! Also the file on disk: written under a temporary name, flushed, then
//! renamed, so a file the database names is always whole.
//!
//! Nothing here runs in a browser, so nothing that could is allowed: no
//! HTML, no SVG, no scripts, whatever the config says.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Content types Baton can verify, with the types `infer` reports for
/// such bytes (a WebM voice message sniffs as video/webm).
pub const KNOWN_TYPES: &[(&str, &[&str])] = &[
    ("image/png", &["image/png"]),
    ("image/jpeg", &["image/jpeg"]),
    ("image/gif", &["image/gif"]),
    ("image/webp", &["image/webp"]),
    ("audio/webm", &["video/webm", "audio/webm"]),
    ("audio/ogg", &["audio/ogg", "audio/opus"]),
    ("audio/mpeg", &["audio/mpeg"]),
    ("audio/wav", &["audio/x-wav", "audio/wav"]),
    ("audio/mp4", &["audio/m4a", "video/mp4", "audio/mp4"]),
    ("application/pdf", &["application/pdf"]),
    ("text/plain", &[]),
];

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file is not taken; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error("storing the file: {0}")]
    Io(String),
}

/// An upload that passed: its type, normalised.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub content_type: &'static str,
}

/// Checks `bytes` declared as `declared` against the `allowed` types.
pub fn check(allowed: &[String], declared: &str, bytes: &[u8]) -> Result<Checked, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Refused("the file is empty".into()));
    }
    // "audio/webm;codecs=opus" is audio/webm.
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some(&(content_type, sniffed_as)) = KNOWN_TYPES.iter().find(|(t, _)| *t == declared) else {
        return Err(UploadError::Refused(format!(
            "files of type {declared:?} are not accepted"
        )));
    };
    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(content_type)) {
        return Err(UploadError::Refused(format!(
            "files of type {content_type} are not accepted here"
        )));
    }
    let agrees = if sniffed_as.is_empty() {
        plain_text(bytes)
    } else {
        infer::get(bytes).is_some_and(|found| sniffed_as.contains(&found.mime_type()))
    };
    if !agrees {
        return Err(UploadError::Refused(format!(
            "the file's contents are not {content_type}"
        )));
    }
    Ok(Checked { content_type })
}

fn plain_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// A file name fit to show and to put in a header: no path, no control
/// characters, at most 120 characters; "file" when nothing is left. The
/// widget sends it percent-encoded (headers are ASCII).
pub fn file_name(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let base = decoded
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect::<String>();
    let trimmed = base.trim().trim_start_matches('.').to_string();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed
    }
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub use baton_shared::uploads::percent_encode;

/// Where the file with this id lives; ids are URL-safe base64, so they are
/// file names too.
pub fn path(dir: &Path, id: &str) -> Option<PathBuf> {
    let safe = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    safe.then(|| dir.join(id))
}

/// Writes the file whole and flushed before it is named.
pub fn write(dir: &Path, id: &str, bytes: &[u8]) -> Result<(), UploadError> {
    let io = |e: std::io::Error| UploadError::Io(e.to_string());
    let target = path(dir, id).ok_or_else(|| UploadError::Io(format!("bad id {id:?}")))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let partial = dir.join(format!(".{id}.partial"));
    let mut file = std::fs::File::create(&partial).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, &target).map_err(io)?;
    // The rename itself survives a crash once the directory is flushed.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const WEBM: &[u8] = b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webmB\x87\x81\x04B\x85\x81\x02";

    fn all() -> Vec<String> {
        KNOWN_TYPES.iter().map(|(t, _)| t.to_string()).collect()
    }

    #[test]
    fn declared_types_must_match_the_bytes() {
        assert_eq!(
            check(&all(), "image/png", PNG).unwrap().content_type,
            "image/png"
        );
        assert_eq!(
            check(&all(), "audio/webm;codecs=opus", WEBM)
                .unwrap()
                .content_type,
            "audio/webm"
        );
        assert_eq!(
            check(&all(), "text/plain", b"order 1234\n")
                .unwrap()
                .content_type,
            "text/plain"
        );
        for (declared, bytes) in [
            ("image/jpeg", PNG),
            ("image/png", WEBM),
            ("text/plain", b"<script>\0</script>".as_slice()),
            ("image/png", b"".as_slice()),
        ] {
            assert!(check(&all(), declared, bytes).is_err(), "{declared}");
        }
    }

    #[test]
    fn the_checkable_types_are_the_ones_clients_offer() {
        let known: Vec<&str> = KNOWN_TYPES.iter().map(|(t, _)| *t).collect();
        assert_eq!(known, baton_shared::uploads::TYPES);
    }

    #[test]
    fn only_allowed_and_known_types_pass() {
        for declared in ["text/html", "image/svg+xml", "application/javascript", ""] {
            let e = check(&all(), declared, b"<svg onload=alert(1)>").unwrap_err();
            assert!(e.to_string().contains("not accepted"), "{e}");
        }
        let images_only = vec!["image/png".to_string()];
        assert!(check(&images_only, "audio/webm", WEBM).is_err());
        assert!(check(&images_only, "IMAGE/PNG", PNG).is_ok());
    }

    #[test]
    fn file_names_are_tamed() {
        assert_eq!(file_name("photo%20of%20boots.png"), "photo of boots.png");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("C:\\Users\\x\\receipt.pdf"), "receipt.pdf");
        assert_eq!(file_name("%0d%0aSet-Cookie: x"), "Set-Cookie: x");
        assert_eq!(file_name(".."), "file");
        assert_eq!(file_name(""), "file");
        assert_eq!(file_name(&"a".repeat(500)).len(), 120);
        assert_eq!(percent_encode("größe 1.png"), "gr%C3%B6%C3%9Fe%201.png");
    }

    #[test]
    fn only_plain_ids_name_files() {
        let dir = Path::new("/uploads");
        assert_eq!(path(dir, "abc_D-9"), Some(dir.join("abc_D-9")));
        for bad in ["", "../x", "a/b", "a.b", &"x".repeat(65)] {
            assert_eq!(path(dir, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_file_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "abc", b"hello").unwrap();
        assert_eq!(std::fs::read(dir.path().join("abc")).unwrap(), b"hello");
        assert!(!dir.path().join(".abc.partial").exists());
    }
}
