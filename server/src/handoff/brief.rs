//! The brief: what the person picking up a conversation reads, so the
//! visitor never has to repeat themselves.
//!
//! Built only from the handoff and the conversation: the mechanism and
//! reason, the visitor's intent in one line, what the assistant tried (its
//! answers with the articles they came from), the draft it withheld, what
//! is needed next, and who and where the visitor is.

use baton_shared::{Attempt, Brief, Mechanism};

use super::{AttachmentKind, Candidate, Handoff, Situation, Turn, last_question, one_line};

/// The brief for `handoff`, decided on `turn` in `situation`. `withheld` is
/// the draft the assistant did not send (confidence and output-rule
/// handoffs); `at_millis` is when the handoff happened.
pub fn brief(
    handoff: &Handoff,
    situation: &Situation,
    turn: &Turn,
    withheld: Option<&Candidate>,
    page: Option<&str>,
    at_millis: i64,
) -> Brief {
    let tried = situation
        .history
        .iter()
        .filter_map(|e| {
            let answer = e.answer.as_ref()?;
            Some(Attempt {
                question: one_line(&e.turn.text),
                answer: answer.text.clone(),
                // A clarifying question rests on the articles it offered.
                articles: if answer.choices.is_empty() {
                    answer.articles.clone()
                } else {
                    answer.choices.clone()
                },
                confidence: answer.confidence,
            })
        })
        .collect();
    Brief {
        mechanism: handoff.mechanism,
        rule: handoff.rule.clone(),
        reason: handoff.reason.clone(),
        confidence: handoff.confidence.or(withheld.map(|c| c.confidence)),
        threshold: handoff.threshold,
        // "None of these" answers the clarifying question: the handoff is
        // that question's turn (as `baton eval` and the export count it).
        turn: u32::try_from(if super::is_none_of_these(situation, turn) {
            situation.history.len()
        } else {
            situation.history.len() + 1
        })
        .unwrap_or(u32::MAX),
        intent: intent(handoff, situation, turn),
        tried,
        withheld_draft: withheld
            .map(|c| c.text.clone())
            .filter(|t| !t.trim().is_empty()),
        withheld_article: withheld
            .filter(|c| !c.text.trim().is_empty())
            .and_then(|c| c.articles.first().cloned()),
        next_step: handoff.next_step.clone(),
        identity: situation.identity.cloned(),
        page: page.map(str::to_string),
        out_of_hours: handoff.out_of_hours.clone(),
        at: at_millis,
        tried_summary: None,
        summarised_by: None,
    }
}

