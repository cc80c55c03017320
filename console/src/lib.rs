//! Baton's agent console, compiled to WebAssembly and served at `/console/`.
//!
//! - [`desk`]: the console's state over the agent socket, as plain Rust
//!   (queue, open conversation, what the agent may do), tested natively. The
//!   transcript reducer and the reconnecting socket come from the widget
//!   crate (without its `mount` export).
//! - [`format`]: waiting times, confidence, labels, file sizes.
//! - [`files`]: what an upload says about a file, and how its answer reads.
//! - [`api`]: sign in, sign out, who am I, uploads.
//! - [`connection`]: the desk in a signal, on the agent socket.
//! - [`ui`]: the Leptos pages.

pub mod api;
pub mod connection;
pub mod desk;
pub mod files;
pub mod format;
pub mod ui;

use wasm_bindgen::prelude::wasm_bindgen;

/// Runs when trunk's page loads the module: draws the console.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(ui::App);
}
