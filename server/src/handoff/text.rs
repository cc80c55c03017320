//! Text normalisation and the small pattern language of the policy lists.
//!
//! Everything the rules look at goes through [`fold`] first: lower case,
//! diacritics removed (`möchte` → `mochte`, `réclamation` → `reclamation`),
//! compatibility forms unified (full-width letters, ligatures), curly
//! apostrophes straightened. Folding the policy's lists the same way means a
//! list entry matches whether or not the visitor typed the accents.
//!
//! [`Analysed`] splits a folded text into sentences and clauses of word
//! tokens; English contractions are expanded on the way (`don't` → `do not`,
//! `where's` → `where is`) so negations and repeated questions compare
//! equal however they were typed.
//!
//! A [`Pattern`] is one entry of a keyword list: words separated by spaces,
//! where `refund*` matches any word starting with `refund`, `*anwalt` any
//! word ending in `anwalt` (so `Rechtsanwalt` too), `*kosten*` any word
//! containing it, and `..` stands for up to three arbitrary words
//! (`charged .. twice` matches "charged my card twice"). Patterns match
//! within one sentence.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower-cases `s`, strips diacritics and unifies compatibility characters.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' => out.push('d'),
                'ı' => out.push('i'),
                '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => out.push('\''),
                _ => out.push(l),
            }
        }
    }
    out
}

/// English words after which `'s` means "is" rather than a possessive.
const S_IS: &[&str] = &[
    "it", "that", "what", "where", "who", "how", "there", "here", "he", "she", "this", "when",
    "why",
];

/// Splits a folded segment like `don't` or `l'avocat` into word tokens,
/// expanding English contractions.
fn push_word(segment: &str, out: &mut Vec<String>) {
    let parts: Vec<&str> = segment.split('\'').filter(|p| !p.is_empty()).collect();
    if parts.len() == 2 {
        let (head, tail) = (parts[0], parts[1]);
        let expanded: Option<[&str; 2]> = match tail {
            "t" if head == "can" => Some(["can", "not"]),
            "t" if head == "won" => Some(["will", "not"]),
            "t" if head == "shan" => Some(["shall", "not"]),
            "t" if head.len() > 1 && head.ends_with('n') => Some([&head[..head.len() - 1], "not"]),
            "s" if S_IS.contains(&head) => Some([head, "is"]),
            "s" if head == "let" => Some(["let", "us"]),
            "s" => Some([head, ""]),
            "m" => Some([head, "am"]),
            "re" => Some([head, "are"]),
            "ll" => Some([head, "will"]),
            "ve" => Some([head, "have"]),
            "d" => Some([head, "would"]),
            _ => None,
        };
        if let Some(words) = expanded {
            out.extend(
                words
                    .iter()
                    .filter(|w| !w.is_empty())
                    .map(|w| w.to_string()),
            );
            return;
        }
    }
    out.extend(parts.into_iter().map(str::to_string));
}

/// The word tokens of a folded text, ignoring punctuation.
pub fn words(folded: &str) -> Vec<String> {
    let mut out = Vec::new();
    tokenise(folded, |token| {
        if let Token::Word(w) = token {
            push_word(w, &mut out)
        }
    });
    out
}

enum Token<'a> {
    Word(&'a str),
    /// A sentence boundary (`.`, `!`, `?`, `;`, a line break).
    Sentence,
    /// A clause boundary inside a sentence (`,`, `:`, brackets, dashes).
    Clause,
}

fn tokenise<'a>(folded: &'a str, mut f: impl FnMut(Token<'a>)) {
    let mut start: Option<usize> = None;
    let chars: Vec<(usize, char)> = folded.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let inner_apostrophe = c == '\''
            && start.is_some()
            && chars.get(i + 1).is_some_and(|&(_, n)| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            start.get_or_insert(at);
            continue;
        }
        if let Some(s) = start.take() {
            f(Token::Word(&folded[s..at]));
        }
        match c {
            '.' | '!' | '?' | ';' | '\n' | '¿' | '¡' | '。' => f(Token::Sentence),
            ',' | ':' | '(' | ')' | '[' | ']' | '–' | '—' | '"' | '«' | '»' | '“' | '”' => {
                f(Token::Clause)
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        f(Token::Word(&folded[s..]));
    }
}

/// A text prepared for the rules: folded, split into sentences, and each
/// sentence into clauses of word tokens.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub folded: String,
    /// Sentences as word tokens (clause boundaries removed).
    pub sentences: Vec<Vec<String>>,
    /// Clauses as word tokens: sentences split further at commas, colons
    /// and contrastive conjunctions ("but", "aber", "mais", "pero", "maar").
    pub clauses: Vec<Vec<String>>,
}

