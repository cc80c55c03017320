//! Baton's visitor chat widget, compiled to WebAssembly.
//!
//! `loader.js` (next to this crate) draws the launcher bubble on the host
//! page inside a Shadow DOM root and, when needed, loads this module and
//! calls [`mount`](entry::mount) with a container inside that root.
//!
//! The crate is layered so that the logic is plain Rust, tested natively:
//!
//! - [`transcript`]: the event-log reducer (seq order, duplicates, pending
//!   and refused messages, who the responder is, whether a rating is due).
//!   The console uses it too.
//! - [`backoff`]: when to reconnect.
//! - [`session`]: the visitor socket protocol as a state machine, with the
//!   identity for `hello`, typing indicators both ways and read receipts.
//!
//! and the browser parts stay thin:
//!
//! - [`link`]: a WebSocket that reconnects by itself (also used by the console).
//! - [`codec`]: frames to and from JSON with the browser's parser (no serde
//!   in the shipped widget).
//! - [`ids`], [`storage`]: client ids and `localStorage`.
//! - [`files`] (plain, tested natively): which files the server takes, and
//!   their sizes as people read them; [`upload`]: `POST /api/uploads` and
//!   voice messages with `MediaRecorder`.
//! - [`chat`]: the session in a signal, wired to a socket.
//! - [`ui`]: the Leptos components and their CSS.
//! - [`i18n`]: the widget's words in English, German, French and Spanish.
//! - `entry` (feature `mount`): the exports the loader calls (`mount`, and
//!   `set_open`/`identify` for the page's `Baton(…)` commands).

pub mod backoff;
pub mod chat;
pub mod codec;
#[cfg(feature = "mount")]
pub mod entry;
pub mod files;
pub mod i18n;
pub mod ids;
pub mod link;
pub mod session;
pub mod storage;
pub mod transcript;
pub mod ui;
pub mod upload;
