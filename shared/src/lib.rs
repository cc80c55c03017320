//! Baton's shared vocabulary: the domain types of a conversation and its
//! handoffs ([`domain`]), the frames the visitor widget and the agent
//! console exchange with the server over WebSockets ([`protocol`]), and the
//! handoff analytics the console charts ([`analytics`]).
//!
//! This crate depends on serde alone so that it compiles both natively (the
//! server, tests) and to WebAssembly (widget, console): one definition of the
//! wire format, checked by the compiler on both ends.

pub mod analytics;
pub mod domain;
pub mod protocol;
pub mod uploads;

pub use domain::*;
pub use protocol::*;
