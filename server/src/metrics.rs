//! What `/metrics` reports, in the Prometheus text exposition format
//! (version 0.0.4).
//!
//! Counters and the connection gauges live in memory, one [`Metrics`] per
//! server: counters start at zero when the process does, which Prometheus'
//! `rate()` and `increase()` expect. The queue length and the webhook
//! failures are read when scraped ([`Scraped`]).

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use baton_shared::{EventBody, Mechanism};

/// Upper bounds of the time-to-human histogram's buckets, in seconds:
/// 5 s to a day.
pub const TIME_TO_HUMAN_BUCKETS: [u64; 12] = [
    5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400,
];

/// Which socket a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Visitor,
    Agent,
}

#[derive(Debug, Default)]
pub struct Metrics {
    visitor_connections: AtomicI64,
    agent_connections: AtomicI64,
    /// Visitor, assistant, agent.
    messages: [AtomicU64; 3],
    /// User, rule, confidence.
    handoffs: [AtomicU64; 3],
    /// Per bucket of [`TIME_TO_HUMAN_BUCKETS`] (not cumulative), then
    /// beyond the last.
    time_to_human: [AtomicU64; TIME_TO_HUMAN_BUCKETS.len() + 1],
    time_to_human_ms: AtomicU64,
}

/// What is read when scraped rather than counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scraped {
    /// Conversations waiting for a person.
    pub queued: u64,
    /// Conversations a person holds.
    pub held: u64,
    /// Failed webhook delivery attempts since start.
    pub webhook_failures: u64,
}

const AUTHORS: [&str; 3] = ["visitor", "assistant", "agent"];
const MECHANISMS: [Mechanism; 3] = [Mechanism::User, Mechanism::Rule, Mechanism::Confidence];

impl Metrics {
    pub fn connected(&self, side: Side) {
        self.gauge(side).fetch_add(1, Relaxed);
    }

    pub fn disconnected(&self, side: Side) {
        self.gauge(side).fetch_sub(1, Relaxed);
    }

    fn gauge(&self, side: Side) -> &AtomicI64 {
        match side {
            Side::Visitor => &self.visitor_connections,
            Side::Agent => &self.agent_connections,
        }
    }

    /// Counts the messages among newly stored events.
    pub fn stored(&self, bodies: &[EventBody]) {
        for body in bodies {
            if let Some(i) = AUTHORS.iter().position(|a| *a == body.kind()) {
                self.messages[i].fetch_add(1, Relaxed);
            }
        }
    }

    pub fn handoff(&self, mechanism: Mechanism) {
        let i = MECHANISMS.iter().position(|m| *m == mechanism);
        if let Some(i) = i {
            self.handoffs[i].fetch_add(1, Relaxed);
        }
    }

    /// A person replied for the first time `ms` after the handoff.
    pub fn time_to_human(&self, ms: i64) {
        let ms = ms.max(0) as u64;
        let bucket = TIME_TO_HUMAN_BUCKETS
            .iter()
            .position(|&le| ms <= le * 1000)
            .unwrap_or(TIME_TO_HUMAN_BUCKETS.len());
        self.time_to_human[bucket].fetch_add(1, Relaxed);
        self.time_to_human_ms.fetch_add(ms, Relaxed);
    }

