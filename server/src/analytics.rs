//! Handoff analytics: what `GET /api/analytics/handoffs` answers, counted
//! from the handoff records of a range of UTC days. Pure functions over
//! [`HandoffRow`]s; the route reads the rows.
//!
//! Outcomes, as recorded when a handoff ends:
//!
//! - `resolved_by_human`: a person closed the conversation;
//! - `returned_to_assistant`: handed back (console or resume link);
//! - `abandoned`: it ended with no person's reply having reached the
//!   visitor — nobody replied before the visitor's last widget closed — and
//!   the visitor had been gone for `analytics.abandoned_after_secs`;
//! - `superseded`: a newer handoff of the conversation replaced it;
//! - open: not ended yet.

use std::collections::BTreeMap;

use baton_shared::analytics::*;
use baton_shared::{Mechanism, Millis, Verdict};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::store::HandoffRow;

/// The longest range one request may ask for, in days.
pub const MAX_DAYS: i32 = 366;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_DAYS: i32 = 30;
/// How many rules the rankings list.
const TOP: usize = 10;

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: Date,
    pub to: Date,
}

impl Days {
    /// From the query's `from` and `to` (`YYYY-MM-DD`, UTC). A missing end
    /// defaults to today, a missing start to 30 days before the end.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, String> {
        let to = to.map(|t| day("to", t)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(f) => day("from", f)?,
            None => to
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .map_err(|e| format!("to: {e}"))?,
        };
        if from > to {
            return Err(format!("from ({from}) is after to ({to})"));
        }
        let days = Self { from, to };
        if days.count() > MAX_DAYS {
            return Err(format!(
                "from {from} to {to} is {} days; ask for at most {MAX_DAYS}",
                days.count()
            ));
        }
        Ok(days)
    }

    /// Number of days in the range.
    pub fn count(&self) -> i32 {
        self.from
            .until(self.to)
            .map_or(i32::MAX, |span| span.get_days().saturating_add(1))
    }

    /// `[start of from, start of the day after to)`, in Unix milliseconds.
    pub fn millis(&self) -> (Millis, Millis) {
        let start = |d: Date| {
            d.to_zoned(TimeZone::UTC)
                .map_or(Millis::MAX, |z| z.timestamp().as_millisecond())
        };
        let end = self.to.tomorrow().map_or(Millis::MAX, start);
        (start(self.from), end)
    }

    /// The day index of a moment in the range.
    fn index(&self, at: Millis) -> Option<usize> {
        let day = utc_day(at)?;
        let i = self.from.until(day).ok()?.get_days();
        (day >= self.from && day <= self.to).then_some(i as usize)
    }
}

/// Today, in UTC.
pub fn today() -> Date {
    jiff::Timestamp::now().to_zoned(TimeZone::UTC).date()
}

fn utc_day(at: Millis) -> Option<Date> {
    Some(
        jiff::Timestamp::from_millisecond(at)
            .ok()?
            .to_zoned(TimeZone::UTC)
            .date(),
    )
}

/// A `YYYY-MM-DD` date, strictly; errors name the parameter `name`.
pub fn day(name: &str, value: &str) -> Result<Date, String> {
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = shaped.then(|| value.parse::<Date>().ok()).flatten();
    parsed.ok_or_else(|| format!("{name}: {value:?} is not a date (YYYY-MM-DD)"))
}

