//! The console's live state: the [`Desk`] in a signal, on the agent socket.
//!
//! [`Console`] is what the components hold. Agent actions go through it to
//! the desk and out on the [`Link`]; frames come back into the desk. The
//! socket is authenticated by the session cookie: when it cannot even open,
//! `/api/me` tells an expired session (show the login page) from a server
//! that is down (keep retrying).

use std::rc::Rc;

use baton_shared::domain::{AgentId, AgentRef, ConversationId, Verdict};
use baton_shared::protocol::{AgentRequest, AgentUpdate};
use baton_widget::chat::TYPING_IDLE;
use baton_widget::ids::client_id;
use baton_widget::link::{Link, LinkEvent, socket_url};
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::api::{self, ApiError};
use crate::desk::Desk;

#[derive(Clone, Copy)]
pub struct Console {
    pub desk: RwSignal<Desk>,
    link: StoredValue<Option<Link>, LocalStorage>,
    on_signed_out: StoredValue<Rc<dyn Fn()>, LocalStorage>,
    /// Bumped on every keystroke in the reply box (see `draft_changed`).
    keystrokes: StoredValue<u32>,
}

impl Console {
    /// Connects as `me`; `on_signed_out` runs once the session is gone.
    pub fn start(me: AgentRef, on_signed_out: impl Fn() + 'static) -> Self {
        let console = Self {
            desk: RwSignal::new(Desk::new(me)),
            link: StoredValue::new_local(None),
            on_signed_out: StoredValue::new_local(Rc::new(on_signed_out)),
            keystrokes: StoredValue::new(0),
        };
        let origin = window().location().origin().unwrap_or_default();
        let link = Link::open(socket_url(&origin, "/ws/agent"), move |event| {
            console.link_event(event)
        });
        console.link.set_value(Some(link));
        if let Some(id) = conversation_in(&window().location().hash().unwrap_or_default()) {
            console.open(id);
        }
        console
    }

    /// Closes the socket for good (sign-out, or the view is gone).
    pub fn stop(&self) {
        self.link
            .try_with_value(|link| link.as_ref().map(Link::stop));
    }

    fn send(&self, frames: impl IntoIterator<Item = AgentRequest>) {
        self.link.with_value(|link| {
            let Some(link) = link else { return };
            for frame in frames {
                if let Ok(text) = serde_json::to_string(&frame) {
                    link.send(&text);
                }
            }
        });
    }

    /// Opens a conversation; the address remembers it across reloads.
    pub fn open(&self, id: ConversationId) {
        let frames = self.desk.try_update(|d| d.open(id)).unwrap_or_default();
        let live = self.desk.with_untracked(|d| d.status().is_none());
        // Before the socket is open, `connected` watches it.
        if live {
            self.send(frames);
        }
        let _ = window()
            .location()
            .set_hash(&format!("/conversations/{id}"));
    }

    pub fn claim(&self) {
        self.send(self.desk.try_update(Desk::claim).flatten());
    }

    pub fn resume(&self) {
        self.send(self.desk.try_update(Desk::resume).flatten());
    }

    pub fn close(&self) {
        self.send(self.desk.try_update(Desk::close).flatten());
    }

    pub fn release(&self) {
        self.stop_typing();
        self.send(self.desk.try_update(Desk::release).flatten());
    }

    pub fn transfer(&self, to: AgentId) {
        self.stop_typing();
        self.send(self.desk.try_update(|d| d.transfer(to)).flatten());
    }

    /// The agent's judgement of the open conversation's latest handoff; the
    /// detail that comes back shows it.
    pub fn verdict(&self, verdict: Verdict) {
        let open = self
            .desk
            .with_untracked(|d| d.opened.as_ref().map(|o| o.id));
        if let Some(conversation) = open {
            self.send([AgentRequest::Verdict {
                conversation,
                verdict,
            }]);
        }
    }

