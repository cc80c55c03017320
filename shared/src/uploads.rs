//! Uploading a file, as the widget, the console and the server all see it:
//! the types `POST /api/uploads` accepts, a browser's name for a file's type
//! turned into the server's, and the file name as its header carries it.

/// The types `POST /api/uploads` accepts (by default; a site may allow
/// fewer). The server checks every upload's bytes against its type.
pub const TYPES: [&str; 11] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/webm",
    "audio/ogg",
    "audio/mpeg",
    "audio/wav",
    "audio/mp4",
    "application/pdf",
    "text/plain",
];

/// [`TYPES`] as a file input's `accept`.
pub const ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp,\
audio/webm,audio/ogg,audio/mpeg,audio/wav,audio/mp4,application/pdf,text/plain";

/// The server's name for a file's type, from the browser's (`File.type`,
/// which differs between browsers and is empty or generic when the browser
/// does not know) and the file's name; `None` for a type the server does
/// not take. A type the browser does know is never overruled by the name.
pub fn content_type(browser: &str, name: &str) -> Option<&'static str> {
    let browser = browser
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let by_type = match browser.as_str() {
        "image/jpg" | "image/pjpeg" => Some("image/jpeg"),
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Some("audio/wav"),
        "audio/mp3" | "audio/x-mp3" => Some("audio/mpeg"),
        "audio/x-m4a" | "audio/m4a" => Some("audio/mp4"),
        "audio/opus" => Some("audio/ogg"),
        // Chromium calls every .webm file video; the server checks the bytes.
        "video/webm" => Some("audio/webm"),
        "" | "application/octet-stream" => None,
        other => return TYPES.into_iter().find(|t| *t == other),
    };
    if by_type.is_some() {
        return by_type;
    }
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "webm" => "audio/webm",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "pdf" => "application/pdf",
        "txt" | "text" | "log" => "text/plain",
        _ => return None,
    })
}

/// A file name for the `X-Baton-Filename` header (ASCII) or a
/// `filename*=UTF-8''…` parameter (RFC 5987): UTF-8, percent-encoded but
/// for letters, digits and `-._~`.
pub fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