/// Words that start a new clause: what follows "but" is a new thought, so a
/// negation before it does not reach past it.
const CLAUSE_CONJUNCTIONS: &[&str] = &[
    "but", "however", "aber", "sondern", "mais", "pero", "sino", "maar",
];

impl Analysed {
    pub fn new(text: &str) -> Self {
        let folded = fold(text);
        let mut sentences = vec![Vec::new()];
        let mut clauses = vec![Vec::new()];
        tokenise(&folded, |token| match token {
            Token::Word(w) => {
                let mut ws = Vec::new();
                push_word(w, &mut ws);
                for w in ws {
                    if CLAUSE_CONJUNCTIONS.contains(&w.as_str()) {
                        clauses.push(Vec::new());
                    }
                    if let (Some(sentence), Some(clause)) =
                        (sentences.last_mut(), clauses.last_mut())
                    {
                        sentence.push(w.clone());
                        clause.push(w);
                    }
                }
            }
            Token::Sentence => {
                sentences.push(Vec::new());
                clauses.push(Vec::new());
            }
            Token::Clause => clauses.push(Vec::new()),
        });
        sentences.retain(|s| !s.is_empty());
        clauses.retain(|c| !c.is_empty());
        Self {
            folded,
            sentences,
            clauses,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.sentences.iter().flatten().map(String::as_str)
    }
}

/// How one word of a pattern matches a token.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Infix(String),
    /// Up to [`GAP`] arbitrary tokens.
    Gap,
}

/// How many words `..` may skip.
const GAP: usize = 3;

impl Piece {
    fn matches(&self, token: &str) -> bool {
        match self {
            Piece::Exact(w) => token == w,
            Piece::Prefix(w) => token.starts_with(w.as_str()),
            Piece::Suffix(w) => token.ends_with(w.as_str()),
            Piece::Infix(w) => token.contains(w.as_str()),
            Piece::Gap => true,
        }
    }
}

/// One compiled entry of a keyword or phrase list.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pieces: Vec<Piece>,
    /// The entry as written, for reasons shown to people.
    pub source: String,
}

