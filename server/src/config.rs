//! Configuration: one TOML file plus `BATON_*` environment variables.
//!
//! Every key has a default, so `baton serve` with no file runs the demo: a
//! SQLite file in the working directory, the demo knowledge base, and a demo
//! agent account. Invalid configuration fails at start with a message that
//! names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::handoff::Policy;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address `baton serve` binds to.
    pub listen: SocketAddr,
    /// `sqlite://path/to/file.db` (created when missing) or
    /// `postgres://user:password@host/database` (several nodes may share it).
    pub database_url: String,
    /// Where the built widget and console live (`dist/` of `cargo xtask build`).
    pub assets_dir: PathBuf,
    /// The knowledge base (Markdown); absent means the built-in demo one.
    pub knowledge_base: Option<PathBuf>,
    /// Create the demo agent (`demo@baton.local` / `baton-demo`) at start.
    /// On when running without a config file.
    pub demo: bool,
    /// The address people reach this server at, for links in
    /// notifications; default `http://<listen>`.
    pub public_url: Option<String>,
    /// Key for signing resume links; default: generated once and kept in
    /// the database.
    pub secret: Option<String>,
    pub assistant: AssistantConfig,
    pub limits: Limits,
    pub notifications: Notifications,
    pub visitors: Visitors,
    pub policy: Policy,
    pub analytics: Analytics,
    pub metrics: MetricsConfig,
    pub attachments: Attachments,
    pub embeddings: Embeddings,
}

/// `[embeddings]`: the sentence-embedding model retrieval uses beside its
/// lexical ranking (see `knowledge::embedding`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Embeddings {
    pub source: EmbeddingSource,
    /// A folder with the model in the Hugging Face layout (`config.json`,
    /// `tokenizer.json`, `model.safetensors`), for `folder` and `auto`.
    pub dir: PathBuf,
    /// The hub repository and the revision it is pinned to.
    pub model: String,
    pub revision: String,
    /// The hub, or a mirror of it (`HF_ENDPOINT` too).
    pub hub_endpoint: String,
    /// Hub downloads (`hub/`) and the articles' embeddings (`vectors/`).
    pub cache_dir: PathBuf,
    /// `[embeddings.endpoint]`, for `source = "endpoint"`.
    pub endpoint: Option<EmbeddingEndpoint>,
}

/// Where the embedding model comes from.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingSource {
    /// `dir` when it holds a model, else the hub; without either, lexical
    /// retrieval only (said at start).
    #[default]
    Auto,
    /// `dir` only (air-gapped sites); a missing model stops the server.
    Folder,
    /// The hub only (downloaded once into `cache_dir`).
    Hub,
    /// An OpenAI-compatible `/v1/embeddings` endpoint.
    Endpoint,
    /// Lexical retrieval only.
    Off,
}

/// `[embeddings.endpoint]`: an OpenAI-compatible embeddings API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingEndpoint {
    /// Baton POSTs to `{base_url}/embeddings`.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key, if it needs one.
    pub api_key_env: Option<String>,
    pub timeout_ms: u64,
    /// What goes before a visitor's question and before an article (E5's
    /// by default, the family the confidence is tuned on).
    pub query_prefix: String,
    pub passage_prefix: String,
}

impl Default for EmbeddingEndpoint {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: String::new(),
            api_key_env: None,
            timeout_ms: 5_000,
            query_prefix: "query: ".into(),
            passage_prefix: "passage: ".into(),
        }
    }
}

/// `~/.cache/baton` (or `$XDG_CACHE_HOME/baton`): where `cargo xtask` puts
/// the model, and where downloads and vectors go by default.
fn user_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("baton")
}

