//! A WebSocket that reconnects by itself.
//!
//! [`Link`] owns one `web_sys::WebSocket` at a time and reports what happens
//! to it as [`LinkEvent`]s. When the socket closes it waits as the
//! [`Backoff`] policy says and opens a new one, until [`Link::stop`]. It knows
//! nothing about frames: the widget and the console each put their own
//! protocol on top.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::backoff::Backoff;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// A new socket is being opened.
    Connecting,
    Opened,
    /// A text frame arrived.
    Message(String),
    /// The socket closed; `was_open` is false when it never opened (the
    /// server is down, or refused the upgrade, e.g. with 401). Unless the
    /// handler calls [`Link::stop`], a new attempt follows.
    Closed {
        was_open: bool,
    },
}

/// A cheap handle to the reconnecting socket.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

struct Inner {
    url: String,
    on_event: Box<dyn Fn(LinkEvent)>,
    socket: RefCell<Option<Socket>>,
    backoff: RefCell<Backoff>,
    stopped: Cell<bool>,
    /// Bumped for every socket, so a timer or callback of an earlier one
    /// does nothing.
    generation: Cell<u32>,
}

/// The current socket and the callbacks it holds (dropped with it).
struct Socket {
    ws: WebSocket,
    open: Rc<Cell<bool>>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

impl Link {
    /// Starts connecting to `url` at once.
    pub fn open(url: String, on_event: impl Fn(LinkEvent) + 'static) -> Self {
        let link = Self(Rc::new(Inner {
            url,
            on_event: Box::new(on_event),
            socket: RefCell::new(None),
            backoff: RefCell::new(Backoff::default()),
            stopped: Cell::new(false),
            generation: Cell::new(0),
        }));
        link.connect();
        link
    }

    /// Sends a text frame; `false` when no socket is open.
    pub fn send(&self, text: &str) -> bool {
        let socket = self.0.socket.borrow();
        socket
            .as_ref()
            .is_some_and(|s| s.open.get() && s.ws.send_with_str(text).is_ok())
    }

    /// Drops the current socket and opens a new one now.
    pub fn restart(&self) {
        self.0.socket.replace(None);
        self.connect();
    }

    /// Closes the socket for good.
    pub fn stop(&self) {
        self.0.stopped.set(true);
        self.0.socket.replace(None);
    }

    fn emit(&self, event: LinkEvent) {
        (self.0.on_event)(event);
    }

    fn connect(&self) {
        if self.0.stopped.get() {
            return;
        }
        let generation = self.0.generation.get().wrapping_add(1);
        self.0.generation.set(generation);
        self.emit(LinkEvent::Connecting);
        match WebSocket::new(&self.0.url) {
            Ok(ws) => {
                let socket = self.attach(ws);
                self.0.socket.replace(Some(socket));
            }
            // A malformed URL or a blocked port: treat it like a failed attempt.
            Err(_) => self.closed(generation, false),
        }
    }

    fn attach(&self, ws: WebSocket) -> Socket {
        let generation = self.0.generation.get();
        let open = Rc::new(Cell::new(false));
        let weak = Rc::downgrade(&self.0);
        let on_open = {
            let (weak, open) = (weak.clone(), open.clone());
            Closure::<dyn FnMut()>::new(move || {
                let Some(link) = current(&weak, generation) else {
                    return;
                };
                open.set(true);
                link.0.backoff.borrow_mut().opened(js_sys::Date::now());
                link.emit(LinkEvent::Opened);
            })
        };
        let on_message = {
            let weak = weak.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let Some(link) = current(&weak, generation) else {
                    return;
                };
                if let Some(text) = ev.data().as_string() {
                    link.emit(LinkEvent::Message(text));
                }
            })
        };
        let on_close = {
            let open = open.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
                let Some(link) = current(&weak, generation) else {
                    return;
                };
                link.closed(generation, open.get());
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Socket {
            ws,
            open,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        }
    }

    fn closed(&self, generation: u32, was_open: bool) {
        // Dropping the socket here is fine: wasm-bindgen frees a closure
        // only after the call running it returns.
        self.0.socket.replace(None);
        self.emit(LinkEvent::Closed { was_open });
        if self.0.stopped.get() {
            return;
        }
        let delay = self
            .0
            .backoff
            .borrow_mut()
            .next_delay_ms(js_sys::Date::now(), js_sys::Math::random());
        let weak = Rc::downgrade(&self.0);
        leptos::prelude::set_timeout(
            move || {
                if let Some(link) = current(&weak, generation) {
                    link.connect();
                }
            },
            Duration::from_millis(delay as u64),
        );
    }
}

/// The link, if it still exists and `generation` is its current socket.
fn current(weak: &Weak<Inner>, generation: u32) -> Option<Link> {
    let inner = weak.upgrade()?;
    (inner.generation.get() == generation).then_some(Link(inner))
}

/// The WebSocket URL for `path` on the server at `origin`
/// (`http://host:8080` → `ws://host:8080/ws/visitor`).
pub fn socket_url(origin: &str, path: &str) -> String {
    let origin = origin.trim_end_matches('/');
    let rest = origin
        .strip_prefix("https://")
        .map(|host| format!("wss://{host}"))
        .or_else(|| {
            origin
                .strip_prefix("http://")
                .map(|host| format!("ws://{host}"))
        })
        .unwrap_or_else(|| origin.to_owned());
    format!("{rest}{path}")
}

#[cfg(test)]
mod tests {
    use super::socket_url;

    #[test]
    fn socket_urls_follow_the_page_scheme() {
        assert_eq!(
            socket_url("http://127.0.0.1:8080", "/ws/visitor"),
            "ws://127.0.0.1:8080/ws/visitor"
        );
        assert_eq!(
            socket_url("https://chat.example.com/", "/ws/agent"),
            "wss://chat.example.com/ws/agent"
        );
    }
}
