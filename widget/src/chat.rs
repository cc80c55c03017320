//! The widget's reactive state and the actions its components call.
//!
//! [`Chat`] wraps the plain [`Session`] in a signal and connects it to a
//! [`Wire`]: the browser build uses a reconnecting [`Link`](crate::link::Link),
//! the browser tests a fake that records frames. Whatever the wire reports
//! comes back through [`Chat::link_event`].

use std::rc::Rc;
use std::time::Duration;

use baton_shared::domain::{Event, IdentityClaim, Rating, Seq};
use baton_shared::protocol::{VisitorRequest, VisitorUpdate};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::codec;
use crate::files;
use crate::i18n::{Lang, Strings};
use crate::ids::client_id;
use crate::link::LinkEvent;
use crate::session::{Connection, Effect, Session};
use crate::storage;
use crate::upload::{self, Recorder, Refused};

/// How the chat reaches the server.
pub trait Wire {
    /// Starts connecting; called once. Report what happens through
    /// [`Chat::link_event`].
    fn connect(&self, chat: Chat);
    /// Sends a frame if a socket is open; a frame that cannot go out stays
    /// pending in the session and is resent after the next `welcome`.
    fn send(&self, frame: &VisitorRequest);
    /// Drops the socket and connects again at once.
    fn restart(&self);
    /// Drops the socket for good.
    fn stop(&self);
}

/// What the host page chose for the widget (the script tag's `data-`
/// attributes and `Baton('set', …)`). Colours, position and light/dark
/// are the loader's business (CSS on the host element).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub lang: Lang,
    /// What the widget calls the assistant (else the server's name).
    pub name: Option<String>,
    /// The assistant's picture (an image URL).
    pub avatar: Option<String>,
    /// Shown while the transcript is empty (else the language's default).
    pub greeting: Option<String>,
}

/// The microphone.
enum Mic {
    Off,
    /// Waiting for the microphone (the browser may be asking the visitor).
    Waiting,
    On(Recorder),
    /// Stopped; kept until the recording arrives (its callback lives in it).
    Stopping {
        _recorder: Recorder,
    },
}

/// Told about each new event of the conversation (see [`Chat::on_event`]).
pub type Listener = Rc<dyn Fn(&Event)>;

/// A copyable handle to the widget's state.
#[derive(Clone, Copy)]
pub struct Chat {
    pub session: RwSignal<Session>,
    /// Whether the panel is shown.
    pub open: RwSignal<bool>,
    /// The message box, focused when the visitor opens the panel.
    pub input: NodeRef<html::Textarea>,
    wire: StoredValue<Rc<dyn Wire>, LocalStorage>,
    /// Tells the loader the visitor closed the panel from inside it.
    on_close: StoredValue<Option<Rc<dyn Fn()>>, LocalStorage>,
    /// Bumped on every keystroke; the idle timer that finds it unchanged
    /// says the visitor stopped typing.
    keystrokes: StoredValue<u32>,
    pub config: RwSignal<Config>,
    /// The newest event that arrived while this page watched, for the
    /// screen-reader announcement (`None` before any).
    pub news: RwSignal<Option<Seq>>,
    /// The last event the page's listeners were told about; kept in
    /// `localStorage` so a reload does not tell them again.
    notified: StoredValue<Seq>,
    /// The page's `Baton('on', …)` listeners, as the loader passed them.
    listener: StoredValue<Option<Listener>, LocalStorage>,
    /// The server's origin (`http://host:port`; empty: the page's), for
    /// uploads and the files' addresses.
    server: StoredValue<String>,
    mic: StoredValue<Mic, LocalStorage>,
}

/// How long after the last keystroke the visitor counts as no longer typing.
pub const TYPING_IDLE: Duration = Duration::from_secs(3);

impl Chat {
    pub fn new(session: Session, wire: Rc<dyn Wire>, on_close: Option<Rc<dyn Fn()>>) -> Self {
        Self {
            session: RwSignal::new(session),
            open: RwSignal::new(false),
            input: NodeRef::new(),
            wire: StoredValue::new_local(wire),
            on_close: StoredValue::new_local(on_close),
            keystrokes: StoredValue::new(0),
            config: RwSignal::new(Config::default()),
            news: RwSignal::new(None),
            notified: StoredValue::new(storage::notified()),
            listener: StoredValue::new_local(None),
            server: StoredValue::new(String::new()),
            mic: StoredValue::new_local(Mic::Off),
        }
    }

    /// Where the server is (the origin the loader came from).
    pub fn set_server(&self, origin: &str) {
        self.server
            .set_value(origin.trim_end_matches('/').to_owned());
    }

