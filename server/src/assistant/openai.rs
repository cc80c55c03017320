//! The `openai` backend: any endpoint that speaks OpenAI's Chat
//! Completions (`POST {base_url}/chat/completions`) — OpenAI itself,
//! Ollama, vLLM, the llama.cpp server.
//!
//! Each turn sends the system prompt, the knowledge base as context (the
//! article the knowledge base ranks first for the turn leads, the rest
//! follow in file order up to `max_context_chars`), the visitor's page and
//! verified name, the last `max_history` exchanges and the turn.
//!
//! ## Confidence
//!
//! - **`logprobs`**: the request asks for `logprobs: true`; the answer's
//!   confidence is the geometric mean of its tokens' probabilities,
//!   `exp(mean(logprob))`, over the *content* tokens — those with a letter
//!   or digit; whitespace and punctuation are near-certain for any answer
//!   and would only flatter it (an answer made of nothing else uses all its
//!   tokens). It lies in 0–1 and reads like a per-token probability: 0.8
//!   means the model picked, on average, tokens it gave 80 %. Grounded
//!   answers from a knowledge base typically score above 0.9, guesses lower;
//!   tune `policy.confidence_threshold` per model. An endpoint that returns
//!   no log-probabilities gives no confidence: the answer counts as 0 (a
//!   handoff) and a warning says to use `self_rating`.
//! - **`self_rating`**: the prompt asks for one JSON object, `{"answer":
//!   "…", "confidence": 0–1}`, and with `json_mode` (default) the request
//!   also sets `response_format: {"type": "json_object"}`, which OpenAI,
//!   Ollama, vLLM and llama.cpp honour. The reply is read leniently (a code
//!   fence or prose around the object, a percentage, a numeric string); a
//!   reply with no usable rating counts as confidence 0 — the draft is
//!   withheld and kept for the brief, never trusted blindly.
//!
//! ## Streaming
//!
//! With `stream = true` and `logprobs`, the request sets `stream: true` and
//! reads the server-sent events (`data: {…}` chunks with
//! `choices[0].delta.content` and `choices[0].logprobs.content`, ending
//! with `data: [DONE]`), reporting the answer so far and its running
//! confidence to the desk, which decides what the visitor may see (see
//! `desk::visitor`). A self-rating exists only once the answer is
//! complete, so `self_rating` never streams.
//!
//! ## Failures
//!
//! `timeout_ms` bounds the whole answer, from the request to the last
//! token. A timeout, a connection error, an error status, an error chunk,
//! an unparseable reply or a stream that ends without `[DONE]` is
//! [`AssistantError::Unavailable`]: the desk hands off ("assistant
//! unavailable") instead of leaving the visitor waiting.

use std::time::Duration;

use baton_shared::Brief;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Ask, Assistant, AssistantError, Drafts, Partial, Reply, Summary, json_object, rating,
    text_field, unavailable,
};
use crate::config::{ConfidenceSource, OpenAiConfig};
use crate::handoff::Candidate;
use crate::knowledge::{Knowledge, KnowledgeBase};

/// How the model is told to answer in `self_rating` mode.
const SELF_RATING_FORMAT: &str = "Reply with one JSON object and nothing else: \
{\"answer\": \"<your reply to the visitor>\", \"confidence\": <a number from 0 to 1: how sure \
you are that the answer is correct and supported by the knowledge base; below 0.5 when the \
knowledge base does not cover the question>}";

/// How the model is asked for the brief.
const SUMMARY_PROMPT: &str = "You write handoff notes for a customer-support agent who takes \
over a chat from the assistant. Read the conversation and reply with one JSON object and \
nothing else: {\"intent\": \"what the visitor wants, in one sentence\", \"tried\": \"what the \
assistant already answered or tried, in one sentence\", \"next_step\": \"what the agent should \
do next, in one sentence\"}. Do not invent facts.";

/// Earlier exchanges the model reads to write a brief.
const SUMMARY_EXCHANGES: usize = 20;

/// Longest SSE line accepted (a chunk is a few hundred bytes).
const MAX_SSE_LINE: usize = 1 << 20;

pub struct OpenAi {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
    config: OpenAiConfig,
    system_prompt: String,
    /// Retrieval picks the article the model is pointed at.
    knowledge: Knowledge,
    articles: Vec<Article>,
}

/// One `## ` section of the knowledge base, as sent to the model.
struct Article {
    title: String,
    section: String,
}

