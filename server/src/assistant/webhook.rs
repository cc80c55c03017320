//! The `webhook` backend: the site's own bot (Rasa, Botpress, anything
//! behind a URL) answers the visitors, and Baton keeps the handoff.
//!
//! Each visitor turn is POSTed as JSON:
//!
//! ```json
//! {"conversation": 7, "text": "Where is my parcel?", "attachments": [],
//!  "history": [{"visitor": "Hi", "answer": "Hello! What can I help you with?"}],
//!  "visitor": {"user_id": "u-42", "name": "Ada", "verified": true},
//!  "page": "https://shop.example/orders"}
//! ```
//!
//! signed like notification webhooks when `secret` is set:
//! `X-Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
//! The bot answers `{"answer": "…", "confidence": 0.93}` (optionally
//! `"articles": ["…"]`) — judged by the handoff engine like any answer; a
//! missing or unusable confidence counts as 0 — or asks for a person with
//! `{"handoff": "reason"}` (`true` for no particular reason), which
//! becomes a `rule` handoff `bot_handoff` with that reason. A timeout, an
//! error status or a reply that is neither is "assistant unavailable".

use std::time::Duration;

use baton_shared::{ConversationId, Identity};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use super::{Ask, Assistant, AssistantError, Drafts, Reply, rating, unavailable};
use crate::config::BotWebhookConfig;
use crate::handoff::{Attachment, Candidate, one_line};
use crate::notify::Signer;

pub struct WebhookBot {
    http: reqwest::Client,
    url: String,
    secret: Option<String>,
    timeout: Duration,
}

#[derive(Serialize)]
struct BotRequest<'a> {
    conversation: ConversationId,
    text: &'a str,
    attachments: &'a [Attachment],
    history: Vec<BotExchange<'a>>,
    visitor: Option<&'a Identity>,
    page: Option<&'a str>,
}

#[derive(Serialize)]
struct BotExchange<'a> {
    visitor: &'a str,
    answer: Option<&'a str>,
}

impl WebhookBot {
    pub fn new(config: &BotWebhookConfig) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: config.url.clone(),
            secret: config.secret.clone(),
            timeout: Duration::from_millis(config.timeout_ms),
        }
    }

    async fn ask(&self, ask: &Ask<'_>) -> Result<Reply, AssistantError> {
        let request = BotRequest {
            conversation: ask.conversation,
            text: &ask.turn.text,
            attachments: &ask.turn.attachments,
            history: ask
                .history
                .iter()
                .map(|e| BotExchange {
                    visitor: &e.turn.text,
                    answer: e.answer.as_ref().map(|a| a.text.as_str()),
                })
                .collect(),
            visitor: ask.identity,
            page: ask.page,
        };
        let body = serde_json::to_string(&request).expect("the request serialises");
        let mut post = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(secret) = &self.secret {
            post = post.header("x-baton-signature", signature(secret, &body));
        }
        let response = post
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(format!("cannot reach the bot at {}: {e}", self.url)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| unavailable(format!("the bot's reply broke off: {e}")))?;
        if !status.is_success() {
            return Err(unavailable(format!(
                "the bot answered HTTP {}",
                status.as_u16()
            )));
        }
        parse_reply(&text).map_err(unavailable)
    }
}

impl Assistant for WebhookBot {
    fn answer<'a>(
        &'a self,
        ask: &'a Ask<'a>,
        _drafts: Drafts<'a>,
    ) -> BoxFuture<'a, Result<Reply, AssistantError>> {
        Box::pin(async move {
            let ms = self.timeout.as_millis();
            tokio::time::timeout(self.timeout, self.ask(ask))
                .await
                .map_err(|_| unavailable(format!("the bot did not answer within {ms} ms")))?
        })
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, exactly as
/// notification webhooks are signed.
pub fn signature(secret: &str, body: &str) -> String {
    let t = crate::clock::now() / 1000;
    let v1 = Signer::hex_signature(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    format!("t={t},v1={v1}")
}

/// The bot's reply: `{"handoff": reason}` wins over an answer.
pub fn parse_reply(text: &str) -> Result<Reply, String> {
    let start: String = text.trim().chars().take(200).collect();
    // A bot is a program: its reply is JSON, not prose around JSON.
    let Ok(Value::Object(reply)) = serde_json::from_str::<Value>(text) else {
        return Err(format!("the bot's reply is not a JSON object: {start}"));
    };
    match reply.get("handoff") {
        None | Some(Value::Null | Value::Bool(false)) => {}
        Some(Value::Bool(true)) => return Ok(Reply::Handoff("The bot asked for a person.".into())),
        Some(Value::String(reason)) if !reason.trim().is_empty() => {
            return Ok(Reply::Handoff(one_line(reason)));
        }
        Some(Value::Object(o)) => {
            let reason = o
                .get("reason")
                .and_then(Value::as_str)
                .map(one_line)
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "The bot asked for a person.".into());
            return Ok(Reply::Handoff(reason));
        }
        Some(other) => return Err(format!("the bot's handoff is not a reason: {other}")),
    }
    let answer = reply
        .get("answer")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("the bot's reply has neither an answer nor a handoff: {start}"))?;
    let articles = reply
        .get("articles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Answer(Candidate {
        text: answer.to_string(),
        // Without a usable confidence the answer is not trusted.
        confidence: reply.get("confidence").and_then(rating).unwrap_or(0.0),
        articles,
        ..Candidate::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_replies_are_answers_or_handoffs() {
        assert_eq!(
            parse_reply(
                r#"{"answer": "It ships today.", "confidence": 0.93, "articles": ["Shipping"]}"#
            ),
            Ok(Reply::Answer(Candidate {
                text: "It ships today.".into(),
                confidence: 0.93,
                articles: vec!["Shipping".into()],
                ..Candidate::default()
            }))
        );
        assert_eq!(
            parse_reply(r#"{"handoff": "The order is stuck in customs."}"#),
            Ok(Reply::Handoff("The order is stuck in customs.".into()))
        );
        assert_eq!(
            parse_reply(r#"{"handoff": true}"#),
            Ok(Reply::Handoff("The bot asked for a person.".into()))
        );
        assert_eq!(
            parse_reply(r#"{"handoff": {"reason": "VIP"}}"#),
            Ok(Reply::Handoff("VIP".into()))
        );
        // The handoff wins over an answer; `false` or null is no handoff.
        assert!(matches!(
            parse_reply(r#"{"answer": "x", "confidence": 1, "handoff": "policy"}"#),
            Ok(Reply::Handoff(_))
        ));
        assert!(matches!(
            parse_reply(r#"{"answer": "x", "confidence": 1, "handoff": false}"#),
            Ok(Reply::Answer(_))
        ));
        // No confidence: not trusted.
        let Ok(Reply::Answer(c)) = parse_reply(r#"{"answer": "x"}"#) else {
            panic!()
        };
        assert_eq!(c.confidence, 0.0);
        // Neither, or not JSON: the bot is unavailable.
        for bad in [
            "",
            "OK",
            "[]",
            r#"{"text": "hi"}"#,
            r#"{"answer": "  "}"#,
            r#"{"handoff": 3}"#,
            "<html>502</html>",
        ] {
            assert!(parse_reply(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signatures_are_those_of_notifications() {
        let s = signature("bot-secret", "{}");
        let (t, v1) = s.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        assert_eq!(
            v1,
            Signer::hex_signature(b"bot-secret", format!("{t}.{{}}").as_bytes())
        );
    }
}
