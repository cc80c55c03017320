//! Signs that the visitor is fed up: shouting, insults, and asking the
//! same question again.
//!
//! Shouting is judged on the raw text, before folding: a run of at least
//! three words in capitals ("THAT IS NOT WHAT I ASKED"), or a message whose
//! letters are mostly capitals; either needs `shouting_min_letters` capital
//! letters, so "OK" or "EU" never count. A repeated question is an earlier
//! visitor turn that is nearly the same after normalisation (word overlap
//! or character similarity at least `repetition_similarity`); turns of
//! fewer than three words ("ok", "thanks") never count.

use super::Exchange;
use super::defaults;
use super::policy::{FrustrationPolicy, compile};
use super::rules::Keywords;
use super::text::{Analysed, fold, words};

/// Share of capitals among cased letters that makes a whole message shouting.
const SHOUTING_SHARE: f32 = 0.6;
/// Words in capitals in a row that make shouting.
const SHOUTING_RUN: usize = 3;
/// Words ignored when comparing questions ("I asked *again*: …").
const REPEAT_NOISE: &[&str] = &[
    "please", "again", "already", "still", "asked", "ask", "i", "hello", "hi", "hey", "ok", "okay",
    "so", "just", "now", "bitte", "nochmal", "noch", "einmal", "svp", "encore", "otra", "vez",
    "nogmaals", "weer",
];
/// Longest text compared character by character (the comparison is quadratic).
const MAX_CHAR_COMPARE: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub enum Sign {
    Shouting,
    Insult(String),
    /// The earlier turn asked again.
    Repeated(String),
}

impl Sign {
    pub fn describe(&self) -> String {
        match self {
            Sign::Shouting => "shouting in capitals".into(),
            Sign::Insult(w) => format!("insult “{w}”"),
            Sign::Repeated(q) => format!("asked the same question again (“{q}”)"),
        }
    }
}

pub struct Frustration {
    config: FrustrationPolicy,
    insults: Keywords,
}

impl Frustration {
    pub fn new(config: &FrustrationPolicy) -> Self {
        Self {
            config: config.clone(),
            insults: Keywords::new(
                config.enabled,
                compile(&config.insults, defaults::INSULTS),
                compile(&config.exceptions, defaults::INSULT_EXCEPTIONS),
                None,
            ),
        }
    }

    pub fn signs(&self, raw: &str, text: &Analysed, history: &[Exchange]) -> Vec<Sign> {
        if !self.config.enabled {
            return Vec::new();
        }
        let mut signs = Vec::new();
        if self.config.shouting && shouting(raw, self.config.shouting_min_letters) {
            signs.push(Sign::Shouting);
        }
        if let Some(word) = self.insults.find(text) {
            signs.push(Sign::Insult(word));
        }
        if self.config.repetition
            && let Some(earlier) = repeated(raw, history, self.config.repetition_similarity)
        {
            signs.push(Sign::Repeated(earlier));
        }
        signs
    }
}

/// Whether `raw` shouts; see the module docs.
pub fn shouting(raw: &str, min_letters: usize) -> bool {
    let (mut upper, mut cased) = (0usize, 0usize);
    let (mut run_words, mut run_letters) = (0usize, 0usize);
    let mut longest_run_letters = 0usize;
    for word in raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let u = word.chars().filter(|c| c.is_uppercase()).count();
        let l = word.chars().filter(|c| c.is_lowercase()).count();
        upper += u;
        cased += u + l;
        if u == 0 && l == 0 {
            continue; // numbers neither make nor break a run
        }
        if l == 0 {
            run_words += 1;
            run_letters += u;
            if run_words >= SHOUTING_RUN {
                longest_run_letters = longest_run_letters.max(run_letters);
            }
        } else {
            (run_words, run_letters) = (0, 0);
        }
    }
    let mostly = cased > 0 && upper as f32 / cased as f32 >= SHOUTING_SHARE && upper >= min_letters;
    mostly || longest_run_letters >= min_letters
}

fn comparable(text: &str) -> Vec<String> {
    words(&fold(text))
        .into_iter()
        .filter(|w| !REPEAT_NOISE.contains(&w.as_str()))
        .collect()
}

