//! Baton's server: customer chat where an assistant answers visitors and
//! hands the conversation to a person — and back — without a seam.
//!
//! How a visitor's turn flows through the modules:
//!
//! - [`transport`] decodes a frame from the widget's or console's socket.
//! - [`desk`] carries it out: stores the message, asks the [`handoff`]
//!   engine whether a person is needed (user request, policy rule), asks
//!   the [`assistant`] for a draft (the default answers from the
//!   [`knowledge`] base; an OpenAI-compatible LLM or the site's own bot
//!   can instead, chosen in the config), asks the engine again
//!   (confidence, output rules), then stores the answer or the handoff
//!   with its brief, and publishes.
//! - [`notify`] tells the team about each handoff (webhooks with retries,
//!   one-click resume links).
//! - [`store`] keeps the append-only event log, handoff records, agents and
//!   sessions; [`team`] is the agents' accounts and logins.
//! - [`server::serve`] wires it up; [`config`] reads the TOML file and
//!   environment; [`eval`] runs recorded cases through the same engine.
//! - [`attachments`] checks uploaded files (type against bytes) and
//!   keeps them on disk; visitors and agents share them in the log.
//! - [`analytics`] counts the handoff records for the console's Analytics
//!   page, [`metrics`] is `/metrics`, and [`export`] turns escalated
//!   conversations back into eval cases.

pub mod analytics;
pub mod assistant;
pub mod attachments;
pub mod cli;
pub mod clock;
pub mod config;
pub mod desk;
pub mod eval;
pub mod export;
pub mod handoff;
pub mod identity;
pub mod knowledge;
pub mod metrics;
pub mod notify;
pub mod secret;
pub mod server;
pub mod store;
pub mod team;
pub mod transport;

pub use config::Config;
pub use server::serve;
