//! The policy rules: what fires on the visitor's turn (input rules) and on
//! the assistant's draft (output rules).
//!
//! Input rules run in a fixed order, most serious first, and all matches
//! are reported (the first names the handoff, the others are mentioned in
//! its reason): `legal_threat`, `billing_dispute`, `refund_limit`,
//! `complaint`, `attachment`, `frustration`, `topic`, `priority_tier`.
//! The only output rule is `topic`: the draft touches a topic the
//! assistant must not cover.

use baton_shared::Identity;

use super::defaults;
use super::frustration::Frustration;
use super::money::{Amount, Currencies, amounts, number};
use super::policy::{Policy, compile, effective};
use super::text::{Analysed, Pattern, fold, negated_before};
use super::{AttachmentKind, Candidate, Situation, Turn};

/// How far back a negation reaches for keyword rules ("no complaints",
/// "I don't want a refund").
const NEGATION_REACH: usize = 3;

/// A rule that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: &'static str,
    /// Why, in plain words.
    pub reason: String,
    /// What the person picking it up should do.
    pub next_step: String,
}

/// A compiled keyword list with its exceptions.
pub struct Keywords {
    enabled: bool,
    patterns: Vec<Pattern>,
    exceptions: Vec<Pattern>,
    /// When set, a keyword right after a negation does not count.
    negations: Option<Vec<String>>,
}

impl Keywords {
    pub fn new(
        enabled: bool,
        patterns: Vec<Pattern>,
        exceptions: Vec<Pattern>,
        negations: Option<Vec<String>>,
    ) -> Self {
        Self {
            enabled,
            patterns,
            exceptions,
            negations,
        }
    }

    /// The words of the first keyword found, as the visitor wrote them
    /// (folded).
    pub fn find(&self, text: &Analysed) -> Option<String> {
        if !self.enabled {
            return None;
        }
        for sentence in &text.sentences {
            let excepted: Vec<(usize, usize)> = self
                .exceptions
                .iter()
                .flat_map(|p| p.find_all(sentence))
                .collect();
            let mut hits: Vec<(usize, usize)> = self
                .patterns
                .iter()
                .flat_map(|p| p.find_all(sentence))
                .filter(|&(s, e)| !excepted.iter().any(|&(xs, xe)| s < xe && xs < e))
                .filter(|&(s, _)| match &self.negations {
                    Some(n) => {
                        !negated_before(sentence, s, NEGATION_REACH, |w| n.iter().any(|x| x == w))
                    }
                    None => true,
                })
                .collect();
            hits.sort_unstable();
            if let Some(&(s, e)) = hits.first() {
                return Some(sentence[s..e].join(" "));
            }
        }
        None
    }
}

/// All rules of a policy, compiled.
pub struct Rules {
    legal: Keywords,
    billing: Keywords,
    refund: Keywords,
    refund_limit: f64,
    currencies: Currencies,
    complaint: Keywords,
    attachments: Vec<AttachmentKind>,
    frustration: Frustration,
    topics: Vec<(String, Keywords)>,
    tiers: Vec<String>,
}

/// "tier-1", "Tier 1" and "TIER1" are the same tier.
fn tier_key(tier: &str) -> String {
    fold(tier).chars().filter(|c| c.is_alphanumeric()).collect()
}

fn quote(s: &str) -> String {
    format!("“{s}”")
}