/// The earlier visitor turn that `raw` repeats, if any.
pub fn repeated(raw: &str, history: &[Exchange], threshold: f32) -> Option<String> {
    let now = comparable(raw);
    if now.len() < 3 {
        return None;
    }
    history
        .iter()
        .map(|e| &e.turn.text)
        .find(|earlier| {
            let before = comparable(earlier);
            if before.len() < 3 {
                return false;
            }
            let (a, b): (std::collections::BTreeSet<_>, std::collections::BTreeSet<_>) =
                (now.iter().collect(), before.iter().collect());
            let jaccard = a.intersection(&b).count() as f32 / a.union(&b).count().max(1) as f32;
            let (sa, sb) = (now.join(" "), before.join(" "));
            let chars = if sa.len() <= MAX_CHAR_COMPARE && sb.len() <= MAX_CHAR_COMPARE {
                strsim::normalized_levenshtein(&sa, &sb) as f32
            } else {
                0.0
            };
            jaccard.max(chars) >= threshold
        })
        .map(|t| super::one_line(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::Turn;

    fn history(texts: &[&str]) -> Vec<Exchange> {
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
    fn shouting_needs_enough_capitals() {
        assert!(shouting("THAT IS NOT WHAT I ASKED. This is useless!!!", 10));
        assert!(shouting("WHERE IS MY ORDER", 10));
        assert!(shouting("where is my order?? ANSWER ME NOW", 10));
        assert!(shouting("WARUM DAUERT DAS SO LANGE", 10));
        assert!(!shouting("OK", 10));
        assert!(!shouting("Do you ship to the EU or the UK?", 10));
        assert!(!shouting("I ordered from the EU, UK shipping to USA", 10));
        assert!(!shouting("HELLO!!!", 10));
        assert!(!shouting("My order number is DE123456789", 10));
        assert!(!shouting("", 10));
        assert!(!shouting("🙂🙂🙂", 10));
    }

    #[test]
    fn repeated_questions() {
        let h = history(&["Where is my order?", "ok"]);
        assert_eq!(
            repeated("where's my order??", &h, 0.8).as_deref(),
            Some("Where is my order?")
        );
        assert!(repeated("I asked already: where is my order", &h, 0.8).is_some());
        assert!(repeated("WHERE IS MY ORDER", &h, 0.8).is_some());
        assert!(
            repeated("Where is my ordr?", &h, 0.8).is_some(),
            "a typo is still the same question"
        );
        assert!(repeated("ok", &h, 0.8).is_none(), "short turns never count");
        let h = history(&["How long does shipping take?", "Do you ship to Canada?"]);
        assert!(repeated("How long does shipping take to Canada?", &h, 0.8).is_none());
        assert!(repeated("Do you ship to Australia?", &h, 0.8).is_none());
        assert!(
            repeated(
                "Can I pay with Klarna?",
                &history(&["Can I pay with PayPal?"]),
                0.8
            )
            .is_none()
        );
        assert!(
            repeated(
                &"word ".repeat(3000),
                &history(&[&"word ".repeat(3000)]),
                0.8
            )
            .is_some()
        );
    }

    #[test]
    fn insults_in_several_languages_but_not_stupid_questions() {
        let f = Frustration::new(&FrustrationPolicy::default());
        let insult = |t: &str| {
            f.signs(t, &Analysed::new(t), &[])
                .iter()
                .any(|s| matches!(s, Sign::Insult(_)))
        };
        for t in [
            "This is useless",
            "ridiculous!",
            "what a joke",
            "Das ist lächerlich",
            "c'est nul",
            "servicio pésimo",
            "belachelijk dit",
        ] {
            assert!(insult(t), "{t}");
        }
        for t in [
            "Sorry if this is a stupid question, do you ship to Norway?",
            "In the worst case can I return them?",
            "Where is my order?",
        ] {
            assert!(!insult(t), "{t}");
        }
    }

    #[test]
    fn each_sign_can_be_turned_off() {
        let raw = "WHERE IS MY ORDER YOU IDIOTS";
        let h = history(&["where is my order you idiots"]);
        let all =
            Frustration::new(&FrustrationPolicy::default()).signs(raw, &Analysed::new(raw), &h);
        assert_eq!(all.len(), 3, "{all:?}");
        let off = FrustrationPolicy {
            shouting: false,
            repetition: false,
            ..FrustrationPolicy::default()
        };
        let some = Frustration::new(&off).signs(raw, &Analysed::new(raw), &h);
        assert!(matches!(some.as_slice(), [Sign::Insult(_)]), "{some:?}");
        let none = FrustrationPolicy {
            enabled: false,
            ..FrustrationPolicy::default()
        };
        assert!(
            Frustration::new(&none)
                .signs(raw, &Analysed::new(raw), &h)
                .is_empty()
        );
    }
}