    /// Everything, in the text exposition format.
    pub fn render(&self, scraped: &Scraped) -> String {
        let mut out = String::new();
        let o = &mut out;
        header(
            o,
            "baton_connections",
            "gauge",
            "Open WebSocket connections, by side.",
        );
        for (side, gauge) in [
            ("visitor", &self.visitor_connections),
            ("agent", &self.agent_connections),
        ] {
            let _ = writeln!(
                o,
                "baton_connections{{side=\"{side}\"}} {}",
                gauge.load(Relaxed).max(0)
            );
        }

        header(
            o,
            "baton_messages_total",
            "counter",
            "Messages stored, by author.",
        );
        for (author, count) in AUTHORS.iter().zip(&self.messages) {
            let _ = writeln!(
                o,
                "baton_messages_total{{author=\"{author}\"}} {}",
                count.load(Relaxed)
            );
        }

        header(
            o,
            "baton_handoffs_total",
            "counter",
            "Handoffs to a person, by the mechanism that fired.",
        );
        for (mechanism, count) in MECHANISMS.iter().zip(&self.handoffs) {
            let _ = writeln!(
                o,
                "baton_handoffs_total{{mechanism=\"{}\"}} {}",
                mechanism.as_str(),
                count.load(Relaxed)
            );
        }

        header(
            o,
            "baton_queue_length",
            "gauge",
            "Conversations waiting for a person (queued) or held by one (human).",
        );
        let _ = writeln!(
            o,
            "baton_queue_length{{state=\"queued\"}} {}",
            scraped.queued
        );
        let _ = writeln!(o, "baton_queue_length{{state=\"human\"}} {}", scraped.held);

        header(
            o,
            "baton_time_to_human_seconds",
            "histogram",
            "Time from a handoff to the first reply of a person.",
        );
        let mut cumulative = 0;
        for (le, count) in TIME_TO_HUMAN_BUCKETS.iter().zip(&self.time_to_human) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(
                o,
                "baton_time_to_human_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += self.time_to_human[TIME_TO_HUMAN_BUCKETS.len()].load(Relaxed);
        let _ = writeln!(
            o,
            "baton_time_to_human_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum_ms = self.time_to_human_ms.load(Relaxed);
        let _ = writeln!(
            o,
            "baton_time_to_human_seconds_sum {}.{:03}",
            sum_ms / 1000,
            sum_ms % 1000
        );
        let _ = writeln!(o, "baton_time_to_human_seconds_count {cumulative}");

        header(
            o,
            "baton_webhook_failures_total",
            "counter",
            "Failed webhook delivery attempts (each is retried until it expires).",
        );
        let _ = writeln!(
            o,
            "baton_webhook_failures_total {}",
            scraped.webhook_failures
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .to_string()
    }

    #[test]
    fn counts_render_as_counters_gauges_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.connected(Side::Visitor);
        m.connected(Side::Visitor);
        m.disconnected(Side::Visitor);
        m.connected(Side::Agent);
        m.stored(&[
            EventBody::Visitor {
                client_id: "a".into(),
                text: "hi".into(),
            },
            EventBody::Closed,
            EventBody::Agent {
                name: "Mia".into(),
                client_id: "b".into(),
                text: "hello".into(),
            },
        ]);
        m.handoff(Mechanism::Rule);
        m.handoff(Mechanism::Rule);
        m.time_to_human(4_000); // ≤ 5 s
        m.time_to_human(5_000); // ≤ 5 s: bounds are inclusive
        m.time_to_human(61_500); // ≤ 120 s
        m.time_to_human(100 * 86_400_000); // beyond a day
        let text = m.render(&Scraped {
            queued: 2,
            held: 1,
            webhook_failures: 3,
        });

        assert_eq!(value(&text, "baton_connections{side=\"visitor\"}"), "1");
        assert_eq!(value(&text, "baton_connections{side=\"agent\"}"), "1");
        assert_eq!(
            value(&text, "baton_messages_total{author=\"visitor\"}"),
            "1"
        );
        assert_eq!(value(&text, "baton_messages_total{author=\"agent\"}"), "1");
        assert_eq!(
            value(&text, "baton_messages_total{author=\"assistant\"}"),
            "0"
        );
        assert_eq!(
            value(&text, "baton_handoffs_total{mechanism=\"rule\"}"),
            "2"
        );
        assert_eq!(
            value(&text, "baton_handoffs_total{mechanism=\"user\"}"),
            "0"
        );
        assert_eq!(value(&text, "baton_queue_length{state=\"queued\"}"), "2");
        assert_eq!(value(&text, "baton_queue_length{state=\"human\"}"), "1");
        assert_eq!(value(&text, "baton_webhook_failures_total"), "3");
        let bucket = |le: &str| {
            value(
                &text,
                &format!("baton_time_to_human_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("5"), "2");
        assert_eq!(bucket("60"), "2");
        assert_eq!(bucket("120"), "3");
        assert_eq!(bucket("86400"), "3");
        assert_eq!(bucket("+Inf"), "4");
        assert_eq!(value(&text, "baton_time_to_human_seconds_count"), "4");
        assert_eq!(
            value(&text, "baton_time_to_human_seconds_sum"),
            "8640070.500"
        );

        // Every sample belongs to a family announced by HELP and TYPE.
        let mut family = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(family), "{line} outside {family}");
            }
        }
        assert!(text.ends_with('\n'));
    }
}
