//! How the console words numbers and kinds: waiting times, confidence
//! against the threshold, handoff mechanisms, file sizes and attachments.
//! Plain functions, tested natively.

use baton_shared::domain::{Attachment, Brief, ConversationState, Identity, Mechanism, QueueEntry};

/// How long someone has waited, coarse enough to read at a glance:
/// "<1 min", "3 min", "2 h 5 min", "3 d".
pub fn waited(ms: f64) -> String {
    let minutes = (ms.max(0.0) / 60_000.0) as u64;
    match minutes {
        0 => "<1 min".into(),
        1..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d", minutes / 1440),
    }
}

/// The confidence against the threshold: "0.42 < 0.80" (or just "0.42").
pub fn confidence(brief: &Brief) -> Option<String> {
    let value = brief.confidence?;
    Some(match brief.threshold {
        Some(threshold) => {
            let op = if value < threshold { "<" } else { "≥" };
            format!("{value:.2} {op} {threshold:.2}")
        }
        None => format!("{value:.2}"),
    })
}

pub fn mechanism(mechanism: Mechanism, rule: Option<&str>) -> String {
    match (mechanism, rule) {
        (Mechanism::User, _) => "User request".into(),
        (Mechanism::Rule, Some(rule)) => format!("Rule: {rule}"),
        (Mechanism::Rule, None) => "Rule".into(),
        (Mechanism::Confidence, _) => "Low confidence".into(),
    }
}

/// Who has a queued conversation, for the queue list.
pub fn holder(entry: &QueueEntry) -> String {
    match &entry.agent {
        Some(agent) => format!("Claimed by {}", agent.name),
        None => "Waiting".into(),
    }
}

pub fn state(state: ConversationState, agent: Option<&str>) -> String {
    match (state, agent) {
        (ConversationState::Assistant, _) => "With the assistant".into(),
        (ConversationState::Queued, _) => "Waiting for a person".into(),
        (ConversationState::Human, Some(agent)) => format!("With {agent}"),
        (ConversationState::Human, None) => "With a person".into(),
        (ConversationState::Closed, _) => "Closed".into(),
    }
}

/// What the host site says about the visitor, in one line:
/// "Ana Silva · ana@example.com · id 42 · tier gold" ("No details" when
/// the claim names nothing).
pub fn identity(identity: &Identity) -> String {
    let mut parts: Vec<String> = [&identity.name, &identity.email]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if let Some(id) = &identity.user_id {
        parts.push(format!("id {id}"));
    }
    if let Some(tier) = &identity.tier {
        parts.push(format!("tier {tier}"));
    }
    if parts.is_empty() {
        return "No details".into();
    }
    parts.join(" · ")
}

/// A page URL worth linking to; anything else (`javascript:`…) shows as text.
pub fn safe_link(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

/// A file size to read at a glance: "812 B", "4.2 KB", "12 KB", "3.5 MB"
/// (binary units, one decimal below 10).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    for (i, unit) in UNITS.iter().enumerate() {
        // 1023.6 KB would read "1024 KB": that is "1.0 MB".
        if value < 1023.5 || i + 1 == UNITS.len() {
            return if value < 9.95 {
                format!("{value:.1} {unit}")
            } else {
                format!("{value:.0} {unit}")
            };
        }
        value /= 1024.0;
    }
    unreachable!("the last unit returns")
}

/// What kind of file an attachment is, as the transcript draws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A thumbnail that opens the full image.
    Image,
    /// An inline player: a voice message.
    Audio,
    /// A download link.
    File,
}

pub fn file_kind(content_type: &str) -> FileKind {
    if content_type.starts_with("image/") {
        FileKind::Image
    } else if content_type.starts_with("audio/") {
        FileKind::Audio
    } else {
        FileKind::File
    }
}

/// An attachment in one line, wherever the console sums up an event
/// instead of drawing it: "Voice message" (any audio: the widget records
/// them), "📎 photo.png".
pub fn attachment(attachment: &Attachment) -> String {
    match file_kind(&attachment.content_type) {
        FileKind::Audio => "Voice message".into(),
        FileKind::Image | FileKind::File => format!("📎 {}", attachment.name),
    }
}

