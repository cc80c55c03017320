//! `baton eval`: runs recorded conversations through the live decision
//! path and compares the handoffs with what was expected.
//!
//! Each case's turns go in order through exactly what live traffic does —
//! [`handoff::before_answer`], [`KnowledgeBase::answer`],
//! [`handoff::after_answer`] — accumulating history; the first handoff ends
//! the case. A case without `"at"` happens inside business hours. The case
//! format is described in `eval/README.md` of the team docs; this module
//! prints one JSON line per case and a summary line.

use std::collections::HashSet;
use std::io::Write;

use baton_shared::{Identity, Mechanism};
use serde::{Deserialize, Serialize};

use crate::handoff::{self, Attachment, Exchange, Policy, Situation, Turn};
use crate::knowledge::KnowledgeBase;

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub cases: usize,
    pub passed: usize,
    /// Ids of the cases whose outcome differs from the expectation.
    pub failed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A case line that cannot be run; `line` is 1-based.
    #[error("cases line {line}: {message}")]
    Case { line: usize, message: String },
    #[error("writing results: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Deserialize)]
struct Case {
    id: String,
    #[serde(default)]
    identity: Option<Identity>,
    #[serde(default)]
    at: Option<String>,
    turns: Vec<CaseTurn>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseTurn {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    action: Option<String>,
    /// The article that answers this turn, when the case says: answering
    /// it with another one fails the case.
    #[serde(default)]
    article: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    handoff: bool,
    #[serde(default)]
    mechanism: Option<Mechanism>,
    #[serde(default)]
    turn: Option<usize>,
}

/// One result line, keys in the documented order.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    handoff: bool,
    mechanism: Option<&'a str>,
    turn: Option<usize>,
    reason: Option<&'a str>,
    /// Turns where the assistant asked which article was meant.
    #[serde(skip_serializing_if = "<[usize]>::is_empty")]
    asked: &'a [usize],
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    summary: SummaryFields<'a>,
}

#[derive(Serialize)]
struct SummaryFields<'a> {
    cases: usize,
    passed: usize,
    failed: &'a [String],
}

/// What happened in one case.
struct Outcome {
    /// 1-based turn and the handoff, if one happened.
    handoff: Option<(usize, handoff::Handoff)>,
    /// 1-based turns answered with an article other than the one the case
    /// names.
    wrong_articles: Vec<usize>,
    /// 1-based turns where the assistant asked which article was meant.
    asked: Vec<usize>,
}

/// The assistant's answers to a run's turns, kept by (case, turn): they
/// do not depend on the policy (the engine judges them afterwards), so a
/// sweep over thresholds computes each once.
#[derive(Default)]
struct Answers(std::collections::HashMap<(usize, usize), handoff::Candidate>);

impl Answers {
    fn get(
        &mut self,
        kb: &KnowledgeBase,
        at: (usize, usize),
        history: &[Exchange],
        text: &str,
    ) -> handoff::Candidate {
        self.0
            .entry(at)
            .or_insert_with(|| kb.answer(history, text))
            .clone()
    }
}

/// What the engine decided in one case, for comparing two policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: String,
    /// The mechanism and the 1-based turn, if a handoff happened.
    pub handoff: Option<(Mechanism, usize)>,
    /// Whether that is what the case expects.
    pub passes: bool,
    /// Whether the case expects a handoff.
    pub expected: bool,
    /// 1-based turns where the assistant asked which article was meant.
    pub asked: Vec<usize>,
}

/// Runs every case of `cases_jsonl` and returns the decisions, in order,
/// printing nothing.
pub fn decisions(
    policy: &Policy,
    kb: &KnowledgeBase,
    cases_jsonl: &str,
) -> Result<Vec<Decision>, EvalError> {
    let mut answers = Answers::default();
    Ok(decide(
        policy,
        kb,
        &parse(policy, cases_jsonl)?,
        &mut answers,
    ))
}