impl Default for Embeddings {
    fn default() -> Self {
        let cache = user_cache();
        Self {
            source: EmbeddingSource::Auto,
            dir: cache.join("models/multilingual-e5-small"),
            model: "intfloat/multilingual-e5-small".into(),
            revision: "fd1525a9fd15316a2d503bf26ab031a61d056e98".into(),
            hub_endpoint: std::env::var("HF_ENDPOINT")
                .unwrap_or_else(|_| "https://huggingface.co".into()),
            cache_dir: cache,
            endpoint: None,
        }
    }
}

impl Embeddings {
    /// Lexical retrieval only (tests that do not need the model).
    pub fn off() -> Self {
        Self {
            source: EmbeddingSource::Off,
            ..Self::default()
        }
    }

    /// The model in `dir`, and nothing else.
    pub fn folder(dir: impl Into<PathBuf>) -> Self {
        Self {
            source: EmbeddingSource::Folder,
            dir: dir.into(),
            ..Self::default()
        }
    }
}

/// `[attachments]`: files visitors and agents share.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attachments {
    /// Where uploaded files are kept (created when missing).
    pub dir: PathBuf,
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Content types accepted; each must be one Baton can check against
    /// the bytes (`crate::attachments::KNOWN_TYPES`). Empty turns uploads
    /// off.
    pub allowed_types: Vec<String>,
}

impl Default for Attachments {
    fn default() -> Self {
        Self {
            dir: "uploads".into(),
            max_bytes: 10 * 1024 * 1024,
            allowed_types: crate::attachments::KNOWN_TYPES
                .iter()
                .map(|(t, _)| t.to_string())
                .collect(),
        }
    }
}

/// `[analytics]`: how handoff outcomes are judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Analytics {
    /// A handoff that ends before any person's reply reached the visitor
    /// is `abandoned` when the visitor has had no chat open for at least
    /// this long (a reload or a network blip is not leaving).
    pub abandoned_after_secs: u64,
}

impl Default for Analytics {
    fn default() -> Self {
        Self {
            abandoned_after_secs: 120,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all (404 when off).
    pub enabled: bool,
    /// When set, a scrape must send `Authorization: Bearer <token>`
    /// (`BATON_METRICS_TOKEN`); without it `/metrics` is open to anyone who
    /// can reach the server.
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
        }
    }
}

/// Who may open the widget's socket, and what the server believes about
/// them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Visitors {
    /// Pages (origins, e.g. `https://shop.example`) allowed to embed the
    /// widget, besides this server's own. Not set: any site may, as with
    /// Intercom or Crisp, until the owner lists theirs; `"*"` in the list
    /// also allows any. See `transport::origins`.
    pub allowed_origins: Option<Vec<String>>,
    /// The site secret the host's backend signs visitor identities with
    /// (`user_hash` = hex HMAC-SHA256 of the user id).
    pub identity_secret: Option<String>,
    /// Refuse visitors whose identity is not verified.
    pub require_verified_identity: bool,
}

/// Where the team hears about handoffs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notifications {
    /// Each is sent every handoff.
    pub webhooks: Vec<Webhook>,
    /// How long a "Resume assistant" link works.
    pub resume_link_ttl_hours: u32,
    /// First retry delay; it doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// A notification not delivered by then is given up.
    pub give_up_after_hours: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// `slack` (text + blocks, for Slack incoming webhooks and compatible
    /// tools) or `json` (Baton's payload, signed when `secret` is set).
    #[serde(default)]
    pub format: WebhookFormat,
    /// HMAC-SHA256 key for the `X-Baton-Signature` header (`json` only).
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    #[default]
    Slack,
    Json,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Json => "json",
        }
    }
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            resume_link_ttl_hours: 24,
            retry_initial_ms: 2_000,
            retry_max_ms: 10 * 60 * 1000,
            give_up_after_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// The name the widget shows while the assistant answers.
    pub name: String,
    /// What the visitor reads when the assistant steps back.
    pub handoff_notice: String,
    /// The same, outside business hours; `{back}` becomes when people are
    /// back (e.g. "Monday 09:00 (Europe/Berlin)").
    pub out_of_hours_notice: String,
    /// Who drafts the answers: `knowledge_base` (default), `openai` (any
    /// OpenAI-compatible Chat Completions endpoint) or `webhook` (the
    /// site's own bot).
    pub backend: Backend,
    /// `[assistant.openai]`, read when `backend = "openai"`.
    pub openai: OpenAiConfig,
    /// `[assistant.webhook]`, read when `backend = "webhook"`.
    pub webhook: BotWebhookConfig,
}

