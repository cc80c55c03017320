//! From text to retrieval terms: fold, split, drop stop words and amounts,
//! stem.
//!
//! The language (English, German, French, Spanish or Dutch) is detected
//! once from the knowledge base by counting stop words, and both the
//! articles and the questions are stemmed with its Snowball stemmer
//! (`rust-stemmers`), so "shipping", "ships" and "shipped" meet at "ship".
//! Stop words include question words, auxiliaries and politeness ("how",
//! "can", "please", "hi") so that what remains is what the question is
//! about.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

use crate::handoff::defaults::CURRENCIES;
use crate::handoff::text::{fold, words};

const EN: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "already",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "d",
    "dear",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "get",
    "getting",
    "go",
    "going",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hers",
    "hey",
    "hi",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "like",
    "ll",
    "long",
    "m",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "need",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "please",
    "possible",
    "question",
    "questions",
    "re",
    "really",
    "s",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "someone",
    "something",
    "still",
    "such",
    "t",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "through",
    "to",
    "too",
    "two",
    "three",
    "under",
    "until",
    "up",
    "us",
    "ve",
    "very",
    "want",
    "was",
    "way",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yes",
    "yeah",
    "you",
    "your",
    "yours",
    "yourself",
    "able",
    "actually",
    "anyone",
    "else",
    "wondering",
    "wonder",
    // Verbs that frame a question rather than say what it is about.
    "find",
    "see",
    "look",
    "show",
    "give",
    "make",
    "put",
    "set",
    "turn",
    "work",
    "works",
    "happen",
    "happens",
    "happened",
    "finding",
    "looking",
    "makes",
    "made",
];

/// Everyday support vocabulary that means the same thing (English). A
/// question word counts as covered by an article that uses a synonym.
const EN_SYNONYMS: &[&[&str]] = &[
    &["change", "update", "modify", "edit", "switch", "replace"],
    &["cancel", "terminate", "stop", "end"],
    &["delete", "remove", "erase"],
    &["price", "cost", "fee", "pricing", "charge"],
    &["pay", "payment", "paying"],
    &["buy", "purchase"],
    &["parcel", "package", "shipment"],
    &["ship", "deliver", "delivery", "shipping", "send"],
    &["user", "member", "seat", "teammate", "colleague"],
    &["invite", "add"],
    &["invoice", "bill", "receipt"],
    &["download", "get", "export"],
    &["enable", "activate"],
    &["store", "shop"],
    &["offer", "sell", "provide", "stock"],
    &["discount", "coupon", "voucher", "promo"],
    &["trial", "test"],
    &["login", "log", "sign", "signin"],
];
const DE: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "und",
    "oder", "aber", "ich", "du", "er", "sie", "es", "wir", "ihr", "mich", "mir", "dich", "dir",
    "uns", "euch", "ihnen", "mein", "meine", "meinen", "dein", "ihre", "ihren", "unser", "ist",
    "sind", "bin", "war", "hat", "habe", "haben", "wird", "werden", "kann", "konnen", "konnte",
    "mochte", "will", "wie", "was", "wo", "wann", "warum", "welche", "welcher", "welches", "wer",
    "mit", "von", "zu", "zum", "zur", "fur", "auf", "an", "in", "im", "bei", "nach", "uber", "aus",
    "um", "nicht", "kein", "keine", "auch", "noch", "schon", "nur", "bitte", "danke", "hallo",
    "ja", "nein", "gibt", "mal", "so", "sehr", "viel", "lange", "wenn", "dass", "ob",
];
const FR: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "de", "du", "d", "et", "ou", "mais", "je", "j",
    "tu", "il", "elle", "nous", "vous", "ils", "elles", "me", "m", "te", "se", "s", "mon", "ma",
    "mes", "votre", "vos", "notre", "nos", "est", "sont", "suis", "ai", "avez", "avons", "a",
    "peux", "pouvez", "puis", "comment", "quoi", "que", "qu", "qui", "quel", "quelle", "quels",
    "ou", "quand", "pourquoi", "combien", "avec", "pour", "dans", "sur", "au", "aux", "en", "par",
    "ne", "n", "pas", "plus", "aussi", "bonjour", "merci", "svp", "plait", "oui", "non", "ce", "c",
    "cette", "ces", "y", "il", "faut", "est-ce",
];
const ES: &[&str] = &[
    "el", "la", "los", "las", "un", "una", "unos", "unas", "de", "del", "al", "y", "o", "pero",
    "yo", "tu", "el", "ella", "nosotros", "usted", "ustedes", "me", "te", "se", "mi", "mis", "su",
    "sus", "es", "son", "soy", "esta", "estan", "hay", "ha", "he", "puedo", "puede", "pueden",
    "como", "que", "quien", "cual", "donde", "cuando", "por", "porque", "cuanto", "cuanta", "con",
    "para", "en", "sobre", "sin", "no", "si", "tambien", "hola", "gracias", "favor", "lo", "le",
    "les", "esto", "eso", "muy", "mas",
];
const NL: &[&str] = &[
    "de",
    "het",
    "een",
    "en",
    "of",
    "maar",
    "ik",
    "jij",
    "je",
    "u",
    "hij",
    "zij",
    "ze",
    "wij",
    "we",
    "jullie",
    "mij",
    "me",
    "mijn",
    "uw",
    "jouw",
    "ons",
    "onze",
    "is",
    "zijn",
    "ben",
    "bent",
    "was",
    "heeft",
    "heb",
    "hebben",
    "wordt",
    "worden",
    "kan",
    "kun",
    "kunt",
    "kunnen",
    "wil",
    "wilt",
    "hoe",
    "wat",
    "waar",
    "wanneer",
    "waarom",
    "welke",
    "wie",
    "met",
    "van",
    "voor",
    "op",
    "aan",
    "in",
    "bij",
    "naar",
    "over",
    "uit",
    "om",
    "niet",
    "geen",
    "ook",
    "nog",
    "al",
    "alleen",
    "graag",
    "alstublieft",
    "dank",
    "bedankt",
    "hallo",
    "ja",
    "nee",
    "er",
    "dat",
    "dit",
    "die",
    "lang",
    "veel",
    "hoeveel",
];