fn decide(
    policy: &Policy,
    kb: &KnowledgeBase,
    cases: &[(Case, Vec<Turn>, jiff::Timestamp)],
    answers: &mut Answers,
) -> Vec<Decision> {
    cases
        .iter()
        .enumerate()
        .map(|(n, (case, turns, now))| {
            let outcome = run_case(policy, kb, n, case, turns, *now, answers);
            Decision {
                id: case.id.clone(),
                handoff: outcome
                    .handoff
                    .as_ref()
                    .map(|(turn, h)| (h.mechanism, *turn)),
                passes: meets(&case.expect, &outcome),
                expected: case.expect.handoff,
                asked: outcome.asked.clone(),
            }
        })
        .collect()
}

/// For thresholds 0.50, 0.55, … 0.95 (the rest of `policy` as it is):
/// how many cases that expect no handoff were handed off anyway, and how
/// many that expect one got none — the trade-off a team weighs before
/// changing `confidence_threshold`.
pub fn sweep(
    policy: &Policy,
    kb: &KnowledgeBase,
    cases_jsonl: &str,
) -> Result<Vec<SweepPoint>, EvalError> {
    let cases = parse(policy, cases_jsonl)?;
    let mut answers = Answers::default();
    Ok((0..10)
        .map(|i| {
            let threshold = 0.5 + 0.05 * i as f32;
            let at = Policy {
                confidence_threshold: threshold,
                ..policy.clone()
            };
            let decisions = decide(&at, kb, &cases, &mut answers);
            let count = |expected: bool, wrong: &dyn Fn(&Decision) -> bool| {
                decisions
                    .iter()
                    .filter(|d| d.expected == expected && wrong(d))
                    .count()
            };
            SweepPoint {
                threshold,
                answerable: count(false, &|_| true),
                false_handoffs: count(false, &|d| d.handoff.is_some()),
                handoffs: count(true, &|_| true),
                missed_handoffs: count(true, &|d| d.handoff.is_none()),
                passed: decisions.iter().filter(|d| d.passes).count(),
                cases: decisions.len(),
            }
        })
        .collect())
}

/// One threshold of a [`sweep`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepPoint {
    pub threshold: f32,
    /// Cases that expect no handoff, and of them those handed off.
    pub answerable: usize,
    pub false_handoffs: usize,
    /// Cases that expect a handoff, and of them those not handed off.
    pub handoffs: usize,
    pub missed_handoffs: usize,
    pub passed: usize,
    pub cases: usize,
}

/// The cases whose decision differs between two runs of the same cases:
/// (before, after).
pub fn changes<'a>(
    before: &'a [Decision],
    after: &'a [Decision],
) -> Vec<(&'a Decision, &'a Decision)> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.handoff != a.handoff)
        .collect()
}

/// Every case, checked, with its engine turns and time.
fn parse(
    policy: &Policy,
    cases_jsonl: &str,
) -> Result<Vec<(Case, Vec<Turn>, jiff::Timestamp)>, EvalError> {
    let mut cases = Vec::new();
    let mut ids = HashSet::new();
    for (i, line) in cases_jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i + 1;
        let err = |message: String| EvalError::Case {
            line: line_no,
            message,
        };
        let case: Case = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        let (turns, now) = prepare(&case, policy).map_err(err)?;
        if !ids.insert(case.id.clone()) {
            return Err(err(format!("duplicate case id {:?}", case.id)));
        }
        cases.push((case, turns, now));
    }
    Ok(cases)
}

