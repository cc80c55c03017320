//! The entry point `loader.js` calls once the WebAssembly is instantiated.
//!
//! Built only with the `mount` feature (on by default), so the console can
//! reuse this crate's logic without exporting the widget's entry point.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use baton_shared::protocol::VisitorRequest;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use crate::chat::{Chat, Wire};
use crate::codec;
use crate::link::{Link, socket_url};
use crate::session::Session;
use crate::storage;
use crate::ui::Widget;

/// What the loader keeps to open and close the panel later.
#[wasm_bindgen]
pub struct WidgetHandle {
    chat: Chat,
    container: HtmlElement,
    /// The mounted view; dropping it takes the widget off the page.
    view: RefCell<Option<Box<dyn Any>>>,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// The launcher was clicked (or the page called `Baton('open')`…).
    pub fn set_open(&self, open: bool) {
        self.chat.set_open(open);
    }

    /// `Baton('identify', {userId, name, email, tier, userHash})`: used
    /// from the next `hello` (a conversation already under way gets it on
    /// its next reconnect).
    pub fn identify(&self, identity: JsValue) {
        self.chat.identify(codec::identity_from_js(&identity));
    }

    /// `Baton('set', …)`: `settings` is everything the page set so far
    /// (see [`configure`]).
    pub fn set(&self, settings: JsValue) {
        if configure(&self.chat, &settings) {
            // Drawn again in the new look; the conversation stays as it is.
            self.view.replace(None);
            self.view.replace(Some(draw(&self.chat, &self.container)));
            if self.chat.open.get_untracked() {
                self.chat.set_open(true);
            }
        }
    }
}

fn draw(chat: &Chat, container: &HtmlElement) -> Box<dyn Any> {
    let chat = *chat;
    Box::new(leptos::mount::mount_to(container.clone(), move || {
        view! { <Widget chat/> }
    }))
}

/// Applies the page's settings: `page` from the next `hello`, `metadata`,
/// and the look (`lang`, `name`, `avatar`, `greeting`). Returns whether
/// the look changed.
fn configure(chat: &Chat, settings: &JsValue) -> bool {
    let config = codec::config_from_js(settings);
    let changed = chat.config.with_untracked(|c| *c != config);
    if changed {
        chat.config.set(config);
    }
    chat.session.update_untracked(|s| {
        if let Some(page) = codec::page_from_js(settings) {
            s.set_page(page);
        }
        if let Some(metadata) = codec::metadata_from_js(settings) {
            s.set_metadata(metadata);
        }
    });
    changed
}

/// Draws the widget into `container` (inside the loader's shadow root) and
/// talks to the server at `origin` (its socket, uploads and files). A
/// visitor with a conversation in progress is reconnected at once, so the
/// transcript is there when the panel opens; a new visitor connects only
/// when they open the panel.
/// `open` restores a panel left open on the previous page (the visitor
/// opening it calls [`WidgetHandle::set_open`] instead). `on_close` is
/// called when the visitor closes the panel from inside. `identity` is what
/// the page passed to `Baton('identify', …)` before the widget loaded,
/// `settings` what it set (see [`WidgetHandle::set`]). `emit(kind, detail)`
/// tells the page's `Baton('on', kind, …)` listeners about new events.
#[wasm_bindgen]
pub fn mount(
    container: HtmlElement,
    origin: String,
    open: bool,
    on_close: Option<js_sys::Function>,
    identity: JsValue,
    settings: JsValue,
    emit: Option<js_sys::Function>,
) -> WidgetHandle {
    let wire = Rc::new(LinkWire {
        url: socket_url(&origin, "/ws/visitor"),
        link: RefCell::new(None),
    });
    let on_close = on_close.map(|f| {
        Rc::new(move || {
            let _ = f.call0(&JsValue::NULL);
        }) as Rc<dyn Fn()>
    });
    let mut session = Session::new(storage::token());
    session.identify(codec::identity_from_js(&identity));
    let restore = session.has_token();
    let chat = Chat::new(session, wire, on_close);
    // Files go up to, and are served from, the same server.
    chat.set_server(&origin);
    configure(&chat, &settings);
    if let Some(emit) = emit {
        chat.on_event(Rc::new(move |event| {
            if let Some((kind, detail)) = codec::event_for_page(event) {
                let _ = emit.call2(&JsValue::NULL, &kind.into(), &detail);
            }
        }));
    }
    if restore {
        chat.start();
    }
    chat.restore_open(open);
    let view = draw(&chat, &container);
    WidgetHandle {
        chat,
        container,
        view: RefCell::new(Some(view)),
    }
}

/// The real wire: a [`Link`] to the visitor socket, carrying JSON frames
/// (see [`codec`]).
struct LinkWire {
    url: String,
    link: RefCell<Option<Link>>,
}

impl Wire for LinkWire {
    fn connect(&self, chat: Chat) {
        let link = Link::open(self.url.clone(), move |event| chat.link_event(event));
        self.link.replace(Some(link));
    }

    fn send(&self, frame: &VisitorRequest) {
        if let Some(link) = self.link.borrow().as_ref() {
            link.send(&codec::encode(frame));
        }
    }

    fn restart(&self) {
        if let Some(link) = self.link.borrow().as_ref() {
            link.restart();
        }
    }

    fn stop(&self) {
        if let Some(link) = self.link.borrow().as_ref() {
            link.stop();
        }
    }
}
