//! The browser's side of sharing files: `POST /api/uploads` with `fetch`,
//! and voice messages with `MediaRecorder`. Thin on purpose: what is shown
//! and what is sent lives in [`Session`](crate::session::Session).

use baton_shared::domain::Attachment;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    BlobEvent, MediaRecorder, MediaRecorderOptions, MediaStream, MediaStreamConstraints,
    MediaStreamTrack, RequestInit, Response,
};

use crate::codec;
use crate::files::VOICE_TYPE;

/// Why an upload did not work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Over the server's size limit (413).
    TooLarge,
    /// The server said why (a type it does not take, bytes that are not
    /// what they claim).
    Said(String),
    /// The network, or the server, failed: nothing the visitor can fix but
    /// trying again.
    Failed,
}

/// Uploads `body` (a `File` or a `Blob`) to the server at `server` (its
/// origin; empty: the page's) for the conversation whose token is `token`.
pub async fn upload(
    server: &str,
    token: &str,
    body: &JsValue,
    name: &str,
    content_type: &str,
) -> Result<Attachment, Refused> {
    let headers = Object::new();
    let set = |key: &str, value: &str| {
        let _ = Reflect::set(&headers, &key.into(), &value.into());
    };
    set("Content-Type", content_type);
    set("X-Baton-Token", token);
    // Header values are ASCII: the name travels percent-encoded.
    set(
        "X-Baton-Filename",
        &String::from(js_sys::encode_uri_component(name)),
    );
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(body);
    let url = [server, "/api/uploads"].concat();
    let window = web_sys::window().ok_or(Refused::Failed)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| Refused::Failed)?
        .unchecked_into();
    let status = response.status();
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or_default(),
        Err(_) => JsValue::UNDEFINED,
    };
    match status {
        200..=299 => codec::attachment(&json).ok_or(Refused::Failed),
        413 => Err(Refused::TooLarge),
        400 | 403 | 415 | 422 => {
            Err(codec::error_message(&json).map_or(Refused::Failed, Refused::Said))
        }
        _ => Err(Refused::Failed),
    }
}

/// Whether this browser can record a voice message the server takes:
/// `MediaRecorder` recording WebM audio, and a microphone API (only on
/// secure pages).
pub fn can_record() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    Reflect::has(&window, &"MediaRecorder".into()).unwrap_or(false)
        && Reflect::get(&window.navigator(), &"mediaDevices".into())
            .is_ok_and(|devices| devices.is_object())
        && MediaRecorder::is_type_supported(VOICE_TYPE)
}

/// A voice message being recorded. Stopping it hands the whole recording
/// (one `Blob`) to the callback given to [`Recorder::start`].
pub struct Recorder {
    recorder: MediaRecorder,
    stream: MediaStream,
    _on_data: Closure<dyn FnMut(BlobEvent)>,
}

impl Recorder {
    /// Asks for the microphone and starts recording; `done` gets the
    /// recording once [`Recorder::stop`] is called (an empty one is
    /// dropped). `Err` when there is no microphone or the visitor said no.
    pub async fn start(done: impl FnMut(web_sys::Blob) + 'static) -> Result<Self, JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio_bool(true);
        let stream: MediaStream = JsFuture::from(
            window
                .navigator()
                .media_devices()?
                .get_user_media_with_constraints(&constraints)?,
        )
        .await?
        .unchecked_into();
        let options = MediaRecorderOptions::new();
        options.set_mime_type(VOICE_TYPE);
        let recorder = match MediaRecorder::new_with_media_stream_and_media_recorder_options(
            &stream, &options,
        ) {
            Ok(recorder) => recorder,
            Err(e) => {
                stop_tracks(&stream);
                return Err(e);
            }
        };
        // Without a timeslice the recording arrives in one piece, on stop.
        let mut done = done;
        let on_data = Closure::<dyn FnMut(BlobEvent)>::new(move |ev: BlobEvent| {
            if let Some(blob) = ev.data().filter(|b| b.size() > 0.0) {
                done(blob);
            }
        });
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        if let Err(e) = recorder.start() {
            stop_tracks(&stream);
            return Err(e);
        }
        Ok(Self {
            recorder,
            stream,
            _on_data: on_data,
        })
    }

    /// Stops recording and lets the microphone go. Keep the recorder until
    /// the recording has arrived: the callback lives in it.
    pub fn stop(&self) {
        let _ = self.recorder.stop();
        stop_tracks(&self.stream);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.recorder.set_ondataavailable(None);
        stop_tracks(&self.stream);
    }
}

fn stop_tracks(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        track.unchecked_into::<MediaStreamTrack>().stop();
    }
}