impl OpenAi {
    /// `env` reads the API key's environment variable. Fails, naming the
    /// key, when the variable is named but not set.
    pub fn new(
        config: &OpenAiConfig,
        name: &str,
        knowledge: Knowledge,
        kb_markdown: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let api_key = match &config.api_key_env {
            Some(var) => Some(env(var).filter(|k| !k.trim().is_empty()).ok_or_else(|| {
                format!("assistant.openai.api_key_env: the environment variable {var} is not set")
            })?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.timeout_ms.min(10_000)))
            .build()
            .map_err(|e| format!("assistant.openai: {e}"))?;
        Ok(Self {
            http,
            endpoint: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            api_key,
            config: config.clone(),
            system_prompt: config.system_prompt.replace("{name}", name),
            knowledge,
            articles: articles(kb_markdown),
        })
    }

    fn streams(&self) -> bool {
        self.config.stream && self.config.confidence == ConfidenceSource::Logprobs
    }

    /// The chat request for a turn; `best` is the article the knowledge
    /// base ranks first.
    fn answer_request(&self, ask: &Ask<'_>, best: Option<&str>, stream: bool) -> Value {
        let self_rating = self.config.confidence == ConfidenceSource::SelfRating;
        let mut system = self.system_prompt.clone();
        if let Some(page) = ask.page {
            system.push_str(&format!("\n\nThe visitor is on the page {page}."));
        }
        if let Some(name) = ask
            .identity
            .filter(|i| i.verified)
            .and_then(|i| i.name.as_deref())
        {
            system.push_str(&format!(" The visitor is signed in as {name}."));
        }
        system.push_str("\n\n# Knowledge base\n\n");
        system.push_str(&self.context(best, &self.knowledge.current()));
        if self_rating {
            system.push_str("\n\n");
            system.push_str(SELF_RATING_FORMAT);
        }
        let mut messages = vec![json!({"role": "system", "content": system})];
        let skip = ask.history.len().saturating_sub(self.config.max_history);
        for exchange in &ask.history[skip..] {
            messages.push(json!({"role": "user", "content": turn_text(&exchange.turn.text)}));
            if let Some(answer) = &exchange.answer {
                // Earlier answers in the format asked for, so the model
                // keeps to it.
                let content = if self_rating {
                    json!({
                        "answer": answer.text,
                        "confidence": (f64::from(answer.confidence) * 100.0).round() / 100.0,
                    })
                    .to_string()
                } else {
                    answer.text.clone()
                };
                messages.push(json!({"role": "assistant", "content": content}));
            }
        }
        messages.push(json!({"role": "user", "content": turn_text(&ask.turn.text)}));
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "stream": stream,
        });
        if self_rating {
            if self.config.json_mode {
                body["response_format"] = json!({"type": "json_object"});
            }
        } else {
            body["logprobs"] = json!(true);
        }
        body
    }

    /// The knowledge base as context: the best article first, then the
    /// others in file order, as many as fit.
    /// The knowledge base as the model reads it, `best` first, within
    /// `max_context_chars`. An article an agent wrote in the console (not
    /// in the Markdown) is sent when it is the best.
    fn context(&self, best: Option<&str>, kb: &KnowledgeBase) -> String {
        let max = self.config.max_context_chars;
        let first = best.and_then(|b| self.articles.iter().position(|a| a.title == b));
        let taught = best
            .filter(|_| first.is_none())
            .and_then(|b| Some(format!("## {b}\n{}\n\n", kb.answer_of(b)?)));
        let order = first
            .into_iter()
            .chain((0..self.articles.len()).filter(|&i| Some(i) != first));
        let mut context = String::new();
        for section in taught
            .iter()
            .chain(order.map(|i| &self.articles[i].section))
        {
            if context.len() + section.len() <= max {
                context.push_str(section);
            } else if context.is_empty() {
                // Even the best article alone is too long: send its start.
                context.extend(section.chars().take(max));
            }
        }
        context
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, AssistantError> {
        let mut request = self.http.post(&self.endpoint).json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(format!("cannot reach {}: {e}", self.endpoint)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(unavailable(format!(
            "{} answered HTTP {}: {}",
            self.endpoint,
            status.as_u16(),
            error_text(&text)
        )))
    }

    /// A whole answer in one response.
    async fn complete(&self, body: &Value) -> Result<Generated, AssistantError> {
        let text = self
            .post(body)
            .await?
            .text()
            .await
            .map_err(|e| unavailable(format!("the answer broke off: {e}")))?;
        parse_completion(&text).map_err(unavailable)
    }

    /// An answer streamed as server-sent events, reported to `drafts` as
    /// it grows.
    async fn stream(&self, body: &Value, drafts: Drafts<'_>) -> Result<Generated, AssistantError> {
        let mut response = self.post(body).await?;
        let mut sse = Sse::default();
        let mut generated = Generated::default();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| unavailable(format!("the answer stream broke off: {e}")))?;
            let events = match &chunk {
                Some(bytes) => sse.push(bytes).map_err(unavailable)?,
                None => sse.finish().into_iter().collect(),
            };
            for data in events {
                if data.trim() == "[DONE]" {
                    return Ok(generated);
                }
                if generated.add_chunk(&data).map_err(unavailable)? {
                    drafts(Partial {
                        text: &generated.text,
                        confidence: generated.logprobs.confidence(),
                        tokens: generated.logprobs.tokens(),
                    });
                }
            }
            if chunk.is_none() {
                // Some servers end without `[DONE]` but say why they stopped.
                return match generated.finish {
                    Some(_) => Ok(generated),
                    None => Err(unavailable("the answer stream ended before the answer did")),
                };
            }
        }
    }

    async fn draft(&self, ask: &Ask<'_>, drafts: Drafts<'_>) -> Result<Reply, AssistantError> {
        let kb = self.knowledge.current();
        let retrieved = kb.answer_off_thread(ask.history, &ask.turn.text).await;
        let best = (retrieved.confidence > 0.0)
            .then(|| retrieved.articles.into_iter().next())
            .flatten();
        let stream = self.streams();
        let body = self.answer_request(ask, best.as_deref(), stream);
        let ms = self.config.timeout_ms;
        let generated = tokio::time::timeout(Duration::from_millis(ms), async {
            if stream {
                self.stream(&body, drafts).await
            } else {
                self.complete(&body).await
            }
        })
        .await
        .map_err(|_| unavailable(format!("no answer within {ms} ms")))??;

        let (text, confidence) = match self.config.confidence {
            ConfidenceSource::Logprobs => {
                let confidence = generated.logprobs.confidence();
                if confidence.is_none() {
                    tracing::warn!(
                        "{} returned no logprobs: the answer counts as not confident \
                         (set assistant.openai.confidence = \"self_rating\" for this endpoint)",
                        self.endpoint
                    );
                }
                (generated.text.trim().to_string(), confidence)
            }
            ConfidenceSource::SelfRating => {
                let rated = parse_self_rating(&generated.text);
                if rated.confidence.is_none() {
                    tracing::warn!("the model's reply carries no usable self-rating");
                }
                (rated.answer, rated.confidence)
            }
        };
        let cut = generated.finish.as_deref() == Some("length");
        if cut {
            tracing::warn!(
                "the answer was cut at assistant.openai.max_tokens = {}: withheld",
                self.config.max_tokens
            );
        }
        // No rating, no text, or half an answer: not something to send.
        let confidence = match confidence {
            Some(c) if !text.is_empty() && !cut => c,
            _ => 0.0,
        };
        Ok(Reply::Answer(Candidate {
            text,
            confidence,
            articles: best.into_iter().collect(),
            ..Candidate::default()
        }))
    }

    async fn summary(&self, ask: &Ask<'_>, brief: &Brief) -> Result<Summary, AssistantError> {
        let mut transcript = String::new();
        let skip = ask.history.len().saturating_sub(SUMMARY_EXCHANGES);
        for exchange in &ask.history[skip..] {
            transcript.push_str(&format!("Visitor: {}\n", turn_text(&exchange.turn.text)));
            if let Some(answer) = &exchange.answer {
                transcript.push_str(&format!("Assistant: {}\n", answer.text));
            }
        }
        if ask.turn.request_human && ask.turn.text.trim().is_empty() {
            transcript.push_str("(The visitor pressed \"Talk to a human\".)\n");
        } else {
            transcript.push_str(&format!("Visitor: {}\n", turn_text(&ask.turn.text)));
        }
        if let Some(draft) = &brief.withheld_draft {
            transcript.push_str(&format!(
                "(The assistant drafted this answer but did not send it: {draft})\n"
            ));
        }
        transcript.push_str(&format!(
            "\nThe chat was handed to a person because: {}",
            brief.reason
        ));
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": SUMMARY_PROMPT},
                {"role": "user", "content": transcript},
            ],
            "temperature": 0.0,
            "max_tokens": 300,
            "stream": false,
        });
        if self.config.json_mode {
            body["response_format"] = json!({"type": "json_object"});
        }
        let generated = self.complete(&body).await?;
        let mut summary = parse_summary(&generated.text)
            .ok_or_else(|| unavailable("the summary is not the JSON object asked for"))?;
        summary.by = self.config.model.clone();
        Ok(summary)
    }
}

