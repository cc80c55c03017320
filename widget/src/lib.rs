//! Baton's visitor chat widget, compiled to WebAssembly.
//!
//! `loader.js` (next to this crate) draws the launcher bubble on the host
//! page inside a Shadow DOM root and, when needed, loads this module and
//! calls [`mount`](entry::mount) with a container inside that root.
//!
//! The crate is layered so that the logic is plain Rust, tested natively:
//!
//! - [`transcript`]: the event-log reducer (seq order, duplicates, pending
//!   messages, who the responder is). The console uses it too.
//! - [`backoff`]: when to reconnect.
//! - [`session`]: the visitor socket protocol as a state machine.
//!
//! and the browser parts stay thin:
//!
//! - [`link`]: a WebSocket that reconnects by itself (also used by the console).
//! - [`codec`]: frames to and from JSON with the browser's parser (no serde
//!   in the shipped widget).
//! - [`ids`], [`storage`]: client ids and `localStorage`.
//! - [`chat`]: the session in a signal, wired to a socket.
//! - [`ui`]: the Leptos components and their CSS.
//! - `entry` (feature `mount`): the export the loader calls.

pub mod backoff;
pub mod chat;
pub mod codec;
#[cfg(feature = "mount")]
pub mod entry;
pub mod ids;
pub mod link;
pub mod session;
pub mod storage;
pub mod transcript;
pub mod ui;