/// Runs every case of `cases_jsonl` and writes the results to `out`.
/// Blank lines are skipped; a malformed line is an error naming it.
pub fn run(
    policy: &Policy,
    kb: &KnowledgeBase,
    cases_jsonl: &str,
    out: &mut dyn Write,
) -> Result<Summary, EvalError> {
    // Parse everything first, so a broken file prints nothing misleading.
    let cases = parse(policy, cases_jsonl)?;

    let mut summary = Summary {
        cases: 0,
        passed: 0,
        failed: Vec::new(),
    };
    let mut answers = Answers::default();
    for (n, (case, turns, now)) in cases.iter().enumerate() {
        let outcome = run_case(policy, kb, n, case, turns, *now, &mut answers);
        let line = match &outcome.handoff {
            Some((turn, h)) => Line {
                id: &case.id,
                handoff: true,
                mechanism: Some(h.mechanism.as_str()),
                turn: Some(*turn),
                reason: Some(&h.reason),
                asked: &outcome.asked,
            },
            None => Line {
                id: &case.id,
                handoff: false,
                mechanism: None,
                turn: None,
                reason: None,
                asked: &outcome.asked,
            },
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&line).map_err(std::io::Error::other)?
        )?;
        summary.cases += 1;
        if meets(&case.expect, &outcome) {
            summary.passed += 1;
        } else {
            summary.failed.push(case.id.clone());
        }
    }
    let line = SummaryLine {
        summary: SummaryFields {
            cases: summary.cases,
            passed: summary.passed,
            failed: &summary.failed,
        },
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&line).map_err(std::io::Error::other)?
    )?;
    Ok(summary)
}

