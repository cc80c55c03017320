//! The policy: what the `[policy]` table of the config may say, its
//! defaults, and validation.
//!
//! Scalars default through `Default`. Word lists are maps from a language
//! code to a list of patterns and *overlay* the built-in lists of
//! [`super::defaults`]: a language you set replaces that language's list,
//! the languages you do not mention keep theirs, and a new code (`it = [...]`)
//! adds a language. So the default policy is simply `Policy::default()`,
//! and a config only says what differs. `docs/policy.md` lists every key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::AttachmentKind;
use super::defaults::{self, Table};
use super::hours::Schedule;
use super::text::Pattern;

/// Lists of patterns by language code (`en`, `de`, …).
pub type Lists = BTreeMap<String, Vec<String>>;

/// The handoff policy, from the `[policy]` table of the config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Below this confidence (0–1) the assistant's draft is withheld and a
    /// person takes over.
    pub confidence_threshold: f32,
    /// Below the threshold, when the assistant found two or three articles
    /// close together, ask the visitor which one they mean (a clarifying
    /// question with the titles as quick replies) before handing off. The
    /// visitor's pick is answered; "none of these" hands off.
    pub clarify: bool,
    /// Words that negate what follows ("I don't need a person", "no
    /// complaints"), used by the typed-request detection and the keyword rules.
    pub negations: Lists,
    /// Typed requests for a person.
    pub user: UserPolicy,
    pub legal: KeywordRule,
    pub billing_dispute: KeywordRule,
    pub refund: RefundPolicy,
    pub complaint: KeywordRule,
    pub attachments: AttachmentPolicy,
    pub frustration: FrustrationPolicy,
    /// Topics the assistant must not cover: name → patterns. Checked in the
    /// visitor's turn (before the answer) and in the assistant's draft
    /// (after it). None by default.
    pub topics: BTreeMap<String, Vec<String>>,
    pub tiers: TierPolicy,
    pub business_hours: BusinessHours,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            confidence_threshold: 0.8,
            clarify: true,
            negations: Lists::new(),
            user: UserPolicy::default(),
            legal: KeywordRule::default(),
            billing_dispute: KeywordRule::default(),
            refund: RefundPolicy::default(),
            complaint: KeywordRule::default(),
            attachments: AttachmentPolicy::default(),
            frustration: FrustrationPolicy::default(),
            topics: BTreeMap::new(),
            tiers: TierPolicy::default(),
            business_hours: BusinessHours::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserPolicy {
    /// Detect typed requests ("can I talk to a human?"). The button always works.
    pub enabled: bool,
    /// Accept misspelt person words ("humna", "represenative").
    pub typo_tolerance: bool,
    /// Real words that must not count as a typo of a person word.
    pub typo_exceptions: Vec<String>,
    /// Words for a person on the team ("human", "Mitarbeiter", "conseiller").
    pub persons: Lists,
    /// Request verbs and phrases that take a person ("talk", "connect",
    /// "I want", "sprechen").
    pub verbs: Lists,
    /// Words that may stand between the verb and the person ("to a real").
    pub fillers: Lists,
    /// Phrases that are a request on their own ("transfer me").
    pub requests: Lists,
    /// Phrases that are never a request ("am I talking", "human resources").
    pub not_requests: Lists,
}

impl Default for UserPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            typo_tolerance: true,
            typo_exceptions: defaults::TYPO_EXCEPTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            persons: Lists::new(),
            verbs: Lists::new(),
            fillers: Lists::new(),
            requests: Lists::new(),
            not_requests: Lists::new(),
        }
    }
}

/// A rule that fires when one of its patterns occurs in the visitor's turn.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeywordRule {
    pub enabled: bool,
    pub keywords: Lists,
    /// Phrases that contain a keyword but do not count ("court shoes").
    pub exceptions: Lists,
}

