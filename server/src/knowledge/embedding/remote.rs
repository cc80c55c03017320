//! Embeddings from an OpenAI-compatible endpoint (`POST
//! {base_url}/embeddings`), which OpenAI, Ollama, vLLM, Hugging Face TEI
//! and llama.cpp's server all offer: the model runs elsewhere, this server
//! only asks.
//!
//! The texts go with the prefixes the configuration gives (E5's by
//! default: the confidence is tuned for that family), and the vectors that
//! come back are scaled to length 1 whatever the server did. Calls block
//! (like the local model's), so retrieval is one plain function whichever
//! model serves it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{EmbedError, Kind};
use crate::config::EmbeddingEndpoint;

pub struct Endpoint {
    /// Always `Some` until dropped (see the `Drop` impl).
    http: Option<reqwest::blocking::Client>,
    url: String,
    model: String,
    api_key: Option<String>,
    query_prefix: String,
    passage_prefix: String,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: Vec<String>,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Datum>,
}

#[derive(Deserialize)]
struct Datum {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl Endpoint {
    pub fn new(config: &EmbeddingEndpoint) -> Result<Self, EmbedError> {
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                EmbedError::Model(format!("embeddings.endpoint.api_key_env: {var} is not set"))
            })?),
            None => None,
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        Ok(Self {
            http: Some(http),
            url: format!("{}/embeddings", config.base_url.trim_end_matches('/')),
            model: config.model.clone(),
            api_key,
            query_prefix: config.query_prefix.clone(),
            passage_prefix: config.passage_prefix.clone(),
        })
    }

    pub fn fingerprint(&self) -> String {
        format!(
            "{} {} {:?} {:?}",
            self.url, self.model, self.query_prefix, self.passage_prefix
        )
    }

    /// Blocks until the endpoint answers: call it off the async workers,
    /// as [`super::Embedder::embed`] says.
    pub fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefix = match kind {
            Kind::Query => &self.query_prefix,
            Kind::Passage => &self.passage_prefix,
        };
        let body = Request {
            model: &self.model,
            input: texts.iter().map(|t| format!("{prefix}{t}")).collect(),
        };
        let http = self.http.as_ref().expect("set until dropped");
        let mut request = http.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let failed = |why: String| EmbedError::Failed(format!("{}: {why}", self.url));
        let response = request
            .send()
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let mut data = response
            .json::<Response>()
            .map_err(|e| failed(e.without_url().to_string()))?
            .data;
        if data.len() != texts.len() {
            return Err(failed(format!(
                "{} embeddings for {} texts",
                data.len(),
                texts.len()
            )));
        }
        // Servers may answer out of order; `index` says whose is whose.
        if data.iter().all(|d| d.index.is_some()) {
            data.sort_by_key(|d| d.index);
        }
        data.into_iter()
            .map(|d| unit(d.embedding).ok_or_else(|| failed("an empty or zero vector".into())))
            .collect()
    }
}

/// A blocking client shuts its own runtime down when dropped, which tokio
/// forbids on an async worker — where the last handle to the knowledge base
/// may well be dropped (a test's end, a server stopping). There it is
/// dropped on a thread of its own.
impl Drop for Endpoint {
    fn drop(&mut self) {
        let http = self.http.take();
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(http));
        }
    }
}

fn unit(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if v.is_empty() || !norm.is_finite() || norm == 0.0 {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_scaled_to_length_one() {
        let v = unit(vec![3.0, 4.0]).unwrap();
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!(unit(vec![0.0, 0.0]).is_none());
        assert!(unit(Vec::new()).is_none());
        assert!(unit(vec![f32::NAN]).is_none());
    }
}