/// Checks a case and turns its turns into engine turns.
fn prepare(case: &Case, policy: &Policy) -> Result<(Vec<Turn>, jiff::Timestamp), String> {
    if case.id.trim().is_empty() {
        return Err("empty case id".into());
    }
    if case.turns.is_empty() {
        return Err(format!("case {:?} has no turns", case.id));
    }
    let turns = case
        .turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let request_human = match t.action.as_deref() {
                None => false,
                Some("request_human") => true,
                Some(other) => {
                    return Err(format!(
                        "turn {}: unknown action {other:?} (expected \"request_human\")",
                        i + 1
                    ));
                }
            };
            if t.text.is_none() && t.attachments.is_empty() && !request_human {
                return Err(format!(
                    "turn {}: needs a text, attachments or an action",
                    i + 1
                ));
            }
            Ok(Turn {
                text: t.text.clone().unwrap_or_default(),
                attachments: t.attachments.clone(),
                request_human,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let e = &case.expect;
    if !e.handoff && (e.mechanism.is_some() || e.turn.is_some()) {
        return Err("expect: mechanism and turn only apply when handoff is true".into());
    }
    if let Some(n) = e.turn
        && (n == 0 || n > turns.len())
    {
        return Err(format!(
            "expect.turn {n} is not one of the case's {} turns",
            turns.len()
        ));
    }
    let now = match &case.at {
        Some(at) => at
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("\"at\": {at:?} is not an RFC 3339 time with offset: {e}"))?,
        // Cases without a time happen within business hours.
        None => handoff::hours::Schedule::new(&policy.business_hours)
            .map(|s| s.an_open_instant())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    };
    Ok((turns, now))
}

/// The live path, turn by turn, until the first handoff.
///
/// A clarifying question is answered the way a visitor who knows what
/// they asked would: with the article the case names, when it is among
/// the choices; otherwise with "none of these" (which hands off).
fn run_case(
    policy: &Policy,
    kb: &KnowledgeBase,
    n: usize,
    case: &Case,
    turns: &[Turn],
    now: jiff::Timestamp,
    answers: &mut Answers,
) -> Outcome {
    let mut history: Vec<Exchange> = Vec::new();
    let mut outcome = Outcome {
        handoff: None,
        wrong_articles: Vec::new(),
        asked: Vec::new(),
    };
    for (i, turn) in turns.iter().enumerate() {
        let situation = Situation {
            history: &history,
            identity: case.identity.as_ref(),
            now,
        };
        if let Some(h) = handoff::before_answer(policy, &situation, turn) {
            outcome.handoff = Some((i + 1, h));
            return outcome;
        }
        let mut candidate = answers.get(kb, (n, i), &history, &turn.text);
        if let Some(h) = handoff::after_answer(policy, &situation, turn, &candidate) {
            let Some(choices) = handoff::clarify(policy, &situation, &h, &candidate) else {
                outcome.handoff = Some((i + 1, h));
                return outcome;
            };
            outcome.asked.push(i + 1);
            let pick = case.turns[i]
                .article
                .clone()
                .filter(|a| choices.contains(a));
            history.push(Exchange {
                turn: turn.clone(),
                answer: Some(handoff::Candidate {
                    confidence: candidate.confidence,
                    choices,
                    ..handoff::Candidate::default()
                }),
            });
            let reply = match pick {
                Some(title) => Turn {
                    text: title,
                    ..Turn::default()
                },
                None => Turn {
                    request_human: true,
                    ..Turn::default()
                },
            };
            let situation = Situation {
                history: &history,
                identity: case.identity.as_ref(),
                now,
            };
            if let Some(h) = handoff::before_answer(policy, &situation, &reply) {
                outcome.handoff = Some((i + 1, h));
                return outcome;
            }
            candidate = kb.answer(&history, &reply.text);
            if let Some(h) = handoff::after_answer(policy, &situation, &reply, &candidate) {
                outcome.handoff = Some((i + 1, h));
                return outcome;
            }
        }
        if let Some(expected) = &case.turns[i].article
            && candidate.articles.first() != Some(expected)
        {
            outcome.wrong_articles.push(i + 1);
        }
        history.push(Exchange {
            turn: turn.clone(),
            answer: Some(candidate),
        });
    }
    outcome
}

fn meets(expect: &Expect, outcome: &Outcome) -> bool {
    if !outcome.wrong_articles.is_empty() {
        return false;
    }
    match &outcome.handoff {
        None => !expect.handoff,
        Some((turn, h)) => {
            expect.handoff
                && expect.mechanism.is_none_or(|m| m == h.mechanism)
                && expect.turn.is_none_or(|t| t == *turn)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KB: &str = include_str!("../../eval/kb-shop.md");
    const SAMPLES: &str = include_str!("../../eval/sample-cases.jsonl");

    fn eval(cases: &str) -> Result<(Summary, String), EvalError> {
        let kb = KnowledgeBase::parse(KB).unwrap();
        let mut out = Vec::new();
        let summary = run(&Policy::default(), &kb, cases, &mut out)?;
        Ok((summary, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn every_sample_case_passes() {
        let (summary, out) = eval(SAMPLES).unwrap();
        assert_eq!(summary.failed, Vec::<String>::new(), "{out}");
        assert_eq!(summary.cases, 22);
        assert_eq!(summary.passed, 22);
    }

    #[test]
    fn extra_cases_on_another_knowledge_base_pass() {
        let kb = KnowledgeBase::parse(include_str!("../../eval/kb-saas.md")).unwrap();
        let mut out = Vec::new();
        let summary = run(
            &Policy::default(),
            &kb,
            include_str!("../../eval/extra-cases.jsonl"),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            summary.failed,
            Vec::<String>::new(),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(summary.cases >= 20);
    }

    #[test]
    fn output_format() {
        let cases = concat!(
            r#"{"id": "a", "turns": [{"text": "Can I pay with PayPal?"}], "expect": {"handoff": false}}"#,
            "\n",
            "\n",
            r#"{"id": "b", "turns": [{"text": "Where is my parcel?"}, {"action": "request_human"}], "expect": {"handoff": true, "mechanism": "rule"}}"#,
            "\n",
        );
        let (summary, out) = eval(cases).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"id": "a", "handoff": false, "mechanism": null, "turn": null, "reason": null})
        );
        assert_eq!(lines[1]["mechanism"], "user");
        assert_eq!(lines[1]["turn"], 2);
        assert_eq!(
            lines[2],
            json!({"summary": {"cases": 2, "passed": 1, "failed": ["b"]}})
        );
        assert!(
            out.starts_with(
                r#"{"id":"a","handoff":false,"mechanism":null,"turn":null,"reason":null}"#
            ),
            "{out}"
        );
        assert_eq!(summary.failed, ["b"]);
    }

    #[test]
    fn two_policies_are_compared_case_by_case() {
        let kb = KnowledgeBase::parse(KB).unwrap();
        let cases = concat!(
            r#"{"id": "crypto", "turns": [{"text": "Do you accept Bitcoin?"}], "expect": {"handoff": true, "mechanism": "confidence", "turn": 1}}"#,
            "\n",
            r#"{"id": "paypal", "turns": [{"text": "Can I pay with PayPal?"}], "expect": {"handoff": false}}"#,
        );
        let before = decisions(&Policy::default(), &kb, cases).unwrap();
        assert_eq!(
            before,
            [
                Decision {
                    id: "crypto".into(),
                    handoff: Some((Mechanism::Confidence, 1)),
                    passes: true,
                    expected: true,
                    // "Which payment methods do you accept?" is offered;
                    // the case names no article, so: none of these.
                    asked: vec![1],
                },
                Decision {
                    id: "paypal".into(),
                    handoff: None,
                    passes: true,
                    expected: false,
                    asked: vec![],
                }
            ]
        );
        let lenient = Policy {
            confidence_threshold: 0.6,
            ..Policy::default()
        };
        let after = decisions(&lenient, &kb, cases).unwrap();
        let changed = changes(&before, &after);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].0.id, "crypto");
        assert_eq!((changed[0].1.handoff, changed[0].1.passes), (None, false));
        assert!(changes(&before, &before).is_empty());
    }

    #[test]
    fn the_first_handoff_ends_the_case() {
        let cases = r#"{"id": "x", "turns": [{"text": "agent"}, {"text": "I'll sue"}], "expect": {"handoff": true, "mechanism": "user", "turn": 1}}"#;
        assert_eq!(eval(cases).unwrap().0.passed, 1);
    }

    #[test]
    fn out_of_hours_cases_still_hand_off() {
        let cases = r#"{"id": "x", "at": "2026-11-22T03:00:00+01:00", "turns": [{"text": "agent"}], "expect": {"handoff": true, "mechanism": "user", "turn": 1}}"#;
        assert_eq!(eval(cases).unwrap().0.passed, 1);
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let good = r#"{"id": "a", "turns": [{"text": "hi"}], "expect": {"handoff": false}}"#;
        let bad = [
            ("{not json", "cases line 2: "),
            (
                r#"{"id": "b", "turns": [], "expect": {"handoff": false}}"#,
                "has no turns",
            ),
            (
                r#"{"id": "b", "turns": [{"action": "dance"}], "expect": {"handoff": false}}"#,
                "unknown action \"dance\"",
            ),
            (
                r#"{"id": "b", "turns": [{}], "expect": {"handoff": false}}"#,
                "needs a text",
            ),
            (
                r#"{"id": "b", "turns": [{"text": "x"}], "expect": {"handoff": true, "turn": 3}}"#,
                "expect.turn 3",
            ),
            (
                r#"{"id": "b", "turns": [{"text": "x"}], "expect": {"handoff": true, "mechanism": "magic"}}"#,
                "magic",
            ),
            (
                r#"{"id": "b", "turns": [{"text": "x"}], "expect": {"handoff": false, "turn": 1}}"#,
                "only apply",
            ),
            (
                r#"{"id": "b", "at": "tomorrow", "turns": [{"text": "x"}], "expect": {"handoff": false}}"#,
                "\"at\"",
            ),
            (
                r#"{"id": "b", "turns": [{"text": "x", "attachments": [{"kind": "video", "name": "v"}]}], "expect": {"handoff": false}}"#,
                "video",
            ),
            (
                r#"{"id": "a", "turns": [{"text": "x"}], "expect": {"handoff": false}}"#,
                "duplicate case id",
            ),
            (r#"{"id": "b", "turns": [{"text": "x"}]}"#, "expect"),
        ];
        for (line, message) in bad {
            let err = eval(&format!("{good}\n{line}\n")).unwrap_err().to_string();
            assert!(err.starts_with("cases line 2: "), "{err}");
            assert!(err.contains(message), "{err} should mention {message}");
        }
    }
}
