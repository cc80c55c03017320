//! What `GET /api/analytics/handoffs` answers, for the console's Analytics
//! page: the handoffs created in a range of UTC days, counted every way the
//! team needs to see where the assistant falls short.

use serde::{Deserialize, Serialize};

use crate::domain::Mechanism;

/// Handoffs created from the start of `from` to the end of `to` (UTC days,
/// `YYYY-MM-DD`, both included).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HandoffAnalytics {
    pub from: String,
    pub to: String,
    /// Every handoff in the range.
    pub total: u64,
    pub by_mechanism: MechanismCounts,
    /// One entry per day of the range, oldest first, days without handoffs
    /// included.
    pub per_day: Vec<DayCounts>,
    /// Policy rules by how many handoffs they caused, most first (at most 10).
    pub top_rules: Vec<RuleCount>,
    /// The assistant's confidence in the handoffs it caused by not being
    /// confident enough.
    pub confidence: ConfidenceHistogram,
    /// Time from the handoff to the first message of a person.
    pub first_reply: FirstReply,
    pub outcomes: OutcomeCounts,
    /// Rules (and the confidence threshold) whose handoffs most often went
    /// back to the assistant without a person writing a word: candidates
    /// for being too eager. Most such handoffs first (at most 10).
    pub too_aggressive: Vec<AggressiveRule>,
    pub csat: CsatCounts,
    pub verdicts: VerdictCounts,
    /// What the team's verdicts on low-confidence handoffs say about other
    /// thresholds, for 0.50, 0.55, … 0.95 (as `baton eval --sweep` does
    /// on a case file).
    #[serde(default)]
    pub threshold_curve: Vec<ThresholdPoint>,
}

/// One threshold, judged by the verdicts on the range's low-confidence
/// handoffs. Only judged handoffs count: turns the assistant answered
/// were never judged, so above the threshold in force the missed
/// handoffs are a floor.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct ThresholdPoint {
    pub threshold: f64,
    /// Judged "the assistant could have answered", and still handed off
    /// at this threshold (their confidence is below it).
    pub false_handoffs: u64,
    /// Judged "the handoff was right", yet answered at this threshold
    /// (their confidence reaches it).
    pub missed_handoffs: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MechanismCounts {
    pub user: u64,
    pub rule: u64,
    pub confidence: u64,
}

impl MechanismCounts {
    pub fn get(&self, mechanism: Mechanism) -> u64 {
        match mechanism {
            Mechanism::User => self.user,
            Mechanism::Rule => self.rule,
            Mechanism::Confidence => self.confidence,
        }
    }

    pub fn add(&mut self, mechanism: Mechanism) {
        match mechanism {
            Mechanism::User => self.user += 1,
            Mechanism::Rule => self.rule += 1,
            Mechanism::Confidence => self.confidence += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.user + self.rule + self.confidence
    }
}

/// `{"day": "2026-11-20", "user": 1, "rule": 0, "confidence": 2}`
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct DayCounts {
    pub day: String,
    #[serde(flatten)]
    pub handoffs: MechanismCounts,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct RuleCount {
    pub rule: String,
    pub handoffs: u64,
}

/// Ten buckets of width 0.1 over 0–1 (the last one includes 1.0).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ConfidenceHistogram {
    pub buckets: Vec<ConfidenceBucket>,
    /// Confidence handoffs counted (those with a recorded confidence).
    pub handoffs: u64,
    /// The threshold of the latest confidence handoff in the range.
    pub threshold: Option<f64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ConfidenceBucket {
    /// Lower bound, included.
    pub from: f64,
    /// Upper bound, excluded (but for the last bucket).
    pub to: f64,
    pub handoffs: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct FirstReply {
    /// Handoffs in the range a person has replied to.
    pub replied: u64,
    /// Median milliseconds from handoff to the first human reply; `None`
    /// when nobody has replied yet.
    pub median_ms: Option<i64>,
}

/// What became of the handoffs. See the README ("Analytics and the
/// feedback loop") for the definitions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OutcomeCounts {
    /// A person closed the conversation.
    pub resolved_by_human: u64,
    /// Handed back to the assistant (console or resume link).
    pub returned_to_assistant: u64,
    /// The visitor left before a person replied.
    pub abandoned: u64,
    /// A newer handoff of the same conversation replaced it.
    pub superseded: u64,
    /// Not ended yet.
    pub open: u64,
}

/// A rule (or, with `rule` absent, the confidence threshold) and how many of
/// its handoffs were returned to the assistant without a human reply.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AggressiveRule {
    pub mechanism: Mechanism,
    pub rule: Option<String>,
    pub handoffs: u64,
    pub returned_without_reply: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CsatCounts {
    pub good: u64,
    pub bad: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VerdictCounts {
    pub handoff_right: u64,
    pub assistant_could_have_answered: u64,
    /// Nobody has judged them yet.
    pub none: u64,
}