/// A language the knowledge base can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    German,
    French,
    Spanish,
    Dutch,
}

impl Language {
    fn stop_words(self) -> &'static [&'static str] {
        match self {
            Language::English => EN,
            Language::German => DE,
            Language::French => FR,
            Language::Spanish => ES,
            Language::Dutch => NL,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Language::English => Algorithm::English,
            Language::German => Algorithm::German,
            Language::French => Algorithm::French,
            Language::Spanish => Algorithm::Spanish,
            Language::Dutch => Algorithm::Dutch,
        }
    }

    /// The language whose stop words are most frequent in `text`; English
    /// when nothing stands out.
    pub fn detect(text: &str) -> Self {
        let ws = words(&fold(text));
        let all = [
            Language::English,
            Language::German,
            Language::French,
            Language::Spanish,
            Language::Dutch,
        ];
        let count = |l: Language| {
            ws.iter()
                .filter(|w| l.stop_words().contains(&w.as_str()))
                .count()
        };
        all.into_iter()
            .max_by_key(|&l| (count(l), l == Language::English))
            .unwrap_or(Language::English)
    }
}

/// Turns text into retrieval terms for one language.
pub struct Analyzer {
    language: Language,
    /// Stem → the stems of its synonyms.
    synonyms: std::collections::HashMap<String, Vec<String>>,
    stemmer: Stemmer,
    stop: HashSet<&'static str>,
    currency_words: HashSet<String>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("language", &self.language)
            .finish()
    }
}

impl Analyzer {
    pub fn new(language: Language) -> Self {
        let stemmer = Stemmer::create(language.algorithm());
        let mut synonyms: std::collections::HashMap<String, Vec<String>> = Default::default();
        if language == Language::English {
            for group in EN_SYNONYMS {
                let stems: Vec<String> =
                    group.iter().map(|w| stemmer.stem(w).into_owned()).collect();
                for s in &stems {
                    synonyms
                        .entry(s.clone())
                        .or_default()
                        .extend(stems.iter().filter(|o| *o != s).cloned());
                }
            }
        }
        Self {
            language,
            synonyms,
            stemmer,
            stop: language.stop_words().iter().copied().collect(),
            currency_words: CURRENCIES
                .iter()
                .flat_map(|(_, ws)| ws.iter().map(|w| fold(w)))
                .collect(),
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The content words of `text`, folded but not stemmed: stop words,
    /// numbers, single letters and amounts ("20 EUR") removed.
    pub fn content_words(&self, text: &str) -> Vec<String> {
        let ws = words(&fold(text));
        let number = |i: usize| {
            ws.get(i)
                .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
        };
        ws.iter()
            .enumerate()
            .filter(|&(i, w)| {
                let amount =
                    self.currency_words.contains(w) && (number(i + 1) || (i > 0 && number(i - 1)));
                !amount && !number(i) && w.chars().count() > 1 && !self.stop.contains(w.as_str())
            })
            .map(|(_, w)| w.clone())
            .collect()
    }

    pub fn stem(&self, word: &str) -> String {
        self.stemmer.stem(word).into_owned()
    }

    /// The stems that mean the same as `stem`.
    pub fn synonyms(&self, stem: &str) -> &[String] {
        self.synonyms.get(stem).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Stemmed content terms, in order, with repeats.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.content_words(text)
            .iter()
            .map(|w| self.stem(w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_terms() {
        let a = Analyzer::new(Language::English);
        assert_eq!(
            a.terms("Hi! How long does shipping take to Germany?"),
            ["ship", "take", "germani"]
        );
        assert_eq!(
            a.terms("How do refunds work? It's only about 20 EUR."),
            ["refund"]
        );
        assert_eq!(
            a.terms("Do you accept euros?"),
            ["accept", "euro"],
            "a currency without a number is a topic"
        );
        assert!(a.terms("").is_empty());
        assert!(a.terms("🙂 ??? 123").is_empty());
        assert!(a.synonyms(&a.stem("update")).contains(&a.stem("change")));
        assert!(
            Analyzer::new(Language::German)
                .synonyms("update")
                .is_empty()
        );
    }

    #[test]
    fn detects_the_language() {
        assert_eq!(
            Language::detect("How do I reset my password? Click the link in the email."),
            Language::English
        );
        assert_eq!(
            Language::detect(
                "Wie lange dauert der Versand? Der Versand dauert 3 Tage und ist kostenlos."
            ),
            Language::German
        );
        assert_eq!(
            Language::detect("Comment suivre ma commande ? Vous recevez un lien par e-mail."),
            Language::French
        );
        assert_eq!(
            Language::detect(
                "¿Cómo puedo pagar? Aceptamos tarjetas y PayPal para todos los pedidos."
            ),
            Language::Spanish
        );
        assert_eq!(
            Language::detect("Hoe lang duurt de verzending? Het duurt drie dagen voor een pakket."),
            Language::Dutch
        );
        assert_eq!(Language::detect(""), Language::English);
    }
}
