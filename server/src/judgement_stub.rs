//! TEMPORARY stand-in for the handoff engine and knowledge base while they
//! are written; replaced by `handoff/` and `knowledge/`.

pub mod handoff {
    use baton_shared::{Attempt, Brief, Identity, Mechanism};
    use serde::Deserialize;

    #[derive(Debug, Clone, Deserialize)]
    #[serde(default)]
    pub struct Policy {
        pub confidence_threshold: f32,
    }
    impl Default for Policy {
        fn default() -> Self {
            Self { confidence_threshold: 0.8 }
        }
    }
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    pub struct PolicyError(String);
    impl Policy {
        pub fn validate(&self) -> Result<(), PolicyError> {
            Ok(())
        }
    }
    #[derive(Debug, Clone, Default)]
    pub struct Turn {
        pub text: String,
        pub attachments: Vec<()>,
        pub request_human: bool,
    }
    #[derive(Debug, Clone)]
    pub struct Exchange {
        pub turn: Turn,
        pub answer: Option<Candidate>,
    }
    #[derive(Debug, Clone)]
    pub struct Candidate {
        pub text: String,
        pub confidence: f32,
        pub articles: Vec<String>,
    }
    pub struct Situation<'a> {
        pub history: &'a [Exchange],
        pub identity: Option<&'a Identity>,
        pub now: jiff::Timestamp,
    }
    #[derive(Debug, Clone)]
    pub struct Handoff {
        pub mechanism: Mechanism,
        pub rule: Option<String>,
        pub reason: String,
        pub confidence: Option<f32>,
        pub threshold: Option<f32>,
        pub next_step: String,
        pub out_of_hours: Option<String>,
    }
    fn h(m: Mechanism, rule: Option<&str>, reason: &str) -> Handoff {
        Handoff { mechanism: m, rule: rule.map(Into::into), reason: reason.into(), confidence: None, threshold: None, next_step: "Answer the visitor.".into(), out_of_hours: None }
    }
    pub fn before_answer(_: &Policy, _: &Situation, turn: &Turn) -> Option<Handoff> {
        let t = turn.text.to_lowercase();
        if turn.request_human { return Some(h(Mechanism::User, None, "The visitor pressed \"Talk to a human\".")); }
        if t.contains("human") || t.contains("person") || t == "agent" { return Some(h(Mechanism::User, None, "The visitor asked for a person.")); }
        if t.contains("complain") { return Some(h(Mechanism::Rule, Some("complaint"), "Complaint")); }
        if t.contains("lawyer") { return Some(h(Mechanism::Rule, Some("legal_threat"), "Legal threat")); }
        if t.contains("refund of 240") { return Some(h(Mechanism::Rule, Some("refund_limit"), "Refund above limit")); }
        None
    }
    pub fn after_answer(p: &Policy, _: &Situation, _: &Turn, c: &Candidate) -> Option<Handoff> {
        (c.confidence < p.confidence_threshold).then(|| Handoff { confidence: Some(c.confidence), threshold: Some(p.confidence_threshold), ..h(Mechanism::Confidence, None, "Low confidence") })
    }
    pub fn brief(handoff: &Handoff, s: &Situation, turn: &Turn, withheld: Option<&Candidate>, page: Option<&str>, at: i64) -> Brief {
        Brief {
            mechanism: handoff.mechanism, rule: handoff.rule.clone(), reason: handoff.reason.clone(),
            confidence: handoff.confidence, threshold: handoff.threshold,
            turn: s.history.len() as u32 + 1,
            intent: s.history.first().map(|e| e.turn.text.clone()).unwrap_or_else(|| turn.text.clone()),
            tried: s.history.iter().filter_map(|e| e.answer.as_ref().map(|a| Attempt { question: e.turn.text.clone(), answer: a.text.clone(), articles: a.articles.clone(), confidence: a.confidence })).collect(),
            withheld_draft: withheld.map(|c| c.text.clone()),
            next_step: handoff.next_step.clone(), identity: s.identity.cloned(), page: page.map(Into::into), out_of_hours: None, at,
        }
    }
}

pub mod knowledge {
    use crate::handoff::{Candidate, Exchange};
    pub struct KnowledgeBase { articles: Vec<(String, String)> }
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    pub struct KnowledgeError(String);
    impl KnowledgeBase {
        pub fn parse(md: &str) -> Result<Self, KnowledgeError> {
            let mut articles = Vec::new();
            for part in md.split("\n## ").skip(1) {
                let (title, body) = part.split_once('\n').unwrap_or((part, ""));
                articles.push((title.trim().to_string(), body.trim().to_string()));
            }
            Ok(Self { articles })
        }
        pub fn articles(&self) -> usize { self.articles.len() }
        pub fn answer(&self, _: &[Exchange], text: &str) -> Candidate {
            let words: Vec<String> = text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3).map(String::from).collect();
            let best = self.articles.iter().max_by_key(|(t, b)| words.iter().filter(|w| t.to_lowercase().contains(w.as_str()) || b.to_lowercase().contains(w.as_str())).count());
            let (t, b) = best.cloned().unwrap_or_default();
            let hits = words.iter().filter(|w| t.to_lowercase().contains(w.as_str()) || b.to_lowercase().contains(w.as_str())).count();
            let conf = if words.is_empty() { 0.0 } else { hits as f32 / words.len() as f32 };
            Candidate { text: b, confidence: conf, articles: vec![t] }
        }
    }
}