/// The visitor's question in one line. When the turn itself is not the
/// question — a request for a person, an outburst, a voice message — it is
/// the last earlier question.
fn intent(handoff: &Handoff, situation: &Situation, turn: &Turn) -> String {
    let now = one_line(&turn.text);
    let is_question = !now.is_empty()
        && handoff.mechanism != Mechanism::User
        && handoff.rule.as_deref() != Some("frustration");
    if is_question {
        return now;
    }
    if let Some(q) = last_question(situation.history) {
        return q;
    }
    if !now.is_empty() {
        return now;
    }
    match turn.attachments.first() {
        Some(a) => {
            let what = match a.kind {
                AttachmentKind::Audio => "A voice message",
                AttachmentKind::Image => "An image",
                AttachmentKind::File => "A file",
            };
            format!("{what} ({}).", a.name)
        }
        None if turn.request_human => "Asked for a person before asking anything.".into(),
        None => "(no text)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::{Attachment, Exchange, Policy, after_answer, before_answer};
    use baton_shared::Identity;

    fn now() -> jiff::Timestamp {
        "2026-11-20T10:00:00+01:00".parse().unwrap()
    }

    fn answered(text: &str, answer: &str, article: &str) -> Exchange {
        Exchange {
            turn: Turn {
                text: text.into(),
                ..Turn::default()
            },
            answer: Some(Candidate {
                text: answer.into(),
                confidence: 0.93,
                articles: vec![article.into()],
                ..Candidate::default()
            }),
        }
    }

    #[test]
    fn refund_brief() {
        let p = Policy::default();
        let id = Identity {
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            verified: true,
            ..Identity::default()
        };
        let history = [answered(
            "How do refunds work?",
            "Refunds are issued…",
            "How do refunds work?",
        )];
        let s = Situation {
            history: &history,
            identity: Some(&id),
            now: now(),
        };
        let turn = Turn {
            text: "I need a refund of 240 EUR for the boots.".into(),
            ..Turn::default()
        };
        let h = before_answer(&p, &s, &turn).unwrap();
        let b = brief(&h, &s, &turn, None, Some("https://shop.example/orders"), 42);
        assert_eq!(b.mechanism, Mechanism::Rule);
        assert_eq!(b.rule.as_deref(), Some("refund_limit"));
        assert_eq!(b.turn, 2);
        assert_eq!(b.intent, "I need a refund of 240 EUR for the boots.");
        assert_eq!(
            b.next_step,
            "Refund of 240 EUR requested — above the 100 EUR limit: decide on the refund."
        );
        assert_eq!(b.tried.len(), 1);
        assert_eq!(b.tried[0].articles, ["How do refunds work?"]);
        assert_eq!(
            b.identity.as_ref().and_then(|i| i.name.as_deref()),
            Some("Ada")
        );
        assert_eq!(b.page.as_deref(), Some("https://shop.example/orders"));
        assert_eq!((b.withheld_draft, b.confidence, b.at), (None, None, 42));
    }

    #[test]
    fn confidence_brief_carries_the_withheld_draft() {
        let p = Policy::default();
        let s = Situation {
            history: &[],
            identity: None,
            now: now(),
        };
        let turn = Turn {
            text: "Do you accept Bitcoin?".into(),
            ..Turn::default()
        };
        let draft = Candidate {
            text: "We accept Visa…".into(),
            confidence: 0.41,
            articles: vec!["Which payment methods do you accept?".into()],
            ..Candidate::default()
        };
        let h = after_answer(&p, &s, &turn, &draft).unwrap();
        let b = brief(&h, &s, &turn, Some(&draft), None, 0);
        assert_eq!(b.withheld_draft.as_deref(), Some("We accept Visa…"));
        assert_eq!((b.confidence, b.threshold), (Some(0.41), Some(0.8)));
        assert_eq!(b.intent, "Do you accept Bitcoin?");
        assert!(
            b.next_step
                .contains("no answer for: “Do you accept Bitcoin?”"),
            "{}",
            b.next_step
        );
        assert!(
            b.reason
                .contains("closest article: “Which payment methods do you accept?”"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn the_button_brief_names_the_last_question() {
        let p = Policy::default();
        let history = [answered(
            "Where is my parcel?",
            "You receive a tracking link…",
            "How do I track my order?",
        )];
        let s = Situation {
            history: &history,
            identity: None,
            now: now(),
        };
        let turn = Turn {
            request_human: true,
            ..Turn::default()
        };
        let h = before_answer(&p, &s, &turn).unwrap();
        let b = brief(&h, &s, &turn, None, None, 0);
        assert_eq!(b.intent, "Where is my parcel?");
        assert!(
            b.next_step.contains("“Where is my parcel?”"),
            "{}",
            b.next_step
        );
        assert_eq!(b.reason, "The visitor pressed “Talk to a human”.");
        let empty = Situation { history: &[], ..s };
        assert_eq!(
            brief(&h, &empty, &turn, None, None, 0).intent,
            "Asked for a person before asking anything."
        );
    }

    #[test]
    fn typed_request_and_frustration_point_at_the_real_question() {
        let p = Policy::default();
        let history = [answered(
            "Where is my order?",
            "You receive a tracking link…",
            "How do I track my order?",
        )];
        let s = Situation {
            history: &history,
            identity: None,
            now: now(),
        };
        for text in ["agent", "THAT IS NOT WHAT I ASKED. This is useless!!!"] {
            let turn = Turn {
                text: text.into(),
                ..Turn::default()
            };
            let h = before_answer(&p, &s, &turn).unwrap();
            assert_eq!(
                brief(&h, &s, &turn, None, None, 0).intent,
                "Where is my order?",
                "{text}"
            );
        }
        let fresh = Situation { history: &[], ..s };
        let turn = Turn {
            text: "Can I speak to a human please?".into(),
            ..Turn::default()
        };
        let h = before_answer(&p, &fresh, &turn).unwrap();
        assert_eq!(
            brief(&h, &fresh, &turn, None, None, 0).intent,
            "Can I speak to a human please?"
        );
    }

    #[test]
    fn voice_message_brief() {
        let p = Policy::default();
        let s = Situation {
            history: &[],
            identity: None,
            now: "2026-11-21T10:00:00+01:00".parse().unwrap(),
        };
        let turn = Turn {
            attachments: vec![Attachment {
                kind: AttachmentKind::Audio,
                name: "voice.ogg".into(),
            }],
            ..Turn::default()
        };
        let h = before_answer(&p, &s, &turn).unwrap();
        let b = brief(&h, &s, &turn, None, None, 0);
        assert_eq!(b.intent, "A voice message (voice.ogg).");
        assert_eq!(
            b.next_step,
            "Listen to a voice message (voice.ogg) and reply."
        );
        assert_eq!(
            b.out_of_hours.as_deref(),
            Some("Monday 09:00 (Europe/Berlin)")
        );
    }
}
