//! Typed requests for a person, in any language the policy lists.
//!
//! Looking for the word "human" is not enough: "Is this chat run by a
//! human?" and "Do your shoes fit human feet?" mention one without asking
//! for one. A clause is a request when
//!
//! - a request verb and a person word are linked: the verb comes first with
//!   only filler words between them ("talk *to a real* person", "je veux
//!   parler *à un* conseiller"), or the person comes first and the verb ends
//!   the clause ("mit einem Mitarbeiter sprechen", "is there someone I can
//!   talk to"), which is how German and Dutch put it — or a relative clause
//!   follows the person ("someone *I* can talk to about my invoice");
//! - or the clause is nothing but a person word and fillers ("agent",
//!   "a real person please", "Mitarbeiter bitte");
//! - or it holds a phrase that is a request on its own ("transfer me");
//!
//! and no negation governs it ("I don't need a person", "no human please",
//! "je ne veux pas parler à un humain"). A negation right after "can" or
//! "why" does not count: "why can't I talk to a human?" is a request.
//! Clauses opening with a question about the chat itself ("am I talking
//! to…", "are you a…") never are, and fixed phrases like "human resources"
//! do not count as a person. Person words of five letters or more are
//! recognised with a typo ("humna", "represenative"), verbs with two
//! letters swapped ("tlak").

use super::defaults;
use super::policy::{Policy, compile, effective};
use super::text::{Analysed, Pattern, fold, is_slip_of, is_swap_of, is_typo_of};

/// How far apart a verb and its person may be (in filler words).
const VERB_TO_PERSON: usize = 6;
const PERSON_TO_VERB: usize = 4;
/// How far back a negation reaches.
const NEGATION_REACH: usize = 3;
/// Words after which "not" is a complaint, not a refusal ("why can't I").
const MODALS: &[&str] = &[
    "can", "could", "why", "will", "kann", "warum", "pourquoi", "por", "waarom",
];
/// Subject pronouns: between a person and a verb they make a relative
/// clause ("someone *I* can talk to about my invoice"), after which the
/// clause may go on.
const SUBJECTS: &[&str] = &["i", "we", "ich", "wir", "je", "j", "yo", "ik", "wij"];
/// Words that open a relative clause, which may follow its person after a
/// comma.
const RELATIVES: &[&str] = &[
    "who", "whom", "that", "der", "die", "den", "dem", "mit", "qui", "avec", "que", "con", "quien",
    "met", "wie",
];

/// The compiled lexicon of the typed-request detection.
pub struct Requests {
    enabled: bool,
    persons: Vec<Pattern>,
    /// One-word person words that accept typos.
    typo_targets: Vec<String>,
    typo_exceptions: Vec<String>,
    verbs: Vec<Pattern>,
    /// One-word verbs of four letters or more, which accept two letters
    /// swapped ("tlak", "sepak").
    swap_targets: Vec<String>,
    fillers: Vec<String>,
    requests: Vec<Pattern>,
    not_requests: Vec<Pattern>,
    negations: Vec<String>,
}

/// What made a turn a request, for the reason shown to the team.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The words of the clause that asked.
    pub words: String,
}

fn flat(lists: std::collections::BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut words: Vec<String> = lists.into_values().flatten().map(|w| fold(&w)).collect();
    words.sort();
    words.dedup();
    words
}

impl Requests {
    pub fn new(policy: &Policy) -> Self {
        let u = &policy.user;
        let persons = compile(&u.persons, defaults::PERSONS);
        let verbs = compile(&u.verbs, defaults::VERBS);
        // The one-word entries of `patterns` with at least `letters`
        // letters, when typos are tolerated at all.
        let tolerant = |patterns: &[Pattern], letters: usize| -> Vec<String> {
            if !u.typo_tolerance {
                return Vec::new();
            }
            patterns
                .iter()
                .filter_map(|p| p.exact_word())
                .filter(|w| w.chars().count() >= letters)
                .map(str::to_string)
                .collect()
        };
        Self {
            enabled: u.enabled,
            typo_targets: tolerant(&persons, 5),
            swap_targets: tolerant(&verbs, 4),
            persons,
            typo_exceptions: u.typo_exceptions.iter().map(|w| fold(w)).collect(),
            verbs,
            fillers: flat(effective(&u.fillers, defaults::FILLERS)),
            requests: compile(&u.requests, defaults::REQUESTS),
            not_requests: compile(&u.not_requests, defaults::NOT_REQUESTS),
            negations: flat(effective(&policy.negations, defaults::NEGATIONS)),
        }
    }

