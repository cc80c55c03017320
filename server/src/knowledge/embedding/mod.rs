//! Sentence embeddings: the half of retrieval that understands paraphrase
//! and language ("do you take paypal" ~ "Which payment methods do you
//! accept?", "Wie lange dauert der Versand?" ~ "How long does shipping
//! take?"). The lexical half is the knowledge base's own (see
//! [`super`]); [`super::KnowledgeBase`] joins them.
//!
//! Where the model comes from, in the order tried (`[embeddings]` in the
//! config):
//!
//! - [`local`]: a model folder in the Hugging Face layout, named by
//!   `model_dir` (air-gapped sites) or downloaded once from the hub at a
//!   pinned revision into `cache_dir` ([`hub`]);
//! - [`remote`]: any OpenAI-compatible `/v1/embeddings` endpoint (Ollama,
//!   vLLM, TEI, llama.cpp) instead of a model in the process.
//!
//! Without a model, retrieval is lexical only, and the server says so at
//! start. Articles' embeddings are kept on disk by content hash
//! ([`VectorCache`]) so a restart does not compute them again.

pub mod hub;
pub mod local;
pub mod remote;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use local::LocalModel;
pub use remote::Endpoint;

use crate::config::{EmbeddingSource, Embeddings};

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EmbedError {
    /// The model could not be loaded or fetched (said at start).
    #[error("embedding model: {0}")]
    Model(String),
    /// One call failed (the endpoint, the tokenizer): the turn falls back
    /// to lexical retrieval.
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// What a text is, for E5's prefixes (and for endpoints that care).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What a visitor asks.
    Query,
    /// An article.
    Passage,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Query => "query: ",
            Self::Passage => "passage: ",
        }
    }
}

/// Something that turns texts into unit-length vectors.
#[derive(Clone)]
pub enum Embedder {
    Local(Arc<LocalModel>),
    Remote(Arc<Endpoint>),
}

impl Embedder {
    /// Embeds `texts` (in order). CPU-bound or waiting on the network:
    /// async code calls it from `spawn_blocking`.
    pub fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            Self::Local(model) => model.embed(texts, kind),
            Self::Remote(endpoint) => endpoint.embed(texts, kind),
        }
    }

    /// Where the model is, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(model) => model.dir().display().to_string(),
            Self::Remote(endpoint) => endpoint.fingerprint(),
        }
    }

    /// Names the model, for the cache key and the start-up message: two
    /// different models never share cached vectors.
    pub fn fingerprint(&self) -> String {
        match self {
            Self::Local(model) => format!("local:{}", model.fingerprint()),
            Self::Remote(endpoint) => format!("remote:{}", endpoint.fingerprint()),
        }
    }
}

/// The model `config` names, ready to embed; `None` when there is none
/// (lexical retrieval only). Every outcome is said in the log at start,
/// since it decides how well the assistant understands.
pub async fn open(config: &Embeddings) -> Result<Option<Embedder>, EmbedError> {
    let local = |dir: PathBuf| async move {
        tokio::task::spawn_blocking(move || LocalModel::shared(&dir))
            .await
            .map_err(|e| EmbedError::Model(e.to_string()))?
    };
    let embedder = match config.source {
        EmbeddingSource::Off => None,
        EmbeddingSource::Folder => Some(Embedder::Local(local(config.dir.clone()).await?)),
        EmbeddingSource::Hub => Some(Embedder::Local(local(hub::fetch(config).await?).await?)),
        EmbeddingSource::Endpoint => {
            let endpoint = config
                .endpoint
                .as_ref()
                .ok_or_else(|| EmbedError::Model("embeddings.endpoint is not configured".into()))?;
            // A blocking client may not be built on an async worker.
            let endpoint = endpoint.clone();
            let endpoint = tokio::task::spawn_blocking(move || Endpoint::new(&endpoint))
                .await
                .map_err(|e| EmbedError::Model(e.to_string()))??;
            Some(Embedder::Remote(Arc::new(endpoint)))
        }
        EmbeddingSource::Auto if hub::FILES.iter().all(|f| config.dir.join(f).is_file()) => {
            Some(Embedder::Local(local(config.dir.clone()).await?))
        }
        EmbeddingSource::Auto => match hub::fetch(config).await {
            Ok(dir) => Some(Embedder::Local(local(dir).await?)),
            Err(e) => {
                tracing::warn!(
                    "{e}; no model in {} either: the assistant matches words only, not meaning \
                     (see README, \"How the assistant decides\")",
                    config.dir.display()
                );
                None
            }
        },
    };
    match &embedder {
        Some(e) => tracing::info!(model = %e.describe(), "retrieval: words and meaning"),
        None => tracing::info!(
            "retrieval: words only (embeddings.source = {:?})",
            config.source
        ),
    }
    Ok(embedder)
}