impl Rules {
    pub fn new(p: &Policy) -> Self {
        let negations: Vec<String> = effective(&p.negations, defaults::NEGATIONS)
            .into_values()
            .flatten()
            .map(|w| fold(&w))
            .collect();
        let keywords = |enabled,
                        rule: &super::policy::KeywordRule,
                        builtin,
                        builtin_exceptions,
                        negate: bool| {
            Keywords::new(
                enabled,
                compile(&rule.keywords, builtin),
                compile(&rule.exceptions, builtin_exceptions),
                negate.then(|| negations.clone()),
            )
        };
        Self {
            legal: keywords(
                p.legal.enabled,
                &p.legal,
                defaults::LEGAL,
                defaults::LEGAL_EXCEPTIONS,
                false,
            ),
            billing: keywords(
                p.billing_dispute.enabled,
                &p.billing_dispute,
                defaults::BILLING,
                &[],
                true,
            ),
            refund: Keywords::new(
                p.refund.enabled,
                compile(&p.refund.keywords, defaults::REFUND),
                Vec::new(),
                Some(negations.clone()),
            ),
            refund_limit: p.refund.limit,
            currencies: Currencies::new(&p.refund.currencies),
            complaint: keywords(
                p.complaint.enabled,
                &p.complaint,
                defaults::COMPLAINT,
                &[],
                true,
            ),
            attachments: p.attachments.escalate.clone(),
            frustration: Frustration::new(&p.frustration),
            topics: p
                .topics
                .iter()
                .map(|(name, list)| {
                    (
                        name.clone(),
                        Keywords::new(true, Pattern::list(list), Vec::new(), None),
                    )
                })
                .collect(),
            tiers: p.tiers.escalate.iter().map(|t| tier_key(t)).collect(),
        }
    }

    /// Every input rule that fires on `turn`, in order.
    pub fn input(&self, situation: &Situation, turn: &Turn, text: &Analysed) -> Vec<Hit> {
        let mut hits = Vec::new();
        if let Some(w) = self.legal.find(text) {
            hits.push(Hit {
                rule: "legal_threat",
                reason: format!("Legal threat: the visitor mentioned {}.", quote(&w)),
                next_step: "Legal matter: do not admit fault or promise anything; follow the legal-escalation procedure."
                    .into(),
            });
        }
        if let Some(w) = self.billing.find(text) {
            hits.push(Hit {
                rule: "billing_dispute",
                reason: format!("Billing dispute: {}.", quote(&w)),
                next_step: format!("Check this customer's payments and correct the charge ({w})."),
            });
        }
        if let Some(amount) = self.refund_above_limit(situation, turn, text) {
            let limit = number(self.refund_limit);
            hits.push(Hit {
                rule: "refund_limit",
                reason: format!(
                    "Refund of {} requested — above the limit of {limit}.",
                    amount.describe()
                ),
                next_step: format!(
                    "Refund of {} requested — above the {limit} {} limit: decide on the refund.",
                    amount.describe(),
                    amount.currency
                ),
            });
        }
        if let Some(w) = self.complaint.find(text) {
            hits.push(Hit {
                rule: "complaint",
                reason: format!("Complaint: the visitor wrote {}.", quote(&w)),
                next_step: "Handle the complaint: acknowledge it, find out what went wrong and what would put it right.".into(),
            });
        }
        if let Some(a) = turn
            .attachments
            .iter()
            .find(|a| self.attachments.contains(&a.kind))
        {
            let what = match a.kind {
                AttachmentKind::Audio => "a voice message",
                AttachmentKind::Image => "an image",
                AttachmentKind::File => "a file",
            };
            let verb = if a.kind == AttachmentKind::Audio {
                "Listen to"
            } else {
                "Open"
            };
            hits.push(Hit {
                rule: "attachment",
                reason: format!(
                    "The visitor sent {what} ({}), which the assistant cannot handle.",
                    a.name
                ),
                next_step: format!("{verb} {what} ({}) and reply.", a.name),
            });
        }
        let signs = self.frustration.signs(&turn.text, text, situation.history);
        if !signs.is_empty() {
            let list: Vec<String> = signs.iter().map(|s| s.describe()).collect();
            let question = super::last_question(situation.history)
                .map(|q| format!(" and answer their question: {}", quote(&q)))
                .unwrap_or_default();
            hits.push(Hit {
                rule: "frustration",
                reason: format!("The visitor is frustrated: {}.", list.join(", ")),
                next_step: format!("Calm things down: acknowledge the frustration{question}."),
            });
        }
        for (name, keywords) in &self.topics {
            if let Some(w) = keywords.find(text) {
                hits.push(Hit {
                    rule: "topic",
                    reason: format!(
                        "The visitor raised {} ({}), a topic the assistant must not cover.",
                        quote(name),
                        quote(&w)
                    ),
                    next_step: format!("Answer the question about {name} yourself."),
                });
                break;
            }
        }
        if let Some(tier) = self.escalating_tier(situation.identity) {
            hits.push(Hit {
                rule: "priority_tier",
                reason: format!("Verified {tier} customer: always answered by a person."),
                next_step: format!("Priority customer ({tier}): answer personally."),
            });
        }
        hits
    }