    /// The address of a file on the server (`/api/uploads/{id}`).
    pub fn file_url(&self, path: &str) -> String {
        self.server
            .with_value(|server| [server.as_str(), path].concat())
    }

    /// The words of the chosen language.
    pub fn text(&self) -> &'static Strings {
        self.config.with(|c| c.lang.strings())
    }

    /// Tells `listener` about every new event of the conversation, once
    /// (across page loads too).
    pub fn on_event(&self, listener: Listener) {
        self.listener.set_value(Some(listener));
    }

    /// The host page said who the visitor is; used from the next `hello`.
    pub fn identify(&self, identity: Option<IdentityClaim>) {
        self.session.update_untracked(|s| s.identify(identity));
    }

    /// Connects unless already connected or connecting.
    pub fn start(&self) {
        if self.session.with_untracked(Session::connection) == Connection::Idle {
            self.session.update(Session::connecting);
            self.wire.with_value(|w| w.connect(*self));
        }
    }

    /// The visitor opens or closes the panel. Opening connects (for a new
    /// visitor, that starts the conversation) and puts the cursor in the
    /// message box.
    pub fn set_open(&self, open: bool) {
        self.restore_open(open);
        if open {
            let input = self.input;
            // After the panel is drawn: a hidden element cannot take focus.
            request_animation_frame(move || {
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    }

    /// Shows the panel as it was before a page load, without taking the
    /// focus from the host page.
    pub fn restore_open(&self, open: bool) {
        if open {
            self.start();
        } else {
            // A hidden box may not report losing the focus.
            self.stop_typing();
        }
        self.open.set(open);
        self.mark_read();
    }

    /// The panel's own close button, or Escape.
    pub fn minimise(&self) {
        self.set_open(false);
        self.on_close.with_value(|f| f.as_ref().map(|f| f()));
    }

    pub fn say(&self, text: &str) {
        self.stop_typing();
        let frame = self
            .session
            .try_update(|s| s.say(client_id(), text))
            .flatten();
        self.send(frame);
    }

    /// The message box changed: typing while it has text, and until
    /// [`TYPING_IDLE`] passes without a keystroke.
    pub fn draft_changed(&self, draft: &str) {
        if draft.trim().is_empty() {
            return self.stop_typing();
        }
        self.set_typing(true);
        self.keystrokes.update_value(|n| *n = n.wrapping_add(1));
        let (chat, at) = (*self, self.keystrokes.get_value());
        set_timeout(
            move || {
                if chat.keystrokes.try_get_value() == Some(at) {
                    chat.stop_typing();
                }
            },
            TYPING_IDLE,
        );
    }

    /// Sent, cleared, idle or left the box: not typing any more.
    pub fn stop_typing(&self) {
        self.set_typing(false);
    }

    fn set_typing(&self, typing: bool) {
        // Untracked: nothing on screen depends on it, so nothing redraws.
        let frame = self
            .session
            .try_update_untracked(|s| s.set_typing(typing))
            .flatten();
        self.send(frame);
    }

    /// One click on the rating prompt.
    pub fn rate(&self, rating: Rating, comment: &str) {
        let frame = self
            .session
            .try_update(|s| s.rate(client_id(), rating, comment))
            .flatten();
        self.send(frame);
    }

    /// Reports what the visitor has seen, if the panel is open and the page
    /// in view. Called when either changes and when events arrive.
    pub fn mark_read(&self) {
        let visible = self.open.get_untracked() && !document().hidden();
        // Untracked, as above: it also lets an effect call this safely.
        let frame = self
            .session
            .try_update_untracked(|s| s.seen(visible))
            .flatten();
        self.send(frame);
    }

    /// The visitor chose a file, or recorded a voice message (`body`, a
    /// `File` or a `Blob`, of the browser's `browser_type`): it shows at
    /// once, goes up to the server, and is then shared with an `attach`
    /// frame, pending until acknowledged. A file the server would refuse
    /// (its type) or that cannot go up says why under its line.
    pub fn send_file(&self, body: JsValue, name: String, browser_type: &str, size: u64) {
        let t = self.text();
        let id = client_id();
        let content_type = files::content_type(browser_type, &name);
        let token = self
            .session
            .try_update(|s| {
                s.upload_started(
                    id.clone(),
                    &name,
                    content_type.unwrap_or(browser_type),
                    size,
                );
                let token = s.token().map(str::to_owned);
                let refused = match (content_type, &token) {
                    (None, _) => t.wrong_type,
                    (_, None) => t.upload_failed,
                    _ => return token,
                };
                s.upload_failed(&id, refused.into());
                None
            })
            .flatten();
        let (Some(content_type), Some(token)) = (content_type, token) else {
            return;
        };
        let server = self.server.get_value();
        let chat = *self;
        leptos::task::spawn_local(async move {
            let result = upload::upload(&server, &token, &body, &name, content_type).await;
            let frame = chat
                .session
                .try_update(|s| match result {
                    Ok(attachment) => s.uploaded(&id, attachment),
                    Err(refused) => {
                        let why = match refused {
                            Refused::TooLarge => t.too_large.to_owned(),
                            Refused::Said(why) => why,
                            Refused::Failed => t.upload_failed.to_owned(),
                        };
                        s.upload_failed(&id, why);
                        None
                    }
                })
                .flatten();
            chat.send(frame);
        });
    }

    /// The microphone button: starts recording a voice message, or stops
    /// and sends it.
    pub fn toggle_recording(&self) {
        let start = self
            .mic
            .try_update_value(|mic| match std::mem::replace(mic, Mic::Waiting) {
                Mic::Off => true,
                Mic::On(recorder) => {
                    recorder.stop();
                    *mic = Mic::Stopping {
                        _recorder: recorder,
                    };
                    false
                }
                // Busy: one click at a time.
                other => {
                    *mic = other;
                    false
                }
            });
        self.session.update(|s| s.set_recording(false));
        if start != Some(true) {
            return;
        }
        let chat = *self;
        leptos::task::spawn_local(async move {
            let started = Recorder::start(move |blob| {
                // Dropped once this call returns (see `link.rs`).
                chat.mic.try_set_value(Mic::Off);
                let size = blob.size() as u64;
                chat.send_file(
                    blob.into(),
                    files::VOICE_MESSAGE.into(),
                    files::VOICE_TYPE,
                    size,
                );
            })
            .await;
            let why = chat.text().no_microphone;
            let recording = started.is_ok();
            chat.session.try_update(|s| match recording {
                true => s.set_recording(true),
                false => s.report(why.into()),
            });
            chat.mic.try_set_value(match started {
                Ok(recorder) => Mic::On(recorder),
                Err(_) => Mic::Off,
            });
        });
    }

    pub fn request_human(&self) {
        let frame = self
            .session
            .try_update(|s| s.request_human(client_id()))
            .flatten();
        self.send(frame);
    }

    fn send(&self, frame: Option<VisitorRequest>) {
        if let Some(frame) = frame {
            self.wire.with_value(|w| w.send(&frame));
        }
    }

    fn set_notified(&self, seq: Seq) {
        self.notified.set_value(seq);
        storage::set_notified(seq);
    }

    pub fn link_event(&self, event: LinkEvent) {
        match event {
            LinkEvent::Connecting => self.session.update(Session::connecting),
            LinkEvent::Opened => {
                let page = window().location().href().ok();
                let hello = self.session.try_update(|s| s.opened(page));
                self.send(hello);
            }
            LinkEvent::Message(text) => {
                // Frames this version does not know are skipped, not fatal.
                let Some(update) = codec::decode(&text) else {
                    return;
                };
                let fresh = match &update {
                    VisitorUpdate::Event { event }
                        if event.seq > self.notified.get_value()
                            && event.seq
                                > self.session.with_untracked(|s| s.transcript.last_seq()) =>
                    {
                        Some(event.clone())
                    }
                    _ => None,
                };
                let effects = self
                    .session
                    .try_update(|s| s.receive(update))
                    .unwrap_or_default();
                for effect in effects {
                    match effect {
                        Effect::Send(frame) => self.send(Some(frame)),
                        Effect::StoreToken(token) => {
                            storage::set_token(&token);
                            self.set_notified(0);
                        }
                        Effect::StartOver => {
                            storage::forget_token();
                            self.set_notified(0);
                            self.wire.with_value(|w| w.restart());
                        }
                        // The page's owner reads the console; the server's
                        // message names the origin and the setting.
                        Effect::Refused(why) => {
                            self.wire.with_value(|w| w.stop());
                            web_sys::console::error_1(&["Baton: ", &why].concat().into());
                        }
                    }
                }
                if let Some(event) = fresh {
                    self.set_notified(event.seq);
                    self.news.set(Some(event.seq));
                    self.listener.with_value(|l| l.as_ref().map(|l| l(&event)));
                }
                self.mark_read();
            }
            LinkEvent::Closed { .. } => self.session.update(Session::dropped),
        }
    }
}