/// Articles' embeddings on disk, keyed by the model, the kind and the
/// text: a restart (or another node) does not compute them again, and an
/// article that changed is computed afresh. One file of `(sha256, vector)`
/// records; a damaged one just means computing again.
pub struct VectorCache {
    path: PathBuf,
}

impl VectorCache {
    /// The cache file in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("article-vectors.bin"),
        }
    }

    /// No file: everything is computed each time (tests, `baton eval`
    /// without a cache).
    pub fn none() -> Self {
        Self {
            path: PathBuf::new(),
        }
    }

    fn key(fingerprint: &str, text: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(fingerprint.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.finalize().into()
    }

    /// Records: the key, the vector's length (u32), the vector. A file
    /// that does not parse is ignored whole (it is only a cache).
    fn read(&self) -> HashMap<[u8; 32], Vec<f32>> {
        let mut bytes = Vec::new();
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return HashMap::new();
        };
        if file.read_to_end(&mut bytes).is_err() {
            return HashMap::new();
        }
        let mut known = HashMap::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let Some((key, tail)) = rest.split_first_chunk::<32>() else {
                return HashMap::new();
            };
            let Some((len, tail)) = tail.split_first_chunk::<4>() else {
                return HashMap::new();
            };
            let len = u32::from_le_bytes(*len) as usize;
            let Some(vector) = tail.get(..len * 4) else {
                return HashMap::new();
            };
            let vector = vector
                .chunks_exact(4)
                .map(|f| f32::from_le_bytes(f.try_into().expect("4 bytes")))
                .collect();
            known.insert(*key, vector);
            rest = &tail[len * 4..];
        }
        known
    }

    fn write(&self, known: &HashMap<[u8; 32], Vec<f32>>) -> std::io::Result<()> {
        if self.path.as_os_str().is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = Vec::new();
        for (key, vector) in known {
            out.extend_from_slice(key);
            out.extend_from_slice(&(vector.len() as u32).to_le_bytes());
            for x in vector {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        // Written aside, then renamed: a crash leaves the old file or the new.
        let partial = self.path.with_extension("partial");
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&out)?;
        file.sync_all()?;
        std::fs::rename(partial, &self.path)
    }

    /// The embeddings of `texts` as `kind`: from the file where it has
    /// them, the rest computed (and the file rewritten with what it had
    /// plus these). Returns them and how many were computed.
    pub fn vectors(
        &self,
        embedder: &Embedder,
        texts: &[String],
        kind: Kind,
    ) -> Result<(Vec<Vec<f32>>, usize), EmbedError> {
        let fingerprint = format!("{}|{}", embedder.fingerprint(), kind.prefix());
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| Self::key(&fingerprint, t)).collect();
        let mut known = self.read();
        let missing: Vec<usize> = (0..texts.len())
            .filter(|i| !known.contains_key(&keys[*i]))
            .collect();
        // Small batches keep memory flat on big knowledge bases.
        for chunk in missing.chunks(16) {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let vectors = embedder.embed(&batch, kind)?;
            for (&i, vector) in chunk.iter().zip(vectors) {
                known.insert(keys[i], vector);
            }
        }
        let vectors: Vec<Vec<f32>> = keys.iter().map(|k| known[k].clone()).collect();
        if !missing.is_empty()
            && let Err(e) = self.write(&known)
        {
            tracing::warn!(path = %self.path.display(), %e, "could not keep the articles' embeddings");
        }
        Ok((vectors, missing.len()))
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
