//! The handoff engine: for each visitor turn, does a person take over, and
//! why?
//!
//! Pure functions over the policy, the conversation so far, the new turn,
//! the visitor's identity, the time, and the assistant's candidate answer;
//! no I/O. Live traffic and `baton eval` call the same functions.
//!
//! Three mechanisms are evaluated on every turn and the first that fires
//! wins, in this order:
//!
//! 1. **user** — the "Talk to a human" button or a typed request
//!    ([`user`]);
//! 2. **input rules** — policy on the visitor's turn ([`rules`]: legal
//!    threats, billing disputes, refunds above the limit, complaints, audio
//!    attachments, frustration, forbidden topics, verified priority tiers);
//! 3. **confidence** — the assistant's confidence is below the threshold;
//! 4. **output rules** — the assistant's draft touches a forbidden topic.
//!
//! [`before_answer`] runs 1–2 so live traffic can skip the assistant when a
//! person is needed anyway; [`after_answer`] runs 3–4; [`decide`] is both.
//! Business hours ([`hours`]) never stop a handoff: out of hours it still
//! happens and says when people are back. [`brief()`] turns a handoff into what
//! the person picking it up reads.
//!
//! Layout: [`policy`] (config, defaults, validation) with its word lists
//! in [`defaults`]; [`text`] (normalisation and list patterns); [`user`];
//! [`rules`] with [`money`] (amounts) and [`frustration`]; [`hours`];
//! [`brief`](mod@brief).

pub mod brief;
pub mod defaults;
pub mod frustration;
pub mod hours;
pub mod money;
pub mod policy;
pub mod rules;
pub mod text;
pub mod user;

use baton_shared::{Identity, Mechanism};
use serde::{Deserialize, Serialize};

pub use brief::brief;
pub use policy::{Policy, PolicyError};

/// One visitor turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The "Talk to a human" button.
    #[serde(default)]
    pub request_human: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Audio,
    Image,
    File,
}

impl AttachmentKind {
    /// The kind of a file of this (checked) content type.
    pub fn of(content_type: &str) -> Self {
        if content_type.starts_with("audio/") {
            Self::Audio
        } else if content_type.starts_with("image/") {
            Self::Image
        } else {
            Self::File
        }
    }
}

/// One earlier visitor turn and the assistant answer shown for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub turn: Turn,
    /// `None` if no answer was shown.
    pub answer: Option<Candidate>,
}

impl Exchange {
    /// The articles offered, when the answer shown was a clarifying
    /// question ([`clarify`]); empty otherwise.
    pub fn offered(&self) -> &[String] {
        self.answer.as_ref().map_or(&[], |a| &a.choices)
    }
}

/// An assistant's candidate answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub text: String,
    /// 0–1.
    pub confidence: f32,
    /// Titles of the knowledge-base articles used.
    pub articles: Vec<String>,
    /// Articles that came close behind this answer's own (titles, best
    /// first): what the visitor may mean instead. Empty when the answer
    /// stood out, or the backend cannot tell. With them the engine may
    /// ask instead of handing off ([`clarify`]).
    pub contenders: Vec<String>,
    /// Set when this answer *was* a clarifying question: the articles
    /// offered to choose from (read back from the log for later turns).
    pub choices: Vec<String>,
}

impl Candidate {
    /// No answer at all: confidence 0.
    pub fn none() -> Self {
        Self::default()
    }
}

/// Everything about the conversation besides the new turn.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub history: &'a [Exchange],
    pub identity: Option<&'a Identity>,
    pub now: jiff::Timestamp,
}

/// The decision to hand the conversation to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub mechanism: Mechanism,
    /// The rule's id, for `rule` handoffs.
    pub rule: Option<String>,
    /// Why, in plain words.
    pub reason: String,
    /// The assistant's confidence and the threshold, when there was a draft.
    pub confidence: Option<f32>,
    pub threshold: Option<f32>,
    /// What the person picking it up needs to do.
    pub next_step: String,
    /// Out of business hours: when people are back, e.g. "Monday 09:00
    /// (Europe/Berlin)". The handoff happens all the same.
    pub out_of_hours: Option<String>,
}

