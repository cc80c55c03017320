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
    /// `sqlite://path/to/file.db`; created when missing.
    pub database_url: String,
    /// Where the built widget and console live (`dist/` of `cargo xtask build`).
    pub assets_dir: PathBuf,
    /// The knowledge base (Markdown); absent means the built-in demo one.
    pub knowledge_base: Option<PathBuf>,
    /// Create the demo agent (`demo@baton.local` / `baton-demo`) at start.
    /// On when running without a config file.
    pub demo: bool,
    pub assistant: AssistantConfig,
    pub limits: Limits,
    pub policy: Policy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// The name the widget shows while the assistant answers.
    pub name: String,
    /// What the visitor reads when the assistant steps back.
    pub handoff_notice: String,
}

/// Size limits on everything a client sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted WebSocket frame, in bytes.
    pub max_frame_bytes: usize,
    /// Longest accepted message text, in characters.
    pub max_text_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://baton.db".into(),
            assets_dir: "dist".into(),
            knowledge_base: None,
            demo: false,
            assistant: AssistantConfig::default(),
            limits: Limits::default(),
            policy: Policy::default(),
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
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: baton_shared::DEFAULT_MAX_FRAME_BYTES,
            max_text_chars: baton_shared::DEFAULT_MAX_TEXT_CHARS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
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
            None => Self { demo: true, ..Self::default() },
        };
        config.apply_env(|var| std::env::var(var).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
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
        if let Some(v) = var("BATON_DEMO") {
            self.demo = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.database_url.starts_with("sqlite:") {
            return Err(ConfigError::Invalid(format!(
                "database_url: {:?} is not supported; use sqlite://path/to/file.db",
                self.database_url
            )));
        }
        if self.assistant.name.trim().is_empty() {
            return Err(ConfigError::Invalid("assistant.name: must not be empty".into()));
        }
        if self.limits.max_frame_bytes < 1024 {
            return Err(ConfigError::Invalid("limits.max_frame_bytes: must be at least 1024".into()));
        }
        if self.limits.max_text_chars == 0 {
            return Err(ConfigError::Invalid("limits.max_text_chars: must be at least 1".into()));
        }
        self.policy
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
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
    }

    #[test]
    fn validation_names_the_key() {
        let config = Config { database_url: "mysql://x".into(), ..Config::default() };
        assert!(config.validate().unwrap_err().to_string().contains("database_url"));
        let mut config = Config::default();
        config.limits.max_text_chars = 0;
        assert!(config.validate().unwrap_err().to_string().contains("limits.max_text_chars"));
    }
}