/// A download link's words: "invoice.pdf · 48 KB".
pub fn file_label(name: &str, bytes: u64) -> String {
    format!("{name} · {}", size(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_times_read_at_a_glance() {
        assert_eq!(waited(-5.0), "<1 min");
        assert_eq!(waited(59_000.0), "<1 min");
        assert_eq!(waited(3.5 * 60_000.0), "3 min");
        assert_eq!(waited(125.0 * 60_000.0), "2 h 5 min");
        assert_eq!(waited(3.0 * 86_400_000.0), "3 d");
    }

    fn brief(confidence: Option<f32>, threshold: Option<f32>) -> Brief {
        Brief {
            mechanism: Mechanism::Confidence,
            rule: None,
            reason: String::new(),
            confidence,
            threshold,
            turn: 1,
            intent: String::new(),
            tried: vec![],
            withheld_draft: None,
            withheld_article: None,
            next_step: String::new(),
            identity: None,
            page: None,
            out_of_hours: None,
            at: 0,
            tried_summary: None,
            summarised_by: None,
        }
    }

    #[test]
    fn confidence_is_shown_against_the_threshold() {
        assert_eq!(
            confidence(&brief(Some(0.42), Some(0.8))).as_deref(),
            Some("0.42 < 0.80")
        );
        assert_eq!(
            confidence(&brief(Some(0.9), Some(0.8))).as_deref(),
            Some("0.90 ≥ 0.80")
        );
        assert_eq!(confidence(&brief(Some(0.5), None)).as_deref(), Some("0.50"));
        assert_eq!(confidence(&brief(None, Some(0.8))), None);
    }

    #[test]
    fn mechanisms_and_states_have_words() {
        assert_eq!(
            mechanism(Mechanism::Rule, Some("refund_over_limit")),
            "Rule: refund_over_limit"
        );
        assert_eq!(mechanism(Mechanism::User, None), "User request");
        assert_eq!(state(ConversationState::Human, Some("Mia")), "With Mia");
    }

    #[test]
    fn identities_read_in_one_line() {
        let ana = Identity {
            user_id: Some("42".into()),
            name: Some("Ana Silva".into()),
            email: Some("ana@example.com".into()),
            tier: Some("gold".into()),
            verified: false,
        };
        assert_eq!(
            identity(&ana),
            "Ana Silva · ana@example.com · id 42 · tier gold"
        );
        assert_eq!(identity(&Identity::default()), "No details");
    }

    #[test]
    fn sizes_read_at_a_glance() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(812), "812 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KB");
        assert_eq!(size(4300), "4.2 KB");
        assert_eq!(size(10 * 1024 - 1), "10 KB");
        assert_eq!(size(12_345), "12 KB");
        assert_eq!(size(1024 * 1024 - 1), "1.0 MB");
        assert_eq!(size(3_500_000), "3.3 MB");
        assert_eq!(size(10 * 1024 * 1024), "10 MB");
        assert_eq!(size(5 * 1024 * 1024 * 1024), "5.0 GB");
        assert_eq!(size(u64::MAX), "16777216 TB");
    }

    fn file(name: &str, content_type: &str) -> Attachment {
        Attachment {
            id: "abc".into(),
            name: name.into(),
            content_type: content_type.into(),
            size: 48 * 1024,
        }
    }

    #[test]
    fn attachments_are_summed_up_by_kind() {
        assert_eq!(attachment(&file("photo.png", "image/png")), "📎 photo.png");
        assert_eq!(
            attachment(&file("recording.webm", "audio/webm")),
            "Voice message"
        );
        assert_eq!(
            attachment(&file("invoice.pdf", "application/pdf")),
            "📎 invoice.pdf"
        );
        assert_eq!(file_kind("image/webp"), FileKind::Image);
        assert_eq!(file_kind("audio/ogg"), FileKind::Audio);
        assert_eq!(file_kind("text/plain"), FileKind::File);
        assert_eq!(file_label("invoice.pdf", 48 * 1024), "invoice.pdf · 48 KB");
    }

    #[test]
    fn only_web_pages_become_links() {
        assert_eq!(
            safe_link("https://shop.example/cart"),
            Some("https://shop.example/cart")
        );
        assert_eq!(safe_link("javascript:alert(1)"), None);
    }
}