    /// The output rules on the assistant's draft.
    pub fn output(&self, candidate: &Candidate) -> Vec<Hit> {
        let draft = Analysed::new(&candidate.text);
        self.topics
            .iter()
            .find_map(|(name, keywords)| keywords.find(&draft).map(|w| (name, w)))
            .map(|(name, w)| Hit {
                rule: "topic",
                reason: format!(
                    "The assistant's draft touches {} ({}), a topic it must not cover.",
                    quote(name),
                    quote(&w)
                ),
                next_step: format!(
                    "Answer the visitor yourself; the withheld draft is about {name}."
                ),
            })
            .into_iter()
            .collect()
    }

    /// A tier that escalates, if the identity is verified and has one.
    fn escalating_tier(&self, identity: Option<&Identity>) -> Option<String> {
        let identity = identity.filter(|i| i.verified)?;
        let tier = identity.tier.as_deref()?;
        self.tiers
            .contains(&tier_key(tier))
            .then(|| tier.to_string())
    }

    /// The largest amount of a refund request above the limit. The request
    /// and the amount may come in the same turn or in this and the previous
    /// visitor turn ("I want a refund." — "It was 240 EUR.").
    fn refund_above_limit(
        &self,
        situation: &Situation,
        turn: &Turn,
        text: &Analysed,
    ) -> Option<Amount> {
        let asked_now = self.refund.find(text).is_some();
        let amounts_now = amounts(&turn.text, &self.currencies);
        let previous = situation
            .history
            .last()
            .map(|e| e.turn.text.as_str())
            .unwrap_or("");
        let asked_before = !asked_now
            && !amounts_now.is_empty()
            && self.refund.find(&Analysed::new(previous)).is_some();
        let mut candidates = amounts_now;
        if asked_now && candidates.is_empty() {
            candidates = amounts(previous, &self.currencies);
        }
        if !(asked_now || asked_before) {
            return None;
        }
        candidates
            .into_iter()
            .filter(|a| a.value > self.refund_limit)
            .max_by(|a, b| a.value.total_cmp(&b.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::{Attachment, Exchange};

    fn situation<'a>(history: &'a [Exchange], identity: Option<&'a Identity>) -> Situation<'a> {
        Situation {
            history,
            identity,
            now: "2026-11-20T10:00:00+01:00".parse().unwrap(),
        }
    }

    fn rules_on(text: &str) -> Vec<&'static str> {
        rules_with(&Policy::default(), &[], None, text)
    }

    fn rules_with(
        p: &Policy,
        history: &[Exchange],
        identity: Option<&Identity>,
        text: &str,
    ) -> Vec<&'static str> {
        let turn = Turn {
            text: text.into(),
            ..Turn::default()
        };
        Rules::new(p)
            .input(&situation(history, identity), &turn, &Analysed::new(text))
            .into_iter()
            .map(|h| h.rule)
            .collect()
    }

    fn said(texts: &[&str]) -> Vec<Exchange> {
        texts
            .iter()
            .map(|t| Exchange {
                turn: Turn {
                    text: t.to_string(),
                    ..Turn::default()
                },
                answer: None,
            })
            .collect()
    }

    #[test]
    fn complaints_in_five_languages() {
        for t in [
            "I want to file a complaint about the delivery driver.",
            "I'd like to complain",
            "Ich möchte mich beschweren",
            "Das ist eine Beschwerde",
            "Je souhaite déposer une réclamation",
            "Quiero poner una queja",
            "Ik wil een klacht indienen",
        ] {
            assert_eq!(rules_on(t), ["complaint"], "{t}");
        }
        for t in [
            "No complaints, the shoes are great!",
            "I'm not complaining, just asking about sizes",
            "Can I change my order?",
        ] {
            assert!(rules_on(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn legal_threats_in_five_languages() {
        for t in [
            "If this isn't fixed I'll get my lawyer involved.",
            "I will sue you",
            "See you in court",
            "I'm taking legal action",
            "Ich schalte meinen Anwalt ein",
            "Mein Rechtsanwalt meldet sich",
            "Ich werde Sie verklagen",
            "Je vais contacter mon avocat",
            "Je vais vous poursuivre en justice",
            "Voy a llamar a mi abogado",
            "Los voy a demandar",
            "Ik neem een advocaat",
            "Dit wordt een rechtszaak",
        ] {
            assert_eq!(rules_on(t), ["legal_threat"], "{t}");
        }
        for t in [
            "Do you sell court shoes?",
            "Is there a tennis court near your store?",
        ] {
            assert!(rules_on(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn billing_disputes() {
        for t in [
            "You charged me twice for one order",
            "I was charged two times",
            "There is a wrong charge on my card",
            "I'll do a chargeback",
            "I was double charged",
            "Sie haben doppelt abgebucht",
            "Vous m'avez débité deux fois",
            "Me cobraron dos veces",
            "Er is dubbel afgeschreven",
        ] {
            assert_eq!(rules_on(t), ["billing_dispute"], "{t}");
        }
        assert!(rules_on("How do I change the card I'm charged on?").is_empty());
    }

    #[test]
    fn refunds_above_the_limit_in_any_currency() {
        for t in [
            "I need a refund of 240 EUR for the boots I returned.",
            "I want my money back, $1,200!",
            "Refund me 300 dollars",
            "Please refund the €300",
            "Refund: 300€",
            "I'd like a refund of £150",
            "I want a refund of CHF 200",
            "Ich möchte eine Rückerstattung von 1.200,50 €",
            "Je veux un remboursement de 300 euros",
            "Quiero un reembolso de 500 dólares",
            "Ik wil 250 euro terugbetaling",
            "I want a refund of two hundred euros",
            "Refund 1.5k EUR please",
            "Can I get 300€ back?",
        ] {
            assert_eq!(rules_on(t), ["refund_limit"], "{t}");
        }
        for t in [
            "How do refunds work? It's only about 20 EUR.",
            "I want a refund of 100 EUR",
            "Refund for order 12345",
            "The boots cost 240 EUR, do you ship to Canada?",
            "I don't want a refund of 300 EUR, I want an exchange",
        ] {
            assert!(rules_on(t).is_empty(), "{t}");
        }
        let mut p = Policy::default();
        p.refund.limit = 10.0;
        assert_eq!(
            rules_with(&p, &[], None, "Refund my 20 EUR"),
            ["refund_limit"]
        );
    }

    #[test]
    fn refund_request_and_amount_across_two_turns() {
        let p = Policy::default();
        assert_eq!(
            rules_with(
                &p,
                &said(&["I want a refund for my boots"]),
                None,
                "They were 240 EUR"
            ),
            ["refund_limit"]
        );
        assert_eq!(
            rules_with(
                &p,
                &said(&["The boots cost 240 EUR"]),
                None,
                "I want a refund"
            ),
            ["refund_limit"]
        );
        assert!(
            rules_with(
                &p,
                &said(&["How do refunds work?"]),
                None,
                "Thanks, it was 20 EUR"
            )
            .is_empty()
        );
    }

    #[test]
    fn the_refund_reason_names_amount_and_limit() {
        let turn = Turn {
            text: "I need a refund of 240 EUR".into(),
            ..Turn::default()
        };
        let hits = Rules::new(&Policy::default()).input(
            &situation(&[], None),
            &turn,
            &Analysed::new(&turn.text),
        );
        assert_eq!(
            hits[0].next_step,
            "Refund of 240 EUR requested — above the 100 EUR limit: decide on the refund."
        );
    }

    #[test]
    fn audio_attachments_escalate_images_do_not() {
        let p = Policy::default();
        let rules = Rules::new(&p);
        let turn = |kind| Turn {
            attachments: vec![Attachment {
                kind,
                name: "x".into(),
            }],
            ..Turn::default()
        };
        let fired = |t: &Turn| {
            rules
                .input(&situation(&[], None), t, &Analysed::new(&t.text))
                .len()
        };
        assert_eq!(fired(&turn(AttachmentKind::Audio)), 1);
        assert_eq!(fired(&turn(AttachmentKind::Image)), 0);
        assert_eq!(fired(&turn(AttachmentKind::File)), 0);
    }

    #[test]
    fn only_verified_tiers_escalate() {
        let p = Policy::default();
        let id = |tier: &str, verified| Identity {
            tier: Some(tier.into()),
            verified,
            ..Identity::default()
        };
        assert_eq!(
            rules_with(&p, &[], Some(&id("tier-1", true)), "Hi"),
            ["priority_tier"]
        );
        assert_eq!(
            rules_with(&p, &[], Some(&id("VIP", true)), "Hi"),
            ["priority_tier"]
        );
        assert_eq!(
            rules_with(&p, &[], Some(&id("Tier 1", true)), "Hi"),
            ["priority_tier"]
        );
        assert!(
            rules_with(&p, &[], Some(&id("tier-1", false)), "Hi").is_empty(),
            "an unverified claim never counts"
        );
        assert!(rules_with(&p, &[], Some(&id("tier-2", true)), "Hi").is_empty());
        assert!(
            rules_with(
                &p,
                &[],
                Some(&Identity {
                    verified: true,
                    ..Identity::default()
                }),
                "Hi"
            )
            .is_empty()
        );
        assert!(rules_with(&p, &[], None, "Hi").is_empty());
    }

    #[test]
    fn frustration() {
        assert_eq!(
            rules_on("THAT IS NOT WHAT I ASKED. This is useless!!!"),
            ["frustration"]
        );
        assert_eq!(rules_on("This is ridiculous"), ["frustration"]);
        let p = Policy::default();
        assert_eq!(
            rules_with(
                &p,
                &said(&["Where is my order?"]),
                None,
                "where is my order"
            ),
            ["frustration"]
        );
    }

    #[test]
    fn topics_on_input_and_output() {
        let mut p = Policy::default();
        p.topics.insert(
            "medical advice".into(),
            vec!["diagnos*".into(), "foot pain".into()],
        );
        assert_eq!(
            rules_with(&p, &[], None, "Can you diagnose my foot pain?"),
            ["topic"]
        );
        let rules = Rules::new(&p);
        let draft = |text: &str| Candidate {
            text: text.into(),
            confidence: 0.9,
            articles: vec![],
            ..Candidate::default()
        };
        assert_eq!(
            rules.output(&draft("Foot pain usually means the size is wrong."))[0].rule,
            "topic"
        );
        assert!(rules.output(&draft("Use the size chart.")).is_empty());
        assert!(
            Rules::new(&Policy::default())
                .output(&draft("Foot pain usually means…"))
                .is_empty()
        );
    }

    #[test]
    fn rules_can_be_turned_off() {
        let mut p = Policy::default();
        p.legal.enabled = false;
        p.complaint.enabled = false;
        p.refund.enabled = false;
        p.billing_dispute.enabled = false;
        p.frustration.enabled = false;
        p.attachments.escalate.clear();
        p.tiers.escalate.clear();
        let text = "I complain: you charged me twice, I want a refund of 300 EUR or my lawyer sues. USELESS!";
        let id = Identity {
            tier: Some("vip".into()),
            verified: true,
            ..Identity::default()
        };
        assert!(rules_with(&p, &[], Some(&id), text).is_empty());
        assert_eq!(
            rules_with(&Policy::default(), &[], Some(&id), text),
            [
                "legal_threat",
                "billing_dispute",
                "refund_limit",
                "complaint",
                "frustration",
                "priority_tier"
            ]
        );
    }
}