    /// Teaches the assistant `phrasing` as a way of asking `article` (a
    /// new article when `answer` is given); the detail that comes back
    /// lists the lesson, an error frame says why not.
    pub fn teach(&self, article: String, phrasing: String, answer: Option<String>) {
        let open = self
            .desk
            .with_untracked(|d| d.opened.as_ref().map(|o| o.id));
        if let Some(conversation) = open {
            self.send([AgentRequest::Teach {
                conversation,
                article,
                phrasing,
                answer,
            }]);
        }
    }

    pub fn reply(&self, text: &str) {
        self.stop_typing();
        self.send(
            self.desk
                .try_update(|d| d.reply(client_id(), text))
                .flatten(),
        );
    }

    /// Shares a file the agent chose: it shows at once as uploading, is
    /// uploaded, then put in the log with an `attach` frame. A refusal
    /// (too large, a type not accepted) shows under it in the server's words.
    pub fn attach(&self, file: File) {
        let client_id = client_id();
        let name = file.name();
        let content_type = crate::files::content_type(&file.type_(), &name);
        let size = file.size().max(0.0) as u64;
        let Some(conversation) = self
            .desk
            .try_update(|d| d.start_upload(client_id.clone(), &name, &content_type, size))
            .flatten()
        else {
            return;
        };
        let console = *self;
        spawn_local(async move {
            match api::upload(conversation, &file, &content_type).await {
                Ok(attachment) => console.send(
                    console
                        .desk
                        .try_update(|d| d.uploaded(conversation, &client_id, attachment))
                        .flatten(),
                ),
                Err(e) => {
                    console
                        .desk
                        .try_update(|d| d.upload_failed(conversation, &client_id, &e.message()));
                    if let ApiError::Unauthorized(_) = e {
                        console.signed_out();
                    }
                }
            }
        });
    }

    /// The reply box changed: typing while it has text, until
    /// [`TYPING_IDLE`] passes without a keystroke.
    pub fn draft_changed(&self, draft: &str) {
        if draft.trim().is_empty() {
            return self.stop_typing();
        }
        self.set_typing(true);
        self.keystrokes.update_value(|n| *n = n.wrapping_add(1));
        let (console, at) = (*self, self.keystrokes.get_value());
        set_timeout(
            move || {
                if console.keystrokes.try_get_value() == Some(at) {
                    console.stop_typing();
                }
            },
            TYPING_IDLE,
        );
    }

    pub fn stop_typing(&self) {
        self.set_typing(false);
    }

    fn set_typing(&self, typing: bool) {
        // Untracked: nothing on screen shows it, so nothing redraws.
        self.send(
            self.desk
                .try_update_untracked(|d| d.set_typing(typing))
                .flatten(),
        );
    }

    fn signed_out(&self) {
        self.stop();
        self.on_signed_out.with_value(|f| f());
    }

    fn link_event(&self, event: LinkEvent) {
        match event {
            LinkEvent::Connecting => {}
            LinkEvent::Opened => {
                self.send(self.desk.try_update(Desk::connected).unwrap_or_default())
            }
            LinkEvent::Message(text) => {
                let Ok(update) = serde_json::from_str::<AgentUpdate>(&text) else {
                    return;
                };
                if self
                    .desk
                    .try_update(|d| d.receive(update))
                    .is_some_and(|r| r.is_err())
                {
                    self.signed_out();
                }
            }
            LinkEvent::Closed { was_open } => {
                self.desk.update(Desk::dropped);
                if !was_open {
                    // A refused upgrade looks like a network error to
                    // WebSocket; ask the API whether the session is still good.
                    let console = *self;
                    spawn_local(async move {
                        if let Err(ApiError::Unauthorized(_)) = api::me().await {
                            console.signed_out();
                        }
                    });
                }
            }
        }
    }
}

/// The conversation named in the address (`#/conversations/12`).
pub fn conversation_in(hash: &str) -> Option<ConversationId> {
    hash.strip_prefix("#/conversations/")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::conversation_in;

    #[test]
    fn the_address_names_the_open_conversation() {
        assert_eq!(conversation_in("#/conversations/12"), Some(12));
        assert_eq!(conversation_in("#/conversations/x"), None);
        assert_eq!(conversation_in(""), None);
    }
}
