//! `baton export`: escalated conversations as eval cases, so a team grows
//! its own regression set from real traffic and `baton eval` runs it
//! unchanged.
//!
//! Each handoff becomes one case (the format of the team's
//! `eval/README.md`), rebuilt from the stored log:
//!
//! - `id`: `handoff-<id>`;
//! - `identity`: the visitor's tier and whether it was verified, as the
//!   handoff recorded it (names and emails are not exported);
//! - `at`: when the handoff happened, in the policy's time zone;
//! - `turns`: the visitor's messages the assistant handled, up to and
//!   including the handoff turn — from the start of the conversation, or for
//!   a later handoff from where the previous one ended (what went to a
//!   person is not a turn the engine saw on its own). The "Talk to a human"
//!   button is a turn without a message: the engine counts the button as
//!   turn N+1 after N messages, so a `user` handoff whose recorded turn is
//!   one more than the messages before it becomes `{"action":
//!   "request_human"}`;
//! - `expect`: from the agent's verdict — "handoff was right" expects the
//!   handoff as recorded (`mechanism`, `turn`), "the assistant could have
//!   answered" expects none. Handoffs nobody judged are left out unless
//!   asked for (`--unreviewed`), and then expect what happened.

use std::io::Write;

use baton_shared::{Event, EventBody, Mechanism, Verdict};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::store::{ExportRow, Store, StoreError};

/// The outcomes `--outcome` accepts; `open` is a handoff not ended yet.
pub const OUTCOMES: [&str; 5] = [
    "resolved_by_human",
    "returned_to_assistant",
    "abandoned",
    "superseded",
    "open",
];

/// What to export.
#[derive(Debug, Clone)]
pub struct Options {
    /// First UTC day of handoffs to export.
    pub since: Date,
    /// Last UTC day, included; none means up to now.
    pub until: Option<Date>,
    /// Only handoffs with one of these outcomes (all when empty).
    pub outcomes: Vec<String>,
    /// Also handoffs nobody judged, expecting what happened.
    pub unreviewed: bool,
    /// The time zone `at` is written in.
    pub time_zone: TimeZone,
}

/// What an export wrote and left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exported {
    pub cases: usize,
    /// Left out: nobody judged them (and `unreviewed` was off).
    pub unreviewed: usize,
    /// Left out: another outcome than asked for.
    pub other_outcome: usize,
    /// Left out because the log does not rebuild the turn: (id, why).
    pub unrebuildable: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing cases: {0}")]
    Io(#[from] std::io::Error),
}

/// One case, keys in the documented order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<CaseIdentity>,
    pub at: String,
    pub turns: Vec<CaseTurn>,
    pub expect: Expect,
}

/// Only what policy may use: the tier and whether the site vouched for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CaseTurn {
    Text {
        text: String,
    },
    /// A shared file: a turn with no words (`text` is empty).
    Attachment {
        text: &'static str,
        attachments: Vec<crate::handoff::Attachment>,
    },
    Action {
        action: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expect {
    pub handoff: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
}

/// Writes the cases of every handoff `options` selects to `out`, one JSON
/// line each, oldest first.
pub async fn export(
    store: &Store,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Exported, ExportError> {
    let day_start = |d: Date| {
        d.to_zoned(TimeZone::UTC)
            .map_or(i64::MAX, |z| z.timestamp().as_millisecond())
    };
    let from = day_start(options.since);
    let to = match options.until {
        Some(until) => until.tomorrow().map_or(i64::MAX, day_start),
        None => i64::MAX,
    };
    let mut exported = Exported::default();
    for row in store.handoffs_for_export(from, to).await? {
        let outcome = row.handoff.outcome.as_deref().unwrap_or("open");
        if !options.outcomes.is_empty() && !options.outcomes.iter().any(|o| o == outcome) {
            exported.other_outcome += 1;
            continue;
        }
        let verdict = match row.handoff.verdict {
            Some(verdict) => Some(verdict),
            None if options.unreviewed => None,
            None => {
                exported.unreviewed += 1;
                continue;
            }
        };
        let events = store.events_after(row.handoff.conversation, 0).await?;
        match case(&row, &events, verdict, &options.time_zone) {
            Ok(case) => {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&case).map_err(std::io::Error::other)?
                )?;
                exported.cases += 1;
            }
            Err(why) => exported.unrebuildable.push((case_id(&row), why)),
        }
    }
    out.flush()?;
    Ok(exported)
}