impl Default for KeywordRule {
    fn default() -> Self {
        Self {
            enabled: true,
            keywords: Lists::new(),
            exceptions: Lists::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefundPolicy {
    pub enabled: bool,
    /// Refund requests for more than this amount (in any currency) escalate.
    pub limit: f64,
    /// Words that make a turn a refund or money-back request.
    pub keywords: Lists,
    /// Currency code → symbols and words written next to an amount.
    pub currencies: Lists,
}

impl Default for RefundPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            limit: 100.0,
            keywords: Lists::new(),
            currencies: Lists::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentPolicy {
    /// Attachment kinds the assistant cannot handle; a turn with one escalates.
    pub escalate: Vec<AttachmentKind>,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        Self {
            escalate: vec![AttachmentKind::Audio],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierPolicy {
    /// Tiers whose *verified* visitors always get a person.
    pub escalate: Vec<String>,
}

impl Default for TierPolicy {
    fn default() -> Self {
        Self {
            escalate: vec!["tier-1".into(), "vip".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrustrationPolicy {
    pub enabled: bool,
    /// Escalate on shouting: a run of at least three words in capitals, or
    /// a message mostly in capitals.
    pub shouting: bool,
    /// How many capital letters make shouting ("OK" and "EU" never do).
    pub shouting_min_letters: usize,
    pub insults: Lists,
    /// Phrases with an insult word that are not insults ("stupid question").
    pub exceptions: Lists,
    /// Escalate when the visitor asks the same question again.
    pub repetition: bool,
    /// How similar (0–1) two turns must be to count as the same question.
    pub repetition_similarity: f32,
}

impl Default for FrustrationPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            shouting: true,
            shouting_min_letters: 10,
            insults: Lists::new(),
            exceptions: Lists::new(),
            repetition: true,
            repetition_similarity: 0.8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHours {
    /// Off: the team counts as always in.
    pub enabled: bool,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    pub weekly: Weekly,
    /// Closed days: `2026-12-24` (that date) or `12-25` (every year).
    pub holidays: Vec<String>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self {
            enabled: true,
            time_zone: "Europe/Berlin".into(),
            weekly: Weekly::default(),
            holidays: Vec::new(),
        }
    }
}

/// Opening hours per weekday as `"HH:MM-HH:MM"` ranges; `[]` is closed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weekly {
    pub monday: Vec<String>,
    pub tuesday: Vec<String>,
    pub wednesday: Vec<String>,
    pub thursday: Vec<String>,
    pub friday: Vec<String>,
    pub saturday: Vec<String>,
    pub sunday: Vec<String>,
}

impl Default for Weekly {
    fn default() -> Self {
        let day = || vec!["09:00-17:00".to_string()];
        Self {
            monday: day(),
            tuesday: day(),
            wednesday: day(),
            thursday: day(),
            friday: day(),
            saturday: Vec::new(),
            sunday: Vec::new(),
        }
    }
}

impl Weekly {
    /// The days Monday first, with their config key.
    pub fn days(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct PolicyError {
    /// The full key, e.g. `policy.business_hours.time_zone`.
    pub key: String,
    pub problem: String,
}

impl PolicyError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// The built-in lists with the configured languages laid over them.
pub fn effective(configured: &Lists, builtin: Table) -> Lists {
    let mut lists = defaults::lists(builtin);
    lists.extend(configured.iter().map(|(k, v)| (k.clone(), v.clone())));
    lists
}

/// Every pattern of every language, compiled.
pub fn compile(configured: &Lists, builtin: Table) -> Vec<Pattern> {
    Pattern::list(effective(configured, builtin).values().flatten())
}

impl Policy {
    /// Checks everything a config can get wrong; the error names the key.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let t = self.confidence_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(PolicyError::new(
                "policy.confidence_threshold",
                format!("{t} is not between 0 and 1"),
            ));
        }
        let lists: [(&str, &Lists); 15] = [
            ("negations", &self.negations),
            ("user.persons", &self.user.persons),
            ("user.verbs", &self.user.verbs),
            ("user.fillers", &self.user.fillers),
            ("user.requests", &self.user.requests),
            ("user.not_requests", &self.user.not_requests),
            ("legal.keywords", &self.legal.keywords),
            ("legal.exceptions", &self.legal.exceptions),
            ("billing_dispute.keywords", &self.billing_dispute.keywords),
            (
                "billing_dispute.exceptions",
                &self.billing_dispute.exceptions,
            ),
            ("complaint.keywords", &self.complaint.keywords),
            ("complaint.exceptions", &self.complaint.exceptions),
            ("refund.keywords", &self.refund.keywords),
            ("frustration.insults", &self.frustration.insults),
            ("frustration.exceptions", &self.frustration.exceptions),
        ];
        for (key, lists) in lists {
            for (lang, patterns) in lists {
                check_patterns(&format!("policy.{key}.{lang}"), patterns)?;
            }
        }
        for (name, patterns) in &self.topics {
            if name.trim().is_empty() {
                return Err(PolicyError::new("policy.topics", "a topic needs a name"));
            }
            check_patterns(&format!("policy.topics.{name}"), patterns)?;
        }
        let limit = self.refund.limit;
        if !limit.is_finite() || limit < 0.0 {
            return Err(PolicyError::new(
                "policy.refund.limit",
                format!("{limit} is not an amount of zero or more"),
            ));
        }
        for (code, aliases) in &self.refund.currencies {
            let key = format!("policy.refund.currencies.{code}");
            if code.trim().is_empty() {
                return Err(PolicyError::new(
                    "policy.refund.currencies",
                    "a currency needs a code",
                ));
            }
            for (i, alias) in aliases.iter().enumerate() {
                if alias.trim().is_empty()
                    || alias.chars().any(char::is_whitespace)
                    || alias.chars().any(|c| c.is_ascii_digit())
                {
                    return Err(PolicyError::new(
                        format!("{key}[{i}]"),
                        format!("{alias:?} must be one symbol or word, without spaces or digits"),
                    ));
                }
            }
        }
        for (i, tier) in self.tiers.escalate.iter().enumerate() {
            if tier.trim().is_empty() {
                return Err(PolicyError::new(
                    format!("policy.tiers.escalate[{i}]"),
                    "empty tier name",
                ));
            }
        }
        let f = &self.frustration;
        if f.shouting_min_letters == 0 {
            return Err(PolicyError::new(
                "policy.frustration.shouting_min_letters",
                "must be at least 1",
            ));
        }
        let s = f.repetition_similarity;
        if !(s > 0.0 && s <= 1.0) {
            return Err(PolicyError::new(
                "policy.frustration.repetition_similarity",
                format!("{s} is not in (0, 1]"),
            ));
        }
        Schedule::new(&self.business_hours).map(|_| ())
    }
}

fn check_patterns(key: &str, patterns: &[String]) -> Result<(), PolicyError> {
    for (i, p) in patterns.iter().enumerate() {
        Pattern::parse(p).map_err(|problem| PolicyError::new(format!("{key}[{i}]"), problem))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Policy, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            policy: Policy,
        }
        toml::from_str::<File>(toml_text)
            .map(|f| f.policy)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn default_policy_is_valid_and_matches_the_readme() {
        let p = Policy::default();
        p.validate().unwrap();
        assert_eq!(p.confidence_threshold, 0.8);
        assert_eq!(p.refund.limit, 100.0);
        assert_eq!(p.tiers.escalate, ["tier-1", "vip"]);
        assert_eq!(p.attachments.escalate, [AttachmentKind::Audio]);
        assert_eq!(p.business_hours.time_zone, "Europe/Berlin");
        assert_eq!(parse("").unwrap(), p);
    }

    #[test]
    fn every_builtin_pattern_compiles() {
        for table in [
            defaults::NEGATIONS,
            defaults::PERSONS,
            defaults::VERBS,
            defaults::FILLERS,
            defaults::REQUESTS,
            defaults::NOT_REQUESTS,
            defaults::COMPLAINT,
            defaults::LEGAL,
            defaults::LEGAL_EXCEPTIONS,
            defaults::BILLING,
            defaults::REFUND,
            defaults::INSULTS,
            defaults::INSULT_EXCEPTIONS,
        ] {
            for (lang, list) in table {
                for p in *list {
                    assert!(Pattern::parse(p).is_ok(), "{lang}: {p}");
                }
            }
        }
    }

    /// docs/policy.md lists the built-in lists; this keeps it in step.
    #[test]
    fn the_docs_list_every_builtin_entry() {
        let docs = include_str!("../../../docs/policy.md");
        let tables = [
            ("policy.negations", defaults::NEGATIONS),
            ("policy.user.persons", defaults::PERSONS),
            ("policy.user.verbs", defaults::VERBS),
            ("policy.user.fillers", defaults::FILLERS),
            ("policy.user.requests", defaults::REQUESTS),
            ("policy.user.not_requests", defaults::NOT_REQUESTS),
            ("policy.complaint.keywords", defaults::COMPLAINT),
            ("policy.legal.keywords", defaults::LEGAL),
            ("policy.legal.exceptions", defaults::LEGAL_EXCEPTIONS),
            ("policy.billing_dispute.keywords", defaults::BILLING),
            ("policy.refund.keywords", defaults::REFUND),
            ("policy.refund.currencies", defaults::CURRENCIES),
            ("policy.frustration.insults", defaults::INSULTS),
            ("policy.frustration.exceptions", defaults::INSULT_EXCEPTIONS),
        ];
        for (key, table) in tables {
            let section = docs
                .split(&format!("### `{key}`\n"))
                .nth(1)
                .unwrap_or_else(|| panic!("no section {key}"));
            for (lang, list) in table {
                let quoted: Vec<String> = list.iter().map(|w| format!("`{w}`")).collect();
                let line = format!("- `{lang}`: {}\n", quoted.join(", "));
                assert!(
                    section.starts_with(&line) || section.contains(&format!("\n{line}")),
                    "{key}.{lang} differs in docs"
                );
            }
        }
        let typos: Vec<String> = defaults::TYPO_EXCEPTIONS
            .iter()
            .map(|w| format!("`{w}`"))
            .collect();
        assert!(docs.contains(&typos.join(", ")));
        for key in [
            "confidence_threshold = 0.8",
            "limit = 100",
            "escalate = [\"tier-1\", \"vip\"]",
            "time_zone = \"Europe/Berlin\"",
        ] {
            assert!(docs.contains(key), "{key}");
        }
    }

    #[test]
    fn languages_overlay_the_builtin_lists() {
        let p = parse(
            "[policy.complaint.keywords]\nen = [\"grumble*\"]\nit = [\"reclamo\"]\n[policy.business_hours.weekly]\nsaturday = [\"10:00-14:00\"]\n",
        )
        .unwrap();
        let lists = effective(&p.complaint.keywords, defaults::COMPLAINT);
        assert_eq!(lists["en"], ["grumble*"]);
        assert_eq!(lists["it"], ["reclamo"]);
        assert!(
            lists["de"].contains(&"beschwer*".to_string()),
            "other languages keep their lists"
        );
        assert_eq!(p.business_hours.weekly.saturday, ["10:00-14:00"]);
        assert_eq!(
            p.business_hours.weekly.monday,
            ["09:00-17:00"],
            "unnamed days keep the default"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = parse("[policy]\nconfidence_treshold = 0.5\n").unwrap_err();
        assert!(e.contains("confidence_treshold"), "{e}");
        let e = parse("[policy.refund]\nlimt = 5\n").unwrap_err();
        assert!(e.contains("limt"), "{e}");
        let e = parse("[policy.attachments]\nescalate = [\"video\"]\n").unwrap_err();
        assert!(e.contains("video"), "{e}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let cases = [
            (
                "[policy]\nconfidence_threshold = 1.5",
                "policy.confidence_threshold: 1.5 is not between 0 and 1",
            ),
            (
                "[policy.business_hours]\ntime_zone = \"Europe/Berln\"",
                "policy.business_hours.time_zone: unknown time zone \"Europe/Berln\"",
            ),
            (
                "[policy.business_hours.weekly]\nmonday = [\"9-17\"]",
                "policy.business_hours.weekly.monday[0]: \"9-17\" is not HH:MM-HH:MM",
            ),
            (
                "[policy.business_hours.weekly]\nfriday = [\"17:00-09:00\"]",
                "policy.business_hours.weekly.friday[0]: \"17:00-09:00\" ends before it starts",
            ),
            (
                "[policy.business_hours]\nholidays = [\"2026-02-30\"]",
                "policy.business_hours.holidays[0]: \"2026-02-30\" is not a date (YYYY-MM-DD or MM-DD)",
            ),
            (
                "[policy.legal.keywords]\nen = [\"sue\", \".. court\"]",
                "policy.legal.keywords.en[1]: \".. court\": `..` must stand between two words",
            ),
            (
                "[policy.refund]\nlimit = -1.0",
                "policy.refund.limit: -1 is not an amount of zero or more",
            ),
            (
                "[policy.refund.currencies]\nEUR = [\"euro cents\"]",
                "policy.refund.currencies.EUR[0]: \"euro cents\" must be one symbol or word, without spaces or digits",
            ),
            (
                "[policy.topics]\nmedical = [\"\"]",
                "policy.topics.medical[0]: empty entry",
            ),
            (
                "[policy.tiers]\nescalate = [\" \"]",
                "policy.tiers.escalate[0]: empty tier name",
            ),
            (
                "[policy.frustration]\nrepetition_similarity = 0.0",
                "policy.frustration.repetition_similarity: 0 is not in (0, 1]",
            ),
        ];
        for (toml_text, message) in cases {
            let p = parse(toml_text).unwrap();
            assert_eq!(p.validate().unwrap_err().to_string(), message);
        }
    }
}