impl Assistant for OpenAi {
    fn answer<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>> {
        Box::pin(self.draft(ask, drafts))
    }

    fn writes_summaries(&self) -> bool {
        self.config.summarise_briefs
    }

    fn summarise<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        brief: &'a Brief,
    ) -> BoxFuture<'a, Result<Summary, AssistantError>> {
        let ms = self.config.summary_timeout_ms;
        Box::pin(async move {
            tokio::time::timeout(Duration::from_millis(ms), self.summary(ask, brief))
                .await
                .map_err(|_| unavailable(format!("no summary within {ms} ms")))?
        })
    }
}

/// The visitor's text as the model sees it.
fn turn_text(text: &str) -> &str {
    if text.trim().is_empty() {
        "(no text)"
    } else {
        text
    }
}

/// The knowledge base's `## ` sections, as written (outside code fences,
/// like the knowledge base's own parser).
fn articles(markdown: &str) -> Vec<Article> {
    let mut articles: Vec<Article> = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with("## ") {
            let title = line[2..].trim().trim_end_matches('#').trim().to_string();
            articles.push(Article {
                section: format!("{line}\n"),
                title,
            });
        } else if let Some(article) = articles.last_mut() {
            article.section.push_str(line);
            article.section.push('\n');
        }
    }
    for article in &mut articles {
        article.section = format!("{}\n\n", article.section.trim_end());
    }
    articles
}