/// Which assistant backend drafts the answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Answers from the Markdown knowledge base, offline and instantly.
    #[default]
    KnowledgeBase,
    /// An OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama,
    /// vLLM, llama.cpp server), with the knowledge base as context.
    Openai,
    /// POSTs each turn to the site's own bot.
    Webhook,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KnowledgeBase => "knowledge_base",
            Self::Openai => "openai",
            Self::Webhook => "webhook",
        }
    }
}

/// `[assistant.openai]`: an OpenAI-compatible Chat Completions endpoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiConfig {
    /// The API root; `/chat/completions` is appended (e.g.
    /// `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` for Ollama).
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key (sent as a bearer
    /// token); none for local servers that need no key.
    pub api_key_env: Option<String>,
    /// The instructions; `{name}` becomes the assistant's name. The
    /// knowledge base (and, for `self_rating`, the reply format) is
    /// appended.
    pub system_prompt: String,
    /// Where an answer's confidence comes from.
    pub confidence: ConfidenceSource,
    /// Stream answers to the visitor as they are generated (`logprobs`
    /// only: a self-rating is known only at the end).
    pub stream: bool,
    /// Ask for `response_format: {"type": "json_object"}` when the model
    /// must answer in JSON (`self_rating`, brief summaries); turn off for
    /// servers that reject the parameter (the prompt asks for JSON anyway).
    pub json_mode: bool,
    /// Longest a whole answer may take, first byte to last token; then the
    /// conversation goes to a person ("assistant unavailable").
    pub timeout_ms: u64,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Earlier exchanges sent along with the visitor's turn.
    pub max_history: usize,
    /// The knowledge base sent as context is cut at this many characters
    /// (the article that best matches the turn goes first).
    pub max_context_chars: usize,
    /// Let the model write the brief's intent, what was tried and the next
    /// step after a handoff (the built brief is shown until it has).
    pub summarise_briefs: bool,
    pub summary_timeout_ms: u64,
}

/// How the `openai` backend rates its own answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceSource {
    /// From the answer's token log-probabilities (the endpoint must return
    /// them: OpenAI, vLLM, llama.cpp server, recent Ollama).
    #[default]
    Logprobs,
    /// From a rating the model gives itself in a JSON reply
    /// `{"answer": …, "confidence": 0–1}`.
    SelfRating,
}

/// `[assistant.webhook]`: the site's own bot (Rasa, Botpress, …) behind a
/// URL that takes each turn and answers `{answer, confidence}` or
/// `{handoff: reason}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BotWebhookConfig {
    pub url: String,
    /// HMAC-SHA256 key for the `X-Baton-Signature` header, as for
    /// notification webhooks.
    pub secret: Option<String>,
    pub timeout_ms: u64,
}

