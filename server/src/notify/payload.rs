//! What a handoff notification says: a Slack-compatible message (text and
//! blocks) or Baton's own JSON. Pure functions over the handoff's brief.

use baton_shared::{Brief, ConversationId, Mechanism};
use serde_json::{Value, json};

/// Where the notification's buttons lead.
pub struct Links {
    pub console: String,
    pub resume: String,
}

/// The headline, in plain words.
fn headline(conversation: ConversationId, brief: &Brief) -> String {
    let why = match (brief.mechanism, brief.rule.as_deref()) {
        (Mechanism::User, _) => "the visitor asked for a person".to_string(),
        (Mechanism::Rule, Some(rule)) => format!("rule {rule}"),
        (Mechanism::Rule, None) => "a policy rule".to_string(),
        (Mechanism::Confidence, _) => match (brief.confidence, brief.threshold) {
            (Some(c), Some(t)) => format!("low confidence ({c:.2} < {t:.2})"),
            _ => "low confidence".to_string(),
        },
    };
    let away = if brief.out_of_hours.is_some() {
        " (out of hours)"
    } else {
        ""
    };
    format!("Conversation {conversation} needs a person{away}: {why}")
}

/// Slack's incoming-webhook format; `text` is the fallback for clients
/// (and Slack-compatible tools) that do not render blocks.
pub fn slack(conversation: ConversationId, brief: &Brief, links: &Links) -> Value {
    let headline = headline(conversation, brief);
    let mut fields = vec![
        json!({ "type": "mrkdwn", "text": format!("*Why*\n{}", escape(&brief.reason)) }),
        json!({ "type": "mrkdwn", "text": format!("*Visitor wants*\n{}", escape(&brief.intent)) }),
        json!({ "type": "mrkdwn", "text": format!("*Needed next*\n{}", escape(&brief.next_step)) }),
    ];
    if let Some(back) = &brief.out_of_hours {
        fields.push(json!({ "type": "mrkdwn", "text": format!("*Team back*\n{}", escape(back)) }));
    }
    json!({
        "text": format!("{headline}. Visitor wants: {}. Open: {} · Resume assistant: {}",
            brief.intent, links.console, links.resume),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*", escape(&headline)) } },
            { "type": "section", "fields": fields },
            { "type": "actions", "elements": [
                { "type": "button", "style": "primary", "url": links.console,
                  "text": { "type": "plain_text", "text": "Open in console" } },
                { "type": "button", "url": links.resume,
                  "text": { "type": "plain_text", "text": "Resume assistant" } }
            ] }
        ]
    })
}

/// Baton's own format: the whole brief and the links, for any receiver.
pub fn json(handoff: i64, conversation: ConversationId, brief: &Brief, links: &Links) -> Value {
    json!({
        "event": "handoff",
        "handoff": handoff,
        "conversation": conversation,
        "summary": headline(conversation, brief),
        "brief": brief,
        "links": { "console": links.console, "resume": links.resume },
    })
}

/// Slack mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief() -> Brief {
        Brief {
            mechanism: Mechanism::Rule,
            rule: Some("refund_limit".into()),
            reason: "Refund of 240 EUR requested".into(),
            confidence: None,
            threshold: None,
            turn: 1,
            intent: "I need a refund of 240 EUR <now>".into(),
            tried: vec![],
            withheld_draft: None,
            withheld_article: None,
            next_step: "Decide on the refund.".into(),
            identity: None,
            page: None,
            out_of_hours: Some("Monday 09:00 (Europe/Berlin)".into()),
            at: 0,
            tried_summary: None,
            summarised_by: None,
        }
    }

    fn links() -> Links {
        Links {
            console: "http://x/console/#/conversations/4".into(),
            resume: "http://x/resume/t".into(),
        }
    }

    #[test]
    fn slack_carries_reason_intent_and_both_links() {
        let message = slack(4, &brief(), &links());
        let text = message["text"].as_str().unwrap();
        assert!(
            text.contains("rule refund_limit") && text.contains("out of hours"),
            "{text}"
        );
        let blocks = message["blocks"].to_string();
        assert!(blocks.contains("Refund of 240 EUR requested"));
        assert!(
            blocks.contains("&lt;now&gt;"),
            "mrkdwn is escaped: {blocks}"
        );
        assert!(blocks.contains("Monday 09:00"));
        let buttons = &message["blocks"][2]["elements"];
        assert_eq!(buttons[0]["url"], "http://x/console/#/conversations/4");
        assert_eq!(buttons[1]["url"], "http://x/resume/t");
        assert_eq!(buttons[1]["text"]["text"], "Resume assistant");
    }

    #[test]
    fn json_carries_the_whole_brief() {
        let body = json(9, 4, &brief(), &links());
        assert_eq!(body["handoff"], 9);
        assert_eq!(body["brief"]["rule"], "refund_limit");
        assert_eq!(body["links"]["resume"], "http://x/resume/t");
    }
}
