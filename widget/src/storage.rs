//! What the widget keeps in the host page's `localStorage`.
//!
//! The keys are shared with `loader.js`, which reads them before any
//! WebAssembly loads: `baton.token` (a conversation is in progress, so load
//! the widget at once) and `baton.open` (the panel was open). The widget
//! alone uses `baton.seq`: the last event the page's `Baton('on', …)`
//! listeners were told about.

use baton_shared::domain::Seq;

const TOKEN: &str = "baton.token";
const NOTIFIED: &str = "baton.seq";

fn local() -> Option<web_sys::Storage> {
    // Storage can be disabled (privacy modes, sandboxed iframes): then the
    // conversation simply lasts as long as the page.
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn token() -> Option<String> {
    local()?
        .get_item(TOKEN)
        .ok()
        .flatten()
        .filter(|t| !t.is_empty())
}

pub fn set_token(token: &str) {
    if let Some(storage) = local() {
        let _ = storage.set_item(TOKEN, token);
    }
}

pub fn forget_token() {
    if let Some(storage) = local() {
        let _ = storage.remove_item(TOKEN);
    }
}

/// The last event the page was told about (0: none).
pub fn notified() -> Seq {
    local()
        .and_then(|s| s.get_item(NOTIFIED).ok().flatten())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn set_notified(seq: Seq) {
    if let Some(storage) = local() {
        let _ = storage.set_item(NOTIFIED, &seq.to_string());
    }
}
