//! The model from the Hugging Face hub, as the ecosystem gets it: the
//! three files of a pinned revision, downloaded once (resumably, with
//! progress in the log) into the standard cache layout under
//! `embeddings.cache_dir`, then read from there on every start.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hf_hub::api::tokio::{ApiBuilder, Progress};
use hf_hub::{Cache, Repo, RepoType};

use super::EmbedError;
use crate::config::Embeddings;

/// What a model folder holds.
pub const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The folder with the model's files, downloaded first where missing.
pub async fn fetch(config: &Embeddings) -> Result<PathBuf, EmbedError> {
    let api = ApiBuilder::new()
        .with_endpoint(config.hub_endpoint.trim_end_matches('/').to_string())
        .with_cache_dir(config.cache_dir.join("hub"))
        // Progress goes to the log (below), not to a terminal bar.
        .with_progress(false)
        .build()
        .map_err(|e| EmbedError::Model(format!("the hub client: {e}")))?;
    let repo = api.repo(pinned(config));
    // Files of this revision already downloaded are read from the cache
    // without asking the hub: a restart works offline.
    let cache = Cache::new(config.cache_dir.join("hub")).repo(pinned(config));
    let mut folder = None;
    for file in FILES {
        let path = match cache.get(file) {
            Some(path) => path,
            None => {
                let progress = LogProgress {
                    file: file.to_string(),
                    size: 0,
                    done: Arc::default(),
                    logged: Arc::default(),
                    started: Instant::now(),
                };
                repo.download_with_progress(file, progress)
                    .await
                    .map_err(|e| {
                        EmbedError::Model(format!(
                            "{file} of {} at {} from {}: {e}",
                            config.model, config.revision, config.hub_endpoint
                        ))
                    })?
            }
        };
        folder = path.parent().map(PathBuf::from);
    }
    folder.ok_or_else(|| EmbedError::Model("no files".into()))
}

fn pinned(config: &Embeddings) -> Repo {
    Repo::with_revision(
        config.model.clone(),
        RepoType::Model,
        config.revision.clone(),
    )
}

/// Download progress, logged every tenth of the file. The hub client
/// downloads in chunks, each with a clone: the counts are shared.
#[derive(Clone)]
struct LogProgress {
    file: String,
    size: usize,
    done: Arc<AtomicUsize>,
    logged: Arc<AtomicUsize>,
    started: Instant,
}

impl Progress for LogProgress {
    async fn init(&mut self, size: usize, _filename: &str) {
        self.size = size;
        tracing::info!(file = %self.file, bytes = size, "downloading the embedding model");
    }

    async fn update(&mut self, size: usize) {
        let done = self.done.fetch_add(size, Ordering::Relaxed) + size;
        let tenth = (done * 10).checked_div(self.size).unwrap_or(10);
        if self.logged.fetch_max(tenth, Ordering::Relaxed) < tenth {
            tracing::info!(file = %self.file, "{}%", tenth * 10);
        }
    }

    async fn finish(&mut self) {
        tracing::info!(file = %self.file, secs = self.started.elapsed().as_secs(), "downloaded");
    }
}