impl Pattern {
    /// Compiles a list entry; the error says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        for raw in source.split_whitespace() {
            if raw == ".." {
                if matches!(pieces.last(), None | Some(Piece::Gap)) {
                    return Err(format!("{source:?}: `..` must stand between two words"));
                }
                pieces.push(Piece::Gap);
                continue;
            }
            let prefix = raw.len() > 1 && raw.ends_with('*');
            let suffix = raw.len() > 1 && raw.starts_with('*');
            let core = raw.trim_matches('*');
            if core.contains('*') || core.is_empty() {
                return Err(format!("{source:?}: `*` may only start or end a word"));
            }
            let ws = words(&fold(core));
            if ws.is_empty() {
                return Err(format!("{source:?}: {raw:?} has no letters or digits"));
            }
            let last = ws.len() - 1;
            for (i, w) in ws.into_iter().enumerate() {
                let (p, s) = (prefix && i == last, suffix && i == 0);
                pieces.push(match (p, s) {
                    (true, true) => Piece::Infix(w),
                    (true, false) => Piece::Prefix(w),
                    (false, true) => Piece::Suffix(w),
                    (false, false) => Piece::Exact(w),
                });
            }
        }
        match pieces.last() {
            None => Err("empty entry".into()),
            Some(Piece::Gap) => Err(format!("{source:?}: `..` must stand between two words")),
            Some(_) => Ok(Self {
                pieces,
                source: source.to_string(),
            }),
        }
    }

    /// Compiles a list, skipping entries that do not compile (validation
    /// reports those at start, so at run time they can only be absent).
    pub fn list<'a>(sources: impl IntoIterator<Item = &'a String>) -> Vec<Pattern> {
        sources
            .into_iter()
            .filter_map(|s| Pattern::parse(s).ok())
            .collect()
    }

    /// The exact word of a one-word pattern without wildcards.
    pub fn exact_word(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Exact(w)] => Some(w),
            _ => None,
        }
    }

    /// Where the pattern matches starting exactly at `start`: the end of
    /// the shortest match.
    pub fn match_at(&self, tokens: &[String], start: usize) -> Option<usize> {
        fn go(pieces: &[Piece], tokens: &[String], at: usize) -> Option<usize> {
            match pieces.split_first() {
                None => Some(at),
                Some((Piece::Gap, rest)) => (0..=GAP).find_map(|skip| {
                    (at + skip <= tokens.len())
                        .then(|| go(rest, tokens, at + skip))
                        .flatten()
                }),
                Some((piece, rest)) => {
                    let token = tokens.get(at)?;
                    if piece.matches(token) {
                        go(rest, tokens, at + 1)
                    } else {
                        None
                    }
                }
            }
        }
        go(&self.pieces, tokens, start)
    }

    /// All matches in `tokens` as `(start, end)` spans.
    pub fn find_all(&self, tokens: &[String]) -> Vec<(usize, usize)> {
        (0..tokens.len())
            .filter_map(|s| self.match_at(tokens, s).map(|e| (s, e)))
            .collect()
    }
}

/// Words after which a negation is a complaint rather than a refusal:
/// "why can't I get a refund?" still asks for one.
const MODALS: &[&str] = &["can", "could", "why", "kann", "warum", "pourquoi", "waarom"];

/// Whether a negation stands within `reach` words before `at` (and not
/// right after "can" or "why").
pub fn negated_before(
    tokens: &[String],
    at: usize,
    reach: usize,
    is_negation: impl Fn(&str) -> bool,
) -> bool {
    (at.saturating_sub(reach)..at.min(tokens.len())).any(|i| {
        is_negation(&tokens[i])
            && !(i.saturating_sub(2)..i).any(|j| MODALS.contains(&tokens[j].as_str()))
    })
}

/// Damerau-style edit distance (adjacent transpositions count as one edit).
pub fn typo_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Whether `token` is a plausible typo of `word`: same first letter, one
/// edit (a substitution or swap) for words of five to seven letters, up to
/// two edits of any kind from eight letters on. Shorter words must match
/// exactly: one edit away from "mens" or "rep" are too many real words.
pub fn is_typo_of(token: &str, word: &str) -> bool {
    let (tl, wl) = (token.chars().count(), word.chars().count());
    if wl < 5 || token == word || token.chars().next() != word.chars().next() {
        return false;
    }
    if tl.abs_diff(wl) > 2 || !token.chars().all(char::is_alphabetic) {
        return false;
    }
    let d = typo_distance(token, word);
    if wl >= 8 { d <= 2 } else { d == 1 && tl == wl }
}

/// Whether `token` is `word` with one letter slipped (left out, doubled,
/// swapped or wrong), for words of five letters or more: "bite" for
/// "bitte", "pleas" for "please".
pub fn is_slip_of(token: &str, word: &str) -> bool {
    word.chars().count() >= 5
        && token != word
        && token.chars().next() == word.chars().next()
        && token.chars().count().abs_diff(word.chars().count()) <= 1
        && token.chars().all(char::is_alphabetic)
        && typo_distance(token, word) == 1
}

