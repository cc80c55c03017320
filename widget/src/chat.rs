//! The widget's reactive state and the actions its components call.
//!
//! [`Chat`] wraps the plain [`Session`] in a signal and connects it to a
//! [`Wire`]: the browser build uses a reconnecting [`Link`](crate::link::Link),
//! the browser tests a fake that records frames. Whatever the wire reports
//! comes back through [`Chat::link_event`].

use std::rc::Rc;

use baton_shared::protocol::VisitorRequest;
use leptos::html;
use leptos::prelude::*;

use crate::codec;
use crate::ids::client_id;
use crate::link::LinkEvent;
use crate::session::{Connection, Effect, Session};
use crate::storage;

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
}

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
}

impl Chat {
    pub fn new(session: Session, wire: Rc<dyn Wire>, on_close: Option<Rc<dyn Fn()>>) -> Self {
        Self {
            session: RwSignal::new(session),
            open: RwSignal::new(false),
            input: NodeRef::new(),
            wire: StoredValue::new_local(wire),
            on_close: StoredValue::new_local(on_close),
        }
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
        }
        self.open.set(open);
    }

    /// The panel's own close button, or Escape.
    pub fn minimise(&self) {
        self.set_open(false);
        self.on_close.with_value(|f| f.as_ref().map(|f| f()));
    }

    pub fn say(&self, text: &str) {
        let frame = self
            .session
            .try_update(|s| s.say(client_id(), text))
            .flatten();
        self.send(frame);
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
                let effects = self
                    .session
                    .try_update(|s| s.receive(update))
                    .unwrap_or_default();
                for effect in effects {
                    match effect {
                        Effect::Send(frame) => self.send(Some(frame)),
                        Effect::StoreToken(token) => storage::set_token(&token),
                        Effect::StartOver => {
                            storage::forget_token();
                            self.wire.with_value(|w| w.restart());
                        }
                    }
                }
            }
            LinkEvent::Closed { .. } => self.session.update(Session::dropped),
        }
    }
}