    /// The request in `text`, if it asks for a person.
    pub fn find(&self, text: &Analysed) -> Option<Request> {
        if !self.enabled {
            return None;
        }
        // A relative clause after a comma still belongs to its person:
        // "Gibt es einen echten Menschen, mit dem ich schreiben kann?"
        let joined = text.clauses.windows(2).filter_map(|pair| {
            let opens = pair[1]
                .iter()
                .take(2)
                .any(|w| RELATIVES.contains(&w.as_str()));
            opens.then(|| [pair[0].as_slice(), pair[1].as_slice()].concat())
        });
        text.clauses
            .iter()
            .cloned()
            .chain(joined)
            .find(|c| self.clause_asks(c))
            .map(|c| Request { words: c.join(" ") })
    }

    /// A filler, or a slip of the keyboard in a longer one ("bite" for
    /// "bitte", "pleae").
    fn is_filler_or_slip(&self, w: &str) -> bool {
        self.is_filler(w) || self.fillers.iter().any(|f| is_slip_of(w, f))
    }

    fn is_filler(&self, w: &str) -> bool {
        self.fillers.binary_search_by(|f| f.as_str().cmp(w)).is_ok()
    }

    fn is_negation(&self, w: &str) -> bool {
        self.negations
            .binary_search_by(|f| f.as_str().cmp(w))
            .is_ok()
    }

