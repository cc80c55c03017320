//! The embedding model run in this process: an E5 sentence encoder (a BERT
//! model, e.g. `intfloat/multilingual-e5-small`) on the CPU with candle,
//! read from a folder in the standard Hugging Face layout: `config.json`,
//! `tokenizer.json` and `model.safetensors`.
//!
//! E5 wants every text prefixed with what it is (`query: ` for what a
//! visitor asks, `passage: ` for an article), the token vectors averaged
//! over the text (mean pooling) and the result scaled to length 1, so a dot
//! product is the cosine similarity.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::Digest;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::{EmbedError, Kind};

/// Longest input the model reads; a longer text is cut (articles say what
/// they are about first).
const MAX_TOKENS: usize = 512;

/// An E5 encoder ready to embed.
pub struct LocalModel {
    model: BertModel,
    tokenizer: Tokenizer,
    dims: usize,
    /// The folder it came from, for messages.
    dir: PathBuf,
}

impl LocalModel {
    /// Loads the model in `dir` (see the module doc).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let file = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(EmbedError::Model(format!(
                    "{} is missing (a model folder holds config.json, tokenizer.json and model.safetensors)",
                    path.display()
                )))
            }
        };
        let (config, tokenizer, weights) = (
            file("config.json")?,
            file("tokenizer.json")?,
            file("model.safetensors")?,
        );
        let config: Config = serde_json::from_slice(
            &std::fs::read(&config)
                .map_err(|e| EmbedError::Model(format!("{}: {e}", config.display())))?,
        )
        .map_err(|e| EmbedError::Model(format!("{}: {e}", config.display())))?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer)
            .map_err(|e| EmbedError::Model(format!("{}: {e}", tokenizer.display())))?;
        let pad_id = tokenizer.token_to_id("<pad>").unwrap_or(0);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            pad_id,
            pad_token: "<pad>".into(),
            ..PaddingParams::default()
        }));
        // SAFETY: the weights file is mapped read-only; like every loader
        // of mapped models, we rely on nobody rewriting it while it runs.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
                .map_err(|e| EmbedError::Model(format!("{}: {e}", weights.display())))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| EmbedError::Model(format!("{}: {e}", weights.display())))?;
        Ok(Self {
            model,
            tokenizer,
            dims: config.hidden_size,
            dir: dir.to_path_buf(),
        })
    }

    /// What distinguishes this model from another: its configuration and
    /// the sizes of its tokenizer and weights (reading 235 MB to hash them
    /// at every start would cost more than it buys).
    pub fn fingerprint(&self) -> String {
        let size = |name: &str| std::fs::metadata(self.dir.join(name)).map_or(0, |m| m.len());
        let config = std::fs::read(self.dir.join("config.json")).unwrap_or_default();
        let digest: [u8; 32] = sha2::Sha256::digest(&config).into();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{hex}-{}-{}",
            size("tokenizer.json"),
            size("model.safetensors")
        )
    }

    /// [`load`](Self::load), once per folder and process: every server a
    /// test process starts shares the model (and its 470 MB) while any
    /// of them holds it.
    pub fn shared(dir: &Path) -> Result<Arc<Self>, EmbedError> {
        static LOADED: Mutex<Vec<(PathBuf, Weak<LocalModel>)>> = Mutex::new(Vec::new());
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut loaded = LOADED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded.retain(|(_, model)| model.strong_count() > 0);
        if let Some(model) = loaded
            .iter()
            .find(|(d, _)| *d == key)
            .and_then(|(_, m)| m.upgrade())
        {
            return Ok(model);
        }
        let model = Arc::new(Self::load(dir)?);
        loaded.push((key, Arc::downgrade(&model)));
        Ok(model)
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unit-length embeddings of `texts`, in order. CPU-bound: call it
    /// off the async workers (see [`super::Embedder`]).
    pub fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefixed: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", kind.prefix()))
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(prefixed, true)
            .map_err(|e| EmbedError::Failed(e.to_string()))?;
        let failed = |e: candle_core::Error| EmbedError::Failed(e.to_string());
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor, EmbedError> {
            let rows = encodings
                .iter()
                .map(|e| Tensor::new(f(e), &Device::Cpu))
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed)?;
            Tensor::stack(&rows, 0).map_err(failed)
        };
        let ids = rows(&|e| e.get_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let types = ids.zeros_like().map_err(failed)?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(failed)?;
        // Mean over the real tokens, then length 1.
        let mask = mask
            .to_dtype(DType::F32)
            .map_err(failed)?
            .unsqueeze(2)
            .map_err(failed)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|h| h.sum(1))
            .map_err(failed)?;
        let counts = mask.sum(1).map_err(failed)?;
        let mean = summed.broadcast_div(&counts).map_err(failed)?;
        let norms = mean
            .sqr()
            .and_then(|m| m.sum_keepdim(1))
            .and_then(|m| m.sqrt())
            .map_err(failed)?;
        let unit = mean.broadcast_div(&norms).map_err(failed)?;
        unit.to_vec2::<f32>().map_err(failed)
    }
}