/// The visitor's request for a person, then the input rules.
pub fn before_answer(policy: &Policy, situation: &Situation, turn: &Turn) -> Option<Handoff> {
    let text = text::Analysed::new(&turn.text);
    let question = last_question(situation.history)
        .map(|q| format!(" Their earlier question: “{q}”."))
        .unwrap_or_default();
    let user = |reason: String| Handoff {
        mechanism: Mechanism::User,
        rule: None,
        reason,
        confidence: None,
        threshold: None,
        next_step: format!("Take over from the assistant: the visitor wants a person.{question}"),
        out_of_hours: None,
    };
    let decision = if let Some(handoff) = none_fit(policy, situation, turn) {
        Some(handoff)
    } else if turn.request_human {
        Some(user("The visitor pressed “Talk to a human”.".into()))
    } else if let Some(request) = user::Requests::new(policy).find(&text) {
        Some(user(format!(
            "The visitor asked for a person: “{}”.",
            request.words
        )))
    } else {
        let hits = rules::Rules::new(policy).input(situation, turn, &text);
        rule_handoff(hits, None, policy)
    };
    decision.map(|h| out_of_hours(h, policy, situation))
}

/// The assistant's confidence, then the output rules on its draft.
pub fn after_answer(
    policy: &Policy,
    situation: &Situation,
    turn: &Turn,
    candidate: &Candidate,
) -> Option<Handoff> {
    let threshold = policy.confidence_threshold;
    // A confidence that is not a number is no confidence at all.
    let confidence = if candidate.confidence.is_finite() {
        candidate.confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let decision = if confidence < threshold {
        let best = candidate
            .articles
            .first()
            .map(|a| format!(" (closest article: “{a}”)"))
            .unwrap_or_default();
        let question = one_line(&turn.text);
        let next_step = if question.is_empty() {
            "The assistant could not answer this turn: reply to the visitor.".to_string()
        } else {
            format!(
                "The knowledge base has no answer for: “{question}”. Answer it, and consider adding an article."
            )
        };
        Some(Handoff {
            mechanism: Mechanism::Confidence,
            rule: None,
            reason: format!(
                "The assistant's confidence {confidence:.2} is below the threshold {threshold:.2}: the knowledge base has no good answer{best}."
            ),
            confidence: Some(confidence),
            threshold: Some(threshold),
            next_step,
            out_of_hours: None,
        })
    } else {
        rule_handoff(
            rules::Rules::new(policy).output(candidate),
            Some(confidence),
            policy,
        )
    };
    decision.map(|h| out_of_hours(h, policy, situation))
}

/// [`before_answer`], else [`after_answer`]: the whole decision for a turn
/// whose candidate answer is already known (as in `baton eval`).
pub fn decide(
    policy: &Policy,
    situation: &Situation,
    turn: &Turn,
    candidate: &Candidate,
) -> Option<Handoff> {
    before_answer(policy, situation, turn)
        .or_else(|| after_answer(policy, situation, turn, candidate))
}

/// A handoff the assistant asks for itself: a webhook bot answering
/// `{"handoff": reason}` (rule `bot_handoff`), or a backend that cannot
/// answer at all (rule `assistant_unavailable`). A `rule` handoff with no
/// draft, told when people are back like every other.
pub fn by_assistant(
    policy: &Policy,
    situation: &Situation,
    rule: &str,
    reason: String,
    next_step: String,
) -> Handoff {
    let handoff = Handoff {
        mechanism: Mechanism::Rule,
        rule: Some(rule.to_string()),
        reason,
        confidence: None,
        threshold: None,
        next_step,
        out_of_hours: None,
    };
    out_of_hours(handoff, policy, situation)
}

/// Instead of a `confidence` handoff, ask the visitor which of the close
/// articles they mean: the articles to offer, best first, or `None` to
/// hand off after all.
///
/// Asked only when the policy allows it, the handoff is for low
/// confidence (rules and requests never wait for a question), the
/// confidence is not too low for any article to be what was meant
/// ([`ASK_SEVERAL_FROM`] with contenders, [`ASK_ONE_FROM`] for the best
/// article alone), and the turn before was not itself such a question —
/// a visitor is asked at most once in a row, and "none of these" then
/// reaches a person.
pub fn clarify(
    policy: &Policy,
    situation: &Situation,
    handoff: &Handoff,
    candidate: &Candidate,
) -> Option<Vec<String>> {
    let asked_just_before = situation
        .history
        .last()
        .is_some_and(|e| !e.offered().is_empty());
    if !policy.clarify || handoff.mechanism != Mechanism::Confidence || asked_just_before {
        return None;
    }
    let mut choices: Vec<String> = candidate.articles.iter().take(1).cloned().collect();
    for title in &candidate.contenders {
        if choices.len() == MAX_CHOICES {
            break;
        }
        if !choices.contains(title) {
            choices.push(title.clone());
        }
    }
    let floor = if choices.len() == 1 {
        ASK_ONE_FROM
    } else {
        ASK_SEVERAL_FROM
    };
    (!choices.is_empty() && candidate.confidence >= floor).then_some(choices)
}

/// The clarifying question in words, for clients that do not show the
/// choices as buttons (and for the transcript's export).
pub fn clarifying_question(choices: &[String]) -> String {
    format!(
        "I'm not sure which of these you mean: {}?",
        quoted(choices, " or ")
    )
}

/// Titles in quotes, joined by `separator`.
fn quoted(titles: &[String], separator: &str) -> String {
    let quoted: Vec<String> = titles.iter().map(|t| format!("“{t}”")).collect();
    quoted.join(separator)
}

/// The confidence (the probability that the best article is right) from
/// which a clarifying question offers the best article alone ("Did you
/// mean …?"), and from which it offers it with close contenders. Below,
/// the question is too far from every article to ask about one, and a
/// person takes over at once. Tuned on the tuning sets
/// (`eval/sets/README.md`) with `baton eval`; the one-article floor sits
/// just above the words-only confidence of a question half of whose
/// words an article covers ("Do you accept *Bitcoin*?"), where offering
/// that article misleads more often than it helps.
pub const ASK_ONE_FROM: f32 = 0.55;
pub const ASK_SEVERAL_FROM: f32 = 0.2;

/// At most this many articles are offered in a clarifying question.
pub const MAX_CHOICES: usize = 3;

/// The visitor's answer to a clarifying question: the "none of these"
/// button (the "Talk to a human" request right after the question) hands
/// off as the low confidence it is, naming what was offered.
fn none_fit(policy: &Policy, situation: &Situation, turn: &Turn) -> Option<Handoff> {
    if !is_none_of_these(situation, turn) {
        return None;
    }
    let asked = situation.history.last()?;
    let confidence = asked.answer.as_ref()?.confidence;
    let list = quoted(asked.offered(), ", ");
    let question = one_line(&asked.turn.text);
    Some(Handoff {
        mechanism: Mechanism::Confidence,
        rule: None,
        reason: format!(
            "The assistant was not sure which article answers this and asked; none of those offered fit ({list})."
        ),
        confidence: Some(confidence),
        threshold: Some(policy.confidence_threshold),
        next_step: format!(
            "The knowledge base has no good answer for: “{question}”. Answer it, and consider adding an article or a phrasing."
        ),
        out_of_hours: None,
    })
}

/// Whether `turn` is the button pressed while a clarifying question is
/// open: "none of these". It answers that question, so the handoff is
/// the question's turn, not one of its own.
pub fn is_none_of_these(situation: &Situation, turn: &Turn) -> bool {
    turn.request_human
        && situation
            .history
            .last()
            .is_some_and(|e| !e.offered().is_empty())
}

/// The first hit names the handoff; the others are mentioned.
fn rule_handoff(
    hits: Vec<rules::Hit>,
    confidence: Option<f32>,
    policy: &Policy,
) -> Option<Handoff> {
    let (first, others) = hits.split_first()?;
    let mut reason = first.reason.clone();
    if !others.is_empty() {
        let also: Vec<&str> = others.iter().map(|h| h.rule).collect();
        reason.push_str(&format!(" Also: {}.", also.join(", ")));
    }
    Some(Handoff {
        mechanism: Mechanism::Rule,
        rule: Some(first.rule.to_string()),
        reason,
        confidence,
        threshold: confidence.map(|_| policy.confidence_threshold),
        next_step: first.next_step.clone(),
        out_of_hours: None,
    })
}

fn out_of_hours(mut handoff: Handoff, policy: &Policy, situation: &Situation) -> Handoff {
    // An invalid schedule is refused at start; here it just means no notice.
    handoff.out_of_hours = hours::Schedule::new(&policy.business_hours)
        .ok()
        .and_then(|s| s.back_at(situation.now));
    handoff
}

/// Longest text kept in one-line summaries.
const ONE_LINE_CHARS: usize = 200;

/// `text` on one line, whitespace collapsed, cut at 200 characters.
pub fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= ONE_LINE_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(ONE_LINE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The visitor's most recent earlier turn that reads like a question
/// (at least two words), for "what do they actually want".
pub fn last_question(history: &[Exchange]) -> Option<String> {
    history
        .iter()
        .rev()
        .map(|e| one_line(&e.turn.text))
        .find(|t| t.split_whitespace().count() >= 2 || t.ends_with('?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-20T10:00:00+01:00".parse().unwrap()
    }

    fn turn(text: &str) -> Turn {
        Turn {
            text: text.into(),
            ..Turn::default()
        }
    }

    fn candidate(confidence: f32, text: &str) -> Candidate {
        Candidate {
            text: text.into(),
            confidence,
            articles: vec!["How do refunds work?".into()],
            ..Candidate::default()
        }
    }

    fn decide_on(policy: &Policy, text: &str, confidence: f32) -> Option<Handoff> {
        let s = Situation {
            history: &[],
            identity: None,
            now: now(),
        };
        decide(
            policy,
            &s,
            &turn(text),
            &candidate(confidence, "Refunds take 5 days."),
        )
    }

    #[test]
    fn order_is_user_then_input_rules_then_confidence_then_output_rules() {
        let mut p = Policy::default();
        p.topics.insert("timing".into(), vec!["days".into()]);
        // A request for a person wins over a rule and over low confidence.
        let h = decide_on(&p, "I want to complain, let me talk to a human", 0.1).unwrap();
        assert_eq!(h.mechanism, Mechanism::User);
        // A rule wins over low confidence.
        let h = decide_on(&p, "I want to complain", 0.1).unwrap();
        assert_eq!(
            (h.mechanism, h.rule.as_deref()),
            (Mechanism::Rule, Some("complaint"))
        );
        assert_eq!(
            h.confidence, None,
            "input rules fire before there is a draft"
        );
        // Low confidence wins over an output rule.
        let h = decide_on(&p, "How do refunds work?", 0.5).unwrap();
        assert_eq!(h.mechanism, Mechanism::Confidence);
        assert_eq!((h.confidence, h.threshold), (Some(0.5), Some(0.8)));
        // With enough confidence the output rule fires on the draft.
        let h = decide_on(&p, "How do refunds work?", 0.9).unwrap();
        assert_eq!(
            (h.mechanism, h.rule.as_deref()),
            (Mechanism::Rule, Some("topic"))
        );
        assert_eq!((h.confidence, h.threshold), (Some(0.9), Some(0.8)));
        // Nothing fires.
        assert!(decide_on(&Policy::default(), "How do refunds work?", 0.9).is_none());
    }

    #[test]
    fn the_button_always_works() {
        let mut p = Policy::default();
        p.user.enabled = false;
        let s = Situation {
            history: &[],
            identity: None,
            now: now(),
        };
        let t = Turn {
            request_human: true,
            ..Turn::default()
        };
        assert_eq!(
            before_answer(&p, &s, &t).unwrap().mechanism,
            Mechanism::User
        );
        assert!(before_answer(&p, &s, &turn("agent")).is_none());
    }

    #[test]
    fn threshold_is_configurable_and_odd_confidences_are_safe() {
        let p = Policy {
            confidence_threshold: 0.5,
            ..Policy::default()
        };
        assert!(decide_on(&p, "How do refunds work?", 0.6).is_none());
        assert!(decide_on(&p, "How do refunds work?", 0.4).is_some());
        assert!(
            decide_on(&p, "How do refunds work?", f32::NAN).is_some(),
            "NaN is no confidence"
        );
        assert!(
            decide_on(&Policy::default(), "How do refunds work?", 0.8).is_none(),
            "at the threshold is enough"
        );
    }

    #[test]
    fn out_of_hours_still_hands_off_and_says_when() {
        let p = Policy::default();
        let saturday = "2026-11-21T10:00:00+01:00".parse().unwrap();
        let s = Situation {
            history: &[],
            identity: None,
            now: saturday,
        };
        let h = before_answer(&p, &s, &turn("agent")).unwrap();
        assert_eq!(
            h.out_of_hours.as_deref(),
            Some("Monday 09:00 (Europe/Berlin)")
        );
        let h = after_answer(&p, &s, &turn("Bitcoin?"), &candidate(0.1, "")).unwrap();
        assert_eq!(
            h.out_of_hours.as_deref(),
            Some("Monday 09:00 (Europe/Berlin)")
        );
        let s = Situation { now: now(), ..s };
        assert_eq!(
            before_answer(&p, &s, &turn("agent")).unwrap().out_of_hours,
            None
        );
    }

    #[test]
    fn reasons_mention_every_rule_that_fired() {
        let h = decide_on(&Policy::default(), "I'll sue you, this is a complaint", 0.9).unwrap();
        assert_eq!(h.rule.as_deref(), Some("legal_threat"));
        assert!(h.reason.ends_with("Also: complaint."), "{}", h.reason);
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        let p = Policy::default();
        let long = "Ünïcödé 🙂 ".repeat(1000);
        let history: Vec<Exchange> = ["", "🙂", long.as_str()]
            .iter()
            .map(|t| Exchange {
                turn: turn(t),
                answer: Some(candidate(0.9, t)),
            })
            .collect();
        let s = Situation {
            history: &history,
            identity: None,
            now: now(),
        };
        for t in [
            "",
            " ",
            "\u{0}",
            "🙂",
            "\u{202e}RLO",
            "İ̇",
            "€€€ $$$ 1,,,2..3",
            &"a".repeat(10_000),
            &long,
            "'''",
            "..",
            "$1e308",
        ] {
            let _ = decide(&p, &s, &turn(t), &candidate(0.9, t));
            let _ = decide(&p, &s, &turn(t), &candidate(-3.0, t));
        }
    }

    #[test]
    fn one_line_and_last_question() {
        assert_eq!(
            one_line("  Where is\n my   parcel? "),
            "Where is my parcel?"
        );
        assert_eq!(one_line(&"x".repeat(500)).chars().count(), 200);
        let h = |ts: &[&str]| {
            ts.iter()
                .map(|t| Exchange {
                    turn: turn(t),
                    answer: None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            last_question(&h(&["Where is my parcel?", "ok"])).as_deref(),
            Some("Where is my parcel?")
        );
        assert_eq!(last_question(&h(&["hi"])), None);
    }

    fn situation(history: &[Exchange]) -> Situation<'_> {
        Situation {
            history,
            identity: None,
            now: now(),
        }
    }

    fn unsure() -> Candidate {
        Candidate {
            contenders: vec![
                "Can I change or cancel my order?".into(),
                "How do I track my order?".into(),
            ],
            ..candidate(0.5, "Refunds take 5 days.")
        }
    }

    #[test]
    fn unsure_between_close_articles_asks_which_instead_of_handing_off() {
        let p = Policy::default();
        let t = turn("what about my order money");
        let h = after_answer(&p, &situation(&[]), &t, &unsure()).expect("below the threshold");
        assert_eq!(
            clarify(&p, &situation(&[]), &h, &unsure()).unwrap(),
            [
                "How do refunds work?",
                "Can I change or cancel my order?",
                "How do I track my order?"
            ]
        );
        // Nothing close behind: nothing to ask.
        let alone = candidate(0.5, "Refunds take 5 days.");
        assert_eq!(clarify(&p, &situation(&[]), &h, &alone), None);
        // Not when the policy says no.
        let no = Policy {
            clarify: false,
            ..Policy::default()
        };
        assert_eq!(clarify(&no, &situation(&[]), &h, &unsure()), None);
        // Never instead of a rule or the visitor's request.
        let rule = decide_on(&p, "I will sue you", 0.5).unwrap();
        assert_eq!(clarify(&p, &situation(&[]), &rule, &unsure()), None);
    }

    #[test]
    fn a_visitor_is_asked_once_and_none_of_these_reaches_a_person() {
        let p = Policy::default();
        let choices = vec![
            "How do refunds work?".to_string(),
            "Can I change or cancel my order?".to_string(),
        ];
        let asked = [Exchange {
            turn: turn("what about my order money"),
            answer: Some(Candidate {
                text: clarifying_question(&choices),
                confidence: 0.5,
                choices,
                ..Candidate::default()
            }),
        }];
        // A second unsure turn in a row hands off instead of asking again.
        let t = turn("the money for my order");
        let h = after_answer(&p, &situation(&asked), &t, &unsure()).unwrap();
        assert_eq!(clarify(&p, &situation(&asked), &h, &unsure()), None);
        // The button right after the question: none fit, a confidence handoff
        // that names what was offered.
        let button = Turn {
            request_human: true,
            ..Turn::default()
        };
        let h = before_answer(&p, &situation(&asked), &button).unwrap();
        assert_eq!(h.mechanism, Mechanism::Confidence);
        assert!(
            h.reason.contains("“Can I change or cancel my order?”"),
            "{}",
            h.reason
        );
        assert!(
            h.next_step.contains("what about my order money"),
            "{}",
            h.next_step
        );
        // The same button any other time is the visitor's own request.
        let h = before_answer(&p, &situation(&[]), &button).unwrap();
        assert_eq!(h.mechanism, Mechanism::User);
    }
}