/// An error body's message (`{"error": {"message": …}}`, `{"error": "…"}`)
/// or its start.
fn error_text(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        error
            .get("message")
            .and_then(Value::as_str)
            .or(error.as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    let mut short: String = text.chars().take(300).collect();
    if short.is_empty() {
        short = "(no body)".into();
    }
    short
}

/// Chat Completions, as far as Baton reads it: the first choice's text
/// (`message` whole, `delta` streamed), its token log-probabilities and
/// why it stopped. Unknown fields are ignored; servers differ.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Completion {
    choices: Vec<Choice>,
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Choice {
    message: Option<Content>,
    delta: Option<Content>,
    logprobs: Option<ChoiceLogprobs>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content {
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChoiceLogprobs {
    content: Option<Vec<TokenLogprob>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenLogprob {
    token: String,
    logprob: Option<f64>,
}

/// An answer as generated: its text, its tokens' log-probabilities, and
/// why generation stopped.
#[derive(Debug, Default)]
struct Generated {
    text: String,
    logprobs: LogprobMean,
    finish: Option<String>,
}

impl Generated {
    /// Adds one `choices[0]` (a whole message or a streamed delta); true
    /// when the answer grew.
    fn add(&mut self, choice: Choice) -> bool {
        let mut grew = false;
        if let Some(text) = choice.message.or(choice.delta).and_then(|c| c.content) {
            grew = !text.is_empty();
            self.text.push_str(&text);
        }
        for token in choice.logprobs.and_then(|l| l.content).unwrap_or_default() {
            if let Some(logprob) = token.logprob {
                self.logprobs.push(&token.token, logprob);
            }
        }
        if choice.finish_reason.is_some() {
            self.finish = choice.finish_reason;
        }
        grew
    }

    /// Adds one streamed chunk (`data: {…}`); true when the answer grew.
    fn add_chunk(&mut self, data: &str) -> Result<bool, String> {
        let chunk: Completion = serde_json::from_str(data)
            .map_err(|e| format!("unparseable stream chunk ({e}): {}", error_text(data)))?;
        if let Some(error) = chunk.error {
            return Err(format!(
                "the stream reported an error: {}",
                error_text(&json!({ "error": error }).to_string())
            ));
        }
        Ok(chunk
            .choices
            .into_iter()
            .next()
            .is_some_and(|choice| self.add(choice)))
    }
}

/// A whole (non-streamed) Chat Completions response.
fn parse_completion(body: &str) -> Result<Generated, String> {
    let completion: Completion = serde_json::from_str(body)
        .map_err(|e| format!("unparseable reply ({e}): {}", error_text(body)))?;
    if let Some(error) = completion.error {
        return Err(format!(
            "the endpoint reported an error: {}",
            error_text(&json!({ "error": error }).to_string())
        ));
    }
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or("the reply has no choices")?;
    let mut generated = Generated::default();
    generated.add(choice);
    Ok(generated)
}

/// The confidence of a generated text from its tokens' log-probabilities:
/// the geometric mean of the token probabilities, `exp(mean(logprob))`,
/// over the content tokens (those with a letter or digit), or over all
/// tokens when there are no content tokens. Log-probabilities above 0
/// (rounding) count as 0; NaN is skipped; `-inf` makes the mean 0.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct LogprobMean {
    content_sum: f64,
    content: usize,
    all_sum: f64,
    all: usize,
}

impl LogprobMean {
    pub fn push(&mut self, token: &str, logprob: f64) {
        if logprob.is_nan() {
            return;
        }
        let logprob = logprob.min(0.0);
        self.all_sum += logprob;
        self.all += 1;
        if token.chars().any(char::is_alphanumeric) {
            self.content_sum += logprob;
            self.content += 1;
        }
    }

    /// Tokens counted so far.
    pub fn tokens(&self) -> usize {
        self.all
    }

    /// In 0–1; `None` before any token.
    pub fn confidence(&self) -> Option<f32> {
        let (sum, n) = match (self.content, self.all) {
            (0, 0) => return None,
            (0, all) => (self.all_sum, all),
            (content, _) => (self.content_sum, content),
        };
        Some(((sum / n as f64).exp() as f32).clamp(0.0, 1.0))
    }
}

/// A self-rated reply: the answer and its rating, if usable.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub answer: String,
    pub confidence: Option<f32>,
}

/// Reads `{"answer": "…", "confidence": 0.9}` from a model's reply,
/// leniently: a code fence or prose around the object, a percentage or a
/// numeric string as the rating. Without an object with an answer, the
/// whole reply is the answer and there is no rating.
pub fn parse_self_rating(reply: &str) -> Rated {
    let object = json_object(reply);
    let answer = object
        .as_ref()
        .and_then(|o| {
            ["answer", "reply", "response"]
                .iter()
                .find_map(|k| o.get(*k))
        })
        .and_then(Value::as_str)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    match (answer, object) {
        (Some(answer), Some(object)) => Rated {
            answer,
            confidence: object.get("confidence").and_then(rating),
        },
        _ => Rated {
            answer: reply.trim().to_string(),
            confidence: None,
        },
    }
}

/// Reads `{"intent", "tried", "next_step"}`; `None` without an intent.
fn parse_summary(reply: &str) -> Option<Summary> {
    let object = json_object(reply)?;
    Some(Summary {
        intent: Some(text_field(&object, "intent")?),
        tried: text_field(&object, "tried"),
        next_step: text_field(&object, "next_step"),
        by: String::new(),
    })
}

/// Server-sent events, fed as bytes arrive: yields each event's data
/// (its `data:` lines joined), ignoring comments and other fields.
#[derive(Debug, Default)]
struct Sse {
    buffer: Vec<u8>,
    data: Vec<String>,
}

impl Sse {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = std::str::from_utf8(&line)
                .map_err(|_| "the answer stream is not UTF-8".to_string())?;
            self.line(line.trim_end_matches(['\n', '\r']), &mut events);
        }
        if self.buffer.len() > MAX_SSE_LINE {
            return Err("the answer stream has an overlong line".into());
        }
        Ok(events)
    }

    /// The stream ended: an event not followed by a blank line counts.
    fn finish(&mut self) -> Option<String> {
        let mut events = Vec::new();
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            if let Ok(line) = std::str::from_utf8(&rest) {
                self.line(line.trim_end_matches('\r'), &mut events);
            }
        }
        self.line("", &mut events);
        events.pop()
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                events.push(self.data.join("\n"));
                self.data.clear();
            }
            return;
        }
        if line.starts_with(':') {
            return; // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            self.data.push(value.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(tokens: &[(&str, f64)]) -> Option<f32> {
        let mut m = LogprobMean::default();
        for (t, lp) in tokens {
            m.push(t, *lp);
        }
        m.confidence()
    }

    fn close(a: Option<f32>, b: f32) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-4)
    }

    #[test]
    fn logprob_confidence_is_the_geometric_mean_over_content_tokens() {
        assert_eq!(mean(&[]), None);
        // Every token certain: 1.
        assert!(close(mean(&[("Yes", 0.0), (".", 0.0)]), 1.0));
        // p = 0.9 and 0.5: sqrt(0.45) ≈ 0.6708.
        let answer = [("Refunds", 0.9f64.ln()), (" take", 0.5f64.ln())];
        assert!(close(mean(&answer), 0.45f32.sqrt()));
        // Whitespace and punctuation do not flatter it.
        let padded = [
            ("Refunds", 0.9f64.ln()),
            (" ", 0.0),
            (" take", 0.5f64.ln()),
            (".", 0.0),
            ("\n", 0.0),
        ];
        assert_eq!(mean(&padded), mean(&answer));
        // Only punctuation: all tokens count.
        assert!(close(mean(&[("!", 0.5f64.ln()), ("?", 0.5f64.ln())]), 0.5));
        // Comparable with the 0.8 threshold: a confident answer clears it,
        // one uncertain token among a few drags it under.
        let sure: Vec<(&str, f64)> = (0..10).map(|_| ("word", 0.95f64.ln())).collect();
        assert!(mean(&sure).unwrap() >= 0.8);
        let mut unsure = sure[..4].to_vec();
        unsure.push(("Bitcoin", 0.05f64.ln()));
        assert!(mean(&unsure).unwrap() < 0.8);
        // Odd values are safe.
        assert!(close(mean(&[("a", f64::NEG_INFINITY), ("b", 0.0)]), 0.0));
        assert!(close(mean(&[("a", f64::NAN), ("b", 0.0)]), 1.0));
        assert!(close(mean(&[("a", 0.001)]), 1.0), "rounding above 0");
        assert!(close(mean(&[("a", -9999.0)]), 0.0));
    }

    #[test]
    fn self_ratings_are_read_leniently_and_never_invented() {
        let r = parse_self_rating(r#"{"answer": "We ship to the EU.", "confidence": 0.92}"#);
        assert_eq!(r.answer, "We ship to the EU.");
        assert_eq!(r.confidence, Some(0.92));
        let r = parse_self_rating(
            "```json\n{\"answer\": \"We ship to the EU.\", \"confidence\": \"90%\"}\n```",
        );
        assert_eq!(
            (r.answer.as_str(), r.confidence),
            ("We ship to the EU.", Some(0.9))
        );
        // No rating, or an unusable one: no confidence.
        for reply in [
            r#"{"answer": "We ship to the EU."}"#,
            r#"{"answer": "We ship to the EU.", "confidence": "very"}"#,
            r#"{"answer": "We ship to the EU.", "confidence": 7000}"#,
        ] {
            let r = parse_self_rating(reply);
            assert_eq!(r.answer, "We ship to the EU.", "{reply}");
            assert_eq!(r.confidence, None, "{reply}");
        }
        // Not JSON at all: the text is the answer, unrated.
        let r = parse_self_rating("We ship to the EU, I think.");
        assert_eq!(r.answer, "We ship to the EU, I think.");
        assert_eq!(r.confidence, None);
        // JSON without an answer: nothing to rate.
        let r = parse_self_rating(r#"{"confidence": 0.99}"#);
        assert_eq!(r.confidence, None);
        // Cut off mid-object.
        let r = parse_self_rating(r#"{"answer": "We ship to the E"#);
        assert_eq!(r.confidence, None);
    }

    #[test]
    fn whole_completions_are_read_with_their_logprobs() {
        let body = r#"{"id":"x","object":"chat.completion","choices":[{"index":0,
            "message":{"role":"assistant","content":"Yes."},
            "logprobs":{"content":[{"token":"Yes","logprob":-0.01,"bytes":[89],"top_logprobs":[]},
                                   {"token":".","logprob":-0.5,"bytes":[46],"top_logprobs":[]}]},
            "finish_reason":"stop"}],"usage":{"prompt_tokens":1}}"#;
        let g = parse_completion(body).unwrap();
        assert_eq!(g.text, "Yes.");
        assert!(close(g.logprobs.confidence(), (-0.01f32).exp()));
        assert_eq!(g.finish.as_deref(), Some("stop"));
        // No logprobs (e.g. an endpoint that ignores the parameter).
        let g = parse_completion(r#"{"choices":[{"message":{"content":"Hi"},"logprobs":null}]}"#)
            .unwrap();
        assert_eq!((g.text.as_str(), g.logprobs.confidence()), ("Hi", None));
        assert!(parse_completion(r#"{"choices":[]}"#).is_err());
        assert!(parse_completion("<html>Bad gateway</html>").is_err());
        let err = parse_completion(r#"{"error":{"message":"model not found"}}"#).unwrap_err();
        assert!(err.contains("model not found"), "{err}");
    }

    #[test]
    fn sse_events_are_split_across_chunks() {
        let mut sse = Sse::default();
        let mut events = sse.push(b": keep-alive\n\ndata: {\"a\"").unwrap();
        assert!(events.is_empty());
        events.extend(sse.push(b":1}\r\n\r\ndata: [DO").unwrap());
        assert_eq!(events, ["{\"a\":1}"]);
        events.extend(sse.push(b"NE]\n\n").unwrap());
        assert_eq!(events, ["{\"a\":1}", "[DONE]"]);
        // Multi-line data, and an event cut by the end of the stream.
        let mut sse = Sse::default();
        let events = sse.push(b"event: x\ndata: a\ndata: b\n\ndata: c").unwrap();
        assert_eq!(events, ["a\nb"]);
        assert_eq!(sse.finish().as_deref(), Some("c"));
        // A multi-byte character split between chunks.
        let mut sse = Sse::default();
        let bytes = "data: é\n\n".as_bytes();
        assert!(sse.push(&bytes[..7]).unwrap().is_empty());
        assert_eq!(sse.push(&bytes[7..]).unwrap(), ["é"]);
    }

    #[test]
    fn streamed_chunks_build_the_answer_and_its_confidence() {
        let mut g = Generated::default();
        let grew = g
            .add_chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#)
            .unwrap();
        assert!(!grew, "the role-only first chunk adds nothing");
        let grew = g
            .add_chunk(r#"{"choices":[{"index":0,"delta":{"content":"Refunds"},"logprobs":{"content":[{"token":"Refunds","logprob":-0.1}]},"finish_reason":null}]}"#)
            .unwrap();
        assert!(grew);
        g.add_chunk(r#"{"choices":[{"index":0,"delta":{"content":" take"},"logprobs":{"content":[{"token":" take","logprob":-0.3}]},"finish_reason":null}]}"#)
            .unwrap();
        g.add_chunk(
            r#"{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(g.text, "Refunds take");
        assert!(close(g.logprobs.confidence(), (-0.2f32).exp()));
        assert_eq!(g.finish.as_deref(), Some("stop"));
        assert!(
            g.add_chunk(r#"{"error":{"message":"overloaded"}}"#)
                .is_err()
        );
        assert!(g.add_chunk("not json").is_err());
        // A usage-only chunk (no choices) is fine.
        assert!(
            !g.add_chunk(r#"{"choices":[],"usage":{"total_tokens":3}}"#)
                .unwrap()
        );
    }

    #[test]
    fn summaries_need_an_intent() {
        let s = parse_summary(
            r#"{"intent": "Wants to pay with Bitcoin.", "tried": "Listed the payment methods.", "next_step": "Say whether crypto is accepted."}"#,
        )
        .unwrap();
        assert_eq!(s.intent.as_deref(), Some("Wants to pay with Bitcoin."));
        assert_eq!(s.tried.as_deref(), Some("Listed the payment methods."));
        assert!(parse_summary(r#"{"tried": "x"}"#).is_none());
        assert!(parse_summary("The visitor wants Bitcoin.").is_none());
        let s = parse_summary(r#"{"intent": "x", "next_step": "  "}"#).unwrap();
        assert_eq!(s.next_step, None, "blank fields keep the built ones");
    }

    #[test]
    fn context_puts_the_best_article_first_and_fits_the_limit() {
        let md = "# Shop FAQ\nintro\n\n## Shipping\nWe ship to the EU.\n\n## Refunds\nRefunds take 5 days.\n```\n## not a heading\n```\n";
        let arts = articles(md);
        assert_eq!(
            arts.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(),
            ["Shipping", "Refunds"]
        );
        assert!(arts[1].section.contains("## not a heading"));
        let kb = Knowledge::new(KnowledgeBase::parse(md).unwrap());
        let config = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1/".into(),
            model: "m".into(),
            ..OpenAiConfig::default()
        };
        let mut ai = OpenAi::new(&config, "Nova", kb, md, |_| None).unwrap();
        assert_eq!(ai.endpoint, "http://127.0.0.1:9/v1/chat/completions");
        assert!(ai.system_prompt.starts_with("You are Nova,"));
        let kb = ai.knowledge.current();
        let context = ai.context(Some("Refunds"), &kb);
        assert!(context.starts_with("## Refunds"), "{context}");
        assert!(context.contains("## Shipping"));
        // An article an agent wrote goes first when it is the best.
        let taught = kb
            .with_lessons(&[baton_shared::Lesson {
                article: "Gift cards".into(),
                phrasing: "do you sell vouchers".into(),
                answer: Some("Yes, from 10 EUR.".into()),
                by: baton_shared::AgentRef {
                    id: 1,
                    name: "Mia".into(),
                },
                at: 0,
            }])
            .unwrap()
            .kb;
        let context = ai.context(Some("Gift cards"), &taught);
        assert!(
            context.starts_with("## Gift cards\nYes, from 10 EUR.\n\n## Shipping"),
            "{context}"
        );
        ai.config.max_context_chars = arts[1].section.len();
        assert_eq!(ai.context(Some("Refunds"), &kb), arts[1].section);
        ai.config.max_context_chars = 5;
        assert_eq!(ai.context(Some("Refunds"), &kb), "## Re");
    }

    #[test]
    fn a_missing_api_key_is_named() {
        let md = "## A\nb\n";
        let config = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "m".into(),
            api_key_env: Some("BATON_TEST_NO_SUCH_KEY".into()),
            ..OpenAiConfig::default()
        };
        let kb = || Knowledge::new(KnowledgeBase::parse(md).unwrap());
        let err = OpenAi::new(&config, "Nova", kb(), md, |_| None)
            .err()
            .unwrap();
        assert!(
            err.contains("assistant.openai.api_key_env") && err.contains("BATON_TEST_NO_SUCH_KEY"),
            "{err}"
        );
        let ai = OpenAi::new(&config, "Nova", kb(), md, |_| Some("sk-test".into())).unwrap();
        assert_eq!(ai.api_key.as_deref(), Some("sk-test"));
    }

    #[test]
    fn requests_ask_for_what_the_confidence_needs() {
        let md = "## Shipping\nWe ship to the EU.\n";
        let mut config = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "m".into(),
            max_history: 1,
            ..OpenAiConfig::default()
        };
        let turn = |t: &str| crate::handoff::Turn {
            text: t.into(),
            ..Default::default()
        };
        let history = vec![
            crate::handoff::Exchange {
                turn: turn("first"),
                answer: None,
            },
            crate::handoff::Exchange {
                turn: turn("second"),
                answer: Some(Candidate {
                    text: "An answer.".into(),
                    confidence: 0.9,
                    articles: vec![],
                    ..Candidate::default()
                }),
            },
        ];
        let now = turn("Do you ship to Norway?");
        let ask = Ask {
            page: Some("https://shop.example/boots"),
            ..Ask::new(&history, &now)
        };
        let ai = OpenAi::new(
            &config,
            "Nova",
            Knowledge::new(KnowledgeBase::parse(md).unwrap()),
            md,
            |_| None,
        )
        .unwrap();
        let body = ai.answer_request(&ask, Some("Shipping"), true);
        assert_eq!(body["logprobs"], true);
        assert_eq!(body["stream"], true);
        assert!(body.get("response_format").is_none());
        let messages = body["messages"].as_array().unwrap();
        let system = messages[0]["content"].as_str().unwrap();
        assert!(system.contains("We ship to the EU.") && system.contains("shop.example/boots"));
        // max_history = 1: only the second exchange, then the turn.
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[1]["content"], "second");
        assert_eq!(messages[2]["content"], "An answer.");
        assert_eq!(messages[3]["content"], "Do you ship to Norway?");

        config.confidence = ConfidenceSource::SelfRating;
        let ai = OpenAi::new(
            &config,
            "Nova",
            Knowledge::new(KnowledgeBase::parse(md).unwrap()),
            md,
            |_| None,
        )
        .unwrap();
        assert!(!ai.streams(), "a self-rating is known only at the end");
        let body = ai.answer_request(&ask, None, false);
        assert!(body.get("logprobs").is_none());
        assert_eq!(body["response_format"]["type"], "json_object");
        let messages = body["messages"].as_array().unwrap();
        assert!(
            messages[0]["content"]
                .as_str()
                .unwrap()
                .contains("\"confidence\"")
        );
        let earlier: Value =
            serde_json::from_str(messages[2]["content"].as_str().unwrap()).unwrap();
        assert_eq!(earlier["answer"], "An answer.");
        assert_eq!(
            earlier["confidence"], 0.9,
            "rounded, not 0.8999999761581421"
        );
    }
}