/// Counts `rows` (the handoffs created in `days`, oldest first).
pub fn summarise(days: &Days, rows: &[HandoffRow]) -> HandoffAnalytics {
    let mut per_day: Vec<DayCounts> = Vec::with_capacity(days.count().max(0) as usize);
    let mut day = days.from;
    while day <= days.to {
        per_day.push(DayCounts {
            day: day.to_string(),
            handoffs: MechanismCounts::default(),
        });
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }

    let mut a = HandoffAnalytics {
        from: days.from.to_string(),
        to: days.to.to_string(),
        confidence: ConfidenceHistogram {
            buckets: (0..10)
                .map(|i| ConfidenceBucket {
                    from: f64::from(i) / 10.0,
                    to: f64::from(i + 1) / 10.0,
                    handoffs: 0,
                })
                .collect(),
            ..ConfidenceHistogram::default()
        },
        ..HandoffAnalytics::default()
    };
    let mut rules: BTreeMap<&str, u64> = BTreeMap::new();
    let mut eager: BTreeMap<(u8, Option<&str>), AggressiveRule> = BTreeMap::new();
    let mut latencies = Vec::new();
    // Judged low-confidence handoffs: (confidence in per mille, verdict).
    let mut judged: Vec<(u32, Verdict)> = Vec::new();

    for row in rows {
        a.total += 1;
        a.by_mechanism.add(row.mechanism);
        if let Some(day) = days.index(row.created_at).and_then(|i| per_day.get_mut(i)) {
            day.handoffs.add(row.mechanism);
        }
        let rule = row.rule.as_deref().unwrap_or("(unnamed rule)");
        if row.mechanism == Mechanism::Rule {
            *rules.entry(rule).or_default() += 1;
        }
        if row.mechanism == Mechanism::Confidence
            && let Some(confidence) = row.confidence.filter(|c| c.is_finite())
        {
            // Per mille first, so 0.7 stored as 0.69999… lands in 0.7–0.8.
            let per_mille = (confidence.clamp(0.0, 1.0) * 1000.0).round() as usize;
            a.confidence.buckets[(per_mille / 100).min(9)].handoffs += 1;
            a.confidence.handoffs += 1;
            if let Some(verdict) = row.verdict {
                judged.push((per_mille as u32, verdict));
            }
            if row.threshold.is_some() {
                a.confidence.threshold = row.threshold;
            }
        }
        if let Some(replied) = row.first_human_reply_at {
            latencies.push((replied - row.created_at).max(0));
        }
        let outcomes = &mut a.outcomes;
        match row.outcome.as_deref() {
            None => outcomes.open += 1,
            Some("resolved_by_human") => outcomes.resolved_by_human += 1,
            Some("returned_to_assistant") => outcomes.returned_to_assistant += 1,
            Some("abandoned") => outcomes.abandoned += 1,
            Some("superseded") => outcomes.superseded += 1,
            Some(_) => {}
        }
        let key = match row.mechanism {
            Mechanism::Rule => Some((0, Some(rule))),
            Mechanism::Confidence => Some((1, None)),
            Mechanism::User => None,
        };
        if let Some(key) = key {
            let entry = eager.entry(key).or_insert_with(|| AggressiveRule {
                mechanism: row.mechanism,
                rule: key.1.map(str::to_string),
                handoffs: 0,
                returned_without_reply: 0,
            });
            entry.handoffs += 1;
            if row.outcome.as_deref() == Some("returned_to_assistant")
                && row.first_human_reply_at.is_none()
            {
                entry.returned_without_reply += 1;
            }
        }
        match row.csat.as_deref() {
            Some("good") => a.csat.good += 1,
            Some("bad") => a.csat.bad += 1,
            _ => {}
        }
        match row.verdict {
            Some(Verdict::HandoffRight) => a.verdicts.handoff_right += 1,
            Some(Verdict::AssistantCouldHaveAnswered) => {
                a.verdicts.assistant_could_have_answered += 1
            }
            None => a.verdicts.none += 1,
        }
    }

    a.per_day = per_day;
    a.threshold_curve = (0..10u32)
        .map(|i| {
            let at = 500 + 50 * i;
            let count = |verdict: Verdict, counted: &dyn Fn(u32) -> bool| {
                judged
                    .iter()
                    .filter(|(c, v)| *v == verdict && counted(*c))
                    .count() as u64
            };
            ThresholdPoint {
                threshold: f64::from(at) / 1000.0,
                false_handoffs: count(Verdict::AssistantCouldHaveAnswered, &|c| c < at),
                missed_handoffs: count(Verdict::HandoffRight, &|c| c >= at),
            }
        })
        .collect();
    let mut top: Vec<RuleCount> = rules
        .into_iter()
        .map(|(rule, handoffs)| RuleCount {
            rule: rule.to_string(),
            handoffs,
        })
        .collect();
    // Most first; ties by name (the map's order, kept by a stable sort).
    top.sort_by_key(|r| std::cmp::Reverse(r.handoffs));
    top.truncate(TOP);
    a.top_rules = top;

    let mut eager: Vec<AggressiveRule> = eager
        .into_values()
        .filter(|r| r.returned_without_reply > 0)
        .collect();
    // Most such handoffs first, then the larger share of the rule's handoffs.
    eager.sort_by(|a, b| {
        b.returned_without_reply
            .cmp(&a.returned_without_reply)
            .then_with(|| {
                (b.returned_without_reply * a.handoffs)
                    .cmp(&(a.returned_without_reply * b.handoffs))
            })
    });
    eager.truncate(TOP);
    a.too_aggressive = eager;

    latencies.sort_unstable();
    a.first_reply = FirstReply {
        replied: latencies.len() as u64,
        median_ms: median(&latencies),
    };
    a
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn at(day: &str, hour: i8) -> Millis {
        d(day)
            .at(hour, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn row(mechanism: Mechanism, rule: Option<&str>, created_at: Millis) -> HandoffRow {
        HandoffRow {
            id: 0,
            conversation: 0,
            mechanism,
            rule: rule.map(str::to_string),
            confidence: None,
            threshold: None,
            created_at,
            first_human_reply_at: None,
            ended_at: None,
            outcome: None,
            csat: None,
            verdict: None,
        }
    }

    #[test]
    fn ranges_are_whole_utc_days_and_bad_input_is_named() {
        let today = d("2026-11-30");
        let days = Days::parse(None, None, today).unwrap();
        assert_eq!((days.from, days.to), (d("2026-11-01"), today));
        assert_eq!(days.count(), 30);
        let days = Days::parse(Some("2026-11-20"), Some("2026-11-21"), today).unwrap();
        assert_eq!(days.millis(), (at("2026-11-20", 0), at("2026-11-22", 0)));
        assert_eq!(
            Days::parse(Some("2026-11-20"), Some("2026-11-20"), today)
                .unwrap()
                .count(),
            1
        );

        for (from, to, message) in [
            (
                Some("2026-13-01"),
                None,
                "from: \"2026-13-01\" is not a date",
            ),
            (Some("2026-02-30"), None, "from: \"2026-02-30\""),
            (None, Some("yesterday"), "to: \"yesterday\""),
            (Some("2026-11-20T10:00"), None, "from: "),
            (Some(" 2026-11-20"), None, "from: "),
            (Some("2026-11-21"), Some("2026-11-20"), "is after to"),
            (Some("2024-01-01"), Some("2026-01-01"), "at most 366"),
        ] {
            let err = Days::parse(from, to, today).unwrap_err();
            assert!(err.contains(message), "{err} should say {message}");
        }
    }

    #[test]
    fn every_count_comes_from_the_rows() {
        let days = Days::parse(Some("2026-11-20"), Some("2026-11-22"), d("2026-11-22")).unwrap();
        let mut rows = Vec::new();
        // Day 1: a confidence handoff returned without a reply, a legal rule
        // resolved by a person after 60 s.
        let mut r = row(Mechanism::Confidence, None, at("2026-11-20", 9));
        r.confidence = Some(0.699_999_988_079_071);
        r.threshold = Some(0.8);
        r.outcome = Some("returned_to_assistant".into());
        r.verdict = Some(Verdict::AssistantCouldHaveAnswered);
        rows.push(r);
        let mut r = row(Mechanism::Rule, Some("legal"), at("2026-11-20", 10));
        r.first_human_reply_at = Some(r.created_at + 60_000);
        r.outcome = Some("resolved_by_human".into());
        r.csat = Some("good".into());
        r.verdict = Some(Verdict::HandoffRight);
        rows.push(r);
        // Day 3: two complaints (one returned unanswered, one abandoned), a
        // user request answered after 20 s and still open, another
        // confidence handoff at 0.05.
        let mut r = row(Mechanism::Rule, Some("complaint"), at("2026-11-22", 8));
        r.outcome = Some("returned_to_assistant".into());
        rows.push(r);
        let mut r = row(Mechanism::Rule, Some("complaint"), at("2026-11-22", 9));
        r.outcome = Some("abandoned".into());
        rows.push(r);
        let mut r = row(Mechanism::User, None, at("2026-11-22", 10));
        r.first_human_reply_at = Some(r.created_at + 20_000);
        rows.push(r);
        let mut r = row(Mechanism::Confidence, None, at("2026-11-22", 23));
        r.confidence = Some(0.05);
        r.threshold = Some(0.75);
        r.outcome = Some("returned_to_assistant".into());
        rows.push(r);

        let a = summarise(&days, &rows);
        assert_eq!(
            (a.from.as_str(), a.to.as_str()),
            ("2026-11-20", "2026-11-22")
        );
        assert_eq!(a.total, 6);
        assert_eq!(
            a.by_mechanism,
            MechanismCounts {
                user: 1,
                rule: 3,
                confidence: 2
            }
        );
        let per_day: Vec<(&str, u64, u64, u64)> = a
            .per_day
            .iter()
            .map(|d| {
                (
                    d.day.as_str(),
                    d.handoffs.user,
                    d.handoffs.rule,
                    d.handoffs.confidence,
                )
            })
            .collect();
        assert_eq!(
            per_day,
            [
                ("2026-11-20", 0, 1, 1),
                ("2026-11-21", 0, 0, 0),
                ("2026-11-22", 1, 2, 1)
            ]
        );
        assert_eq!(
            a.top_rules,
            [
                RuleCount {
                    rule: "complaint".into(),
                    handoffs: 2
                },
                RuleCount {
                    rule: "legal".into(),
                    handoffs: 1
                }
            ]
        );
        let buckets: Vec<u64> = a.confidence.buckets.iter().map(|b| b.handoffs).collect();
        assert_eq!(buckets, [1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(a.confidence.handoffs, 2);
        assert_eq!(a.confidence.threshold, Some(0.75), "the latest threshold");
        assert_eq!(
            a.first_reply,
            FirstReply {
                replied: 2,
                median_ms: Some(40_000)
            }
        );
        assert_eq!(
            a.outcomes,
            OutcomeCounts {
                resolved_by_human: 1,
                returned_to_assistant: 3,
                abandoned: 1,
                superseded: 0,
                open: 1
            }
        );
        assert_eq!(
            a.too_aggressive,
            [
                AggressiveRule {
                    mechanism: Mechanism::Confidence,
                    rule: None,
                    handoffs: 2,
                    returned_without_reply: 2
                },
                AggressiveRule {
                    mechanism: Mechanism::Rule,
                    rule: Some("complaint".into()),
                    handoffs: 2,
                    returned_without_reply: 1
                }
            ]
        );
        assert_eq!(a.csat, CsatCounts { good: 1, bad: 0 });
        assert_eq!(
            a.verdicts,
            VerdictCounts {
                handoff_right: 1,
                assistant_could_have_answered: 1,
                none: 4
            }
        );
        // Only the judged confidence handoff (0.7, could have answered)
        // speaks for other thresholds: at 0.70 or below it is answered.
        let curve: Vec<(f64, u64, u64)> = a
            .threshold_curve
            .iter()
            .map(|p| (p.threshold, p.false_handoffs, p.missed_handoffs))
            .collect();
        assert_eq!(curve.len(), 10);
        assert_eq!(curve[0], (0.5, 0, 0));
        assert_eq!(curve[4], (0.7, 0, 0), "0.69999… stored is 0.7");
        assert_eq!(curve[5], (0.75, 1, 0));
        assert_eq!(curve[9], (0.95, 1, 0));
    }

    #[test]
    fn the_threshold_curve_weighs_each_verdict_where_it_falls() {
        let days = Days::parse(Some("2026-11-20"), Some("2026-11-20"), d("2026-11-20")).unwrap();
        let judged = |confidence: f64, verdict| {
            let mut r = row(Mechanism::Confidence, None, at("2026-11-20", 9));
            r.confidence = Some(confidence);
            r.verdict = Some(verdict);
            r
        };
        let rows = [
            judged(0.62, Verdict::AssistantCouldHaveAnswered),
            judged(0.78, Verdict::AssistantCouldHaveAnswered),
            judged(0.55, Verdict::HandoffRight),
            judged(0.3, Verdict::HandoffRight),
            // Rules and unjudged handoffs say nothing about the threshold.
            {
                let mut r = row(Mechanism::Rule, Some("legal"), at("2026-11-20", 10));
                r.confidence = Some(0.9);
                r.verdict = Some(Verdict::HandoffRight);
                r
            },
        ];
        let a = summarise(&days, &rows);
        let at = |t: f64| {
            let p = a
                .threshold_curve
                .iter()
                .find(|p| (p.threshold - t).abs() < 1e-9)
                .unwrap();
            (p.false_handoffs, p.missed_handoffs)
        };
        assert_eq!(at(0.5), (0, 1), "0.55 would have been answered");
        assert_eq!(at(0.6), (0, 0));
        assert_eq!(at(0.65), (1, 0));
        assert_eq!(at(0.8), (2, 0));
        // Fewer false handoffs only for more missed ones, as thresholds fall.
        for pair in a.threshold_curve.windows(2) {
            assert!(pair[0].false_handoffs <= pair[1].false_handoffs);
            assert!(pair[0].missed_handoffs >= pair[1].missed_handoffs);
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median(&[1, 3, 100]), Some(3));
        assert_eq!(median(&[1, 3, 5, 100]), Some(4));
    }
}