fn case_id(row: &ExportRow) -> String {
    format!("handoff-{}", row.handoff.id)
}

/// The case of one handoff, from its conversation's whole log; `verdict`
/// none means "expect what happened".
pub fn case(
    row: &ExportRow,
    events: &[Event],
    verdict: Option<Verdict>,
    time_zone: &TimeZone,
) -> Result<Case, String> {
    let before: Vec<&Event> = events.iter().filter(|e| e.seq < row.seq).collect();
    // Where the assistant had the conversation again after the previous
    // handoff: after the event that ended it (hand-back or close).
    let start = row.previous_seq.map_or(0, |previous| {
        before
            .iter()
            .find(|e| {
                e.seq > previous
                    && matches!(
                        e.body,
                        EventBody::AssistantResumed { .. } | EventBody::Closed
                    )
            })
            .map_or(previous, |e| e.seq)
    });
    let all = before
        .iter()
        .filter(|e| {
            matches!(
                e.body,
                EventBody::Visitor { .. } | EventBody::VisitorAttachment { .. }
            )
        })
        .count();
    let mut turns: Vec<CaseTurn> = before
        .iter()
        .filter(|e| e.seq > start)
        .filter_map(|e| match &e.body {
            EventBody::Visitor { text, .. } => Some(CaseTurn::Text { text: text.clone() }),
            EventBody::VisitorAttachment { attachment, .. } => Some(CaseTurn::Attachment {
                text: "",
                attachments: vec![crate::handoff::Attachment {
                    kind: crate::handoff::AttachmentKind::of(&attachment.content_type),
                    name: attachment.name.clone(),
                }],
            }),
            _ => None,
        })
        .collect();
    let recorded = row.turn as usize;
    let button = row.handoff.mechanism == Mechanism::User && all + 1 == recorded;
    if button {
        turns.push(CaseTurn::Action {
            action: "request_human",
        });
    } else if all != recorded {
        return Err(format!(
            "the log has {all} visitor messages before the handoff, which was recorded at turn {recorded}"
        ));
    }
    if turns.is_empty() {
        return Err("no visitor turn since the previous handoff".into());
    }
    let expect = match verdict {
        Some(Verdict::AssistantCouldHaveAnswered) => Expect {
            handoff: false,
            mechanism: None,
            turn: None,
        },
        Some(Verdict::HandoffRight) | None => Expect {
            handoff: true,
            mechanism: Some(row.handoff.mechanism),
            turn: Some(turns.len()),
        },
    };
    let at = jiff::Timestamp::from_second(row.handoff.created_at.div_euclid(1000))
        .map_err(|e| format!("handoff time: {e}"))?;
    let offset = time_zone.to_offset(at);
    Ok(Case {
        id: case_id(row),
        identity: row.brief.identity.as_ref().map(|i| CaseIdentity {
            tier: i.tier.clone(),
            verified: i.verified,
        }),
        at: at.display_with_offset(offset).to_string(),
        turns,
        expect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HandoffRow;
    use baton_shared::{Brief, Identity};

    fn event(seq: u64, body: EventBody) -> Event {
        Event { seq, at: 0, body }
    }

    fn said(seq: u64, text: &str) -> Event {
        event(
            seq,
            EventBody::Visitor {
                client_id: format!("c{seq}"),
                text: text.into(),
            },
        )
    }

    fn answered(seq: u64) -> Event {
        event(
            seq,
            EventBody::Assistant {
                name: "Nova".into(),
                text: "…".into(),
                articles: Vec::new(),
                confidence: Some(0.9),
                choices: vec![],
            },
        )
    }

    fn started(seq: u64) -> Event {
        event(
            seq,
            EventBody::HandoffStarted {
                notice: "…".into()
            },
        )
    }

    fn row(id: i64, mechanism: Mechanism, seq: u64, turn: u32, previous: Option<u64>) -> ExportRow {
        ExportRow {
            handoff: HandoffRow {
                id,
                conversation: 1,
                mechanism,
                rule: None,
                confidence: None,
                threshold: None,
                created_at: 1_795_251_600_000, // 2026-11-21T09:00:00Z
                first_human_reply_at: None,
                ended_at: None,
                outcome: None,
                csat: None,
                verdict: None,
            },
            seq,
            turn,
            brief: {
                let mut brief: Brief = serde_json::from_value(serde_json::json!({
                    "mechanism": mechanism, "rule": null, "reason": "", "confidence": null,
                    "threshold": null, "turn": turn, "intent": "", "tried": [],
                    "withheld_draft": null, "next_step": "", "identity": null, "page": null,
                    "out_of_hours": null, "at": 0
                }))
                .unwrap();
                brief.identity = Some(Identity {
                    name: Some("Ada".into()),
                    email: Some("ada@example.com".into()),
                    tier: Some("tier-1".into()),
                    verified: true,
                    ..Identity::default()
                });
                brief
            },
            previous_seq: previous,
        }
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn a_voice_message_becomes_a_turn_with_an_audio_attachment() {
        let voice = EventBody::VisitorAttachment {
            client_id: "v".into(),
            attachment: baton_shared::Attachment {
                id: "abc".into(),
                name: "voice.webm".into(),
                content_type: "audio/webm".into(),
                size: 100,
            },
        };
        let log = [said(1, "Hi"), answered(2), event(3, voice), started(4)];
        let r = row(9, Mechanism::Rule, 4, 2, None);
        let case = case(&r, &log, None, &berlin()).unwrap();
        assert_eq!(
            serde_json::to_value(&case.turns).unwrap(),
            serde_json::json!([
                {"text": "Hi"},
                {"text": "", "attachments": [{"kind": "audio", "name": "voice.webm"}]}
            ])
        );
    }

    #[test]
    fn a_typed_handoff_keeps_its_turns_and_the_verdict_sets_the_expectation() {
        let log = [
            said(1, "Can I pay with PayPal?"),
            answered(2),
            said(3, "I will sue you"),
            started(4),
            said(5, "hello?"),
        ];
        let r = row(7, Mechanism::Rule, 4, 2, None);
        let case = case(&r, &log, Some(Verdict::HandoffRight), &berlin()).unwrap();
        assert_eq!(
            serde_json::to_string(&case).unwrap(),
            r#"{"id":"handoff-7","identity":{"tier":"tier-1","verified":true},"at":"2026-11-21T10:00:00+01:00","turns":[{"text":"Can I pay with PayPal?"},{"text":"I will sue you"}],"expect":{"handoff":true,"mechanism":"rule","turn":2}}"#
        );
        let case = super::case(
            &r,
            &log,
            Some(Verdict::AssistantCouldHaveAnswered),
            &berlin(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&case.expect).unwrap(),
            serde_json::json!({"handoff": false})
        );
    }

    #[test]
    fn the_button_is_a_turn_without_a_message() {
        let log = [said(1, "Where is my parcel?"), answered(2), started(3)];
        let case = case(
            &row(1, Mechanism::User, 3, 2, None),
            &log,
            None,
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            case.turns,
            [
                CaseTurn::Text {
                    text: "Where is my parcel?".into()
                },
                CaseTurn::Action {
                    action: "request_human"
                }
            ]
        );
        assert_eq!(case.expect.turn, Some(2));
        assert_eq!(case.at, "2026-11-21T09:00:00+00:00");
        // A typed request for a person is its own message.
        let log = [said(1, "human please"), started(2)];
        let case = super::case(
            &row(1, Mechanism::User, 2, 1, None),
            &log,
            None,
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            case.turns,
            [CaseTurn::Text {
                text: "human please".into()
            }]
        );
    }

    #[test]
    fn a_later_handoff_starts_where_the_assistant_took_over_again() {
        let log = [
            said(1, "I want to complain"),
            started(2),
            said(3, "to the person: it broke"), // went to the person
            event(4, EventBody::AgentJoined { name: "Mia".into() }),
            event(5, EventBody::Closed),
            said(6, "one more thing: what about gift cards?"),
            event(
                7,
                EventBody::AssistantResumed {
                    name: "Nova".into(),
                },
            ),
            started(8),
        ];
        let case = case(
            &row(2, Mechanism::Confidence, 8, 3, Some(2)),
            &log,
            None,
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            case.turns,
            [CaseTurn::Text {
                text: "one more thing: what about gift cards?".into()
            }]
        );
        assert_eq!(case.expect.turn, Some(1));
    }

    #[test]
    fn a_log_that_does_not_match_the_record_is_refused() {
        let log = [said(1, "a"), said(2, "b"), started(3)];
        let err = case(
            &row(1, Mechanism::Rule, 3, 3, None),
            &log,
            None,
            &TimeZone::UTC,
        )
        .unwrap_err();
        assert!(err.contains("2 visitor messages"), "{err}");
    }
}
