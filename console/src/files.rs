//! Files the agent shares: what the upload request says about a file and
//! how its answer reads. Plain functions, tested natively; `api::upload`
//! sends the request.

use baton_shared::domain::Attachment;
use serde::Deserialize;

use crate::api::ApiError;

/// The file chooser's hint: the types the server accepts by default (it
/// checks every upload's bytes itself; another configuration may accept
/// fewer, and then says so).
pub const ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp,\
audio/webm,audio/ogg,audio/mpeg,audio/wav,audio/mp4,application/pdf,text/plain,\
.png,.jpg,.jpeg,.gif,.webp,.webm,.ogg,.oga,.mp3,.wav,.m4a,.pdf,.txt";

/// The `Content-Type` to upload a file with: the server's name for it, or
/// else what the browser said (the server then says which types it takes).
pub fn content_type(declared: &str, name: &str) -> String {
    baton_shared::uploads::content_type(declared, name)
        .map_or_else(|| declared.to_owned(), str::to_owned)
}

pub use baton_shared::uploads::percent_encode;

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// What `POST /api/uploads` answered: the stored attachment, or why not,
/// in the server's words when it gave some.
pub fn upload_answer(status: u16, body: &str) -> Result<Attachment, ApiError> {
    let said = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
        .filter(|e| !e.trim().is_empty());
    match status {
        200 => serde_json::from_str(body).map_err(|_| ApiError::Unreachable),
        401 => Err(ApiError::Unauthorized(
            said.unwrap_or_else(|| "Please sign in again.".into()),
        )),
        413 => {
            Err(ApiError::Refused(said.unwrap_or_else(|| {
                "The file is too large to share.".into()
            })))
        }
        400..500 => {
            Err(ApiError::Refused(said.unwrap_or_else(|| {
                "The server did not accept this file.".into()
            })))
        }
        _ => Err(ApiError::Refused(said.unwrap_or_else(|| {
            "The server could not store the file. Try again in a moment.".into()
        }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_type_is_the_browsers_or_a_guess_from_the_name() {
        assert_eq!(content_type("image/png", "a.png"), "image/png");
        assert_eq!(content_type("Audio/WebM;codecs=opus", "v"), "audio/webm");
        assert_eq!(content_type("audio/x-m4a", "memo.m4a"), "audio/mp4");
        assert_eq!(content_type("image/jpg", "x"), "image/jpeg");
        assert_eq!(content_type("", "Notes.TXT"), "text/plain");
        assert_eq!(
            content_type("application/octet-stream", "voice.ogg"),
            "audio/ogg"
        );
        assert_eq!(content_type("", "README"), "");
        assert_eq!(content_type("text/html", "page.html"), "text/html");
    }

    #[test]
    fn file_names_are_percent_encoded_for_the_header() {
        assert_eq!(percent_encode("boots.png"), "boots.png");
        assert_eq!(percent_encode("größe 1.png"), "gr%C3%B6%C3%9Fe%201.png");
        assert_eq!(percent_encode("a/b\r\n.txt"), "a%2Fb%0D%0A.txt");
    }

    #[test]
    fn upload_answers_read_as_an_attachment_or_the_servers_words() {
        let ok = upload_answer(
            200,
            r#"{"id":"x1","name":"a.png","content_type":"image/png","size":12}"#,
        )
        .unwrap();
        assert_eq!((ok.id.as_str(), ok.size), ("x1", 12));
        assert_eq!(
            upload_answer(400, r#"{"error":"image/svg+xml files are not accepted"}"#),
            Err(ApiError::Refused(
                "image/svg+xml files are not accepted".into()
            ))
        );
        assert_eq!(
            upload_answer(413, "length limit exceeded"),
            Err(ApiError::Refused("The file is too large to share.".into()))
        );
        assert_eq!(
            upload_answer(413, r#"{"error":"Files are limited to 10 MB."}"#),
            Err(ApiError::Refused("Files are limited to 10 MB.".into()))
        );
        assert!(matches!(
            upload_answer(401, r#"{"error":"Please sign in."}"#),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(upload_answer(502, ""), Err(ApiError::Refused(_))));
        assert_eq!(upload_answer(200, "nonsense"), Err(ApiError::Unreachable));
    }
}