/// Whether `token` is `word` with two neighbouring letters swapped ("tlak"
/// for "talk"): the commonest slip, and rare enough among real words to
/// allow from four letters on.
pub fn is_swap_of(token: &str, word: &str) -> bool {
    let (t, w): (Vec<char>, Vec<char>) = (token.chars().collect(), word.chars().collect());
    if t.len() != w.len() || w.len() < 4 {
        return false;
    }
    let differ: Vec<usize> = (0..t.len()).filter(|&i| t[i] != w[i]).collect();
    matches!(differ.as_slice(), &[i, j] if j == i + 1 && t[i] == w[j] && t[j] == w[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(s: &str) -> Vec<String> {
        words(&fold(s))
    }

    #[test]
    fn folding_removes_case_and_diacritics() {
        assert_eq!(fold("Ich MÖCHTE Straße"), "ich mochte strasse");
        assert_eq!(fold("réclamation à l’avocat"), "reclamation a l'avocat");
        assert_eq!(fold("ＡＧＥＮＴ"), "agent");
        assert_eq!(fold("Œuvre Søren"), "oeuvre soren");
    }

    #[test]
    fn contractions_expand() {
        assert_eq!(ws("I don't need it"), ["i", "do", "not", "need", "it"]);
        assert_eq!(ws("Why can't I"), ["why", "can", "not", "i"]);
        assert_eq!(
            ws("Where's my order? I'd like"),
            ["where", "is", "my", "order", "i", "would", "like"]
        );
        assert_eq!(ws("the person's shoes"), ["the", "person", "shoes"]);
        assert_eq!(ws("l'avocat d'un ami"), ["l", "avocat", "d", "un", "ami"]);
        assert_eq!(ws("'quoted' words'"), ["quoted", "words"]);
    }

    #[test]
    fn sentences_and_clauses() {
        let a = Analysed::new("Ok, now let me talk. I want this but not that!");
        assert_eq!(a.sentences.len(), 2);
        assert_eq!(
            a.clauses,
            [
                vec!["ok"],
                vec!["now", "let", "me", "talk"],
                vec!["i", "want", "this"],
                vec!["but", "not", "that"]
            ]
        );
    }

    #[test]
    fn patterns() {
        let toks = ws("You charged my credit card twice, Rechtsanwalt!");
        assert!(
            Pattern::parse("charged .. twice")
                .unwrap()
                .match_at(&toks, 1)
                .is_some()
        );
        assert!(
            Pattern::parse("charg* twice")
                .unwrap()
                .find_all(&toks)
                .is_empty()
        );
        assert_eq!(Pattern::parse("*anwalt").unwrap().find_all(&toks), [(6, 7)]);
        assert_eq!(
            Pattern::parse("*ANWÄLT*").unwrap().find_all(&toks),
            [(6, 7)]
        );
        assert_eq!(
            Pattern::parse("credit card").unwrap().find_all(&toks),
            [(3, 5)]
        );
        assert!(Pattern::parse("charged .. .. twice").is_err());
        assert!(Pattern::parse(".. twice").is_err());
        assert!(Pattern::parse("twice ..").is_err());
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("a*b").is_err());
        assert!(Pattern::parse("***").is_err());
        assert!(Pattern::parse("€").is_err());
        // A gap may skip nothing, but no more than three words.
        let p = Pattern::parse("a .. b").unwrap();
        assert!(p.match_at(&ws("a b"), 0).is_some());
        assert!(p.match_at(&ws("a x x x b"), 0).is_some());
        assert!(p.match_at(&ws("a x x x x b"), 0).is_none());
    }

    #[test]
    fn typos() {
        assert!(is_typo_of("humna", "human"));
        assert!(is_typo_of("represenative", "representative"));
        assert!(is_typo_of("opperator", "operator"));
        assert!(is_typo_of("mitarbieter", "mitarbeiter"));
        assert!(!is_typo_of("human", "human"));
        assert!(
            !is_typo_of("personal", "persona"),
            "an insertion in a short word is another word"
        );
        assert!(!is_typo_of("urgent", "agent"));
        assert!(!is_typo_of("niemand", "iemand"));
        assert!(!is_typo_of("men", "mens"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "",
            "   ",
            "🙂🙂",
            "\u{0301}",
            "'",
            "''a'",
            "a'''b",
            "ǅ",
            "İstanbul",
            &"x".repeat(10_000),
        ] {
            let a = Analysed::new(s);
            let _ = a.words().count();
        }
    }
}