    fn spans(patterns: &[Pattern], tokens: &[String], blocked: &[bool]) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = patterns
            .iter()
            .flat_map(|p| p.find_all(tokens))
            .filter(|&(s, e)| !blocked[s..e].iter().any(|b| *b))
            .collect();
        spans.sort_unstable();
        spans.dedup();
        spans
    }

    fn clause_asks(&self, tokens: &[String]) -> bool {
        let mut blocked = vec![false; tokens.len()];
        for p in &self.not_requests {
            for (s, e) in p.find_all(tokens) {
                if s == 0 {
                    return false;
                }
                blocked[s..e].iter_mut().for_each(|b| *b = true);
            }
        }
        let mut persons = Self::spans(&self.persons, tokens, &blocked);
        for (i, t) in tokens.iter().enumerate() {
            let typo = !blocked[i]
                && !self.typo_exceptions.contains(t)
                && !persons.iter().any(|&(s, e)| s <= i && i < e)
                && self.typo_targets.iter().any(|w| is_typo_of(t, w));
            if typo {
                persons.push((i, i + 1));
            }
        }
        // Person words side by side are one person: "human operator",
        // "echte Mitarbeiterin".
        persons.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in persons {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let persons = merged;
        let mut verbs = Self::spans(&self.verbs, tokens, &blocked);
        for (i, t) in tokens.iter().enumerate() {
            if !blocked[i] && self.swap_targets.iter().any(|w| is_swap_of(t, w)) {
                verbs.push((i, i + 1));
            }
        }
        let requests = Self::spans(&self.requests, tokens, &blocked);
        let fillers = |a: usize, b: usize| tokens[a..b].iter().all(|t| self.is_filler(t));
        let verb_or_filler = |a: usize, b: usize| {
            (a..b).all(|i| {
                self.is_filler(&tokens[i])
                    || self.is_negation(&tokens[i])
                    || verbs.iter().any(|&(s, e)| s <= i && i < e)
            })
        };
        // A negation governs position `at` if it stands shortly before it with
        // only fillers, verbs or negations between, and is not "can't"/"why not".
        let negated = |at: usize| {
            (at.saturating_sub(NEGATION_REACH)..at).any(|i| {
                self.is_negation(&tokens[i])
                    && !(i.saturating_sub(2)..i).any(|j| MODALS.contains(&tokens[j].as_str()))
                    && verb_or_filler(i + 1, at)
            })
        };

        if requests.iter().any(|&(s, _)| !negated(s)) {
            return true;
        }
        for &(ps, pe) in &persons {
            // Only a person and fillers: "agent", "a real person please".
            let only_fillers =
                |a: usize, b: usize| tokens[a..b].iter().all(|t| self.is_filler_or_slip(t));
            let others_fill = only_fillers(0, ps) && only_fillers(pe, tokens.len());
            if others_fill && !negated(ps) {
                return true;
            }
            for &(vs, ve) in &verbs {
                let linked = if ve <= ps {
                    ps - ve <= VERB_TO_PERSON && fillers(ve, ps)
                } else if pe <= vs {
                    let relative = tokens[pe..vs]
                        .iter()
                        .any(|t| SUBJECTS.contains(&t.as_str()));
                    vs - pe <= PERSON_TO_VERB
                        && fillers(pe, vs)
                        && (relative || fillers(ve, tokens.len()))
                } else {
                    false
                };
                if linked && !negated(vs.min(ps)) && !negated(ps) {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(text: &str) -> bool {
        Requests::new(&Policy::default())
            .find(&Analysed::new(text))
            .is_some()
    }

    #[test]
    fn english_requests() {
        for t in [
            "Can I speak to a human please?",
            "agent",
            "Agent!",
            "human",
            "A real person please",
            "ok, now let me talk to a real person",
            "can I talk to someone real",
            "I want to speak with a representative",
            "I need a human",
            "I'd like to talk to an operator",
            "Get me a manager",
            "Connect me with customer service",
            "Transfer me to an agent now",
            "Is there someone I can talk to?",
            "Is there a person I could speak with about my invoice?",
            "Is anyone there?",
            "Can someone call me back?",
            "Why can't I talk to a human?",
            "This is not helpful I want a person",
            "Please let me chat with your support team.",
            "speak to a human being",
            "Can I talk to someone else?",
            "is there somebody I could really speak with",
        ] {
            assert!(asks(t), "{t}");
        }
    }

    #[test]
    fn other_languages() {
        for t in [
            "Ich möchte bitte mit einem Mitarbeiter sprechen.",
            "Kann ich mit einem echten Menschen reden?",
            "Verbinden Sie mich bitte mit einem Berater",
            "Mitarbeiter bitte",
            "je veux parler à un conseiller",
            "Puis-je parler à quelqu'un ?",
            "Je voudrais parler à un humain svp",
            "quiero hablar con una persona",
            "¿Puedo hablar con un agente?",
            "¿Me pasas con un asesor, por favor?",
            "Necesito un humano",
            "ik wil een medewerker spreken",
            "Kan ik met iemand praten?",
            "Ik wil graag een mens spreken",
            "Ich brauche Hilfe von einem Menschen",
            "J'ai besoin d'aide d'un humain",
            "Quiero hablar con alguien de verdad",
        ] {
            assert!(asks(t), "{t}");
        }
    }

    #[test]
    fn typos() {
        for t in [
            "humna",
            "Can I talk to a humna?",
            "I want a represenative",
            "opperator please",
            "speak to an agnet",
            "Ich will einen Mitarbieter",
            "human operater please",
            "mitarbeiter bite",
            "can I tlak to someone",
            "ich will mit einem Menschen sprecehn",
        ] {
            assert!(asks(t), "{t}");
        }
        let mut p = Policy::default();
        p.user.typo_tolerance = false;
        assert!(Requests::new(&p).find(&Analysed::new("humna")).is_none());
    }

    #[test]
    fn a_relative_clause_after_a_comma_keeps_its_person() {
        assert!(asks(
            "Gibt es hier auch einen echten Menschen, mit dem ich schreiben kann?"
        ));
        assert!(asks("Is there a real person, someone I can talk to?"));
        assert!(!asks("I don't want an agent, who would call me back."));
    }

    #[test]
    fn mentions_that_are_not_requests() {
        for t in [
            "Is this chat run by a human or a bot?",
            "Do your shoes fit human feet?",
            "What does a human resources department do?",
            "Are you a real person?",
            "Am I talking to a human?",
            "Are you human?",
            "Does the agent speak Spanish?",
            "My travel agent booked the wrong shoes",
            "Is the person who packs my order wearing gloves?",
            "I don't need a person, just tell me the shipping cost.",
            "I do not want to speak with a human",
            "No human please, just answer",
            "Can I speak to human resources?",
            "Bin ich mit einem Menschen verbunden?",
            "Ich möchte nicht mit einem Menschen sprechen",
            "Je ne veux pas parler à un humain",
            "Personne ne répond au téléphone",
            "¿Estoy hablando con un humano?",
            "No quiero hablar con una persona",
            "¿Qué pasa con mi asesor de siempre?",
            "Praat ik met een mens?",
            "Ik wil geen medewerker spreken",
            "Can I bring someone to the store?",
            "I want personal advice on sizes",
            "How do I find my size?",
            "",
        ] {
            assert!(!asks(t), "{t}");
        }
    }

    #[test]
    fn can_be_turned_off_or_extended() {
        let mut p = Policy::default();
        p.user.enabled = false;
        assert!(Requests::new(&p).find(&Analysed::new("agent")).is_none());
        let mut p = Policy::default();
        p.user.persons.insert("it".into(), vec!["operatore".into()]);
        p.user.verbs.insert("it".into(), vec!["parlare".into()]);
        p.user.fillers.insert(
            "it".into(),
            vec!["con".into(), "un".into(), "vorrei".into()],
        );
        assert!(
            Requests::new(&p)
                .find(&Analysed::new("Vorrei parlare con un operatore"))
                .is_some()
        );
    }
}