/// Size and rate limits on everything a client sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted WebSocket frame, in bytes.
    pub max_frame_bytes: usize,
    /// Longest accepted message text, in characters.
    pub max_text_chars: usize,
    /// Frames one socket may send per second, sustained; 0 turns the
    /// per-connection limit off.
    pub frames_per_second: u32,
    /// Frames one socket may send at once before `frames_per_second` applies.
    pub frame_burst: u32,
    /// New sockets (visitor and agent together) one address may open per
    /// minute, all at once at most; 0 turns the per-address limit off.
    pub connections_per_minute: u32,
    /// Agent sign-in attempts one address may make per minute; 0 turns the
    /// limit off. Guessing passwords gets slow.
    pub logins_per_minute: u32,
    /// Take the address from the last `X-Forwarded-For` entry. Only behind a
    /// reverse proxy you run (which sets that header): otherwise clients
    /// choose their own address and every client behind the proxy shares
    /// one limit.
    pub trust_forwarded_for: bool,
    /// How long a new widget socket may wait before its `hello`; then it
    /// is told so (`hello_first`) and closed (1008).
    pub hello_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://baton.db".into(),
            assets_dir: "dist".into(),
            knowledge_base: None,
            demo: false,
            public_url: None,
            secret: None,
            assistant: AssistantConfig::default(),
            limits: Limits::default(),
            notifications: Notifications::default(),
            visitors: Visitors::default(),
            policy: Policy::default(),
            analytics: Analytics::default(),
            metrics: MetricsConfig::default(),
            attachments: Attachments::default(),
            embeddings: Embeddings::default(),
        }
    }
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            name: "Nova".into(),
            handoff_notice: "I'm bringing in a person from our team. They can see everything \
                             you've written here, so there's no need to repeat yourself."
                .into(),
            out_of_hours_notice:
                "Our team is away right now and back {back}. Your conversation is \
                                  waiting for them, and they'll see everything you've written here."
                    .into(),
            backend: Backend::default(),
            openai: OpenAiConfig::default(),
            webhook: BotWebhookConfig {
                timeout_ms: 10_000,
                ..BotWebhookConfig::default()
            },
        }
    }
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: String::new(),
            api_key_env: None,
            system_prompt: "You are {name}, the customer-support assistant of this website. \
                Answer the visitor's question using only the knowledge base below, briefly and \
                in the visitor's language. If the knowledge base does not answer it, say so \
                plainly instead of guessing."
                .into(),
            confidence: ConfidenceSource::default(),
            stream: true,
            json_mode: true,
            timeout_ms: 20_000,
            temperature: 0.2,
            max_tokens: 500,
            max_history: 10,
            max_context_chars: 24_000,
            summarise_briefs: true,
            summary_timeout_ms: 15_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: baton_shared::DEFAULT_MAX_FRAME_BYTES,
            max_text_chars: baton_shared::DEFAULT_MAX_TEXT_CHARS,
            // A person types far slower; a widget resending its unacknowledged
            // messages after a reconnect stays inside the burst.
            frames_per_second: 10,
            frame_burst: 20,
            // Page loads and reconnects of one visitor stay far below; an
            // office behind one NAT address has room for dozens of visitors.
            connections_per_minute: 60,
            logins_per_minute: 10,
            trust_forwarded_for: false,
            hello_timeout_ms: 30_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid environment variable {var}: {message}")]
    Env { var: &'static str, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads the file (if any), applies `BATON_*` overrides, and validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::from_file(path)?,
            None => Self {
                demo: true,
                ..Self::default()
            },
        };
        config.apply_env(|var| std::env::var(var).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        // toml's message already names the key and shows the line.
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// The variables people reach for when running a container or a test:
    /// address, database, assets and knowledge base.
    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("BATON_LISTEN") {
            self.listen = v.parse().map_err(|e| ConfigError::Env {
                var: "BATON_LISTEN",
                message: format!("{e} (expected host:port, e.g. 127.0.0.1:8080)"),
            })?;
        }
        if let Some(v) = var("BATON_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("BATON_ASSETS_DIR") {
            self.assets_dir = v.into();
        }
        if let Some(v) = var("BATON_KNOWLEDGE_BASE") {
            self.knowledge_base = Some(v.into());
        }
        if let Some(v) = var("BATON_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = var("BATON_SECRET") {
            self.secret = Some(v);
        }
        if let Some(v) = var("BATON_ALLOWED_ORIGINS") {
            self.visitors.allowed_origins = Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        if let Some(v) = var("BATON_EMBEDDINGS_DIR") {
            self.embeddings.dir = v.into();
        }
        if let Some(v) = var("BATON_EMBEDDINGS") {
            self.embeddings.source = match v.as_str() {
                "auto" => EmbeddingSource::Auto,
                "folder" => EmbeddingSource::Folder,
                "hub" => EmbeddingSource::Hub,
                "endpoint" => EmbeddingSource::Endpoint,
                "off" => EmbeddingSource::Off,
                _ => {
                    return Err(ConfigError::Env {
                        var: "BATON_EMBEDDINGS",
                        message: format!("{v:?}: expected auto, folder, hub, endpoint or off"),
                    });
                }
            };
        }
        if let Some(v) = var("BATON_IDENTITY_SECRET") {
            self.visitors.identity_secret = Some(v);
        }
        if let Some(v) = var("BATON_METRICS_TOKEN") {
            self.metrics.token = Some(v);
        }
        if let Some(v) = var("BATON_DEMO") {
            self.demo = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::store::Backend::of_url(&self.database_url).is_none() {
            return Err(ConfigError::Invalid(format!(
                "database_url: {:?} is not supported; use sqlite://path/to/file.db or postgres://user@host/database",
                self.database_url
            )));
        }
        if self.assistant.name.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "assistant.name: must not be empty".into(),
            ));
        }
        self.validate_assistant()?;
        let e = &self.embeddings;
        match (&e.source, &e.endpoint) {
            (EmbeddingSource::Endpoint, None) => {
                return Err(ConfigError::Invalid(
                    "embeddings.endpoint: required with embeddings.source = \"endpoint\"".into(),
                ));
            }
            (EmbeddingSource::Endpoint, Some(endpoint))
                if !(endpoint.base_url.starts_with("http://")
                    || endpoint.base_url.starts_with("https://"))
                    || endpoint.model.trim().is_empty() =>
            {
                return Err(ConfigError::Invalid(
                    "embeddings.endpoint: base_url (http:// or https://) and model are required"
                        .into(),
                ));
            }
            _ => {}
        }
        if self.attachments.max_bytes == 0 {
            return Err(ConfigError::Invalid(
                "attachments.max_bytes: must be at least 1".into(),
            ));
        }
        for t in &self.attachments.allowed_types {
            if !crate::attachments::KNOWN_TYPES
                .iter()
                .any(|(known, _)| known.eq_ignore_ascii_case(t))
            {
                let known: Vec<&str> = crate::attachments::KNOWN_TYPES
                    .iter()
                    .map(|(k, _)| *k)
                    .collect();
                return Err(ConfigError::Invalid(format!(
                    "attachments.allowed_types: {t:?} cannot be checked; use some of {}",
                    known.join(", ")
                )));
            }
        }
        if self.limits.max_frame_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_frame_bytes: must be at least 1024".into(),
            ));
        }
        if self.limits.max_text_chars == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_text_chars: must be at least 1".into(),
            ));
        }
        if self.limits.frames_per_second > 0 && self.limits.frame_burst == 0 {
            return Err(ConfigError::Invalid(
                "limits.frame_burst: must be at least 1 while limits.frames_per_second is set"
                    .into(),
            ));
        }
        if let Some(url) = self
            .public_url
            .as_ref()
            .filter(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(ConfigError::Invalid(format!(
                "public_url: {url:?} must start with http:// or https://"
            )));
        }
        if self.metrics.token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::Invalid(
                "metrics.token: must have at least 16 characters".into(),
            ));
        }
        if self.secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::Invalid(
                "secret: must have at least 16 characters".into(),
            ));
        }
        for (i, hook) in self.notifications.webhooks.iter().enumerate() {
            if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "notifications.webhooks[{i}].url: {:?} must start with http:// or https://",
                    hook.url
                )));
            }
        }
        for origin in self.visitors.allowed_origins.iter().flatten() {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#'])
                    && origin.matches('/').count() == 2);
            if !valid {
                return Err(ConfigError::Invalid(format!(
                    "visitors.allowed_origins: {origin:?} is not an origin (scheme://host[:port], or \"*\")"
                )));
            }
        }
        if self.visitors.require_verified_identity && self.visitors.identity_secret.is_none() {
            return Err(ConfigError::Invalid(
                "visitors.require_verified_identity: needs visitors.identity_secret".into(),
            ));
        }
        let n = &self.notifications;
        if n.retry_initial_ms == 0 || n.retry_max_ms < n.retry_initial_ms {
            return Err(ConfigError::Invalid(
                "notifications.retry_initial_ms: must be positive and at most retry_max_ms".into(),
            ));
        }
        self.policy
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The chosen backend's table; the others are not read.
    fn validate_assistant(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        let http = |url: &str| url.starts_with("http://") || url.starts_with("https://");
        match self.assistant.backend {
            Backend::KnowledgeBase => Ok(()),
            Backend::Openai => {
                let o = &self.assistant.openai;
                if o.base_url.trim().is_empty() {
                    return invalid(
                        "assistant.openai.base_url: required with assistant.backend = \"openai\" \
                         (e.g. \"https://api.openai.com/v1\" or \"http://127.0.0.1:11434/v1\")"
                            .into(),
                    );
                }
                if !http(&o.base_url) {
                    return invalid(format!(
                        "assistant.openai.base_url: {:?} must start with http:// or https://",
                        o.base_url
                    ));
                }
                if o.model.trim().is_empty() {
                    return invalid(
                        "assistant.openai.model: required with assistant.backend = \"openai\""
                            .into(),
                    );
                }
                if o.api_key_env.as_ref().is_some_and(|v| v.trim().is_empty()) {
                    return invalid(
                        "assistant.openai.api_key_env: must name an environment variable".into(),
                    );
                }
                if !(100..=600_000).contains(&o.timeout_ms) {
                    return invalid(
                        "assistant.openai.timeout_ms: must be between 100 and 600000".into(),
                    );
                }
                if !(100..=600_000).contains(&o.summary_timeout_ms) {
                    return invalid(
                        "assistant.openai.summary_timeout_ms: must be between 100 and 600000"
                            .into(),
                    );
                }
                if !(0.0..=2.0).contains(&o.temperature) {
                    return invalid("assistant.openai.temperature: must be between 0 and 2".into());
                }
                if o.max_tokens == 0 {
                    return invalid("assistant.openai.max_tokens: must be at least 1".into());
                }
                Ok(())
            }
            Backend::Webhook => {
                let w = &self.assistant.webhook;
                if w.url.trim().is_empty() {
                    return invalid(
                        "assistant.webhook.url: required with assistant.backend = \"webhook\""
                            .into(),
                    );
                }
                if !http(&w.url) {
                    return invalid(format!(
                        "assistant.webhook.url: {:?} must start with http:// or https://",
                        w.url
                    ));
                }
                if !(100..=600_000).contains(&w.timeout_ms) {
                    return invalid(
                        "assistant.webhook.timeout_ms: must be between 100 and 600000".into(),
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<Config>("[assistant]\nnmae = \"x\"").unwrap_err();
        assert!(err.to_string().contains("nmae"), "{err}");
    }

    #[test]
    fn env_overrides_and_reports_bad_values() {
        let mut config = Config::default();
        config
            .apply_env(|v| (v == "BATON_DATABASE_URL").then(|| "sqlite://x.db".to_string()))
            .unwrap();
        assert_eq!(config.database_url, "sqlite://x.db");

        let err = config
            .apply_env(|v| (v == "BATON_LISTEN").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("BATON_LISTEN"), "{err}");

        config
            .apply_env(|v| {
                (v == "BATON_ALLOWED_ORIGINS")
                    .then(|| "https://shop.example, https://www.shop.example,".to_string())
            })
            .unwrap();
        assert_eq!(
            config.visitors.allowed_origins.as_deref(),
            Some(
                &[
                    "https://shop.example".into(),
                    "https://www.shop.example".into()
                ][..]
            )
        );
    }

    #[test]
    fn validation_names_the_key() {
        let config = Config {
            database_url: "mysql://x".into(),
            ..Config::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("database_url")
        );
        let mut config = Config::default();
        config.limits.max_text_chars = 0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("limits.max_text_chars")
        );
        let mut config = Config::default();
        config.limits.frame_burst = 0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("limits.frame_burst")
        );
    }

    /// The README's assistant examples are real configuration.
    #[test]
    fn readme_assistant_examples_are_valid() {
        let readme = include_str!("../../README.md");
        let blocks: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .filter(|b| b.contains("[assistant"))
            .collect();
        assert!(blocks.len() >= 4, "{}", blocks.len());
        for block in blocks {
            let config: Config = toml::from_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
            config.validate().unwrap_or_else(|e| panic!("{e}\n{block}"));
        }
    }

    #[test]
    fn assistant_backends_are_read_and_validated() {
        let config: Config = toml::from_str(
            "[assistant]\nbackend = \"openai\"\n[assistant.openai]\n\
             base_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.2\"\n\
             confidence = \"self_rating\"\n",
        )
        .unwrap();
        assert_eq!(config.assistant.backend, Backend::Openai);
        assert_eq!(
            config.assistant.openai.confidence,
            ConfidenceSource::SelfRating
        );
        assert_eq!(config.assistant.openai.timeout_ms, 20_000, "defaults kept");
        config.validate().unwrap();
        assert_eq!(config.assistant.name, "Nova");

        let err = toml::from_str::<Config>("[assistant.openai]\nmodle = \"x\"").unwrap_err();
        assert!(err.to_string().contains("modle"), "{err}");
        let err = toml::from_str::<Config>("[assistant]\nbackend = \"gpt\"").unwrap_err();
        assert!(err.to_string().contains("knowledge_base"), "{err}");

        let named = |config: Config, key: &str| {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        };
        let mut config = Config::default();
        config.assistant.backend = Backend::Openai;
        named(config.clone(), "assistant.openai.base_url");
        config.assistant.openai.base_url = "ftp://x".into();
        named(config.clone(), "assistant.openai.base_url");
        config.assistant.openai.base_url = "http://127.0.0.1:9/v1".into();
        named(config.clone(), "assistant.openai.model");
        config.assistant.openai.model = "m".into();
        config.assistant.openai.temperature = 3.0;
        named(config.clone(), "assistant.openai.temperature");
        config.assistant.openai.temperature = 0.0;
        config.assistant.openai.timeout_ms = 0;
        named(config.clone(), "assistant.openai.timeout_ms");
        config.assistant.openai.timeout_ms = 1000;
        config.validate().unwrap();

        let mut config = Config::default();
        config.assistant.backend = Backend::Webhook;
        named(config.clone(), "assistant.webhook.url");
        config.assistant.webhook.url = "http://127.0.0.1:9/bot".into();
        config.validate().unwrap();
        // A table for a backend that is not chosen is not checked.
        config.assistant.openai.base_url = "nonsense".into();
        config.validate().unwrap();
    }

    #[test]
    fn rate_limits_are_read_from_the_limits_table() {
        let config: Config = toml::from_str(
            "[limits]\nframes_per_second = 5\nframe_burst = 8\nconnections_per_minute = 0\n",
        )
        .unwrap();
        assert_eq!(
            (
                config.limits.frames_per_second,
                config.limits.frame_burst,
                config.limits.connections_per_minute
            ),
            (5, 8, 0)
        );
        assert_eq!(
            config.limits.max_frame_bytes,
            baton_shared::DEFAULT_MAX_FRAME_BYTES,
            "the rest keeps its default"
        );
    }
}
